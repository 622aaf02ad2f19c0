"""What the records list and the record detail show, as plain values from the index.

Column choice and order are the investigator's: when, what, who, from where, with what,
in which session, and what it touched. The TUI draws these values; it decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .index.audit_index import AuditIndex
from .normalise.clients import FAMILY_LABELS, ClientFamily
from .normalise.record import ACCESS_LABELS
from .normalise.times import to_iso

LOGON_LABELS = {
    0: "Owner",
    1: "Admin",
    2: "Delegate",
    3: "Transport",
    4: "SystemService",
    5: "BestAccess",
    6: "DelegatedAdmin",
}


@dataclass(frozen=True)
class Column:
    key: str  # the field a sort uses
    title: str
    width: int


# Widths fit 80 columns for the first six (time to family); the rest scroll into view.
RECORD_COLUMNS: tuple[Column, ...] = (
    Column("time", "Time (UTC)", 19),
    Column("operation", "Operation", 17),
    Column("user_id", "User", 22),
    Column("client_ip", "Client address", 15),
    Column("client_family", "Client", 10),
    Column("access_type", "Acc", 4),
    Column("items", "Items", 5),
    Column("session_id", "Session", 38),
    Column("mailbox", "Mailbox", 28),
)


def short_time(epoch: int) -> str:
    return to_iso(epoch)[:19].replace("T", " ")


def logon_label(value: int) -> str:
    return LOGON_LABELS.get(value, "" if value < 0 else str(value))


def session_of(index: AuditIndex, row: int) -> str:
    """The session a record belongs to: SessionId, else AADSessionId, else UniqueTokenId."""
    return (
        index.text("session_id", row)
        or index.text("aad_session_id", row)
        or index.text("unique_token_id", row)
    )


def record_cells(index: AuditIndex, row: int) -> list[str]:
    items = index.item_count(row)
    return [
        short_time(int(index.time[row])),
        index.text("operation", row),
        index.text("user_id", row),
        index.text("client_ip", row),
        FAMILY_LABELS[ClientFamily(index.number("client_family", row))],
        ACCESS_LABELS.get(index.number("access_type", row), ""),
        str(items) if items else "",
        session_of(index, row),
        index.text("mailbox", row),
    ]


def normalised_fields(index: AuditIndex, row: int) -> list[tuple[str, str]]:
    """Every normalised field of a record, labelled in the schema's vocabulary."""
    number = index.number
    throttled = {-1: "", 0: "False", 1: "True"}[number("throttled", row)]
    count = number("operation_count", row)
    size = number("item_size", row)
    source = index.files[int(index.file[row])]
    fields = [
        ("Id", index.record_id(row)),
        ("CreationTime", to_iso(int(index.time[row]))),
        ("Time source", "wrapper column" if number("time_from_wrapper", row) else "CreationTime"),
        ("Operation", index.text("operation", row)),
        ("RecordType", "" if number("record_type", row) < 0 else str(number("record_type", row))),
        ("Workload", index.text("workload", row)),
        ("ResultStatus", index.text("result_status", row)),
        ("UserId", index.text("user_id", row)),
        ("MailboxOwnerUPN", index.text("mailbox", row)),
        ("MailboxGuid", index.text("mailbox_guid", row)),
        ("LogonType", logon_label(number("logon_type", row))),
        ("Client address", index.text("client_ip", row)),
        ("ClientInfoString", index.text("client_info", row)),
        ("Client family", FAMILY_LABELS[ClientFamily(number("client_family", row))]),
        ("SessionId", index.text("session_id", row)),
        ("AADSessionId", index.text("aad_session_id", row)),
        ("UniqueTokenId", index.text("unique_token_id", row)),
        ("AppId", index.text("app_id", row)),
        ("ClientAppId", index.text("client_app_id", row)),
        ("MailAccessType", ACCESS_LABELS.get(number("access_type", row), "")),
        ("IsThrottled", throttled),
        ("OperationCount", "" if count < 0 else str(count)),
        ("Folder", index.text("folder", row)),
        ("Item.Subject", index.text("subject", row)),
        ("Item.InternetMessageId", index.text("message_id", row)),
        ("Item.SizeInBytes", "" if size < 0 else str(size)),
        ("SendAsUserSmtp", index.text("send_as_smtp", row)),
        ("SendOnBehalfOfUserSmtp", index.text("send_on_behalf_smtp", row)),
        ("ObjectId", index.text("object_id", row)),
        ("Evidence file", source.path),
        ("Line", str(int(index.line[row]))),
    ]
    return [(name, value) for name, value in fields if value]


def sort_rows(index: AuditIndex, rows: npt.NDArray[np.int64], key: str) -> npt.NDArray[np.int64]:
    """Rows ordered by a column's value (stable: ties keep time order)."""
    if key == "time" or len(rows) == 0:
        return rows
    if key == "items":
        values = np.diff(index.item_start)[rows]
        return rows[np.argsort(values, kind="stable")]
    if key in index.codes:
        dictionary = index.values(key)
        # Rank of each code in value order, so sorting codes sorts values.
        order = sorted(range(len(dictionary)), key=lambda code: dictionary[code].casefold())
        rank = np.empty(len(dictionary), dtype=np.int64)
        rank[np.array(order, dtype=np.int64)] = np.arange(len(dictionary), dtype=np.int64)
        return rows[np.argsort(rank[index.codes[key][rows]], kind="stable")]
    return rows[np.argsort(index.ints[key][rows], kind="stable")]
