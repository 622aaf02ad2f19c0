"""One AuditData object to the typed values the index stores, whatever container it came in.

This runs once per record on a million-record load, so it reads only the keys the index
needs, with exact-case lookups first: the case-insensitive fallback (the docs themselves
spell `SendonBehalfOfUserMailboxGuid`) costs a dict rebuild and is taken only when a key in
the record is a known key in another casing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..ingest.rows import WrapperFields
from .addresses import normalise_address
from .clients import parse_client_info
from .times import learn_day_first, parse_creation_time, parse_wrapper_time

ACCESS_NONE, ACCESS_BIND, ACCESS_SYNC = 0, 1, 2
ACCESS_LABELS = {ACCESS_NONE: "", ACCESS_BIND: "Bind", ACCESS_SYNC: "Sync"}

# Keys the normaliser reads, in their schema casing.
_READ_KEYS = [
    "CreationTime",
    "Id",
    "Operation",
    "RecordType",
    "Workload",
    "ResultStatus",
    "UserId",
    "UserType",
    "MailboxOwnerUPN",
    "MailboxGuid",
    "ClientIPAddress",
    "ClientIP",
    "ActorIpAddress",
    "ClientInfoString",
    "SessionId",
    "AppAccessContext",
    "AppId",
    "ClientAppId",
    "LogonType",
    "OperationProperties",
    "OperationCount",
    "Folders",
    "Folder",
    "Item",
    "AffectedItems",
    "SendAsUserSmtp",
    "SendAsUserMailboxGuid",
    "SendOnBehalfOfUserSmtp",
    "SendOnBehalfOfUserMailboxGuid",
    "ObjectId",
    "OriginatingServer",
]
# Keys seen in real records that the normaliser does not read: listing them keeps the
# common record on the exact-case fast path.
_OTHER_KNOWN = [
    "OrganizationId",
    "UserKey",
    "Version",
    "Scope",
    "ExternalAccess",
    "InternalLogonType",
    "LogonUserSid",
    "LogonUserDisplayName",
    "MailboxOwnerSid",
    "MailboxOwnerMasterAccountSid",
    "OrganizationName",
    "ClientMachineName",
    "ClientProcessName",
    "ClientVersion",
    "ClientRequestId",
    "TokenObjectId",
    "TokenTenantId",
    "DeviceId",
    "Parameters",
    "ModifiedProperties",
    "CrossMailboxOperation",
    "CrossMailboxOperations",
    "DestFolder",
    "DestMailboxId",
    "DestMailboxOwnerUPN",
    "DestMailboxOwnerSid",
    "DestMailboxOwnerMasterAccountSid",
    "AppPoolName",
    "CorrelationID",
    "ActorInfoString",
    "HostAppId",
    "AuthType",
    "TokenType",
    "ExternalUserTenantId",
    "ActorIP",
    "CloudInstanceName",
    "Messages",
    "AggregateDurationInSeconds",
    "SaveToSentItems",
    "AttachmentId",
    "AttachmentSizeInBytes",
    "Actor",
    "ActorContextId",
    "ApplicationId",
    "AzureActiveDirectoryEventType",
    "ExtendedProperties",
    "InterSystemsId",
    "IntraSystemId",
    "ModifiedProperties",
    "ObjectId",
    "SupportTicketId",
    "Target",
    "TargetContextId",
    "ErrorNumber",
    "LogonError",
    "DeviceProperties",
]
_KNOWN_EXACT = frozenset(_READ_KEYS) | frozenset(_OTHER_KNOWN)
_CANONICAL = {key.lower(): key for key in _READ_KEYS}
_CANONICAL["sendonbehalfofusermailboxguid"] = "SendOnBehalfOfUserMailboxGuid"

_LOGON_NAMES = {
    "owner": 0,
    "admin": 1,
    "delegate": 2,
    "delegated": 2,
    "transport": 3,
    "systemservice": 4,
    "bestaccess": 5,
    "delegatedadmin": 6,
}

# AuditLogRecordType names as wrappers render them (cmdlet: PascalCase; Graph: camelCase).
RECORD_TYPE_NAMES = {
    "exchangeadmin": 1,
    "exchangeitem": 2,
    "exchangeitemgroup": 3,
    "sharepoint": 4,
    "sharepointfileoperation": 6,
    "azureactivedirectory": 8,
    "azureactivedirectoryaccountlogon": 9,
    "compliancedlpexchange": 13,
    "azureactivedirectorystslogon": 15,
    "exchangeaggregatedoperation": 19,
    "threatintelligence": 28,
    "miplabel": 43,
    "exchangeitemaggregated": 50,
    "exchangesearch": 101,
}


class BoundItem(NamedTuple):
    """A message a record touched: bound (MailItemsAccessed), deleted or moved."""

    message_id: str  # as recorded, angle brackets included; "" when the folder has no items
    folder: str
    size: int  # -1 when absent


class NormalisedRecord(NamedTuple):
    record_id: str
    time: int  # epoch seconds, UTC
    time_from_wrapper: bool
    operation: str
    record_type: int
    workload: str
    result_status: str
    user_id: str
    user_type: int
    mailbox: str
    mailbox_guid: str
    client_ip: str
    client_info: str
    client_family: int
    session_id: str
    aad_session_id: str
    unique_token_id: str
    app_id: str
    client_app_id: str
    logon_type: int
    access_type: int
    throttled: int  # -1 absent, 0 False, 1 True
    operation_count: int
    folder: str
    subject: str
    message_id: str
    item_size: int
    send_as_smtp: str
    send_as_guid: str
    send_on_behalf_smtp: str
    send_on_behalf_guid: str
    object_id: str
    items: tuple[BoundItem, ...]


class Unusable(Exception):
    """A record the index cannot hold (no id, no trustworthy time); the message says why."""


def recase(audit: dict[str, Any]) -> dict[str, Any]:
    """Known keys in schema casing; unknown keys kept as they are."""
    return {_CANONICAL.get(key.lower(), key): value for key, value in audit.items()}


def _needs_recase(audit: dict[str, Any]) -> bool:
    if _KNOWN_EXACT.issuperset(audit):
        return False
    return any(key not in _KNOWN_EXACT and key.lower() in _CANONICAL for key in audit)


def ci_get(obj: dict[str, Any], key: str) -> Any:
    """A nested object's value by key, exact case first, then case-insensitively."""
    value = obj.get(key)
    if value is not None or key in obj:
        return value
    low = key.lower()
    for name, candidate in obj.items():
        if name.lower() == low:
            return candidate
    return None


def as_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def as_int(value: Any) -> int:
    """Numbers that may arrive as strings (`"LogonType":"0"`); -1 when absent or not one."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**63 else -1
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                return int(float(text))
            except (ValueError, OverflowError):  # "1e400" and "inf" are not counts
                return -1
    return -1


def as_flag(value: Any) -> int:
    """Booleans that may arrive as `"True"`/`"False"`: 1, 0, or -1 when absent/unreadable."""
    if value is None:
        return -1
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return 1 if value else 0
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes"):
            return 1
        if low in ("false", "0", "no"):
            return 0
    return -1


def logon_type(value: Any) -> int:
    number = as_int(value)
    if number == -1 and isinstance(value, str):
        return _LOGON_NAMES.get(value.strip().lower(), -1)
    return number


def record_type(value: Any) -> int:
    number = as_int(value)
    if number == -1 and isinstance(value, str):
        return RECORD_TYPE_NAMES.get(value.strip().lower(), -1)
    return number


def operation_properties(value: Any) -> dict[str, str]:
    """OperationProperties by name (never by position: IsThrottled may be absent)."""
    found: dict[str, str] = {}
    if type(value) is list:
        for entry in value:
            if type(entry) is dict:
                name = entry.get("Name")
                if name is None:
                    name = ci_get(entry, "Name")
                if type(name) is str:
                    item = entry.get("Value")
                    if item is None:
                        item = ci_get(entry, "Value")
                    found[name.lower()] = item if type(item) is str else as_text(item)
    return found


def folder_path(folder: Any) -> str:
    """A folder's path; `Not Available` (sync records, Variant A) falls back to its name."""
    if not isinstance(folder, dict):
        return as_text(folder) if isinstance(folder, str) else ""
    path = folder.get("Path")  # the usual folder without the calls: ~1.4 folders a record
    path = (path if type(path) is str else as_text(ci_get(folder, "Path"))).strip()
    if path and path != "Not Available":
        return path
    name = as_text(ci_get(folder, "Name")).strip()
    return name or path


def _item_value(entry: dict[str, Any], key: str) -> Any:
    value = entry.get(key)
    return value if value is not None else ci_get(entry, key) if entry else None


def item_fields(item: dict[str, Any]) -> tuple[str, str, str, int]:
    """An Item's folder path, Subject, InternetMessageId and SizeInBytes (-1 when absent).

    Exact keys holding the usual types are read in place (a send or a move has an Item: a
    quarter of a large case's records); anything else as `_item_value` and the readers
    read it.
    """
    value = item.get("Subject")
    subject = value if type(value) is str else as_text(_item_value(item, "Subject"))
    value = item.get("InternetMessageId")
    message_id = value if type(value) is str else as_text(_item_value(item, "InternetMessageId"))
    value = item.get("SizeInBytes")
    size = value if type(value) is int else as_int(_item_value(item, "SizeInBytes"))
    return folder_path(_item_value(item, "ParentFolder")), subject, message_id, size


_ACCESS_TYPES = {"bind": ACCESS_BIND, "sync": ACCESS_SYNC}


def mail_access(listed: Any) -> tuple[int, int]:
    """MailAccessType (an ACCESS_ value) and IsThrottled (-1 absent, 0, 1) of a record's
    OperationProperties, read by name.

    The two entries nearly every MailItemsAccessed record has, in their usual order, are read
    in place (~0.3 us a record against ~1 us for building their dict); anything else as
    `operation_properties` reads it.
    """
    if type(listed) is list and len(listed) == 2:
        first, second = listed
        if (
            type(first) is dict
            and type(second) is dict
            and first.get("Name") == "MailAccessType"
            and second.get("Name") == "IsThrottled"
        ):
            access, flag = first.get("Value"), second.get("Value")
            if type(access) is str and type(flag) is str:
                throttled = 0 if flag == "False" else 1 if flag == "True" else as_flag(flag)
                return _ACCESS_TYPES.get(access.strip().lower(), ACCESS_NONE), throttled
    return mail_access_of(operation_properties(listed))


def mail_access_of(props: dict[str, str]) -> tuple[int, int]:
    """`mail_access` from OperationProperties already read by name (operation_properties)."""
    access = _ACCESS_TYPES.get(props.get("mailaccesstype", "").strip().lower(), ACCESS_NONE)
    return access, as_flag(props["isthrottled"]) if "isthrottled" in props else -1


def append_bound_items(
    audit: dict[str, Any],
    add_message: Callable[[str], None],
    add_folder: Callable[[str], None],
    add_size: Callable[[int], None],
) -> int:
    """Append each item of Folders[].FolderItems[] (each keeps its own folder) and of
    AffectedItems[] to three columns; return how many.

    Columns and not a tuple per item: the chunk normaliser keeps items as columns, and
    building a BoundItem per item (2.5 a record in a large case) cost ~0.5 us a record.
    """
    count = 0
    folders = audit.get("Folders")
    if type(folders) is list:
        for folder in folders:
            if type(folder) is not dict:
                continue
            path = folder_path(folder)
            entries = folder.get("FolderItems")
            if entries is None:
                entries = ci_get(folder, "FolderItems")
            if type(entries) is list and entries:
                for entry in entries:
                    if type(entry) is dict:
                        message = entry.get("InternetMessageId")
                        if message is None:
                            message = ci_get(entry, "InternetMessageId")
                        size = entry.get("SizeInBytes")
                        add_message(message if type(message) is str else as_text(message))
                        add_folder(path)
                        add_size(size if type(size) is int else as_int(size))
                        count += 1
            else:
                # A folder named without items: a Sync (Variant B) or a bind to record as empty.
                add_message("")
                add_folder(path)
                add_size(-1)
                count += 1
    affected = audit.get("AffectedItems")
    if type(affected) is list:
        for entry in affected:
            if type(entry) is dict:
                add_message(as_text(_item_value(entry, "InternetMessageId")))
                add_folder(folder_path(_item_value(entry, "ParentFolder")))
                add_size(as_int(_item_value(entry, "SizeInBytes")))
                count += 1
    return count


def _bound_items(audit: dict[str, Any]) -> list[BoundItem]:
    """The record's items (see append_bound_items), as BoundItems."""
    messages: list[str] = []
    folders: list[str] = []
    sizes: list[int] = []
    append_bound_items(audit, messages.append, folders.append, sizes.append)
    return list(map(BoundItem._make, zip(messages, folders, sizes, strict=True)))


def recorded_message_ids(audit: dict[str, Any]) -> tuple[str, list[str]]:
    """A record's own Item.InternetMessageId and its items' ids, as `normalise` reads them.

    The index keeps message ids as keys (index/messages.py); this recovers their text from a
    record re-read from the evidence, item for item in the order the index stores them.
    """
    if _needs_recase(audit):
        audit = recase(audit)
    item = audit.get("Item")
    own = as_text(_item_value(item, "InternetMessageId")) if type(item) is dict and item else ""
    return own, [bound.message_id for bound in _bound_items(audit)]


class FileNormaliser:
    """Normalises the records of one file, learning its wrapper date order as it goes."""

    def __init__(self) -> None:
        self.day_first: bool | None = None
        self.wrapper_timed = 0  # records whose time came from a wrapper column
        self.wrapper_time_source = ""
        self._learn_budget = 50

    @property
    def learning_date_order(self) -> bool:
        """Whether the file's wrapper date order is still being learned from its rows."""
        return self._learn_budget > 0

    @property
    def learning_budget(self) -> int:
        """How many more rows with a CreationTime and a wrapper date it learns the order from."""
        return self._learn_budget

    def _time(self, audit: dict[str, Any], wrapper: WrapperFields | None) -> tuple[int, bool]:
        epoch = parse_creation_time(audit.get("CreationTime"))
        if epoch is not None:
            if self._learn_budget and wrapper is not None and wrapper.time_text:
                self._learn(wrapper.time_text, epoch)
            return epoch, False
        if wrapper is None or not wrapper.time_text:
            # "usable": the key may be there with a value that is not a time (or not one
            # between years 1 and 9999), and the message must not say it is missing.
            raise Unusable("AuditData has no usable CreationTime and the row carries no other date")
        reading = parse_wrapper_time(wrapper.time_text, wrapper.time_source, self.day_first)
        if reading.epoch is None:
            raise Unusable(f"AuditData has no usable CreationTime and {reading.problem}")
        self.wrapper_timed += 1
        self.wrapper_time_source = wrapper.time_source
        return reading.epoch, True

    def _learn(self, text: str, epoch: int) -> None:
        self._learn_budget -= 1
        if "/" in text and self.day_first is None:
            self.day_first = learn_day_first(text, epoch)

    def normalise(self, audit: dict[str, Any], wrapper: WrapperFields | None) -> NormalisedRecord:
        """Typed values for the index; raises Unusable with a reason a responder understands.

        Written for a million calls: string fields take the `type(v) is str` fast path and
        fall back to `as_text` only for numbers, booleans and nulls.
        """
        if _needs_recase(audit):
            audit = recase(audit)
        get = audit.get
        value = get("Id")
        record_id = (value if type(value) is str else as_text(value)).strip()
        if not record_id and wrapper is not None and wrapper.record_id:
            record_id = wrapper.record_id.strip()
        if not record_id:
            raise Unusable("AuditData has no Id (the record key)")
        time, from_wrapper = self._time(audit, wrapper)
        value = get("Operation")
        operation = value if type(value) is str else as_text(value)
        if not operation and wrapper is not None and wrapper.operation:
            operation = wrapper.operation
        value = get("UserId")
        user_id = value if type(value) is str else as_text(value)
        if not user_id and wrapper is not None and wrapper.user_id:
            user_id = wrapper.user_id
        value = get("RecordType")
        rtype = value if type(value) is int else record_type(value)
        if rtype == -1 and wrapper is not None and wrapper.record_type:
            rtype = record_type(wrapper.record_type)

        value = get("ClientInfoString")
        client_info = value if type(value) is str else as_text(value)
        family = parse_client_info(client_info)[0]
        address = get("ClientIPAddress") or get("ClientIP") or get("ActorIpAddress")
        context = get("AppAccessContext")
        aad_session = token = ""
        if type(context) is dict and context:
            aad_session = as_text(_item_value(context, "AADSessionId")).strip()
            token = as_text(_item_value(context, "UniqueTokenId")).strip()
        access_type, throttled = mail_access(get("OperationProperties"))

        item = get("Item")
        items = _bound_items(audit)
        subject = message_id = folder = ""
        item_size = -1
        if type(item) is dict and item:
            folder, subject, message_id, item_size = item_fields(item)
        if not folder:
            folder = items[0].folder if items else folder_path(get("Folder"))
        value = get("LogonType")
        value_count = get("OperationCount")
        value_user_type = get("UserType")
        return NormalisedRecord(
            record_id,
            time,
            from_wrapper,
            operation,
            rtype,
            as_text(get("Workload")),
            as_text(get("ResultStatus")),
            user_id,
            value_user_type if type(value_user_type) is int else as_int(value_user_type),
            as_text(get("MailboxOwnerUPN")),
            as_text(get("MailboxGuid")),
            normalise_address(address if type(address) is str else as_text(address))
            if address
            else "",
            client_info,
            int(family),
            as_text(get("SessionId")).strip(),
            aad_session,
            token,
            as_text(get("AppId")).strip(),
            as_text(get("ClientAppId")).strip(),
            value if type(value) is int else logon_type(value),
            access_type,
            throttled,
            value_count if type(value_count) is int else as_int(value_count),
            folder,
            subject,
            message_id,
            item_size,
            as_text(get("SendAsUserSmtp")),
            as_text(get("SendAsUserMailboxGuid")),
            as_text(get("SendOnBehalfOfUserSmtp")),
            as_text(get("SendOnBehalfOfUserMailboxGuid")),
            as_text(get("ObjectId")),
            tuple(items),
        )
