"""Rebuilding an AuditData object from CSV shapes that spread it over separate columns.

Three exports carry no AuditData JSON column (formats.md sections 7, 10 and 11):

- Microsoft Sentinel `OfficeActivity`: AuditData keys under renamed columns (`Client_IPAddress`,
  `Logon_Type`, `OfficeId`...), nested values as JSON text, Log Analytics bookkeeping columns,
  and headers that may carry a ` [UTC]` suffix from the portal's CSV export.
- `Search-MailboxAuditLog -ShowDetails`: its own flat property names (`LastAccessed`,
  `ItemSubject`, `FolderPathName`...), logon types as names, `OperationProperties` as
  `MailAccessType:Bind IsThrottled:False` text and the bind list as JSON-ish text.
- AuditData flattened by `Export-Csv` (Extractor Suite `-AuditDataOnly`, Hawk): one column per
  key, nested arrays as `System.Object[]` (lost) or, in Hawk's "Simple" files, spread over
  columns such as `Folders_0_FolderItems_0_InternetMessageId`.

`FlatMapper` turns a row of any of them into an AuditData-shaped dict with the keys the rest of
ualscope reads. Every decision about a column is taken once, from the header; a row only walks
the precomputed rules. Values stay text except where the CSV lost a type the record had
(numbers of known integer keys, logon type names, JSON text): times in particular are passed
on untouched for the normaliser.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from .detect import Detection, Shape
from .rows import WrapperFields

# A header cell as the Log Analytics portal writes it: `TimeGenerated [UTC]`.
_HEADER_SUFFIX = re.compile(r"\s*\[([^\]]*)\]\s*$")


def column_name(header_cell: str) -> str:
    """A header cell without BOM, surrounding spaces or a trailing ` [UTC]`-style suffix."""
    return _HEADER_SUFFIX.sub("", header_cell.strip().strip("\ufeff")).strip()


def header_suffix(header_cell: str) -> str | None:
    """The bracketed suffix of a header cell (`UTC` for `TimeGenerated [UTC]`), if any."""
    match = _HEADER_SUFFIX.search(header_cell)
    return match.group(1).strip() if match else None


def _digits(part: str) -> bool:
    return part.isascii() and part.isdigit()


# Longer digit strings stay text: no audit number needs more digits than an int64 holds, and
# int() raises ValueError past 4,300 digits, which a hostile cell would turn into a failed load.
_MAX_NUMBER_DIGITS = 18


def _number(text: str) -> bool:
    return _digits(text) and len(text) <= _MAX_NUMBER_DIGITS


def find_column(header: tuple[str, ...], *names: str) -> int | None:
    """Index of the first of `names` present in the header (case-insensitive, suffix ignored)."""
    keys = [column_name(cell).lower() for cell in header]
    for name in names:
        wanted = name.lower()
        if wanted in keys:
            return keys.index(wanted)
    return None


@dataclass
class _Tally:
    template: str  # formatted at the end with {count}, {line} and {items}
    line: int  # the first line it was seen on
    count: int = 0
    items: dict[str, None] = field(default_factory=dict)  # distinct, in order of appearance


class NoteBook:
    """File-level notes: said once (about the header), or tallied over rows and said once at
    the end with a count and the first line."""

    def __init__(self) -> None:
        self._said: dict[str, str] = {}
        self._tallies: dict[str, _Tally] = {}

    def once(self, key: str, text: str) -> None:
        self._said.setdefault(key, text)

    def tally(self, key: str, line: int, template: str, item: str | None = None) -> None:
        entry = self._tallies.get(key)
        if entry is None:
            entry = self._tallies[key] = _Tally(template, line)
        entry.count += 1
        if item is not None:
            entry.items[item] = None

    def restart(self) -> None:
        """Forget what rows said (a second pass over the file counts afresh)."""
        self._tallies.clear()

    def render(self) -> list[str]:
        return [*self._said.values(), *(_fill(t) for t in self._tallies.values())]


def _fill(tally: _Tally) -> str:
    # Plain replacement, not str.format: templates quote header cells and parser messages,
    # which may hold braces of their own.
    return (
        tally.template.replace("{count}", f"{tally.count:,}")
        .replace("{line}", str(tally.line))
        .replace("{items}", ", ".join(tally.items))
    )


class Cell(Enum):
    """How one column's text becomes a value."""

    TEXT = "text"  # copied as is
    JSON = "json"  # JSON text; kept as text with a note when it does not parse
    AUTO = "auto"  # flattened AuditData: JSON if it looks like it, numbers for integer keys
    LOGON_TYPE = "logon-type"  # `Owner`/`Admin`/`Delegate` or digits -> the schema number
    OPERATION_PROPERTIES = "operation-properties"  # `MailAccessType:Bind IsThrottled:False`
    AGGREGATED_FOLDERS = "aggregated-folders"  # Search-MailboxAuditLog bind list


Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ColumnRule:
    index: int
    column: str  # the header cell as written, named in notes
    path: Path  # where the value goes in AuditData: ("Item", "ParentFolder", "Path")
    cell: Cell
    only_if_absent: bool = False  # a fallback source: never overwrites another column


# Keys whose value is an integer in AuditData (formats.md sections 1 and 2); a CSV cell of
# digits for one of them becomes a number, anything else ("Regular", "ExchangeItem") stays text.
INT_KEYS = frozenset(
    {
        "RecordType",
        "UserType",
        "LogonType",
        "InternalLogonType",
        "OperationCount",
        "Version",
        "Scope",
        "SizeInBytes",
        "AzureActiveDirectoryEventType",
    }
)

# Keys whose value is an array or object in AuditData: text there that is not JSON is worth a
# note (a cut or re-encoded cell), while `[EXTERNAL] Invoice` in a Subject column is just text.
JSON_KEYS = frozenset(
    {
        "Folders",
        "Folder",
        "DestFolder",
        "Item",
        "AffectedItems",
        "Parameters",
        "ModifiedProperties",
        "ExtendedProperties",
        "OperationProperties",
        "AppAccessContext",
        "Messages",
        "Actor",
        "Target",
    }
)

_JSON_KEYS_BY_LOWER = {key.lower(): key for key in JSON_KEYS}
_INT_KEYS_BY_LOWER = {key.lower(): key for key in INT_KEYS}

# LogonType names as Search-MailboxAuditLog renders them, to the schema numbers (section 2.3).
LOGON_TYPES = {
    "owner": 0,
    "admin": 1,
    "delegate": 2,
    "delegated": 2,
    "transport": 3,
    "systemservice": 4,
    "bestaccess": 5,
    "delegatedadmin": 6,
}

# PowerShell's Export-Csv writes a nested value it cannot flatten as its type name; the value
# itself is gone. Real prefixes: `System.Object[]`, `System.Collections.Generic.List`1[...]`,
# Exchange's `Microsoft.Exchange.Data.MultiValuedProperty`1[...]`.
_TYPE_NAME_PREFIXES = ("System.", "Microsoft.Exchange.Data.")


def _lost_type_name(text: str) -> bool:
    return text.startswith(_TYPE_NAME_PREFIXES) and " " not in text


# --- Sentinel OfficeActivity -----------------------------------------------------------------

_SENTINEL_RENAMES: dict[str, tuple[Path, Cell, bool]] = {
    "timegenerated": (("CreationTime",), Cell.TEXT, False),
    "officeid": (("Id",), Cell.TEXT, False),
    "client_ipaddress": (("ClientIPAddress",), Cell.TEXT, False),
    "logon_type": (("LogonType",), Cell.LOGON_TYPE, False),
    "internallogontype": (("InternalLogonType",), Cell.LOGON_TYPE, False),
    "officeworkload": (("Workload",), Cell.TEXT, False),
    "officeobjectid": (("ObjectId",), Cell.TEXT, False),
    # OrganizationId, when the export also has it, is the same tenant and wins.
    "officetenantid": (("OrganizationId",), Cell.TEXT, True),
    # ItemName is Sentinel's copy of the subject: only used when Item itself has none.
    "itemname": (("Item", "Subject"), Cell.TEXT, True),
}
# Log Analytics bookkeeping, not part of the audit record (every `_`-prefixed column too:
# `_ResourceId`, `_SubscriptionId`, `_ItemId`, `_BilledSize`...).
_SENTINEL_DROPPED = frozenset({"tenantid", "type", "sourcesystem", "mg", "managementgroupname"})
# OfficeActivity columns without which the MailItemsAccessed context cannot be rebuilt
# (formats.md section 10: not in the table reference).
_SENTINEL_CONTEXT_COLUMNS = ("OperationCount", "SessionId", "AppAccessContext")


def _sentinel_rules(name: str) -> list[tuple[Path, Cell, bool]]:
    key = name.lower()
    if key in _SENTINEL_DROPPED or key.startswith("_"):
        return []
    if key in _SENTINEL_RENAMES:
        return [_SENTINEL_RENAMES[key]]
    if key == "sourcerecordid":
        # Kept under its own name, and the record id when OfficeId is missing.
        return [((name,), Cell.TEXT, False), (("Id",), Cell.TEXT, True)]
    if key in _JSON_KEYS_BY_LOWER:
        return [((_JSON_KEYS_BY_LOWER[key],), Cell.JSON, False)]
    if key in _INT_KEYS_BY_LOWER:
        return [((_INT_KEYS_BY_LOWER[key],), Cell.AUTO, False)]
    return [((name,), Cell.TEXT, False)]


# --- Search-MailboxAuditLog -ShowDetails -----------------------------------------------------

_MAILBOX_AUDIT_RENAMES: dict[str, tuple[Path, Cell]] = {
    "lastaccessed": (("CreationTime",), Cell.TEXT),
    "identity": (("Id",), Cell.TEXT),
    "operationresult": (("ResultStatus",), Cell.TEXT),
    "logontype": (("LogonType",), Cell.LOGON_TYPE),
    "internallogontype": (("InternalLogonType",), Cell.LOGON_TYPE),
    "itemid": (("Item", "Id"), Cell.TEXT),
    "itemsubject": (("Item", "Subject"), Cell.TEXT),
    "iteminternetmessageid": (("Item", "InternetMessageId"), Cell.TEXT),
    "itemattachments": (("Item", "Attachments"), Cell.TEXT),
    "itemisrecord": (("Item", "IsRecord"), Cell.TEXT),
    "itemcompliancelabel": (("Item", "ComplianceLabel"), Cell.TEXT),
    "folderid": (("Item", "ParentFolder", "Id"), Cell.TEXT),
    "folderpathname": (("Item", "ParentFolder", "Path"), Cell.TEXT),
    "foldername": (("Item", "ParentFolder", "Name"), Cell.TEXT),
    "memberrights": (("Item", "ParentFolder", "MemberRights"), Cell.TEXT),
    "membersid": (("Item", "ParentFolder", "MemberSid"), Cell.TEXT),
    "memberupn": (("Item", "ParentFolder", "MemberUpn"), Cell.TEXT),
    "destfolderid": (("DestFolder", "Id"), Cell.TEXT),
    "destfolderpathname": (("DestFolder", "Path"), Cell.TEXT),
    "destmailboxguid": (("DestMailboxId",), Cell.TEXT),
    "operationproperties": (("OperationProperties",), Cell.OPERATION_PROPERTIES),
    "auditoperationscountinaggregatedrecord": (("OperationCount",), Cell.AUTO),
    "aggregatedrecordfoldersdata": (("Folders",), Cell.AGGREGATED_FOLDERS),
}
# PowerShell object bookkeeping beside the audit properties.
_MAILBOX_AUDIT_DROPPED = frozenset(
    {"runspaceid", "isvalid", "objectstate", "pscomputername", "psshowcomputername"}
)


def _mailbox_audit_rules(name: str) -> list[tuple[Path, Cell, bool]]:
    key = name.lower()
    if key in _MAILBOX_AUDIT_DROPPED:
        return []
    if key in _MAILBOX_AUDIT_RENAMES:
        path, cell = _MAILBOX_AUDIT_RENAMES[key]
        return [(path, cell, False)]
    return [((name,), Cell.TEXT, False)]


# --- Flattened AuditData ---------------------------------------------------------------------

# Top-level keys whose sub-keys Hawk's "Simple" files join with `_`:
# `AppAccessContext_UniqueTokenId`, `Item_ParentFolder_Path`.
_NESTED_PARENTS = JSON_KEYS | {"ParentFolder"}


# Real flattened names nest five deep (`Folders_0_FolderItems_0_InternetMessageId`) and a bind
# lists about a thousand items at most. A header asking for more is kept as one key: rebuilt,
# `Folders_1000000000000000_Path` would allocate 10**15 list slots for every row, and 2,000
# levels of `_0` would recurse past Python's limit.
_MAX_FLAT_PARTS = 12
_MAX_FLAT_INDEX_DIGITS = 5  # indexes below 100,000


def flattened_path(name: str) -> Path:
    """Where a Hawk-style flattened column belongs: `Folders_0_FolderItems_0_Id` ->
    ("Folders", 0, "FolderItems", 0, "Id"), `ModifiedProperties_1` -> ("ModifiedProperties", 1).
    Elsewhere a trailing number is Hawk's collision suffix (`Id_1`), part of the key. Names
    that are not nested (`Id`, `Site_Url`) stay one key."""
    parts = name.split("_")
    if len(parts) == 1 or not all(parts):
        return (name,)
    if len(parts) > _MAX_FLAT_PARTS or any(
        _digits(p) and len(p) > _MAX_FLAT_INDEX_DIGITS for p in parts
    ):
        return (name,)
    if not (parts[0] in _NESTED_PARENTS or any(_digits(p) for p in parts[1:-1])):
        return (name,)
    if _digits(parts[-1]) and parts[-2] not in JSON_KEYS:
        parts[-2:] = [f"{parts[-2]}_{parts[-1]}"]
    return tuple(int(p) if _digits(p) else p for p in parts)


def _flat_rules(name: str) -> list[tuple[Path, Cell, bool]]:
    return [(flattened_path(name), Cell.AUTO, False)]


# --- Cell parsers ----------------------------------------------------------------------------


def logon_type(text: str) -> int | str:
    if _number(text):
        return int(text)
    return LOGON_TYPES.get(text.strip().lower(), text)


# A property name at the start or after a separator, followed by a colon: the boundaries of
# `MailAccessType:Bind IsThrottled:False`, `{MailAccessType:Bind, IsThrottled:False}` and the
# one-per-line form; a value keeps its inner spaces (`RuleName:Forward all`).
_PROPERTY_NAME = re.compile(r"(?:^|(?<=[\s,;]))([A-Za-z][A-Za-z0-9_.]*):")


def operation_properties(text: str) -> list[dict[str, str]] | None:
    """Name/Value pairs from Search-MailboxAuditLog's rendering; None if it has none."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    matches = list(_PROPERTY_NAME.finditer(body))
    if not matches or body[: matches[0].start()].strip(" \t\r\n,;"):
        return None
    pairs = []
    ends = [m.start() for m in matches[1:]] + [len(body)]
    for match, end in zip(matches, ends, strict=True):
        value = body[match.end() : end].strip().rstrip(",;").strip()
        pairs.append({"Name": match.group(1), "Value": value})
    return pairs


# Repairs for the JSON-ish text Search-MailboxAuditLog shows for the bind list: folder paths
# with single backslashes (`"\Inbox"`), unquoted keys and trailing commas.
_LONE_BACKSLASH = re.compile(r'\\(?![\\"/bfnrtu])')
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _relaxed_json(text: str) -> str:
    text = _LONE_BACKSLASH.sub(r"\\\\", text)
    text = _BARE_KEY.sub(r'\1"\2":', text)
    return _TRAILING_COMMA.sub(r"\1", text)


def aggregated_folders(text: str) -> list[Any] | None:
    """The `Folders` list from `AggregatedRecordFoldersData`; None if it cannot be read."""
    for candidate in (text, _relaxed_json(text)):
        try:
            value = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return value
    return None


# `@{AADSessionId=...; IssuedAtTime=...}`: how PowerShell writes a single nested object.
_HASHTABLE_KEY = re.compile(r"(?:^|;\s*)([A-Za-z_][A-Za-z0-9_]*)=")


def powershell_hashtable(text: str) -> dict[str, str] | None:
    if not (text.startswith("@{") and text.endswith("}")):
        return None
    body = text[2:-1]
    matches = list(_HASHTABLE_KEY.finditer(body))
    if not matches or matches[0].start() != 0:
        return None
    ends = [m.start() for m in matches[1:]] + [len(body)]
    return {m.group(1): body[m.end() : end] for m, end in zip(matches, ends, strict=True)}


# --- The mapper ------------------------------------------------------------------------------

_RULE_SOURCES = {
    Shape.SENTINEL_CSV: _sentinel_rules,
    Shape.MAILBOX_AUDIT_CSV: _mailbox_audit_rules,
    Shape.FLAT_AUDITDATA_CSV: _flat_rules,
}

# Wrapper columns per shape: record id, time, operation, user, record type.
_WRAPPER_COLUMNS: dict[Shape, tuple[tuple[str, ...], ...]] = {
    Shape.SENTINEL_CSV: (
        ("OfficeId", "SourceRecordId"),
        ("TimeGenerated",),
        ("Operation",),
        ("UserId",),
        ("RecordType",),
    ),
    # No actor UPN in Search-MailboxAuditLog: LogonUserDisplayName is the only "who".
    Shape.MAILBOX_AUDIT_CSV: (
        ("Identity",),
        ("LastAccessed",),
        ("Operation",),
        ("LogonUserDisplayName",),
        (),
    ),
    Shape.FLAT_AUDITDATA_CSV: (
        ("Id",),
        ("CreationTime", "CreationDate"),
        ("Operation", "Operations"),
        ("UserId", "UserIds"),
        ("RecordType",),
    ),
}


class FlatMapper:
    """Builds AuditData from the columns of one flat CSV shape, per the header."""

    def __init__(self, detection: Detection, notes: NoteBook) -> None:
        self.shape = detection.shape
        self.notes = notes
        self._header = detection.header
        self.rules = self._rules(detection.header)
        self._has_lists = any(isinstance(step, int) for r in self.rules for step in r.path)
        # Every present candidate column, in order: a row's empty OfficeId falls back to its
        # SourceRecordId.
        self._wrapper_index = tuple(
            tuple(i for name in names if (i := find_column(detection.header, name)) is not None)
            for names in _WRAPPER_COLUMNS[self.shape]
        )
        time_index = self._wrapper_index[1]
        self.time_source = detection.header[time_index[0]].strip() if time_index else ""
        self._header_notes(detection.header)

    def _rules(self, header: tuple[str, ...]) -> list[ColumnRule]:
        make = _RULE_SOURCES[self.shape]
        rules = [
            ColumnRule(index, cell_text, path, cell, only_if_absent)
            for index, cell_text in enumerate(header)
            for path, cell, only_if_absent in make(column_name(cell_text))
        ]
        # Fallback sources last, so that the column they stand in for is always seen first.
        return sorted(rules, key=lambda rule: rule.only_if_absent)

    def _header_notes(self, header: tuple[str, ...]) -> None:
        for cell in header:
            suffix = header_suffix(cell)
            if suffix is not None and suffix.upper() != "UTC":
                self.notes.once(
                    f"suffix:{cell}",
                    f"column {cell.strip()!r} is labelled [{suffix}], not UTC: its times "
                    "are in that zone",
                )
        if self.shape is Shape.SENTINEL_CSV:
            missing = [c for c in _SENTINEL_CONTEXT_COLUMNS if find_column(header, c) is None]
            if missing:
                self.notes.once(
                    "sentinel-context",
                    f"OfficeActivity export has no {', '.join(missing)} column: bind counts "
                    "and session context cannot be rebuilt from it",
                )
        if self.shape is Shape.MAILBOX_AUDIT_CSV:
            self.notes.once(
                "mailbox-audit",
                "Search-MailboxAuditLog rows carry no AuditData: records were rebuilt from its "
                "columns; there is no RecordType, and LastAccessed is a culture-formatted time",
            )

    def wrapper(self, fields: list[str]) -> WrapperFields:
        found = [next((i for i in indexes if fields[i]), None) for indexes in self._wrapper_index]
        record_id, time, operation, user_id, record_type = (
            None if i is None else fields[i] for i in found
        )
        source = self.time_source if found[1] is None else self._header[found[1]].strip()
        return WrapperFields(record_id, time, source, operation, user_id, record_type)

    def audit(self, fields: list[str], line: int) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for rule in self.rules:
            text = fields[rule.index]
            if not text:
                continue  # an empty cell is an absent key
            value = self._value(rule, text, line)
            if value is not None:
                _put(record, rule.path, value, rule.only_if_absent)
        if self._has_lists:
            _compact_lists(record)
        return record

    def _value(self, rule: ColumnRule, text: str, line: int) -> Any:
        if _lost_type_name(text):
            self.notes.tally(
                "lost",
                line,
                "Export-Csv wrote PowerShell type names such as System.Object[] instead of "
                "values in {count} cells of column(s) {items} (first on line {line}): that "
                "nested data was lost when the file was written and is left out; export the "
                "records as JSON to keep it",
                rule.column.strip(),
            )
            return None
        cell = rule.cell
        if cell is Cell.TEXT:
            return text
        if cell is Cell.LOGON_TYPE:
            return logon_type(text)
        if cell is Cell.OPERATION_PROPERTIES:
            return self._operation_properties(rule, text, line)
        if cell is Cell.AGGREGATED_FOLDERS:
            return self._aggregated_folders(rule, text, line)
        return self._json_or_text(rule, text, line)

    def _json_or_text(self, rule: ColumnRule, text: str, line: int) -> Any:
        key = str(rule.path[-1])
        head = text.lstrip()[:1]
        if head in ("[", "{"):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                if rule.cell is Cell.JSON or key in JSON_KEYS:
                    self.notes.tally(
                        f"json:{rule.column}",
                        line,
                        f"column {rule.column!r} is not valid JSON in {{count}} rows (first on "
                        f"line {{line}}: {exc.msg}); kept as text",
                    )
                return text
        if head == "@":
            table = powershell_hashtable(text)
            if table is not None:
                return table
        if key in INT_KEYS and _number(text):
            return int(text)
        return text

    def _operation_properties(self, rule: ColumnRule, text: str, line: int) -> Any:
        if text.lstrip().startswith("["):
            return self._json_or_text(rule, text, line)
        pairs = operation_properties(text)
        if pairs is None:
            self.notes.tally(
                f"opprops:{rule.column}",
                line,
                f"column {rule.column!r} is not Name:Value text in {{count}} rows (first on "
                "line {line}); kept as text",
            )
            return text
        return pairs

    def _aggregated_folders(self, rule: ColumnRule, text: str, line: int) -> Any:
        folders = aggregated_folders(text)
        if folders is not None:
            return folders
        # Kept beside Folders under a name no analysis reads as a folder list.
        self.notes.tally(
            f"folders:{rule.column}",
            line,
            f"column {rule.column!r} could not be read as a folder list in {{count}} rows "
            "(first on line {line}); its text is kept as AggregatedRecordFoldersDataText, so "
            "those binds' messages are not listed per folder",
        )
        return _Redirect("AggregatedRecordFoldersDataText", text)


class _Redirect:
    """A value that belongs under another top-level key than its rule's path."""

    __slots__ = ("key", "value")

    def __init__(self, key: str, value: str) -> None:
        self.key = key
        self.value = value


def _put(record: dict[str, Any], path: Path, value: Any, only_if_absent: bool) -> None:
    if isinstance(value, _Redirect):
        record[value.key] = value.value
        return
    node: dict[str, Any] | list[Any] = record
    for step, following in itertools.pairwise(path):
        child = _child(node, step, isinstance(following, int))
        if child is None:
            return  # a scalar already sits where a container should be: keep the scalar
        node = child
    _set_leaf(node, path[-1], value, only_if_absent)


# Stands in an array slot no column has filled yet (`Folders_1_*` all empty); unlike None it
# cannot be mistaken for a JSON null parsed from a cell.
_HOLE: Any = object()


def _child(
    node: dict[str, Any] | list[Any], step: str | int, want_list: bool
) -> dict[str, Any] | list[Any] | None:
    fresh: list[Any] | dict[str, Any] = [] if want_list else {}
    if isinstance(node, dict) and isinstance(step, str):
        child = node.setdefault(step, fresh)
    elif isinstance(node, list) and isinstance(step, int):
        node.extend([_HOLE] * (step + 1 - len(node)))
        if node[step] is _HOLE:
            node[step] = fresh
        child = node[step]
    else:
        return None
    expected = list if want_list else dict
    return child if isinstance(child, expected) else None


def _set_leaf(
    node: dict[str, Any] | list[Any], step: str | int, value: Any, only_if_absent: bool
) -> None:
    if isinstance(node, dict) and isinstance(step, str):
        if not (only_if_absent and step in node):
            node[step] = value
    elif isinstance(node, list) and isinstance(step, int):
        node.extend([_HOLE] * (step + 1 - len(node)))
        if not (only_if_absent and node[step] is not _HOLE):
            node[step] = value


def _compact_lists(node: Any) -> None:
    """Close the holes left in rebuilt arrays by columns that were empty in this row."""
    if isinstance(node, dict):
        for value in node.values():
            _compact_lists(value)
    elif isinstance(node, list):
        node[:] = [item for item in node if item is not _HOLE]
        for item in node:
            _compact_lists(item)
