"""The sessions timeline: sessions, throttled windows and outages as cells of a text bar.

Every bar spans the whole case window, so bars on different lines line up: an attacker's
session that starts while the owner's is running shows as a second bar under the first,
starting later. Time maps to cells with integer arithmetic (no floats), so a given case
always draws the same bar and a record on a cell boundary always lands in the same cell.

What the marks mean is decided here, not in the TUI: which sessions are the attacker's
(`!`), marked (`*`), or look like a replayed session or token (`~`), and which blind windows
concern which session (a throttled window belongs to one mailbox; a known outage to the
whole tenant).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from .analysis.outages import KnownOutage
from .analysis.sessions import SESSION_KINDS, Session, make_session_id
from .analysis.throttling import ThrottledWindow

Window = tuple[int, int]  # [start, end) in epoch seconds UTC, as Case.window gives it
Rows = npt.NDArray[np.int64]

BACKGROUND = "·"  # no activity, no band
SPAN = "─"  # between the session's first and last record, no record in this cell
FEW = "▆"  # a cell with some of the session's records
MANY = "█"  # a cell with at least DENSE_RECORDS of them
THROTTLED = "▒"
OUTAGE = "░"
# Ten records in one cell (about 8 hours at 80 columns over a two-week case) is more than an
# owner reading mail in a browser usually leaves; a mass read fills cells with hundreds.
DENSE_RECORDS = 10

SUSPECT_FLAG = "!"
MARKED_FLAG = "*"
HINT_FLAG = "~"

KIND_LABELS = {"SessionId": "SID", "AADSessionId": "AAD", "UniqueTokenId": "UTI"}


@dataclass(frozen=True)
class Band:
    """A blind window drawn across the timeline."""

    kind: str  # "throttled" | "outage"
    start: int  # epoch seconds UTC, inclusive
    end: int  # exclusive
    mailbox: str = ""  # throttled: the mailbox it blinds; outage: "" (the whole tenant)

    @property
    def glyph(self) -> str:
        return THROTTLED if self.kind == "throttled" else OUTAGE


# -- time to cells ---------------------------------------------------------------------------


def _duration(window: Window) -> int:
    # Case.window is never empty (last + 1), but a caller's window might be: one second then.
    return max(1, window[1] - window[0])


def cell_of(moment: int, window: Window, width: int) -> int:
    """The cell holding second `moment`: floor((moment - start) * width / duration), clamped."""
    cell = (moment - window[0]) * width // _duration(window)
    return min(max(cell, 0), width - 1)


def cells_of(times: npt.NDArray[np.int64], window: Window, width: int) -> Rows:
    """`cell_of` for an array of seconds."""
    offsets = times.astype(np.int64) - window[0]
    return np.clip(offsets * width // _duration(window), 0, width - 1)


def span_cells(first: int, last: int, window: Window, width: int) -> tuple[int, int] | None:
    """First and last cell (inclusive) of the inclusive seconds [first, last].

    A span inside the window covers at least one cell however short it is, so a one-record
    session stays visible; a span wholly outside the window covers none (None).
    """
    last = max(first, last)
    if width <= 0 or last < window[0] or first >= window[1]:
        return None
    return cell_of(max(first, window[0]), window, width), cell_of(
        min(last, window[1] - 1), window, width
    )


def activity_counts(times: npt.NDArray[np.int64], window: Window, width: int) -> Rows:
    """Records per cell: exactly `width` counts, summing to len(times)."""
    if width <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(cells_of(times, window, width), minlength=width).astype(np.int64)


def cell_seconds(window: Window, width: int) -> int:
    """How many seconds one cell stands for (rounded up), for the legend."""
    return -(-_duration(window) // max(width, 1))


# -- bars ------------------------------------------------------------------------------------


def _paint_bands(cells: list[str], bands: Sequence[Band], window: Window) -> None:
    # Later bands win where two overlap; case_bands lists throttling last so it shows on top:
    # a throttled mailbox is blind for every operation, an outage for a few.
    for band in bands:
        span = span_cells(band.start, max(band.start, band.end - 1), window, len(cells))
        if span is not None:
            cells[span[0] : span[1] + 1] = [band.glyph] * (span[1] - span[0] + 1)


def band_line(bands: Sequence[Band], window: Window, width: int) -> str:
    """The ruler: every band across the case window, blank elsewhere."""
    cells = [" "] * max(width, 0)
    _paint_bands(cells, bands, window)
    return "".join(cells)


def activity_bar(
    times: npt.NDArray[np.int64],
    window: Window,
    width: int,
    bands: Sequence[Band] = (),
    dense: int = DENSE_RECORDS,
) -> str:
    """A session's bar: records by density, over bands, over its span, over the background.

    Records win over bands: a record inside a throttled window is still evidence, and the
    band stays visible around it.
    """
    if width <= 0:
        return ""
    cells = [BACKGROUND] * width
    if len(times):
        span = span_cells(int(times.min()), int(times.max()), window, width)
        if span is not None:
            cells[span[0] : span[1] + 1] = [SPAN] * (span[1] - span[0] + 1)
    _paint_bands(cells, bands, window)
    counts = activity_counts(times, window, width)
    for cell in np.flatnonzero(counts).tolist():
        cells[cell] = MANY if counts[cell] >= dense else FEW
    return "".join(cells)


def _day(moment: int, form: str) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime(form)


def ruler_labels(window: Window, width: int) -> str:
    """Exactly `width` characters: the window's first second at the left, last at the right.

    Dates when the window spans days, times of day within one day; shorter forms when the
    bar is narrow; only the start when nothing else fits.
    """
    if width <= 0:
        return ""
    first, last = window[0], window[0] + _duration(window) - 1
    one_day = _day(first, "%Y-%m-%d") == _day(last, "%Y-%m-%d")
    forms = (
        [("%Y-%m-%d %H:%M", "%H:%M"), ("%H:%M", "%H:%M")]
        if one_day
        else [("%Y-%m-%d", "%Y-%m-%d"), ("%m-%d", "%m-%d")]
    )
    for left_form, right_form in forms:
        left, right = _day(first, left_form), _day(last, right_form)
        if len(left) + 1 + len(right) <= width:
            return left + " " * (width - len(left) - len(right)) + right
    return _day(first, forms[-1][0])[:width].ljust(width)


# -- which bands, which flags ----------------------------------------------------------------


def case_bands(throttled: Iterable[ThrottledWindow], outages: Iterable[KnownOutage]) -> list[Band]:
    """Every blind window of the case, outages first so throttling is drawn over them."""
    bands = [Band("outage", o.start, o.end) for o in outages]
    bands += [Band("throttled", t.start, t.end, t.mailbox) for t in throttled]
    return bands


def session_bands(bands: Sequence[Band], session: Session) -> list[Band]:
    """The bands drawn on a session's bar.

    Throttling of a mailbox the session touched, whole: reads in those 24 hours went
    unrecorded, so the session may have gone on reading unseen after its last record (the
    sample attacker's Graph session ends exactly where its throttled window starts). Known
    outages only while the session was active: they hide SendAs/SendOnBehalf for weeks, and
    drawn whole on every line they would cover most bars; the ruler shows them whole.
    """
    mailboxes = {m.casefold() for m in session.mailboxes}
    drawn = []
    for band in bands:
        if band.kind == "throttled":
            if band.mailbox.casefold() in mailboxes:
                drawn.append(band)
            continue
        start, end = max(band.start, session.first), min(band.end, session.last + 1)
        if start < end:
            drawn.append(Band(band.kind, start, end, band.mailbox))
    return drawn


def named_session_ids(values: Iterable[str]) -> frozenset[str]:
    """Session ids a list of names can mean: an `S-` id itself, or a key of any kind.

    Suspects and marks name a session by its raw SessionId, AADSessionId or UniqueTokenId (in
    whatever case the investigator pasted it) or by the S- id; make_session_id() folds the case of
    GUID kinds exactly as the grouping did.
    """
    found: set[str] = set()
    for value in values:
        value = value.strip()
        if not value:
            continue
        found.add(value)
        found.update(make_session_id(kind, value) for kind, _column in SESSION_KINDS)
    return frozenset(found)


def suspect_sessions(
    sessions: Sequence[Session], suspect_rows: Rows, named: frozenset[str]
) -> npt.NDArray[np.bool_]:
    """Per session: named as a suspect, or holding any of the suspects' records.

    One pass over all sessions' rows (a few milliseconds for a million records) instead of
    one isin per session.
    """
    result = np.array([s.id in named for s in sessions], dtype=np.bool_)
    if len(suspect_rows) == 0 or not sessions:
        return result
    every = np.concatenate([s.rows for s in sessions])
    starts = np.cumsum([0] + [s.records for s in sessions[:-1]], dtype=np.int64)
    mask = np.zeros(int(max(every.max(), suspect_rows.max())) + 1, dtype=np.bool_)
    mask[suspect_rows] = True
    held = np.add.reduceat(mask[every].astype(np.int64), starts) > 0
    return result | held


def session_flags(session: Session, *, suspect: bool, marked: bool) -> str:
    """Three columns: `!` the attacker's, `*` marked, `~` seen from several places."""
    return (
        (SUSPECT_FLAG if suspect else " ")
        + (MARKED_FLAG if marked else " ")
        + (HINT_FLAG if session.hints else " ")
    )


def session_order(sessions: Sequence[Session], by_records: bool) -> Rows:
    """Positions in display order: as given (first activity), or most records first.

    Ties keep first-activity order (a stable sort), so the order never depends on the run.
    """
    if not by_records:
        return np.arange(len(sessions), dtype=np.int64)
    records = np.array([s.records for s in sessions], dtype=np.int64)
    return np.argsort(-records, kind="stable").astype(np.int64)
