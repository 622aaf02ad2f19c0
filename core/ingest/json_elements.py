"""What one element of a JSON evidence file is, and the AuditData and wrapper values it holds.

Every JSON container carries the same inner record (formats.md section 0); an element is one
of these, recognised by its keys:

- an AuditData object itself (Management Activity API blob, SOF-ELK/Goose/DFIR-O365RC lines,
  DFIR-O365RC's Graph `auditData` arrays, whose `@odata.type` is dropped): has `CreationTime`;
- a Search-UnifiedAuditLog object saved by ConvertTo-Json or Extractor Suite JSONL: `AuditData`
  as an object or as JSON text, wrapper `Identity`, `CreationDate`, `Operations`, `UserIds`;
- a Microsoft Graph `auditLogRecord`: `auditData` object (minus `@odata.type`), wrapper `id`,
  `createdDateTime`, `operation`, `userPrincipalName`, `auditLogRecordType`;
- a Sentinel `OfficeActivity` row: renamed columns, rebuilt by the CSV reader's `FlatMapper`;
- a Defender `CloudAppEvents` row: `RawEventData`, at the top or under `properties` (the
  streaming API shape);
- a SIEM event whose only job is to carry one of the above as JSON text in `event.original`,
  `message` or `input.message` (Elastic, SEKOIA test fixtures, syslog-prefixed messages).

Anything else is refused with the keys it has, so a responder can see what the file holds.
The hot path, a bare AuditData object, costs two dict lookups.
"""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum
from typing import Any, NamedTuple

import orjson

from .csv_exports import bad_json_problem, not_object_problem
from .detect import Detection, Shape
from .flat_columns import FlatMapper, NoteBook
from .rows import WrapperFields


class Kind(StrEnum):
    """What the elements of a file are, in the words used in its label."""

    AUDIT_DATA = "AuditData"
    CMDLET = "Search-UnifiedAuditLog objects"
    GRAPH = "Microsoft Graph auditLogRecord"
    SENTINEL = "Sentinel OfficeActivity rows"
    DEFENDER = "Defender CloudAppEvents (RawEventData)"


class Extracted(NamedTuple):
    audit: dict[str, Any]
    wrapper: WrapperFields | None
    kind: Kind
    audit_as_text: bool  # AuditData arrived as JSON text inside the element (double-encoded)
    carrier: str  # the SIEM field the record travelled in ("input.message"), or ""


class Refused(NamedTuple):
    problem: str
    # The element's shape was recognised (a wrapper whose AuditData is broken, say): it still
    # shows the file is an audit export.
    recognised: bool


# SIEM fields that carry a whole record as JSON text, tried in this order. Elastic writes
# `event.original` either nested or as one dotted key.
_CARRIERS: tuple[tuple[str, ...], ...] = (
    ("event.original",),
    ("event", "original"),
    ("input", "message"),
    ("message",),
)
# Carriers followed one inside another. One is what the samples show (SEKOIA's input.message
# holding a Defender streaming event); three allows a relay re-wrapping a SIEM event, and stops
# a crafted chain of wrappers from costing more than three parses.
_MAX_CARRIER_DEPTH = 3

# Wrapper keys (lower case) per kind: record id, time, operation, user, record type.
_WRAPPER_KEYS: dict[Kind, tuple[tuple[str, ...], ...]] = {
    Kind.CMDLET: (
        ("identity", "recordid", "id"),
        ("creationdate", "creationtime"),
        ("operations", "operation"),
        ("userids", "userid"),
        ("recordtype",),
    ),
    Kind.GRAPH: (
        ("id",),
        ("createddatetime",),
        ("operation",),
        ("userprincipalname", "userid"),
        ("auditlogrecordtype",),
    ),
    # ReportId is Defender's own id, not the audit record's; the actor is only inside
    # RawEventData.
    Kind.DEFENDER: ((), ("timestamp",), ("actiontype",), (), ()),
}

# What ConvertTo-Json writes for a value deeper than -Depth (default 2): the value's type name
# or PowerShell's `@{Name=...; Value=...}` rendering instead of the value.
_COLLAPSED = re.compile(r"^(?:@\{.*\}|System\.[\w.`\[\]]+)$", re.DOTALL)

# An escaped UTF-16 surrogate without its partner (`\ud83d` alone), preceded by an even run of
# backslashes so that an escaped backslash followed by `ud83d` is left alone. orjson refuses
# these; .NET writes them for a string cut in the middle of an emoji.
_LONE_SURROGATE = re.compile(
    r"(?<!\\)((?:\\\\)*)(?:\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)
# Sentinel mappers are built per set of columns; a file whose rows each omit different null
# columns would otherwise grow this without bound.
_MAPPER_CACHE = 64


def note_surrogates(notebook: NoteBook) -> None:
    """Count one record read after `repair_surrogates` (JSON files and CSV cells alike)."""
    notebook.tally(
        "surrogates",
        0,
        "{count} records contain unpaired UTF-16 surrogate escapes (such as \\ud83d "
        "alone, a string cut inside an emoji); they were read as U+FFFD",
    )


def repair_surrogates(text: str) -> str:
    """JSON text with unpaired surrogate escapes replaced by `\\ufffd`."""
    return _LONE_SURROGATE.sub(lambda m: m.group(1) + "\\ufffd", text)


def loads_lenient(text: str | bytes) -> tuple[Any, bool]:
    """Parse JSON; if only unpaired surrogate escapes stop it, parse again without them.

    Returns (value, repaired). Raises orjson.JSONDecodeError for anything else.
    """
    try:
        return orjson.loads(text), False
    except orjson.JSONDecodeError as exc:
        if "surrogate" not in exc.msg:
            raise
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return orjson.loads(repair_surrogates(text)), True


def json_type(value: object) -> str:
    """`a string`, `an array`...: how a value that is not an object is named in a problem."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


class ElementReader:
    """Classifies the elements of one file; collects notes about them as it goes."""

    def __init__(self) -> None:
        self.notebook = NoteBook()
        self._mappers: dict[tuple[str, ...], FlatMapper] = {}

    def extract(self, value: object, line: int = 0) -> Extracted | Refused:
        """The AuditData and wrapper values of one parsed element, or why there are none."""
        if type(value) is dict:
            # The hot path: a bare AuditData object (Management API, JSON Lines).
            if "CreationTime" in value:
                value.pop("@odata.type", None)
                return Extracted(value, None, Kind.AUDIT_DATA, False, "")
            return self._wrapped(value, line, 0)
        if isinstance(value, str) and value.lstrip().startswith("{"):
            # `$records.AuditData | ConvertTo-Json`: an array of AuditData JSON texts.
            inner = _json_in_text(value)
            if isinstance(inner, dict):
                result = self.extract(inner, line)
                if isinstance(result, Extracted):
                    return result._replace(audit_as_text=True)
                return result
        return Refused(f"element is not a JSON object but {json_type(value)}", False)

    def _wrapped(self, element: dict[str, Any], line: int, depth: int) -> Extracted | Refused:
        keys = {key.lower(): key for key in element}
        if "auditdata" in keys:
            graph = "createddatetime" in keys or "auditlogrecordtype" in keys
            kind = Kind.GRAPH if graph else Kind.CMDLET
            return self._with_audit(element, keys, element[keys["auditdata"]], kind, line)
        if "raweventdata" in keys:
            return self._defender(element, element[keys["raweventdata"]])
        properties = element.get(keys.get("properties", ""))
        if isinstance(properties, dict):
            for key, raw in properties.items():
                if key.lower() == "raweventdata":
                    return self._defender(properties, raw)
        if "timegenerated" in keys and ("officeworkload" in keys or "officeid" in keys):
            return self.officeactivity(element, line)
        if "creationtime" in keys:
            element.pop("@odata.type", None)
            return Extracted(element, None, Kind.AUDIT_DATA, False, "")
        if depth < _MAX_CARRIER_DEPTH:
            carried = self._carried(element, line, depth)
            if carried is not None:
                return carried
        shown = ", ".join(list(element)[:8]) or "none"
        more = ", …" if len(element) > 8 else ""
        return Refused(f"no CreationTime key and no AuditData (keys: {shown}{more})", False)

    def _with_audit(
        self, element: dict[str, Any], keys: dict[str, str], raw: object, kind: Kind, line: int
    ) -> Extracted | Refused:
        name = keys["auditdata"]
        as_text = isinstance(raw, str)
        audit = self._audit_value(name, raw)
        if isinstance(audit, Refused):
            return audit
        audit.pop("@odata.type", None)
        if not as_text and kind is Kind.CMDLET:
            self._check_depth_collapse(audit, line)
        return Extracted(audit, wrapper_fields(element, keys, kind), kind, as_text, "")

    def _audit_value(self, name: str, raw: object) -> dict[str, Any] | Refused:
        if isinstance(raw, dict):
            return raw
        if not isinstance(raw, str):
            return Refused(not_object_problem(name, raw), True)
        if _COLLAPSED.match(raw.strip()):
            return Refused(
                f"{name} is PowerShell's rendering {raw.strip()[:60]!r}, not JSON: the file was "
                "written by ConvertTo-Json with too small a -Depth and the record is lost",
                True,
            )
        try:
            audit, repaired = loads_lenient(raw)
        except orjson.JSONDecodeError as exc:
            return Refused(bad_json_problem(name, raw, exc), True)
        if repaired:
            self.note_surrogates()
        if type(audit) is not dict:
            return Refused(not_object_problem(name, audit), True)
        return audit

    def _check_depth_collapse(self, audit: dict[str, Any], line: int) -> None:
        for key, value in audit.items():
            if isinstance(value, str) and _COLLAPSED.match(value):
                shown = f"AuditData.{key} holds PowerShell's rendering {value[:40]!r}"
                self.notebook.tally(
                    f"collapsed:{key}",
                    line,
                    shown + " instead of its values in {count} records (first on line {line}): "
                    "ConvertTo-Json ran with too small a -Depth and that nested data is lost; "
                    "re-export with -Depth 100",
                )

    def _defender(self, row: dict[str, Any], raw: object) -> Extracted | Refused:
        audit = self._audit_value("RawEventData", raw)
        if isinstance(audit, Refused):
            return audit
        keys = {key.lower(): key for key in row}
        wrapper = wrapper_fields(row, keys, Kind.DEFENDER)
        return Extracted(audit, wrapper, Kind.DEFENDER, isinstance(raw, str), "")

    def officeactivity(self, row: dict[str, Any], line: int = 0) -> Extracted | Refused:
        """A Sentinel OfficeActivity row rebuilt by the CSV reader's mapper (one mapping for
        CSV and JSON exports); JSON values become the text a CSV cell would hold first."""
        header = tuple(row)
        mapper = self._mappers.get(header)
        if mapper is None:
            if len(self._mappers) >= _MAPPER_CACHE:
                self._mappers.clear()
            detection = Detection(Shape.SENTINEL_CSV, "utf-8", 0, header=header)
            mapper = self._mappers[header] = FlatMapper(detection, self.notebook)
        fields = [_cell_text(value) for value in row.values()]
        audit = mapper.audit(fields, line)
        if not audit:
            return Refused("OfficeActivity row has no values: every column is empty", True)
        return Extracted(audit, mapper.wrapper(fields), Kind.SENTINEL, False, "")

    def _carried(
        self, element: dict[str, Any], line: int, depth: int
    ) -> Extracted | Refused | None:
        for path in _CARRIERS:
            text = _follow(element, path)
            if text is None:
                continue
            inner = _json_in_text(text)
            if not isinstance(inner, dict):
                continue
            result = self._wrapped(inner, line, depth + 1)
            if isinstance(result, Extracted):
                carrier = ".".join(path)
                if result.carrier:
                    carrier = f"{carrier} > {result.carrier}"
                return result._replace(carrier=carrier)
            if result.recognised:
                return result
        return None

    def note_surrogates(self, count: int = 1) -> None:
        for _ in range(count):
            note_surrogates(self.notebook)


class KindTally:
    """What the elements of a file turned out to be, for its label and the refusal rule."""

    def __init__(self) -> None:
        self.kinds: Counter[Kind] = Counter()
        self.text_audit = 0  # AuditData as JSON text
        self.object_audit = 0
        self.carriers: Counter[str] = Counter()
        self.recognised = 0
        self.unrecognised = 0
        self.first_unrecognised = ""

    def add(self, result: Extracted) -> None:
        self.kinds[result.kind] += 1
        self.recognised += 1
        if result.audit_as_text:
            self.text_audit += 1
        elif result.kind is not Kind.AUDIT_DATA:
            self.object_audit += 1
        if result.carrier:
            self.carriers[result.carrier] += 1

    def refuse(self, result: Refused, value: object) -> None:
        if result.recognised:
            self.recognised += 1
            return
        self.unrecognised += 1
        if not self.first_unrecognised:
            if isinstance(value, dict):
                keys = ", ".join(str(key)[:40] for key in list(value)[:8]) or "none"
                self.first_unrecognised = f"first element's keys: {keys}"
            else:
                self.first_unrecognised = f"first element is {json_type(value)}"

    def phrase(self) -> str:
        """The elements in words: `Search-UnifiedAuditLog objects, AuditData as object`."""
        if not self.kinds:
            return "elements not recognised as audit records"
        kind = self.kinds.most_common(1)[0][0]
        words = str(kind)
        if kind in (Kind.CMDLET, Kind.GRAPH) and self.text_audit + self.object_audit:
            forms = [
                form
                for form, count in (("object", self.object_audit), ("JSON text", self.text_audit))
                if count
            ]
            words += f", AuditData as {' and as '.join(forms)}"
        elif kind is Kind.AUDIT_DATA and self.text_audit:
            words += " as JSON text"
        if self.carriers:
            words += f" carried in {self.carriers.most_common(1)[0][0]}"
        return words


def officeactivity_to_auditdata(row: dict[str, Any]) -> dict[str, Any]:
    """AuditData rebuilt from one Sentinel OfficeActivity row given as JSON (as a CSV row is,
    by `flat_columns.FlatMapper`, which does the renaming: one mapping for both)."""
    result = ElementReader().officeactivity(row)
    return result.audit if isinstance(result, Extracted) else {}


def wrapper_fields(element: dict[str, Any], keys: dict[str, str], kind: Kind) -> WrapperFields:
    """The wrapper values of an element, looked up by lower-case key."""
    found: list[tuple[str | None, str]] = []
    for candidates in _WRAPPER_KEYS[kind]:
        value: str | None = None
        source = ""
        for name in candidates:
            original = keys.get(name)
            if original is not None:
                value = _wrapper_text(element[original])
                if value is not None:
                    source = original
                    break
        found.append((value, source))
    (record_id, _), (time_text, time_source), (operation, _), (user, _), (rtype, _) = found
    return WrapperFields(record_id, time_text, time_source, operation, user, rtype)


def _wrapper_text(value: object) -> str | None:
    """A wrapper value as text; the date object Windows PowerShell 5.1 writes for a DateTime
    with extended properties (`{"value": "/Date(...)/", "DateTime": "..."}`) gives its value.
    """
    if isinstance(value, dict):
        lowered = {str(key).lower(): item for key, item in value.items()}
        value = lowered.get("value", lowered.get("datetime"))
    if value is None or isinstance(value, dict | list):
        return None
    text = value if isinstance(value, str) else str(value)
    return text or None


def _cell_text(value: object) -> str:
    """A JSON column value as the text a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _follow(element: dict[str, Any], path: tuple[str, ...]) -> str | None:
    node: Any = element
    for step in path:
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node if isinstance(node, str) else None


def _json_in_text(text: str) -> Any:
    """The JSON object a carrier string holds, after any syslog-style prefix; None if none."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        return loads_lenient(text[start:])[0]
    except orjson.JSONDecodeError:
        return None
