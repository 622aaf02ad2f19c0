"""A chunk of records normalised a column at a time: the load's hot path.

`FileNormaliser.normalise` reads one record into one tuple. At a million records its ~35
lookups, type tests and conversions per record cost ~9 us each, and the part builder then
takes the tuples apart into columns again (~7 us more), together more than the csv and
orjson parse they follow (~10 us). Here the same values are read column by column: a key
is fetched for the whole chunk by `map` (a loop in C), a column is converted only when a
value in it is not already what the index stores, and work that depends on a value alone
(client family, normal form of an address) is done once per distinct value, by the lru
caches of those readings.

Records this path does not cover go through `FileNormaliser.normalise` one at a time, which
stays the reference: keys in another casing, an Id, CreationTime, Operation, UserId or
RecordType that needs the wrapper's value or makes the record unusable, and the first rows
of a file whose wrapper date order is still being learned. A test holds both paths to
identical parts on the sample case, the hostile corpus and mutated records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, repeat
from typing import Any

from ..ingest.rows import WrapperFields
from .addresses import normalise_address
from .clients import client_family_code
from .record import (
    _KNOWN_EXACT,
    ACCESS_NONE,
    BoundItem,
    FileNormaliser,
    NormalisedRecord,
    Unusable,
    _item_value,
    _needs_recase,
    append_bound_items,
    as_int,
    as_text,
    folder_path,
    item_fields,
    logon_type,
    mail_access,
    record_type,
)
from .times import parse_creation_times

# Fields read as `as_text(audit.get(key))`.
_TEXT_KEYS = {
    "operation": "Operation",
    "user_id": "UserId",
    "workload": "Workload",
    "result_status": "ResultStatus",
    "mailbox": "MailboxOwnerUPN",
    "mailbox_guid": "MailboxGuid",
    "client_info": "ClientInfoString",
    "send_as_smtp": "SendAsUserSmtp",
    "send_as_guid": "SendAsUserMailboxGuid",
    "send_on_behalf_smtp": "SendOnBehalfOfUserSmtp",
    "send_on_behalf_guid": "SendOnBehalfOfUserMailboxGuid",
    "object_id": "ObjectId",
}
# Fields read as `as_text(audit.get(key)).strip()`.
_STRIPPED_KEYS = {"session_id": "SessionId", "app_id": "AppId", "client_app_id": "ClientAppId"}
# Numbers that may arrive as text, each with the reading the reference path gives them.
_INT_KEYS: dict[str, tuple[str, Callable[[Any], int]]] = {
    "record_type": ("RecordType", record_type),
    "user_type": ("UserType", as_int),
    "logon_type": ("LogonType", logon_type),
    "operation_count": ("OperationCount", as_int),
}
_NONE_AS_EMPTY: dict[Any, str] = {None: ""}
_STR_ONLY = {str}
_STR_OR_NONE = {str, type(None)}
_INT_ONLY = {int}


@dataclass
class ChunkColumns:
    """The records of a chunk that could be kept, as columns named as NormalisedRecord's
    fields (`items` excepted), and their bound items flattened in record order."""

    values: dict[str, list[Any]]
    kept: list[int]  # position in the chunk of each kept record
    item_count: list[int]
    item_message: list[str]
    item_folder: list[str]
    item_size: list[int]
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (position, reason)


def _column(audits: Sequence[dict[str, Any]], key: str) -> list[Any]:
    return list(map(dict.get, audits, repeat(key)))


def _texts(values: list[Any]) -> list[Any]:
    kinds = set(map(type, values))
    if kinds <= _STR_ONLY:
        return values
    if kinds <= _STR_OR_NONE:
        return list(map(_NONE_AS_EMPTY.get, values, values))
    return [value if type(value) is str else as_text(value) for value in values]


def _ints(values: list[Any], read: Callable[[Any], int]) -> list[Any]:
    if set(map(type, values)) <= _INT_ONLY:
        return values
    return [value if type(value) is int else read(value) for value in values]


def _address(value: Any) -> str:
    return normalise_address(value if type(value) is str else as_text(value)) if value else ""


def normalise_chunk(
    normaliser: FileNormaliser,
    audits: list[dict[str, Any]],
    wrappers: list[WrapperFields | None],
) -> ChunkColumns:
    """Normalise `audits` (with the wrapper fields of their rows) into columns.

    The result equals, record for record, what `normaliser.normalise` gives each of them,
    with the records it would refuse (Unusable) left out and listed with their reasons.
    """
    count = len(audits)
    learning = normaliser.learning_date_order and any(
        wrapper is not None and wrapper.time_text for wrapper in wrappers
    )
    if learning:
        # Records in order through the reference path, which learns the wrapper's date order
        # from the first 50 with a CreationTime: as many as it may still learn from, then
        # the rest of the chunk again (column by column once the order is learned). A range
        # of a large file starts learning afresh, so every range's first chunk comes here.
        head = normaliser.learning_budget
        if head >= count:
            return one_by_one(normaliser, audits, wrappers)
        first = one_by_one(normaliser, audits[:head], wrappers[:head])
        return _joined(first, normalise_chunk(normaliser, audits[head:], wrappers[head:]), head)
    slow: set[int] = set()
    exact = list(map(_KNOWN_EXACT.issuperset, audits))
    if not all(exact):
        slow.update(i for i, fits in enumerate(exact) if not fits and _needs_recase(audits[i]))

    values: dict[str, list[Any]] = {}
    ids = _texts(_column(audits, "Id"))
    ids = list(map(str.strip, ids))
    if not all(ids):
        slow.update(i for i, text in enumerate(ids) if not text)
    values["record_id"] = ids
    times = parse_creation_times(_column(audits, "CreationTime"))
    if None in times:
        slow.update(i for i, epoch in enumerate(times) if epoch is None)
    values["time"] = times
    values["time_from_wrapper"] = [False] * count

    for name, key in _TEXT_KEYS.items():
        values[name] = _texts(_column(audits, key))
    for name, key in _STRIPPED_KEYS.items():
        values[name] = list(map(str.strip, _texts(_column(audits, key))))
    for name, (key, read) in _INT_KEYS.items():
        values[name] = _ints(_column(audits, key), read)
    # Values the wrapper fills in when AuditData lacks them: the reference path decides.
    for name, absent, wrapped in (
        ("operation", "", "operation"),
        ("user_id", "", "user_id"),
        ("record_type", -1, "record_type"),
    ):
        column = values[name]
        if absent in column:
            slow.update(
                i
                for i, value in enumerate(column)
                if value == absent and getattr(wrappers[i], wrapped, None)
            )

    # Both readings are lru-cached by value: a case has thousands of distinct clients and
    # addresses, not millions.
    values["client_family"] = list(map(client_family_code, values["client_info"]))
    addresses = _column(audits, "ClientIPAddress")
    if not all(addresses):
        for i, address in enumerate(addresses):
            if not address:
                get = audits[i].get
                addresses[i] = get("ClientIP") or get("ActorIpAddress")
    if set(map(type, addresses)) <= _STR_ONLY:
        values["client_ip"] = list(map(normalise_address, addresses))  # "" stays ""
    else:
        values["client_ip"] = list(map(_address, addresses))

    aad_sessions = [""] * count
    tokens = [""] * count
    for i, context in enumerate(_column(audits, "AppAccessContext")):
        if type(context) is dict and context:
            aad_sessions[i] = as_text(_item_value(context, "AADSessionId")).strip()
            tokens[i] = as_text(_item_value(context, "UniqueTokenId")).strip()
    values["aad_session_id"] = aad_sessions
    values["unique_token_id"] = tokens

    access_types = [ACCESS_NONE] * count
    throttled = [-1] * count
    for i, listed in enumerate(_column(audits, "OperationProperties")):
        if listed is not None:
            access_types[i], throttled[i] = mail_access(listed)
    values["access_type"] = access_types
    values["throttled"] = throttled

    item_message: list[str] = []
    item_folder: list[str] = []
    item_size: list[int] = []
    add_message, add_folder, add_size = item_message.append, item_folder.append, item_size.append
    item_count = [append_bound_items(audit, add_message, add_folder, add_size) for audit in audits]
    folders = [""] * count
    subjects = [""] * count
    message_ids = [""] * count
    item_sizes = [-1] * count
    for i, item in enumerate(_column(audits, "Item")):
        if type(item) is dict and item:
            folders[i], subjects[i], message_ids[i], item_sizes[i] = item_fields(item)
    if not all(folders):
        item_start = list(accumulate(item_count, initial=0))  # of each record's items
        for i, folder in enumerate(folders):
            if not folder:
                folders[i] = (
                    item_folder[item_start[i]]
                    if item_count[i]
                    else folder_path(audits[i].get("Folder"))
                )
    values["folder"] = folders
    values["subject"] = subjects
    values["message_id"] = message_ids
    values["item_size"] = item_sizes

    rejected: list[tuple[int, str]] = []
    replaced: dict[int, tuple[BoundItem, ...]] = {}
    if slow:
        # The reference path, whose record replaces what the columns read for it.
        for i in sorted(slow):
            try:
                record = normaliser.normalise(audits[i], wrappers[i])
            except Unusable as problem:
                rejected.append((i, str(problem)))
                continue
            replaced[i] = record.items
            for name, value in zip(NormalisedRecord._fields, record, strict=True):
                if name != "items":
                    values[name][i] = value
    kept = list(range(count))
    if rejected:
        dropped = {i for i, _ in rejected}
        kept = [i for i in kept if i not in dropped]
        values = {name: [column[i] for i in kept] for name, column in values.items()}
    columns = ChunkColumns(values, kept, item_count, item_message, item_folder, item_size, rejected)
    if slow:
        _splice_items(columns, replaced)
    return columns


def _joined(first: ChunkColumns, rest: ChunkColumns, size: int) -> ChunkColumns:
    """The columns of two consecutive pieces of a chunk, the first `size` records long."""
    return ChunkColumns(
        values={name: column + rest.values[name] for name, column in first.values.items()},
        kept=first.kept + [size + i for i in rest.kept],
        item_count=first.item_count + rest.item_count,
        item_message=first.item_message + rest.item_message,
        item_folder=first.item_folder + rest.item_folder,
        item_size=first.item_size + rest.item_size,
        rejected=first.rejected + [(size + i, reason) for i, reason in rest.rejected],
    )


def _splice_items(columns: ChunkColumns, replaced: dict[int, tuple[BoundItem, ...]]) -> None:
    """Keep the items of kept records only, with the reference path's items where it
    replaced a record."""
    item_start = list(accumulate(columns.item_count, initial=0))
    count: list[int] = []
    messages: list[str] = []
    folders: list[str] = []
    sizes: list[int] = []
    for i in columns.kept:
        if i in replaced:
            items = replaced[i]
            count.append(len(items))
            messages.extend(item.message_id for item in items)
            folders.extend(item.folder for item in items)
            sizes.extend(item.size for item in items)
        else:
            start, end = item_start[i], item_start[i + 1]
            count.append(end - start)
            messages.extend(columns.item_message[start:end])
            folders.extend(columns.item_folder[start:end])
            sizes.extend(columns.item_size[start:end])
    columns.item_count = count
    columns.item_message = messages
    columns.item_folder = folders
    columns.item_size = sizes


def one_by_one(
    normaliser: FileNormaliser,
    audits: list[dict[str, Any]],
    wrappers: list[WrapperFields | None],
) -> ChunkColumns:
    """The reference: each record through `normaliser.normalise`, in order."""
    records: list[NormalisedRecord] = []
    kept: list[int] = []
    rejected: list[tuple[int, str]] = []
    for i, (audit, wrapper) in enumerate(zip(audits, wrappers, strict=True)):
        try:
            records.append(normaliser.normalise(audit, wrapper))
        except Unusable as problem:
            rejected.append((i, str(problem)))
        else:
            kept.append(i)
    return columns_of(records, kept, rejected)


def columns_of(
    records: list[NormalisedRecord],
    kept: list[int] | None = None,
    rejected: list[tuple[int, str]] | None = None,
) -> ChunkColumns:
    """Normalised records as columns (the shape `normalise_chunk` gives)."""
    names = NormalisedRecord._fields
    columns = list(zip(*records, strict=True)) if records else [()] * len(names)
    values = {name: list(column) for name, column in zip(names, columns, strict=True)}
    item_lists = values.pop("items")
    items = list(chain.from_iterable(item_lists))
    messages, folders, sizes = zip(*items, strict=True) if items else ((), (), ())
    return ChunkColumns(
        values=values,
        kept=list(range(len(records))) if kept is None else kept,
        item_count=list(map(len, item_lists)),
        item_message=list(messages),
        item_folder=list(folders),
        item_size=list(sizes),
        rejected=rejected or [],
    )
