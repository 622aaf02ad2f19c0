"""CSV shapes without a plain AuditData column: Sentinel OfficeActivity, Search-MailboxAuditLog,
flattened AuditData (Extractor Suite -AuditDataOnly, Hawk), Get-UALGraph and Defender
CloudAppEvents (formats.md sections 7, 9, 10, 11)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from ualscope.core.ingest.csv_exports import reparse_csv_row
from ualscope.core.ingest.detect import Detection, Shape, detect
from ualscope.core.ingest.evidence import EvidenceReader
from ualscope.core.ingest.flat_columns import (
    aggregated_folders,
    flattened_path,
    operation_properties,
)
from ualscope.core.ingest.readers import RowReader, open_rows
from ualscope.core.ingest.rows import RowEvent

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples-public"


def csv_text(rows: list[list[str]], quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=quoting, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def load(
    path: Path, detection: Detection | None = None
) -> tuple[Detection, RowReader, list[RowEvent]]:
    with EvidenceReader(path) as evidence:
        found = detection or detect(evidence.sniff())
        reader = open_rows(evidence, found)
        events = list(reader)
    return found, reader, events


def assert_reparse(path: Path, detection: Detection, events: list[RowEvent]) -> None:
    data = path.read_bytes()
    for event in events:
        assert event.audit is not None, event.problem
        raw = data[event.offset : event.offset + event.length]
        assert reparse_csv_row(detection, raw) == event.audit


# --- Sentinel OfficeActivity ---------------------------------------------------------------

SENTINEL_HEADER = [
    "TenantId",
    "TimeGenerated",
    "RecordType",
    "Operation",
    "UserType",
    "OfficeWorkload",
    "ResultStatus",
    "OfficeObjectId",
    "UserId",
    "ClientIP",
    "Client_IPAddress",
    "ClientInfoString",
    "Logon_Type",
    "InternalLogonType",
    "ExternalAccess",
    "MailboxOwnerUPN",
    "OriginatingServer",
    "OfficeTenantId",
    "OrganizationName",
    "Item",
    "ItemName",
    "Folders",
    "OperationProperties",
    "SendAsUserSmtp",
    "SendonBehalfOfUserMailboxGuid",
    "OfficeId",
    "SourceRecordId",
    "SourceSystem",
    "Type",
    "_ResourceId",
]


def sentinel_rows() -> list[list[str]]:
    bind = {
        "TenantId": "aaaaaaaa-0000-4000-8000-000000000001",
        "TimeGenerated": "2025-03-04T09:15:02Z",
        "RecordType": "ExchangeItemAggregated",
        "Operation": "MailItemsAccessed",
        "UserType": "Regular",
        "OfficeWorkload": "Exchange",
        "ResultStatus": "Succeeded",
        "UserId": "alice@contoso.com",
        "Client_IPAddress": "203.0.113.7",
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "Logon_Type": "0",
        "InternalLogonType": "0",
        "ExternalAccess": "false",
        "MailboxOwnerUPN": "alice@contoso.com",
        "OriginatingServer": "AM0PR07MB5763 (15.20.4200.000)\r\n",
        "OfficeTenantId": "0f4e5a3c-1111-4a2b-9c3d-222233334444",
        "Folders": '[{"FolderItems":[{"InternetMessageId":"<a@x>"}],"Path":"\\\\Inbox"}]',
        "OperationProperties": '[{"Name":"MailAccessType","Value":"Bind"}]',
        "OfficeId": "8c1e0000-0000-4000-8000-000000000001",
        "SourceRecordId": "8c1e0000-0000-4000-8000-000000000001",
        "SourceSystem": "OpsManager",
        "Type": "OfficeActivity",
        "_ResourceId": "/subscriptions/x",
    }
    send_as = {
        "TenantId": "aaaaaaaa-0000-4000-8000-000000000001",
        "TimeGenerated": "2025-03-04T09:31:55Z",
        "RecordType": "ExchangeItem",
        "Operation": "SendAs",
        "OfficeWorkload": "Exchange",
        "UserId": "mallory@contoso.com",
        "Logon_Type": "Delegate",
        "ItemName": "Urgent wire",
        "SendAsUserSmtp": "ceo@contoso.com",
        "SendonBehalfOfUserMailboxGuid": "",
        "SourceRecordId": "5e0d0000-0000-4000-8000-000000000002",
        "Type": "OfficeActivity",
    }
    return [[row.get(c, "") for c in SENTINEL_HEADER] for row in (bind, send_as)]


def test_sentinel_officeactivity_maps_columns_back_to_auditdata(tmp_path: Path) -> None:
    path = write(tmp_path / "OfficeActivity.csv", csv_text([SENTINEL_HEADER, *sentinel_rows()]))
    detection, reader, (bind, send_as) = load(path)

    assert detection.shape is Shape.SENTINEL_CSV
    assert bind.audit == {
        "CreationTime": "2025-03-04T09:15:02Z",
        "RecordType": "ExchangeItemAggregated",
        "Operation": "MailItemsAccessed",
        "UserType": "Regular",
        "Workload": "Exchange",
        "ResultStatus": "Succeeded",
        "UserId": "alice@contoso.com",
        "ClientIPAddress": "203.0.113.7",
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "LogonType": 0,
        "InternalLogonType": 0,
        "ExternalAccess": "false",
        "MailboxOwnerUPN": "alice@contoso.com",
        "OriginatingServer": "AM0PR07MB5763 (15.20.4200.000)\r\n",
        "OrganizationId": "0f4e5a3c-1111-4a2b-9c3d-222233334444",
        "Folders": [{"FolderItems": [{"InternetMessageId": "<a@x>"}], "Path": "\\Inbox"}],
        "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"}],
        "Id": "8c1e0000-0000-4000-8000-000000000001",
        "SourceRecordId": "8c1e0000-0000-4000-8000-000000000001",
    }
    # ItemName stands in for the missing Item; SourceRecordId for the missing OfficeId; the
    # empty SendonBehalfOfUserMailboxGuid cell is an absent key.
    assert send_as.audit is not None
    assert send_as.audit["Item"] == {"Subject": "Urgent wire"}
    assert send_as.audit["Id"] == "5e0d0000-0000-4000-8000-000000000002"
    assert send_as.audit["LogonType"] == 2
    assert "SendonBehalfOfUserMailboxGuid" not in send_as.audit
    assert send_as.wrapper is not None
    assert send_as.wrapper.record_id == "5e0d0000-0000-4000-8000-000000000002"
    assert send_as.wrapper.time_text == "2025-03-04T09:31:55Z"
    assert send_as.wrapper.time_source == "TimeGenerated"
    assert reader.notes == [
        "OfficeActivity export has no OperationCount, SessionId, AppAccessContext column: bind "
        "counts and session context cannot be rebuilt from it"
    ]
    assert_reparse(path, detection, [bind, send_as])


def test_sentinel_portal_headers_with_utc_suffix(tmp_path: Path) -> None:
    header = ["TimeGenerated [UTC]" if c == "TimeGenerated" else c for c in SENTINEL_HEADER] + [
        "AppAccessContext",
        "SessionId",
        "OperationCount",
    ]
    rows = [row + ['{"AADSessionId":"s-1"}', "dcdad6b2", "3"] for row in sentinel_rows()]
    path = write(tmp_path / "query_data.csv", csv_text([header, *rows]))
    detection, reader, events = load(path)

    assert detection.shape is Shape.SENTINEL_CSV
    bind = events[0]
    assert bind.audit is not None
    assert bind.audit["CreationTime"] == "2025-03-04T09:15:02Z"
    assert bind.audit["AppAccessContext"] == {"AADSessionId": "s-1"}
    assert bind.audit["OperationCount"] == 3
    assert "TenantId" not in bind.audit and "Type" not in bind.audit
    assert bind.wrapper is not None and bind.wrapper.time_source == "TimeGenerated [UTC]"
    assert reader.notes == []


def test_sentinel_json_column_that_is_not_json_is_kept_and_noted(tmp_path: Path) -> None:
    rows = sentinel_rows()
    folders_at = SENTINEL_HEADER.index("Folders")
    rows[0][folders_at] = '[{"FolderItems":[{"InternetMessageId":"<a@x>"'  # cut
    path = write(tmp_path / "OfficeActivity.csv", csv_text([SENTINEL_HEADER, *rows]))
    _, reader, events = load(path)

    assert events[0].audit is not None
    assert events[0].audit["Folders"] == rows[0][folders_at]
    assert any(n.startswith("column 'Folders' is not valid JSON in 1 rows") for n in reader.notes)


# --- Search-MailboxAuditLog -ShowDetails ---------------------------------------------------

MAILBOX_AUDIT_HEADER = [
    "RunspaceId",
    "Operation",
    "OperationResult",
    "LogonType",
    "ExternalAccess",
    "DestFolderId",
    "DestFolderPathName",
    "FolderId",
    "FolderPathName",
    "FolderName",
    "ClientInfoString",
    "ClientIPAddress",
    "ClientIP",
    "InternalLogonType",
    "MailboxOwnerUPN",
    "LogonUserDisplayName",
    "LogonUserSid",
    "ItemId",
    "ItemSubject",
    "ItemInternetMessageId",
    "OriginatingServer",
    "SessionId",
    "OperationProperties",
    "AuditOperationsCountInAggregatedRecord",
    "AggregatedRecordFoldersData",
    "AppId",
    "ClientAppId",
    "MailboxGuid",
    "MailboxResolvedOwnerName",
    "LastAccessed",
    "Identity",
    "IsValid",
    "ObjectState",
]


def mailbox_row(**values: str) -> list[str]:
    base = {
        "RunspaceId": "6b7c8d9e-0000-4000-8000-00000000abcd",
        "OperationResult": "Succeeded",
        "ClientIPAddress": "203.0.113.7",
        "MailboxOwnerUPN": "alice@contoso.com",
        "MailboxGuid": "0b1c2d3e-0000-4000-8000-000000000001",
        "MailboxResolvedOwnerName": "Alice",
        "IsValid": "True",
        "ObjectState": "Unchanged",
    }
    base.update(values)
    return [base.get(c, "") for c in MAILBOX_AUDIT_HEADER]


def test_search_mailboxauditlog_rows_become_auditdata(tmp_path: Path) -> None:
    bind = mailbox_row(
        Operation="MailItemsAccessed",
        LogonType="Owner",
        InternalLogonType="Owner",
        ClientInfoString="Client=OWA;Action=ViaProxy",
        SessionId="dcdad6b2-0000-4000-8000-000000000001",
        OperationProperties="MailAccessType:Bind IsThrottled:False",
        AuditOperationsCountInAggregatedRecord="2",
        # JSON-ish: the folder path keeps its single backslash.
        AggregatedRecordFoldersData=(
            '[{"Id":"LgAAAA","Path":"\\Inbox","FolderItems":[{"InternetMessageId":"<a@x>"},'
            '{"InternetMessageId":"<b@x>"}]}]'
        ),
        LastAccessed="20/09/2023 04:05:03",
        Identity="RgAAAAZ-bind",
    )
    sync = mailbox_row(
        Operation="MailItemsAccessed",
        LogonType="Delegate",
        LogonUserDisplayName="Mallory",
        FolderId="LgAAAB",
        FolderPathName="\\Inbox",
        OperationProperties="{MailAccessType:Sync, IsThrottled:False}",
        LastAccessed="20/09/2023 04:06:00",
        Identity="RgAAAAZ-sync",
    )
    update = mailbox_row(
        Operation="Update",
        LogonType="Admin",
        ItemId="RgAAAAitem",
        ItemSubject="Payroll: March",
        ItemInternetMessageId="<c@x>",
        FolderPathName="\\Sent Items",
        OperationProperties="MailAccessType:Bind\r\nIsThrottled:True",
        AggregatedRecordFoldersData="Folder list not available {",
        LastAccessed="20/09/2023 04:07:00",
        Identity="RgAAAAZ-update",
    )
    path = write(
        tmp_path / "MailboxAudit.csv", csv_text([MAILBOX_AUDIT_HEADER, bind, sync, update])
    )
    detection, reader, events = load(path)

    assert detection.shape is Shape.MAILBOX_AUDIT_CSV
    first, second, third = (e.audit for e in events)
    assert first == {
        "Operation": "MailItemsAccessed",
        "ResultStatus": "Succeeded",
        "LogonType": 0,
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "ClientIPAddress": "203.0.113.7",
        "InternalLogonType": 0,
        "MailboxOwnerUPN": "alice@contoso.com",
        "SessionId": "dcdad6b2-0000-4000-8000-000000000001",
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        "OperationCount": 2,
        "Folders": [
            {
                "Id": "LgAAAA",
                "Path": "\\Inbox",
                "FolderItems": [{"InternetMessageId": "<a@x>"}, {"InternetMessageId": "<b@x>"}],
            }
        ],
        "MailboxGuid": "0b1c2d3e-0000-4000-8000-000000000001",
        "MailboxResolvedOwnerName": "Alice",
        "CreationTime": "20/09/2023 04:05:03",
        "Id": "RgAAAAZ-bind",
    }
    assert second is not None and third is not None
    assert second["LogonType"] == 2
    assert second["Item"] == {"ParentFolder": {"Id": "LgAAAB", "Path": "\\Inbox"}}
    assert second["OperationProperties"] == [
        {"Name": "MailAccessType", "Value": "Sync"},
        {"Name": "IsThrottled", "Value": "False"},
    ]
    assert third["LogonType"] == 1
    assert third["Item"] == {
        "Id": "RgAAAAitem",
        "Subject": "Payroll: March",
        "InternetMessageId": "<c@x>",
        "ParentFolder": {"Path": "\\Sent Items"},
    }
    assert third["OperationProperties"][1] == {"Name": "IsThrottled", "Value": "True"}
    assert "Folders" not in third
    assert third["AggregatedRecordFoldersDataText"] == "Folder list not available {"
    wrapper = events[1].wrapper
    assert wrapper is not None
    assert (wrapper.time_text, wrapper.time_source) == ("20/09/2023 04:06:00", "LastAccessed")
    assert (wrapper.record_id, wrapper.user_id, wrapper.record_type) == (
        "RgAAAAZ-sync",
        "Mallory",
        None,
    )
    assert [e.line for e in events] == [2, 3, 4]  # the multi-line cell is on row 3's line 4..5
    assert len(reader.notes) == 2
    assert reader.notes[0].startswith("Search-MailboxAuditLog rows carry no AuditData")
    assert reader.notes[1].startswith(
        "column 'AggregatedRecordFoldersData' could not be read as a folder list in 1 rows "
        "(first on line 4)"
    )
    assert_reparse(path, detection, events)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "MailAccessType:Bind IsThrottled:False",
            [("MailAccessType", "Bind"), ("IsThrottled", "False")],
        ),
        (
            "{MailAccessType:Sync, IsThrottled:True}",
            [("MailAccessType", "Sync"), ("IsThrottled", "True")],
        ),
        (
            "MailAccessType:Bind\r\nIsThrottled:False\r\n",
            [("MailAccessType", "Bind"), ("IsThrottled", "False")],
        ),
        (
            "RuleName:Forward all, MailAccessType:Bind",
            [("RuleName", "Forward all"), ("MailAccessType", "Bind")],
        ),
    ],
)
def test_operation_properties_text_forms(text: str, expected: list[tuple[str, str]]) -> None:
    assert operation_properties(text) == [{"Name": n, "Value": v} for n, v in expected]


def test_operation_properties_text_that_is_not_pairs() -> None:
    assert operation_properties("System.Collections.Generic.List`1[System.String]") is None


def test_aggregated_folders_tolerates_json_ish_text() -> None:
    assert aggregated_folders(
        '{Id:"F1",Path:"\\Inbox",FolderItems:[{InternetMessageId:"<a@x>"},]}'
    ) == [{"Id": "F1", "Path": "\\Inbox", "FolderItems": [{"InternetMessageId": "<a@x>"}]}]
    assert aggregated_folders("not a folder list") is None


# --- Flattened AuditData -------------------------------------------------------------------


def test_flattened_auditdata_with_lost_nested_values(tmp_path: Path) -> None:
    # Extractor Suite -AuditDataOnly -Output CSV: Export-Csv of parsed AuditData objects.
    header = [
        "CreationTime",
        "Id",
        "Operation",
        "RecordType",
        "UserType",
        "UserId",
        "ClientIPAddress",
        "LogonType",
        "OperationProperties",
        "Folders",
        "OperationCount",
        "AppAccessContext",
        "Item",
    ]
    rows = [
        [
            "2025-03-04T09:15:02",
            "8c1e0000-0000-4000-8000-000000000001",
            "MailItemsAccessed",
            "50",
            "0",
            "alice@contoso.com",
            "203.0.113.7",
            "0",
            "System.Object[]",
            "System.Object[]",
            "2",
            "@{AADSessionId=0a1b2c3d; IssuedAtTime=2025-03-04T08:59:40}",
            "",
        ],
        [
            "2025-03-04T09:31:55",
            "5e0d0000-0000-4000-8000-000000000002",
            "SendAs",
            "2",
            "0",
            "mallory@contoso.com",
            "",
            "2",
            '[{"Name":"MailAccessType","Value":"Bind"}]',
            "System.Object[]",
            "",
            "",
            '{"Subject":"[EXTERNAL] Invoice"}',
        ],
    ]
    path = write(tmp_path / "UAL-AuditDataOnly.csv", csv_text([header, *rows], csv.QUOTE_ALL))
    detection, reader, (bind, send_as) = load(path)

    assert detection.shape is Shape.FLAT_AUDITDATA_CSV
    assert bind.audit == {
        "CreationTime": "2025-03-04T09:15:02",
        "Id": "8c1e0000-0000-4000-8000-000000000001",
        "Operation": "MailItemsAccessed",
        "RecordType": 50,
        "UserType": 0,
        "UserId": "alice@contoso.com",
        "ClientIPAddress": "203.0.113.7",
        "LogonType": 0,
        "OperationCount": 2,
        "AppAccessContext": {"AADSessionId": "0a1b2c3d", "IssuedAtTime": "2025-03-04T08:59:40"},
    }
    assert send_as.audit is not None
    assert send_as.audit["OperationProperties"] == [{"Name": "MailAccessType", "Value": "Bind"}]
    assert send_as.audit["Item"] == {"Subject": "[EXTERNAL] Invoice"}
    assert bind.wrapper is not None
    assert (bind.wrapper.record_id, bind.wrapper.time_text, bind.wrapper.time_source) == (
        "8c1e0000-0000-4000-8000-000000000001",
        "2025-03-04T09:15:02",
        "CreationTime",
    )
    assert reader.notes == [
        "Export-Csv wrote PowerShell type names such as System.Object[] instead of values in 3 "
        "cells of column(s) OperationProperties, Folders (first on line 2): that nested data "
        "was lost when the file was written and is left out; export the records as JSON to keep "
        "it"
    ]
    assert_reparse(path, detection, [bind, send_as])


def test_hawk_simple_flattened_columns_are_nested_again(tmp_path: Path) -> None:
    header = [
        "CreationTime",
        "Workload",
        "RecordType",
        "Operation",
        "ResultStatus",
        "ClientIP",
        "UserId",
        "Id",
        "Folders_0_FolderItems_0_InternetMessageId",
        "Folders_0_FolderItems_1_InternetMessageId",
        "Folders_0_Path",
        "Folders_1_Path",
        "OperationProperties_0_Name",
        "OperationProperties_0_Value",
        "OperationProperties_1_Name",
        "OperationProperties_1_Value",
        "AppAccessContext_UniqueTokenId",
        "Id_1",
        "ModifiedProperties_0",
    ]
    row = [
        "2025-03-04T09:15:02",
        "Exchange",
        "50",
        "MailItemsAccessed",
        "Succeeded",
        "",
        "alice@contoso.com",
        "8c1e0000-0000-4000-8000-000000000001",
        "<a@x>",
        "<b@x>",
        "\\Inbox",
        "",
        "MailAccessType",
        "Bind",
        "IsThrottled",
        "False",
        "LqVzINbCskC74Dl3tec2AA",
        "collision-value",
        "Subject",
    ]
    path = write(tmp_path / "Simple_MailItemsAccessed.csv", csv_text([header, row], csv.QUOTE_ALL))
    _, _, (event,) = load(path)

    assert event.audit == {
        "CreationTime": "2025-03-04T09:15:02",
        "Workload": "Exchange",
        "RecordType": 50,
        "Operation": "MailItemsAccessed",
        "ResultStatus": "Succeeded",
        "UserId": "alice@contoso.com",
        "Id": "8c1e0000-0000-4000-8000-000000000001",
        "Folders": [
            {
                "FolderItems": [{"InternetMessageId": "<a@x>"}, {"InternetMessageId": "<b@x>"}],
                "Path": "\\Inbox",
            }
        ],
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        "AppAccessContext": {"UniqueTokenId": "LqVzINbCskC74Dl3tec2AA"},
        "Id_1": "collision-value",
        "ModifiedProperties": ["Subject"],
    }


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("Id", ("Id",)),
        ("Id_1", ("Id_1",)),
        ("Site_Url", ("Site_Url",)),
        ("Folders_0_FolderItems_3_SizeInBytes", ("Folders", 0, "FolderItems", 3, "SizeInBytes")),
        ("Item_ParentFolder_Path", ("Item", "ParentFolder", "Path")),
        ("ModifiedProperties_2", ("ModifiedProperties", 2)),
    ],
)
def test_flattened_column_paths(name: str, path: tuple[str | int, ...]) -> None:
    assert flattened_path(name) == path


# --- Get-UALGraph and Defender CloudAppEvents ----------------------------------------------


def test_graph_csv_strips_the_odata_type(tmp_path: Path) -> None:
    audit = {
        "@odata.type": "#microsoft.graph.security.exchangeAggregatedMailboxAuditRecord",
        "CreationTime": "2025-03-04T09:15:02",
        "Id": "8c1e0000-0000-4000-8000-000000000001",
        "Operation": "MailItemsAccessed",
        "RecordType": 50,
    }
    header = [
        "id", "createdDateTime", "auditLogRecordType", "operation", "organizationId", "userType",
        "userId", "service", "objectId", "userPrincipalName", "clientIp", "administrativeUnits",
        "auditData",
    ]  # fmt: skip
    row = [
        audit["Id"], "2025-03-04T09:15:02Z", "exchangeItemAggregated", "MailItemsAccessed",
        "0f4e5a3c", "regular", "alice@contoso.com", "Exchange", "", "alice@contoso.com",
        "203.0.113.7", "", json.dumps(audit),
    ]  # fmt: skip
    path = write(tmp_path / "UALGraph.csv", csv_text([header, row]))
    detection, _, (event,) = load(path)

    assert detection.shape is Shape.GRAPH_CSV
    assert event.audit == {k: v for k, v in audit.items() if k != "@odata.type"}
    assert event.wrapper is not None
    assert (event.wrapper.time_text, event.wrapper.time_source, event.wrapper.record_type) == (
        "2025-03-04T09:15:02Z",
        "createdDateTime",
        "exchangeItemAggregated",
    )
    assert_reparse(path, detection, [event])


def defender_raw_event() -> dict[str, Any]:
    """RawEventData of a real CloudAppEvents row when the public sample is present."""
    sample = SAMPLES / "sekoia-intake-formats" / "m365-defender-tests" / "test_cloud_app3.json"
    if sample.exists():
        message = json.loads(json.loads(sample.read_text())["input"]["message"])
        return dict(message["properties"]["RawEventData"])
    return {
        "CreationTime": "2024-10-03T11:23:17Z",
        "Id": "11111111-1111-1111-1111-111111111111",
        "Operation": "MailItemsAccessed",
        "RecordType": 50,
    }


def test_defender_cloudappevents_rawevent_data(tmp_path: Path) -> None:
    raw = defender_raw_event()
    header = [
        "Timestamp",
        "ActionType",
        "Application",
        "AccountId",
        "IPAddress",
        "RawEventData",
        "ReportId",
    ]
    row = [
        "2024-10-03T11:29:06.6566759Z",
        "MailItemsAccessed",
        "Microsoft Exchange Online",
        "22222222-2222-2222-2222-222222222222",
        "203.0.113.7",
        json.dumps(raw, ensure_ascii=False),
        "report-1",
    ]
    path = write(tmp_path / "CloudAppEvents.csv", csv_text([header, row]))
    detection, _, (event,) = load(path)

    assert detection.shape is Shape.DEFENDER_CSV
    assert event.audit == raw
    assert event.audit["CreationTime"].endswith("Z")  # passed on as written
    assert event.wrapper is not None
    assert (event.wrapper.time_source, event.wrapper.operation, event.wrapper.record_id) == (
        "Timestamp",
        "MailItemsAccessed",
        None,
    )
    assert_reparse(path, detection, [event])


def test_defender_rawevent_data_that_is_not_json_names_the_column(tmp_path: Path) -> None:
    header = ["Timestamp", "ActionType", "RawEventData"]
    path = write(tmp_path / "c.csv", csv_text([header, ["2024-10-03", "Send", "{not json"]]))
    _, _, (event,) = load(path)

    assert event.problem is not None and event.problem.startswith("RawEventData is not valid JSON")
