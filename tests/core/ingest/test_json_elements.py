"""Classifying one JSON element and pulling out its AuditData and wrapper values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import bind, sync

from ualscope.core.ingest.detect import Detection, Shape
from ualscope.core.ingest.json_elements import (
    ElementReader,
    Extracted,
    Kind,
    Refused,
    officeactivity_to_auditdata,
    repair_surrogates,
)
from ualscope.core.ingest.json_exports import reparse_json_row
from ualscope.core.ingest.rows import WrapperFields

RECORD = bind("2025-03-04T09:15:02", [("<a@mail.example.com>", "\\Inbox")])
JSON_DETECTION = Detection(Shape.JSON, "utf-8", 0)


def extract(element: Any) -> Extracted:
    result = ElementReader().extract(element)
    assert isinstance(result, Extracted), result
    return result


def refuse(element: Any) -> Refused:
    result = ElementReader().extract(element)
    assert isinstance(result, Refused), result
    return result


def cmdlet_object(audit: object, **extra: Any) -> dict[str, Any]:
    element = {
        "RecordType": "ExchangeItemAggregated",
        "CreationDate": "/Date(1741079702000)/",
        "UserIds": "megan.bowen@fabrikam.example",
        "Operations": "MailItemsAccessed",
        "AuditData": audit,
        "ResultIndex": 1,
        "ResultCount": 1,
        "Identity": RECORD["Id"],
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    element.update(extra)
    return element


def test_bare_auditdata_is_the_record_and_loses_odata_type() -> None:
    # DFIR-O365RC's Purview mode writes Graph auditData objects, discriminator included.
    element = {"@odata.type": "#microsoft.graph.security.defaultAuditData", **RECORD}
    result = extract(element)
    assert result.audit == RECORD
    assert (result.kind, result.wrapper, result.audit_as_text) == (Kind.AUDIT_DATA, None, False)


def test_cmdlet_object_with_auditdata_as_object() -> None:
    result = extract(cmdlet_object(dict(RECORD)))
    assert result.audit == RECORD
    assert result.kind is Kind.CMDLET and not result.audit_as_text
    assert result.wrapper == WrapperFields(
        RECORD["Id"],
        "/Date(1741079702000)/",
        "CreationDate",
        "MailItemsAccessed",
        "megan.bowen@fabrikam.example",
        "ExchangeItemAggregated",
    )


def test_cmdlet_object_with_auditdata_as_json_text() -> None:
    result = extract(cmdlet_object(json.dumps(RECORD)))
    assert result.audit == RECORD
    assert result.audit_as_text


def test_windows_powershell_datetime_object_gives_its_value() -> None:
    # PS 5.1 ConvertTo-Json of a DateTime carrying ETS properties.
    date = {"value": "/Date(1741079702000)/", "DisplayHint": 2, "DateTime": "Tuesday, …"}
    result = extract(cmdlet_object(dict(RECORD), CreationDate=date))
    assert result.wrapper is not None
    assert result.wrapper.time_text == "/Date(1741079702000)/"


def test_wrapper_keys_are_matched_whatever_their_case() -> None:
    element = {"auditdata": dict(RECORD), "identity": "x-1", "creationdate": "2025-03-04"}
    result = extract(element)
    assert result.wrapper is not None
    assert (result.wrapper.record_id, result.wrapper.time_source) == ("x-1", "creationdate")


def test_auditdata_text_that_is_not_json_is_refused_but_recognised() -> None:
    result = refuse(cmdlet_object('{"CreationTime":"2025-03-04T09:15:02","Id":"x"'))
    assert result.recognised
    assert result.problem.startswith("AuditData is not valid JSON (unexpected end of data")


def test_auditdata_collapsed_by_convertto_json_depth_is_refused() -> None:
    result = refuse(cmdlet_object("System.Collections.Hashtable"))
    assert result.recognised
    assert "too small a -Depth" in result.problem


def test_nested_values_collapsed_by_depth_are_noted() -> None:
    audit = dict(RECORD, Folders="@{FolderItems=System.Object[]; Id=LgAAAA; Path=\\Inbox}")
    reader = ElementReader()
    result = reader.extract(cmdlet_object(audit), line=7)
    assert isinstance(result, Extracted)
    [note] = reader.notebook.render()
    assert note.startswith("AuditData.Folders holds PowerShell's rendering '@{FolderItems=")
    assert "in 1 records (first on line 7)" in note


def test_record_text_with_braces_cannot_break_the_notes() -> None:
    # Notes are templates filled in at the end: braces from a record must stay text.
    reader = ElementReader()
    audit = dict(RECORD, **{"Odd{0}": "@{x={0}; y=}"})
    assert isinstance(reader.extract(cmdlet_object(audit), line=3), Extracted)
    row = {"TimeGenerated": "x", "OfficeId": "y", "{1}": "System.Object[]"}
    result = reader.extract(row, line=4)
    assert isinstance(result, Extracted)
    sentinel, collapsed, lost = reader.notebook.render()
    assert collapsed.startswith("AuditData.Odd{0} holds PowerShell's rendering '@{x={0}; y=}'")
    assert "System.Object[]" in lost and "{1}" in lost
    assert sentinel.startswith("OfficeActivity export has no OperationCount")


def test_auditdata_that_is_an_array_is_refused() -> None:
    result = refuse(cmdlet_object("[1, 2]"))
    assert result.problem == "AuditData is JSON an array, not an object"


def test_graph_auditlogrecord() -> None:
    element = {
        "id": RECORD["Id"],
        "createdDateTime": "2025-03-04T09:15:02Z",
        "auditLogRecordType": "exchangeItemAggregated",
        "operation": "MailItemsAccessed",
        "userId": "1e8a1d35-0000-4000-8000-000000000001",
        "userPrincipalName": "megan.bowen@fabrikam.example",
        "auditData": {"@odata.type": "#microsoft.graph.security.x", **RECORD},
    }
    result = extract(element)
    assert result.audit == RECORD
    assert result.kind is Kind.GRAPH
    assert result.wrapper == WrapperFields(
        RECORD["Id"],
        "2025-03-04T09:15:02Z",
        "createdDateTime",
        "MailItemsAccessed",
        "megan.bowen@fabrikam.example",
        "exchangeItemAggregated",
    )


@pytest.mark.parametrize("as_text", [False, True])
def test_defender_cloudappevents_row(as_text: bool) -> None:
    raw = dict(RECORD, CreationTime="2025-03-04T09:15:02Z")
    row = {
        "Timestamp": "2025-03-04T09:15:02Z",
        "ActionType": "MailItemsAccessed",
        "Application": "Microsoft Exchange Online",
        "ReportId": "Dumb-Report-Id",
        "RawEventData": json.dumps(raw) if as_text else raw,
    }
    result = extract(row)
    assert result.audit == raw
    assert result.audit["CreationTime"].endswith("Z")  # untouched: the normaliser reads it
    assert result.kind is Kind.DEFENDER and result.audit_as_text is as_text
    assert result.wrapper == WrapperFields(
        None, "2025-03-04T09:15:02Z", "Timestamp", "MailItemsAccessed", None, None
    )


def test_sentinel_officeactivity_row_is_rebuilt_by_the_csv_mapping() -> None:
    record = sync("2025-03-04T09:15:02", "\\Inbox")
    row = {
        "TenantId": "5f4d0000-0000-4000-8000-000000000000",
        "TimeGenerated": "2025-03-04T09:15:02Z",
        "OfficeId": record["Id"],
        "OfficeWorkload": "Exchange",
        "Operation": "MailItemsAccessed",
        "UserId": record["UserId"],
        "Client_IPAddress": record["ClientIPAddress"],
        "Logon_Type": "Owner",
        "InternalLogonType": 0,
        "ExternalAccess": False,
        "Item": json.dumps(record["Item"]),
        "OperationProperties": record["OperationProperties"],
        "SendonBehalfOfUserMailboxGuid": None,
        "_ResourceId": "/subscriptions/x",
    }
    audit = officeactivity_to_auditdata(row)
    assert audit["Id"] == record["Id"]
    assert audit["CreationTime"] == "2025-03-04T09:15:02Z"
    assert audit["ClientIPAddress"] == record["ClientIPAddress"]
    assert audit["LogonType"] == 0 and audit["InternalLogonType"] == 0
    assert audit["Item"] == record["Item"]
    assert audit["OperationProperties"] == record["OperationProperties"]
    assert audit["ExternalAccess"] == "False"
    assert "SendonBehalfOfUserMailboxGuid" not in audit  # null column: absent key
    assert "_ResourceId" not in audit and "TenantId" not in audit
    result = extract(row)
    assert result.kind is Kind.SENTINEL
    assert result.wrapper is not None and result.wrapper.time_source == "TimeGenerated"


@pytest.mark.parametrize(
    ("element", "carrier"),
    [
        ({"@timestamp": "x", "event": {"original": json.dumps(RECORD)}}, "event.original"),
        ({"event.original": json.dumps(RECORD), "o365": {}}, "event.original"),
        ({"input": {"message": json.dumps(RECORD)}, "expected": {}}, "input.message"),
        # A syslog relay's line: a header, then the record.
        ({"message": "<134>Mar  4 09:15:03 relay o365: " + json.dumps(RECORD)}, "message"),
    ],
)
def test_siem_events_carrying_a_record_as_text(element: dict[str, Any], carrier: str) -> None:
    result = extract(element)
    assert result.audit == RECORD
    assert result.carrier == carrier


def test_carrier_of_a_carrier_is_followed() -> None:
    defender = {"properties": {"ActionType": "MailItemsAccessed", "RawEventData": RECORD}}
    result = extract({"input": {"message": json.dumps(defender)}})
    assert result.audit == RECORD
    assert (result.kind, result.carrier) == (Kind.DEFENDER, "input.message")


def test_message_that_is_not_a_record_is_refused() -> None:
    result = refuse({"message": "user logged in", "host": "relay"})
    assert not result.recognised
    assert result.problem == "no CreationTime key and no AuditData (keys: message, host)"


def test_refusal_lists_at_most_eight_keys() -> None:
    result = refuse({f"k{n}": n for n in range(10)})
    assert result.problem.endswith("(keys: k0, k1, k2, k3, k4, k5, k6, k7, …)")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([RECORD], "an array"),
        ("x", "a string"),
        (3, "a number"),
        (None, "null"),
        (True, "a boolean"),
    ],
)
def test_elements_that_are_not_objects(value: object, words: str) -> None:
    assert refuse(value).problem == f"element is not a JSON object but {words}"


def test_repair_surrogates_touches_only_unpaired_escapes() -> None:
    paired = '"\\ud83d\\ude00"'
    assert repair_surrogates(paired) == paired
    assert repair_surrogates('"a\\ud83db"') == '"a\\ufffdb"'
    assert repair_surrogates('"\\ude00"') == '"\\ufffd"'
    # An escaped backslash followed by the letters ud83d is text, not an escape.
    assert repair_surrogates('"\\\\ud83d"') == '"\\\\ud83d"'
    assert repair_surrogates('"\\\\\\ud83d"') == '"\\\\\\ufffd"'


def test_reparse_json_row_returns_auditdata_or_says_why() -> None:
    raw = json.dumps(cmdlet_object(json.dumps(RECORD))).encode()
    assert reparse_json_row(JSON_DETECTION, raw) == RECORD
    utf16 = Detection(Shape.JSON, "utf-16-le", 2)
    assert reparse_json_row(utf16, json.dumps(RECORD).encode("utf-16-le")) == RECORD
    with pytest.raises(ValueError, match="not valid JSON: unexpected end of data"):
        reparse_json_row(JSON_DETECTION, raw[:-5])
    with pytest.raises(ValueError, match="no CreationTime key and no AuditData"):
        reparse_json_row(JSON_DETECTION, b'{"name": "x"}')
