"""The normaliser on real-shaped AuditData: every quirk formats.md lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ualscope.core.ingest.rows import WrapperFields
from ualscope.core.normalise.clients import ClientFamily
from ualscope.core.normalise.record import (
    ACCESS_BIND,
    ACCESS_SYNC,
    FileNormaliser,
    Unusable,
)
from ualscope.core.normalise.times import to_iso


def bind_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "CreationTime": "2025-03-04T09:15:02",
        "Id": "8c1e0000-1111-4222-8333-444455556666",
        "Operation": "MailItemsAccessed",
        "OrganizationId": "0b7f0000-0000-0000-0000-000000000000",
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "UserKey": "10032001A1B2C3D4",
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": "alice@fabrikam.example",
        "AppId": "00000002-0000-0ff1-ce00-000000000000",
        "ClientAppId": "",
        "ClientIPAddress": "203.0.113.7",
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "ExternalAccess": False,
        "InternalLogonType": 0,
        "LogonType": 0,
        "MailboxGuid": "a1b2c3d4-0000-0000-0000-000000000001",
        "MailboxOwnerUPN": "alice@fabrikam.example",
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        "OriginatingServer": "AM0PR07MB5763 (15.20.4200.000)\r\n",
        "SessionId": "dcdad6b2-0000-0000-0000-000000000001",
        "AppAccessContext": {
            "AADSessionId": "aad-1",
            "IssuedAtTime": "2025-03-04T08:59:40",
            "UniqueTokenId": "LqVzINbCskC74Dl3tec2AA",
        },
        "Folders": [
            {
                "FolderItems": [
                    {"InternetMessageId": "<abc@mail.example>", "SizeInBytes": 48213},
                    {"InternetMessageId": "<def@mail.example>"},
                ],
                "Id": "LgAAAA",
                "Path": "\\Inbox",
            },
            {"FolderItems": [{"InternetMessageId": "<ghi@mail.example>"}], "Path": "\\Sent Items"},
        ],
        "OperationCount": 3,
    }
    record.update(overrides)
    return record


def test_bind_record_keeps_each_items_own_folder() -> None:
    record = FileNormaliser().normalise(bind_record(), None)
    assert to_iso(record.time) == "2025-03-04T09:15:02Z"
    assert record.access_type == ACCESS_BIND
    assert record.throttled == 0
    assert record.operation_count == 3
    assert [(i.message_id, i.folder, i.size) for i in record.items] == [
        ("<abc@mail.example>", "\\Inbox", 48213),
        ("<def@mail.example>", "\\Inbox", -1),
        ("<ghi@mail.example>", "\\Sent Items", -1),
    ]
    assert record.client_family == ClientFamily.OWA
    assert record.aad_session_id == "aad-1"
    assert record.unique_token_id == "LqVzINbCskC74Dl3tec2AA"


def test_operation_properties_are_read_by_name_and_isthrottled_may_be_absent() -> None:
    props = [{"Name": "IsThrottled", "Value": "True"}, {"Name": "MailAccessType", "Value": "Bind"}]
    assert FileNormaliser().normalise(bind_record(OperationProperties=props), None).throttled == 1
    only_type = [{"Name": "MailAccessType", "Value": "Bind"}]
    record = FileNormaliser().normalise(bind_record(OperationProperties=only_type), None)
    assert record.throttled == -1
    assert record.access_type == ACCESS_BIND
    missing_value = [{"Name": "RuleName"}, {"Name": "MailAccessType", "Value": "Sync"}]
    record = FileNormaliser().normalise(bind_record(OperationProperties=missing_value), None)
    assert record.access_type == ACCESS_SYNC


def test_keys_are_matched_case_insensitively_and_strings_coerced() -> None:
    raw = bind_record(LogonType="2", RecordType="50", UserType="5")
    raw["SendonBehalfOfUserMailboxGuid"] = "guid-x"
    raw["sessionid"] = raw.pop("SessionId")
    record = FileNormaliser().normalise(raw, None)
    assert record.send_on_behalf_guid == "guid-x"
    assert record.session_id == "dcdad6b2-0000-0000-0000-000000000001"
    assert (record.logon_type, record.record_type, record.user_type) == (2, 50, 5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.7:51234", "203.0.113.7"),
        ("[2001:DB8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0045", "2001:db8::45"),
        ("[198.51.100.3]:80", "198.51.100.3"),
    ],
)
def test_client_addresses_are_normalised(raw: str, expected: str) -> None:
    record = FileNormaliser().normalise(bind_record(ClientIPAddress=raw), None)
    assert record.client_ip == expected


def test_sync_record_variant_a_takes_the_folder_from_item_parent_folder() -> None:
    raw = bind_record(
        RecordType=2,
        ClientInfoString="Client=MSExchangeRPC",
        OperationProperties=[{"Name": "MailAccessType", "Value": "Sync"}],
        Item={
            "Id": "LgAAAA",
            "ParentFolder": {"Id": "LgAAAA", "Name": "Inbox", "Path": "Not Available"},
        },
    )
    del raw["Folders"], raw["OperationCount"]
    record = FileNormaliser().normalise(raw, None)
    assert record.access_type == ACCESS_SYNC
    assert record.folder == "Inbox"
    assert record.client_family == ClientFamily.MAPI
    assert record.operation_count == -1


def test_sync_record_variant_b_takes_the_folder_from_folders_path() -> None:
    raw = bind_record(
        OperationProperties=[{"Name": "MailAccessType", "Value": "Sync"}],
        Folders=[{"Id": "LgAAAA", "Path": "\\Archive\\Payments"}],
    )
    record = FileNormaliser().normalise(raw, None)
    assert record.folder == "\\Archive\\Payments"
    assert [(i.message_id, i.folder) for i in record.items] == [("", "\\Archive\\Payments")]


def test_send_as_fields_are_kept() -> None:
    raw = bind_record(
        Operation="SendAs",
        RecordType=2,
        SendAsUserSmtp="ceo@fabrikam.example",
        SendAsUserMailboxGuid="g-1",
        Item={
            "Id": "Unknown",
            "InternetMessageId": "<wire@fabrikam.example>",
            "ParentFolder": {"Path": "\\Drafts"},
            "SizeInBytes": 30211,
            "Subject": "Urgent wire",
        },
    )
    del raw["Folders"]
    record = FileNormaliser().normalise(raw, None)
    assert (record.send_as_smtp, record.send_as_guid) == ("ceo@fabrikam.example", "g-1")
    assert (record.subject, record.message_id, record.folder, record.item_size) == (
        "Urgent wire",
        "<wire@fabrikam.example>",
        "\\Drafts",
        30211,
    )


def test_defender_creation_time_with_z_is_utc() -> None:
    record = FileNormaliser().normalise(bind_record(CreationTime="2025-10-27T08:00:01Z"), None)
    assert to_iso(record.time) == "2025-10-27T08:00:01Z"


def test_missing_id_and_missing_time_are_refused_with_reasons() -> None:
    raw = bind_record()
    del raw["Id"]
    with pytest.raises(Unusable, match="no Id"):
        FileNormaliser().normalise(raw, None)
    raw = bind_record()
    del raw["CreationTime"]
    with pytest.raises(Unusable, match=r"no (usable )?CreationTime"):
        FileNormaliser().normalise(raw, None)


def test_wrapper_time_is_a_fallback_and_ambiguity_is_refused() -> None:
    raw = bind_record()
    del raw["CreationTime"]
    wrapper = WrapperFields(time_text="3/12/2025 7:31:34 AM", time_source="CreationDate")
    with pytest.raises(Unusable, match="refusing to guess"):
        FileNormaliser().normalise(raw, wrapper)
    unambiguous = WrapperFields(time_text="3/25/2025 7:31:34 PM", time_source="CreationDate")
    normaliser = FileNormaliser()
    record = normaliser.normalise(dict(raw), unambiguous)
    assert to_iso(record.time) == "2025-03-25T19:31:34Z"
    assert record.time_from_wrapper
    assert normaliser.wrapper_timed == 1


def test_the_file_teaches_its_date_order() -> None:
    # en-AU: 3/12/2025 is 3 December. A row with both dates shows the order.
    normaliser = FileNormaliser()
    normaliser.normalise(
        bind_record(CreationTime="2025-12-03T07:31:34"),
        WrapperFields(time_text="3/12/2025 7:31:34 AM", time_source="CreationDate"),
    )
    raw = bind_record(Id="other")
    del raw["CreationTime"]
    record = normaliser.normalise(
        raw, WrapperFields(time_text="4/12/2025 8:00:00 AM", time_source="CreationDate")
    )
    assert to_iso(record.time) == "2025-12-04T08:00:00Z"


def test_powershell_ms_date_wrapper() -> None:
    raw = bind_record()
    del raw["CreationTime"]
    wrapper = WrapperFields(time_text="/Date(1728364117000)/", time_source="CreationDate")
    assert to_iso(FileNormaliser().normalise(raw, wrapper).time) == "2024-10-08T05:08:37Z"


def _sekoia(shared: Path, name: str) -> dict[str, Any]:
    path = shared / "sekoia-intake-formats" / "office365-o365-tests" / name
    message: str = json.loads(path.read_text(encoding="utf-8"))["input"]["message"]
    parsed: dict[str, Any] = json.loads(message)
    return parsed


def test_real_2025_bind_without_isthrottled(shared_samples: Path) -> None:
    record = FileNormaliser().normalise(_sekoia(shared_samples, "exchange_item_group_7.json"), None)
    assert record.access_type == ACCESS_BIND
    assert record.throttled == -1
    assert record.items and all(item.message_id for item in record.items)
    assert record.aad_session_id


def test_real_delegate_rule_update_with_valueless_property(shared_samples: Path) -> None:
    record = FileNormaliser().normalise(
        _sekoia(shared_samples, "operation_properties_01.json"), None
    )
    assert record.operation == "UpdateInboxRules"
    assert record.logon_type == 2


def test_real_application_bind_with_string_boolean(shared_samples: Path) -> None:
    record = FileNormaliser().normalise(_sekoia(shared_samples, "clientipadress.json"), None)
    assert record.user_type == 5
    assert record.client_ip == "fe80::"
