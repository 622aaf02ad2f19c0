"""Coverage: ranges per mailbox and operation, and every place the evidence is blind."""

from __future__ import annotations

from typing import Any

from factories import bind, build_index, mailbox_record, send_as, sync

from ualscope.core.analysis.coverage import Gap, GapKind, TimeRange, coverage, coverage_findings
from ualscope.core.analysis.findings import Severity
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.normalise.times import from_iso

MEGAN = "megan.bowen@fabrikam.example"
ALEX = "alex.wilber@fabrikam.example"
CEO = "ceo@fabrikam.example"
MSG = [("<m1@fabrikam.example>", "\\Inbox")]


def window(start: str, end: str) -> tuple[int, int]:
    return from_iso(start), from_iso(end)


def gaps_of(kind: GapKind, gaps: list[Gap]) -> list[Gap]:
    return [g for g in gaps if g.kind is kind]


def office_hours(day: int, user: str = MEGAN) -> list[dict[str, Any]]:
    """Hourly binds 08:00-17:00 UTC on one day of March 2022: 15 h of quiet each night."""
    return [bind(f"2022-03-{day:02d}T{hour:02d}:00:00", MSG, user=user) for hour in range(8, 18)]


# -- known outages ---------------------------------------------------------------------------


def test_mc382148_is_clipped_to_the_window_and_cites_a_send_dated_inside_it() -> None:
    index = build_index(
        {
            "sends.csv": [
                send_as("2022-03-22T10:00:00", user=ALEX, send_as_smtp=CEO, record_id="inside"),
                send_as("2022-03-30T10:00:00", user=ALEX, send_as_smtp=CEO, record_id="outside"),
            ]
        }
    )
    cov = coverage(index, window=window("2022-03-20", "2022-04-02"))
    (gap,) = gaps_of(GapKind.KNOWN_OUTAGE, cov.gaps)
    assert (gap.start, gap.end) == window("2022-03-20", "2022-03-27T00:00:00")
    assert gap.operations == ("SendAs", "SendOnBehalf")
    assert gap.mailbox == ""
    assert "MC382148" in gap.source
    assert gap.record_ids == ("inside",)
    assert "nonetheless dated inside it" in gap.detail

    (finding,) = [f for f in coverage_findings(cov) if f.kind == "known_outage"]
    assert finding.severity is Severity.HIGH
    assert finding.explanation.startswith(
        "No SendAs or SendOnBehalf records can exist here; delegated sends in this window are"
        " invisible."
    )
    assert (finding.start, finding.end) == (gap.start, gap.end)


def test_window_entirely_outside_the_outage_has_no_outage_gap() -> None:
    index = build_index(
        {"sends.csv": [send_as("2022-03-30T10:00:00", user=ALEX, send_as_smtp=CEO)]}
    )
    cov = coverage(index, window=window("2022-03-27", "2022-04-10"))
    assert gaps_of(GapKind.KNOWN_OUTAGE, cov.gaps) == []


def test_default_window_is_the_whole_evidence_and_an_outage_inside_it_is_reported() -> None:
    index = build_index(
        {
            "sends.csv": [
                send_as("2022-01-10T10:00:00", user=ALEX, send_as_smtp=CEO),
                send_as("2022-02-10T10:00:00", user=ALEX, send_as_smtp=CEO),
            ]
        }
    )
    cov = coverage(index)
    assert cov.window == (from_iso("2022-01-10T10:00:00"), from_iso("2022-02-10T10:00:01"))
    (gap,) = gaps_of(GapKind.KNOWN_OUTAGE, cov.gaps)
    assert (gap.start, gap.end) == (from_iso("2022-01-28"), cov.window[1])


# -- ranges ------------------------------------------------------------------------------------


def test_ranges_by_mailbox_ignore_case_and_ranges_by_operation_count_records() -> None:
    index = build_index(
        {
            "a.csv": [
                bind("2025-03-04T09:00:00", MSG, user="Megan.Bowen@fabrikam.example"),
                sync("2025-03-04T10:00:00", "\\Inbox"),
                bind("2025-03-04T11:00:00", MSG, user=ALEX),
                mailbox_record("MailboxLogin", "2025-03-05T08:00:00"),
            ]
        }
    )
    cov = coverage(index)
    assert cov.ranges_by_mailbox == {
        ALEX: TimeRange(from_iso("2025-03-04T11:00:00"), from_iso("2025-03-04T11:00:00"), 1),
        MEGAN: TimeRange(from_iso("2025-03-04T09:00:00"), from_iso("2025-03-05T08:00:00"), 3),
    }
    assert cov.ranges_by_operation == {
        "MailItemsAccessed": TimeRange(
            from_iso("2025-03-04T09:00:00"), from_iso("2025-03-04T11:00:00"), 3
        ),
        "MailboxLogin": TimeRange(
            from_iso("2025-03-05T08:00:00"), from_iso("2025-03-05T08:00:00"), 1
        ),
    }
    only_alex = coverage(index, mailbox="ALEX.WILBER@fabrikam.example")
    assert list(only_alex.ranges_by_mailbox) == [ALEX]
    assert only_alex.mailbox == "ALEX.WILBER@fabrikam.example"


def test_window_limits_the_ranges() -> None:
    index = build_index({"a.csv": [bind(f"2025-03-0{d}T09:00:00", MSG) for d in range(1, 6)]})
    cov = coverage(index, window=window("2025-03-02", "2025-03-04"))
    assert cov.ranges_by_mailbox[MEGAN].records == 2


def test_empty_index_covers_nothing() -> None:
    cov = coverage(build_index({"empty.csv": []}))
    assert (cov.ranges_by_mailbox, cov.ranges_by_operation, cov.gaps) == ({}, {}, [])


# -- throttling --------------------------------------------------------------------------------


def test_throttled_window_is_a_bind_only_gap_of_its_mailbox() -> None:
    index = build_index(
        {
            "mia.csv": [
                bind("2025-03-04T09:00:00", MSG, throttled=True, record_id="thr"),
                bind("2025-03-04T12:00:00", MSG, throttled=True, user=ALEX, record_id="alex"),
                bind("2025-03-06T09:00:00", MSG),
            ]
        }
    )
    cov = coverage(index, window=window("2025-03-04T00:00:00", "2025-03-04T18:00:00"))
    gaps = gaps_of(GapKind.THROTTLED, cov.gaps)
    assert [g.record_ids for g in gaps] == [("thr",), ("alex",)]
    gap = gaps[0]
    assert (gap.start, gap.end) == window("2025-03-04T09:00:00", "2025-03-04T18:00:00")
    assert gap.operations == ("MailItemsAccessed",)
    assert gap.mailbox == MEGAN
    assert "Bind was not audited" in gap.detail and "Sync is still audited" in gap.detail
    # throttling_findings reports each window; coverage does not repeat it.
    assert [f for f in coverage_findings(cov) if "throttl" in f.kind] == []
    only_megan = coverage(index, mailbox=MEGAN.upper())
    assert [g.record_ids for g in gaps_of(GapKind.THROTTLED, only_megan.gaps)] == [("thr",)]


# -- truncated files ---------------------------------------------------------------------------


def test_file_stopped_at_the_50000_row_export_cap_is_a_medium_gap() -> None:
    index = build_index(
        {"purview.csv": [bind("2025-03-04T09:00:00", MSG), bind("2025-03-05T09:00:00", MSG)]}
    )
    index.files[0] = InputFile(
        path="cases/purview.csv",
        size=123_456_789,
        sha256="ab" * 32,
        data_rows=50_000,
        first_time=from_iso("2025-03-04T09:00:00"),
        last_time=from_iso("2025-03-05T09:00:00"),
    )
    cov = coverage(index)
    (gap,) = gaps_of(GapKind.TRUNCATED_FILE, cov.gaps)
    assert (gap.start, gap.end) == (
        from_iso("2025-03-04T09:00:00"),
        from_iso("2025-03-05T09:00:01"),
    )
    assert gap.operations == ()
    assert gap.source == "cases/purview.csv"
    assert "50,000" in gap.detail and "cases/purview.csv" in gap.detail
    (finding,) = coverage_findings(cov)
    assert (finding.kind, finding.severity) == ("truncated_file", Severity.MEDIUM)


def test_file_below_every_cap_is_not_truncated() -> None:
    index = build_index({"purview.csv": [bind("2025-03-04T09:00:00", MSG)]})
    index.files[0].data_rows = 49_999
    assert gaps_of(GapKind.TRUNCATED_FILE, coverage(index).gaps) == []


# -- Bind anomalies ----------------------------------------------------------------------------


def test_bind_records_without_items_or_with_a_wrong_operation_count_are_one_gap_per_mailbox() -> (
    None
):
    empty_folder = bind("2025-03-04T09:20:00", MSG, record_id="empty-folder")
    empty_folder["Folders"] = [{"FolderItems": [], "Id": "LgAAAA", "Path": "\\Inbox"}]
    empty_folder["OperationCount"] = 1
    index = build_index(
        {
            "mia.csv": [
                bind("2025-03-04T09:00:00", MSG, record_id="fine"),
                bind("2025-03-04T09:10:00", [], record_id="no-items"),
                empty_folder,
                bind("2025-03-04T09:30:00", MSG * 2, operation_count=5, record_id="count"),
                bind("2025-03-04T09:40:00", [], user=ALEX, record_id="alex"),
                sync("2025-03-04T09:50:00", "\\Inbox"),  # a Sync names a folder, not items
            ]
        }
    )
    gaps = gaps_of(GapKind.BIND_WITHOUT_ITEMS, coverage(index).gaps)
    assert [(g.mailbox, g.record_ids) for g in gaps] == [
        (MEGAN, ("no-items", "empty-folder", "count")),
        (ALEX, ("alex",)),
    ]
    megan = gaps[0]
    assert (megan.start, megan.end) == window("2025-03-04T09:10:00", "2025-03-04T09:30:01")
    assert megan.operations == ("MailItemsAccessed",)
    assert "2 MailItemsAccessed Bind record(s) list no message" in megan.detail
    assert "1 have an OperationCount different" in megan.detail
    findings = [f for f in coverage_findings(coverage(index)) if f.kind == "bind_without_items"]
    assert [f.severity for f in findings] == [Severity.LOW, Severity.LOW]


def test_operation_count_absent_is_not_a_mismatch() -> None:
    record = bind("2025-03-04T09:00:00", MSG * 2)
    del record["OperationCount"]
    assert (
        gaps_of(GapKind.BIND_WITHOUT_ITEMS, coverage(build_index({"a.csv": [record]})).gaps) == []
    )


# -- silences ----------------------------------------------------------------------------------


def test_three_silent_days_in_an_active_mailbox_are_reported_but_nights_are_not() -> None:
    active = [r for day in (*range(1, 8), *range(11, 15)) for r in office_hours(day)]
    # A quiet mailbox (5 records, a week apart) has no rhythm to break: never a silence.
    quiet = [bind(f"2022-03-{d:02d}T09:00:00", MSG, user=ALEX) for d in (1, 8, 15, 22, 29)]
    index = build_index({"mia.csv": active + quiet})
    cov = coverage(index)
    (gap,) = gaps_of(GapKind.SILENCE, cov.gaps)
    assert (gap.start, gap.end) == window("2022-03-07T17:00:00", "2022-03-11T08:00:00")
    assert gap.mailbox == MEGAN
    assert gap.operations == ()
    assert len(gap.record_ids) == 2
    assert "3 d 15 h" in gap.detail  # the silence
    assert "15 h 0 min" in gap.detail  # the usual nightly pause, which is not reported
    (finding,) = [f for f in coverage_findings(cov) if f.kind == "silence"]
    assert finding.severity is Severity.LOW


def test_every_night_of_an_office_mailbox_is_normal() -> None:
    index = build_index({"mia.csv": [r for day in range(1, 15) for r in office_hours(day)]})
    assert gaps_of(GapKind.SILENCE, coverage(index).gaps) == []


def test_coverage_is_deterministic() -> None:
    records = [r for day in (1, 2, 3, 9, 10) for r in office_hours(day)]
    records.append(send_as("2022-03-04T10:00:00", user=ALEX, send_as_smtp=""))
    index = build_index({"mia.csv": records})
    first = coverage(index)
    assert coverage(index) == first
    assert coverage_findings(coverage(index)) == coverage_findings(first)
    assert [g.start for g in first.gaps] == sorted(g.start for g in first.gaps)
