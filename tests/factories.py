"""Real-shaped AuditData records and small indexes built from them, for analysis tests.

The records follow formats.md field by field (schema casing, 2022-2025 shapes), so an
analysis tested on them is tested on what the loader really produces.
"""

from __future__ import annotations

import itertools
from typing import Any

from ualscope.core.index.audit_index import AuditIndex
from ualscope.core.index.merge import merge_parts
from ualscope.core.index.part import PartBuilder
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.normalise.record import FileNormaliser

OWA = "Client=OWA;Action=ViaProxy"
MAPI = "Client=MSExchangeRPC"
REST = "Client=REST;Client=RESTSystem;;"
OUTLOOK_IOS = "Client=OutlookService;Outlook-iOS/2.0;"

_ids = itertools.count(1)


def next_id() -> str:
    return f"00000000-0000-4000-8000-{next(_ids):012d}"


def mailbox_record(
    operation: str,
    when: str,
    *,
    user: str = "megan.bowen@fabrikam.example",
    mailbox: str | None = None,
    ip: str = "198.51.100.14",
    client: str = OWA,
    session: str | None = "11111111-aaaa-4000-8000-000000000001",
    logon_type: int = 0,
    record_type: int = 2,
    record_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "CreationTime": when,
        "Id": record_id or next_id(),
        "Operation": operation,
        "OrganizationId": "0b7f1c2d-0000-4000-8000-000000000000",
        "RecordType": record_type,
        "ResultStatus": "Succeeded",
        "UserKey": "10032001A1B2C3D4",
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": user,
        "ClientIPAddress": ip,
        "ClientInfoString": client,
        "ExternalAccess": False,
        "InternalLogonType": logon_type,
        "LogonType": logon_type,
        "MailboxGuid": "a1b2c3d4-0000-4000-8000-000000000001",
        "MailboxOwnerUPN": mailbox or user,
        "OrganizationName": "fabrikam.example",
        "OriginatingServer": "DB9PR04MB8462 (15.20.8005.017)\r\n",
    }
    if session is not None:
        record["SessionId"] = session
    record.update(extra)
    return record


def bind(
    when: str,
    messages: list[tuple[str, str]],
    *,
    throttled: bool | None = False,
    operation_count: int | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """A MailItemsAccessed Bind (RecordType 50) of (InternetMessageId, folder path) pairs."""
    folders: dict[str, list[dict[str, Any]]] = {}
    for message, folder in messages:
        folders.setdefault(folder, []).append({"InternetMessageId": message, "SizeInBytes": 4096})
    props = [{"Name": "MailAccessType", "Value": "Bind"}]
    if throttled is not None:
        props.append({"Name": "IsThrottled", "Value": "True" if throttled else "False"})
    return mailbox_record(
        "MailItemsAccessed",
        when,
        record_type=50,
        OperationProperties=props,
        Folders=[
            {"FolderItems": items, "Id": "LgAAAA", "Path": path} for path, items in folders.items()
        ],
        OperationCount=len(messages) if operation_count is None else operation_count,
        **kwargs,
    )


def sync(when: str, folder: str, **kwargs: Any) -> dict[str, Any]:
    """A MailItemsAccessed Sync in the RecordType 2 shape (Item.ParentFolder, formats.md 3.3)."""
    kwargs.setdefault("client", MAPI)
    return mailbox_record(
        "MailItemsAccessed",
        when,
        OperationProperties=[{"Name": "MailAccessType", "Value": "Sync"}],
        Item={
            "Id": "LgAAAA",
            "ParentFolder": {"Id": "LgAAAA", "Name": folder.strip("\\"), "Path": "Not Available"},
        },
        ClientProcessName="OUTLOOK.EXE",
        ClientVersion="16.0.14931.20132",
        **kwargs,
    )


def send_as(
    when: str,
    *,
    user: str,
    owner: str | None = None,
    send_as_smtp: str | None = None,
    on_behalf_of: str | None = None,
    subject: str = "Invoice",
    **kwargs: Any,
) -> dict[str, Any]:
    """A SendAs (or, with on_behalf_of, SendOnBehalf) record as formats.md 4.2 shows it."""
    extra: dict[str, Any] = {
        "Item": {
            "Id": "Unknown",
            "InternetMessageId": f"<{next_id()}@fabrikam.example>",
            "ParentFolder": {"Id": "LgAAAA", "Path": "\\Drafts"},
            "SizeInBytes": 30211,
            "Subject": subject,
        }
    }
    operation = "SendAs"
    if on_behalf_of is not None:
        operation = "SendOnBehalf"
        extra["SendOnBehalfOfUserSmtp"] = on_behalf_of
        extra["SendOnBehalfOfUserMailboxGuid"] = "b2c3d4e5-0000-4000-8000-000000000002"
    elif send_as_smtp is not None:
        extra["SendAsUserSmtp"] = send_as_smtp
        extra["SendAsUserMailboxGuid"] = "b2c3d4e5-0000-4000-8000-000000000002"
    extra.update(kwargs)
    return mailbox_record(operation, when, user=user, mailbox=owner or user, **extra)


def build_index(files: dict[str, list[dict[str, Any]]]) -> AuditIndex:
    """An index from records grouped by file name, exactly as the loader would merge them."""
    infos = [InputFile(path=name, size=0, sha256="0" * 64, shape="purview-csv") for name in files]
    parts = []
    for number, rows in enumerate(files.values()):
        builder = PartBuilder(number)
        normaliser = FileNormaliser()
        for line, raw in enumerate(rows, start=2):
            builder.add(normaliser.normalise(raw, None), line, line * 1000, 999)
        parts.append(builder.finish(len(rows)))
    return merge_parts(parts, infos)


# Search-UnifiedAuditLog | Export-Csv: the cmdlet's object properties, in the order it writes
# them (formats.md 2.2). One list for every test that writes that shape.
CMDLET_COLUMNS = (
    "RunspaceId",
    "RecordType",
    "CreationDate",
    "UserIds",
    "Operations",
    "AuditData",
    "ResultIndex",
    "ResultCount",
    "Identity",
    "IsValid",
    "ObjectState",
)
