"""Timeline layout: time to cells at the edges, bars, bands, labels, flags and order."""

from __future__ import annotations

import numpy as np
import pytest
from factories import bind, build_index, mailbox_record

from ualscope.core.analysis.outages import KnownOutage
from ualscope.core.analysis.sessions import sessions
from ualscope.core.analysis.throttling import ThrottledWindow
from ualscope.core.normalise.times import from_iso
from ualscope.core.timeline import (
    BACKGROUND,
    FEW,
    MANY,
    OUTAGE,
    SPAN,
    THROTTLED,
    Band,
    activity_bar,
    activity_counts,
    band_line,
    case_bands,
    cell_of,
    cell_seconds,
    cells_of,
    named_session_ids,
    ruler_labels,
    session_bands,
    session_flags,
    session_order,
    span_cells,
    suspect_sessions,
)

DAY = 86_400
START = from_iso("2022-03-20T00:00:00")
WINDOW = (START, START + 10 * DAY)  # ten days: one day per cell at width 10


def times(*seconds: int) -> np.ndarray:
    return np.array(seconds, dtype=np.int64)


# -- cells -------------------------------------------------------------------------------------


def test_cells_split_the_window_evenly() -> None:
    assert [cell_of(START + d * DAY, WINDOW, 10) for d in range(10)] == list(range(10))
    assert cell_of(START + DAY - 1, WINDOW, 10) == 0  # the last second of day one


def test_the_last_second_of_the_window_is_in_the_last_cell() -> None:
    assert cell_of(WINDOW[1] - 1, WINDOW, 10) == 9
    assert span_cells(WINDOW[1] - 1, WINDOW[1] - 1, WINDOW, 10) == (9, 9)


def test_times_outside_the_window_are_clamped_to_its_edges() -> None:
    assert cell_of(START - 5, WINDOW, 10) == 0
    assert cell_of(WINDOW[1] + 5, WINDOW, 10) == 9


def test_a_zero_length_span_still_covers_one_cell() -> None:
    assert span_cells(START + 3 * DAY, START + 3 * DAY, WINDOW, 10) == (3, 3)


def test_a_reversed_span_is_read_as_its_first_second() -> None:
    assert span_cells(START + 3 * DAY, START, WINDOW, 10) == (3, 3)


def test_a_span_outside_the_window_covers_nothing() -> None:
    assert span_cells(START - 10, START - 1, WINDOW, 10) is None
    assert span_cells(WINDOW[1], WINDOW[1] + 10, WINDOW, 10) is None
    assert span_cells(START, START, WINDOW, 0) is None


def test_a_span_overlapping_the_window_is_cut_to_it() -> None:
    assert span_cells(START - DAY, START + DAY, WINDOW, 10) == (0, 1)
    assert span_cells(START + 8 * DAY, WINDOW[1] + DAY, WINDOW, 10) == (8, 9)


def test_a_one_second_window_maps_everything_to_the_first_cell() -> None:
    window = (START, START + 1)
    assert cell_of(START, window, 30) == 0
    assert span_cells(START, START, window, 30) == (0, 0)
    assert activity_counts(times(START, START), window, 30).tolist() == [2] + [0] * 29


def test_an_empty_window_is_read_as_one_second() -> None:
    assert cell_of(START, (START, START), 5) == 0
    assert cell_seconds((START, START), 5) == 1


@pytest.mark.parametrize("width", [1, 7, 20, 61])
def test_counts_have_exactly_width_cells_and_keep_every_record(width: int) -> None:
    rng = np.random.default_rng(7)
    moments = rng.integers(WINDOW[0], WINDOW[1], size=500, dtype=np.int64)
    counts = activity_counts(moments, WINDOW, width)
    assert len(counts) == width
    assert int(counts.sum()) == 500
    assert cells_of(moments, WINDOW, width).tolist() == [
        cell_of(int(m), WINDOW, width) for m in moments
    ]


def test_cell_seconds_rounds_up() -> None:
    assert cell_seconds(WINDOW, 10) == DAY
    assert cell_seconds(WINDOW, 7) == -(-10 * DAY // 7)


# -- bars ----------------------------------------------------------------------------------------


def test_bar_marks_records_by_density_and_draws_the_span_between() -> None:
    moments = times(START + 1, *[START + 5 * DAY + i for i in range(12)])
    bar = activity_bar(moments, WINDOW, 10, dense=10)
    assert bar == FEW + SPAN * 4 + MANY + BACKGROUND * 4


def test_bar_of_a_single_record_at_the_window_end() -> None:
    assert activity_bar(times(WINDOW[1] - 1), WINDOW, 10) == BACKGROUND * 9 + FEW


def test_bands_show_where_the_session_has_no_record() -> None:
    band = Band("throttled", START + 2 * DAY, START + 4 * DAY, "megan.bowen@fabrikam.example")
    moments = times(START + 3 * DAY)
    bar = activity_bar(moments, WINDOW, 10, [band])
    assert bar == BACKGROUND * 2 + THROTTLED + FEW + BACKGROUND * 6


def test_band_line_draws_throttling_over_outages() -> None:
    outage = KnownOutage(START, START + 3 * DAY, ("SendAs",), "MC382148", "")
    mailbox = "megan.bowen@fabrikam.example"
    window = ThrottledWindow(mailbox, START + 2 * DAY, START + 3 * DAY, "r1", 0, False)
    bands = case_bands([window], [outage])
    assert band_line(bands, WINDOW, 10) == OUTAGE * 2 + THROTTLED + " " * 7


def test_band_of_zero_length_is_one_cell_and_a_band_ending_at_the_window_start_is_none() -> None:
    assert (
        band_line([Band("outage", START + DAY, START + DAY)], WINDOW, 10) == " " + OUTAGE + " " * 8
    )
    assert band_line([Band("outage", START - DAY, START)], WINDOW, 10) == " " * 10


def test_session_bands_keep_its_own_mailboxes_throttling_whole_and_outages_in_its_span() -> None:
    records = [
        mailbox_record("MailboxLogin", "2022-03-21T09:00:00"),
        mailbox_record("MailboxLogin", "2022-03-22T09:00:00"),
    ]
    (session,) = sessions(build_index({"a.csv": records}))
    own = Band("throttled", START + 5 * DAY, START + 6 * DAY, "MEGAN.BOWEN@fabrikam.example")
    other = Band("throttled", START, START + 9 * DAY, "alex.wilber@fabrikam.example")
    outage = Band("outage", START, START + 7 * DAY)
    before = Band("outage", START - DAY, START)
    clipped = Band("outage", session.first, session.last + 1)
    assert session_bands([outage, own, other, before], session) == [clipped, own]


# -- labels --------------------------------------------------------------------------------------


def test_labels_give_the_first_and_last_day_in_exactly_width_characters() -> None:
    window = (from_iso("2022-03-20T00:00:00"), from_iso("2022-04-02T23:59:59") + 1)
    assert ruler_labels(window, 30) == "2022-03-20" + " " * 10 + "2022-04-02"
    assert ruler_labels(window, 20) == "03-20" + " " * 10 + "04-02"
    assert ruler_labels(window, 4) == "03-2"


def test_labels_within_one_day_give_times() -> None:
    window = (from_iso("2022-03-28T09:02:00"), from_iso("2022-03-28T17:30:00"))
    assert ruler_labels(window, 30) == "2022-03-28 09:02" + " " * 9 + "17:29"
    assert ruler_labels(window, 12) == "09:02  17:29"


# -- flags and order -----------------------------------------------------------------------------

OWNER = "11111111-aaaa-4000-8000-000000000001"
STOLEN = "c8b6f3f1-e0a9-4066-b335-f0350d718b7e"


def stolen_bind(when: str, message: str, ip: str) -> dict:  # type: ignore[type-arg]
    return bind(when, [(message, "\\Inbox")], session=STOLEN, ip=ip)


def two_sessions() -> list:  # type: ignore[type-arg]
    """The owner's session, and one replayed from two addresses (three records)."""
    records = [
        mailbox_record("MailboxLogin", "2022-03-28T08:00:00", session=OWNER),
        stolen_bind("2022-03-28T09:00:00", "<a@x>", "203.0.113.45"),
        stolen_bind("2022-03-28T09:05:00", "<b@x>", "203.0.113.77"),
        stolen_bind("2022-03-28T09:10:00", "<c@x>", "203.0.113.77"),
    ]
    return sessions(build_index({"a.csv": records}))


def test_named_ids_match_a_guid_key_in_any_case_and_the_s_id_itself() -> None:
    owner, stolen = two_sessions()
    assert stolen.id in named_session_ids([STOLEN.upper()])
    assert owner.id in named_session_ids([owner.id])
    assert owner.id not in named_session_ids([STOLEN, " ", ""])


def test_a_session_is_suspect_by_name_or_by_holding_a_suspect_record() -> None:
    owner, stolen = two_sessions()
    none = np.empty(0, dtype=np.int64)
    assert suspect_sessions([owner, stolen], none, frozenset()).tolist() == [False, False]
    assert suspect_sessions([owner, stolen], none, named_session_ids([STOLEN])).tolist() == [
        False,
        True,
    ]
    one_row = stolen.rows[1:2]
    assert suspect_sessions([owner, stolen], one_row, frozenset()).tolist() == [False, True]
    assert suspect_sessions([], one_row, frozenset()).tolist() == []


def test_flags_are_symbols_in_fixed_columns() -> None:
    owner, stolen = two_sessions()
    assert session_flags(owner, suspect=False, marked=False) == "   "
    assert session_flags(stolen, suspect=False, marked=False) == "  ~"  # two addresses
    assert session_flags(stolen, suspect=True, marked=True) == "!*~"


def test_order_by_first_activity_or_by_records_with_ties_in_time_order() -> None:
    owner, stolen = two_sessions()
    assert session_order([owner, stolen], by_records=False).tolist() == [0, 1]
    assert session_order([owner, stolen], by_records=True).tolist() == [1, 0]
    assert session_order([owner, owner, stolen], by_records=True).tolist() == [2, 0, 1]
