"""Throttled windows: IsThrottled=True opens 24 hours of unaudited Bind in its mailbox."""

from __future__ import annotations

from factories import bind, build_index, sync

from ualscope.core.analysis.findings import Severity
from ualscope.core.analysis.throttling import (
    BlindSpan,
    merged_blind_spans,
    throttled_windows,
    throttling_findings,
)
from ualscope.core.normalise.times import from_iso

MEGAN = "megan.bowen@fabrikam.example"
ALEX = "alex.wilber@fabrikam.example"
MSG = [("<m1@fabrikam.example>", "\\Inbox")]


def test_is_throttled_absent_or_false_opens_no_window() -> None:
    index = build_index(
        {
            "mia.csv": [
                bind("2025-03-04T09:00:00", MSG, throttled=None),  # 2025 shape: no IsThrottled
                bind("2025-03-04T09:10:00", MSG, throttled=False),
                sync("2025-03-04T09:20:00", "\\Inbox"),
            ]
        }
    )
    assert throttled_windows(index) == []


def test_string_true_opens_a_24_hour_window_citing_its_record() -> None:
    index = build_index(
        {
            "mia.csv": [
                bind("2025-03-04T09:00:00", MSG, throttled=True, record_id="thr-1"),
                bind("2025-03-06T09:00:00", MSG),
            ]
        }
    )
    (window,) = throttled_windows(index)
    assert window.mailbox == MEGAN
    assert window.start == from_iso("2025-03-04T09:00:00")
    assert window.end == from_iso("2025-03-05T09:00:00")  # exclusive
    assert window.record_id == "thr-1"
    assert window.row == 0
    assert window.extends_past_data is False


def test_lowercase_true_and_a_json_boolean_count_as_throttled() -> None:
    def flagged(when: str, value: object) -> dict[str, object]:
        record = bind(when, MSG)
        record["OperationProperties"] = [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": value},
        ]
        return record

    index = build_index(
        {"mia.csv": [flagged("2025-03-04T09:00:00", "true"), flagged("2025-03-08T09:00:00", True)]}
    )
    assert len(throttled_windows(index)) == 2


def test_throttle_record_as_the_last_record_extends_past_the_data() -> None:
    index = build_index(
        {
            "mia.csv": [
                bind("2025-03-04T08:00:00", MSG),
                bind("2025-03-04T09:00:00", MSG, throttled=True),
            ]
        }
    )
    (window,) = throttled_windows(index)
    assert window.extends_past_data is True
    (finding,) = throttling_findings([window])
    assert "runs past the last record" in finding.explanation


def test_windows_sorted_by_mailbox_ignoring_case_then_start() -> None:
    index = build_index(
        {
            "mia.csv": [
                bind(
                    "2025-03-04T09:00:00", MSG, throttled=True, user="Megan.Bowen@fabrikam.example"
                ),
                bind("2025-03-05T09:00:00", MSG, throttled=True, user=ALEX),
                bind("2025-03-03T09:00:00", MSG, throttled=True),
            ]
        }
    )
    windows = throttled_windows(index)
    assert [(w.mailbox.casefold(), w.start) for w in windows] == [
        (ALEX, from_iso("2025-03-05T09:00:00")),
        (MEGAN, from_iso("2025-03-03T09:00:00")),
        (MEGAN, from_iso("2025-03-04T09:00:00")),
    ]


def test_overlapping_and_adjacent_windows_stay_apart_but_merge_into_blind_spans() -> None:
    index = build_index(
        {
            "mia.csv": [
                bind("2025-03-01T00:00:00", MSG, throttled=True, record_id="a"),
                bind("2025-03-01T12:00:00", MSG, throttled=True, record_id="b"),  # overlaps a
                bind("2025-03-02T12:00:00", MSG, throttled=True, record_id="c"),  # touches b
                bind("2025-03-05T00:00:00", MSG, throttled=True, record_id="d"),  # apart
                bind("2025-03-01T06:00:00", MSG, throttled=True, record_id="e", user=ALEX),
            ]
        }
    )
    windows = throttled_windows(index)
    assert len(windows) == 5
    assert merged_blind_spans(windows) == [
        BlindSpan(ALEX, from_iso("2025-03-01T06:00:00"), from_iso("2025-03-02T06:00:00"), ("e",)),
        BlindSpan(
            MEGAN, from_iso("2025-03-01T00:00:00"), from_iso("2025-03-03T12:00:00"), ("a", "b", "c")
        ),
        BlindSpan(MEGAN, from_iso("2025-03-05T00:00:00"), from_iso("2025-03-06T00:00:00"), ("d",)),
    ]


def test_a_high_finding_per_window_naming_the_rule() -> None:
    index = build_index(
        {
            "mia.csv": [
                bind("2025-03-04T09:00:00", MSG, throttled=True, record_id="thr-1"),
                bind("2025-03-04T10:00:00", MSG, throttled=True, record_id="thr-2"),
                bind("2025-03-07T09:00:00", MSG),
            ]
        }
    )
    findings = throttling_findings(throttled_windows(index))
    assert [f.record_ids for f in findings] == [("thr-1",), ("thr-2",)]
    finding = findings[0]
    assert finding.kind == "throttled_window"
    assert finding.severity is Severity.HIGH
    assert finding.mailbox == MEGAN
    assert (finding.start, finding.end) == (
        from_iso("2025-03-04T09:00:00"),
        from_iso("2025-03-05T09:00:00"),
    )
    assert "24-hour rule" in finding.explanation
    assert "Fewer than 1% of mailboxes" in finding.explanation
    assert "attacker mass-reading mail" in finding.explanation


def test_empty_index_has_no_windows() -> None:
    assert throttled_windows(build_index({"empty.csv": []})) == []
