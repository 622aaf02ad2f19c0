"""Real public JSON exports load with the right record ids, counts and descriptions.

The blueteam0ps files (Apache-2.0) are copied under tests/data/ingest/json with their licence
and provenance. The SEKOIA fixtures have no licence: they are read from the shared samples
folder beside the project and the tests skip when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ualscope.core.ingest.detect import detect
from ualscope.core.ingest.evidence import EvidenceReader
from ualscope.core.ingest.json_exports import JsonRows, reparse_json_row
from ualscope.core.ingest.rows import RowEvent

DATA = Path(__file__).resolve().parents[2] / "data" / "ingest" / "json"


def load(path: Path) -> tuple[list[RowEvent], JsonRows]:
    with EvidenceReader(path) as evidence:
        detection = detect(evidence.sniff())
        rows = JsonRows(evidence, detection)
        events = list(rows)
    data = path.read_bytes()
    for event in events:
        assert event.audit is not None, event.problem
        raw = data[event.offset : event.offset + event.length]
        assert reparse_json_row(detection, raw) == event.audit
        assert event.line == data[: event.offset].count(b"\n") + 1
    return events, rows


def ids(events: list[RowEvent]) -> list[str]:
    return [str(event.audit["Id"]) for event in events if event.audit is not None]


def test_ps51_convertto_json_array_of_cmdlet_objects() -> None:
    events, rows = load(DATA / "t1114.003_rule_mail_forward_same_dest.json")
    assert ids(events) == [
        "80ab29e3-9b72-425c-deba-08dce867426a",
        "80ab29e3-9b72-425c-deba-08dce757425a",
    ]
    assert [event.line for event in events] == [1, 58]
    first = events[0].wrapper
    assert first is not None
    assert first.time_text == "/Date(1728364117000)/"
    assert (first.record_id, first.operation) == (ids(events)[0], "New-InboxRule")
    assert (first.user_id, first.record_type) == ("adam@contoso.onmicrosoft.com", "ExchangeAdmin")
    assert rows.label == (
        "ConvertTo-Json (Windows PowerShell 5.1) of Search-UnifiedAuditLog objects, AuditData "
        "as object (UTF-8, no BOM)"
    )


def test_ps51_convertto_json_single_object() -> None:
    events, rows = load(DATA / "t1564.008_rule_mark_as_read_move.json")
    assert ids(events) == ["67c49fce-3920-4f29-1393-08dce72b48fc"]
    assert events[0].offset == 4  # after the leading spaces
    assert rows.label.endswith(
        "AuditData as object (a single object, not an array) (UTF-8, no BOM)"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "t1114.003_Forward_Rule_Multi_Users_Same_Forward_dest.json",
            [
                "c67fa231-ad97-4b7f-65e0-08dc4145b5c6",
                "1320acfd-ee17-48d4-6557-08dc41458e92",
                "a0cd9667-b90d-4651-7ac1-08dc4145aa56",
                # The collector wrote the same two records twice: kept here, deduplicated later.
                "1320acfd-ee17-48d4-6557-08dc41458e92",
                "a0cd9667-b90d-4651-7ac1-08dc4145aa56",
            ],
        ),
        (
            "t1098.002_user-reset_mailbox_full_access.json",
            [
                "4d7e6990-ec4f-4cd5-9d76-a56b0e327e53",
                "8319061b-3e53-4cd5-abc2-55ff5a49c306",
                "f6960537-0d2a-4e9a-a061-6130680e6d1e",
                "243dee79-7403-4059-b5fc-591d0e0439af",
                "bc0b2d0b-9cbe-4b2f-fcfd-08dc25d7c6ac",
            ],
        ),
    ],
)
def test_jsonl_of_raw_auditdata(name: str, expected: list[str]) -> None:
    events, rows = load(DATA / name)
    assert ids(events) == expected
    assert [event.line for event in events] == [1, 2, 3, 4, 5]
    assert all(event.wrapper is None for event in events)
    assert rows.label == "JSON Lines of AuditData (UTF-8, no BOM)"


@pytest.mark.parametrize(
    ("name", "record_id"),
    [
        (
            "t1098.002_Mail_Account_Delegation_full_access_permissions.json",
            "97fc1f52-4cd1-498b-f05e-08db8b78efd7",
        ),
        ("t1114.002_Enable_POP_IMAP_OWA.json", "7d1a3ff8-825a-4ddf-4215-08db8b48cccf"),
        ("t1564.008_markasread_delete_all_email.json", "3afb17e9-3e04-4b8c-3bc4-08dc25d38dd4"),
    ],
)
def test_single_compact_auditdata_object(name: str, record_id: str) -> None:
    events, rows = load(DATA / name)
    assert ids(events) == [record_id]
    assert rows.label == "single JSON object of AuditData (UTF-8, no BOM)"


def sekoia_files(root: Path) -> list[Path]:
    return sorted((root / "sekoia-intake-formats").glob("*/*.json"))


def test_sekoia_fixtures_yield_the_record_in_input_message(shared_samples: Path) -> None:
    files = sekoia_files(shared_samples)
    assert len(files) == 10
    for path in files:
        carried = json.loads(json.loads(path.read_text())["input"]["message"])
        # The Defender fixture carries a streaming CloudAppEvents event around the record.
        record = carried.get("properties", {}).get("RawEventData", carried)
        events, rows = load(path)
        assert ids(events) == [record["Id"]], path.name
        assert events[0].audit == record
        assert "carried in input.message" in rows.label
