"""Reading every CSV export shape into located rows of AuditData (formats.md sections 5-7,
9-13).

Most shapes carry AuditData as a JSON text column (Purview, Search-UnifiedAuditLog, Get-UALGraph,
Defender `RawEventData`): a row costs one `csv` parse and one `orjson.loads`, and nothing else on
that path may grow with the row count, because the Purview export reaches 1,000,000 rows. The
flat shapes (Sentinel, Search-MailboxAuditLog, flattened AuditData) are rebuilt column by column
by `flat_columns.FlatMapper`.

Positions come from `LineSource`: the offset and line number of the first physical line a row
consumed, and the end of its last one. The C `csv` reader pulls exactly one line at a time and
never reads ahead, so the source's position after each `next()` is the end of that row.

A bad row never stops a load: it becomes a rejected `RowEvent` naming the line and the reason.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson

from .detect import Detection, Shape
from .evidence import EvidenceReader, read_span
from .flat_columns import FlatMapper, NoteBook, find_column
from .lines import LineSource
from .readers import ByteRange
from .rows import RowEvent, WrapperFields, rejected

# One AuditData cell passes 128 KiB (the csv default limit, 131,072 characters) once a bind
# record aggregates a few hundred messages (formats.md section 3.8). 2**31 - 1 rather than
# sys.maxsize, which overflows the C long the limit is stored in on Windows.
csv.field_size_limit(2**31 - 1)

# Excel silently cuts every cell at this many characters when a CSV is opened and re-saved.
EXCEL_CELL_LIMIT = 32_767
# orjson refuses documents nested deeper than this.
JSON_DEPTH_LIMIT = 1024

# Turns one row's fields into its RowEvent, given (fields, line, row, offset, length).
Converter = Callable[[list[str], int, int, int, int], RowEvent]

# namedtuple's generated __new__ is a Python-level function; building the tuple directly skips
# that frame for the two tuples every row makes (what `_make` does, minus its length check).
_new_tuple = tuple.__new__


# --- Shapes with an AuditData JSON column ----------------------------------------------------


@dataclass(frozen=True)
class JsonColumnLayout:
    """Which columns hold AuditData and the wrapper values of one shape; -1 when absent."""

    audit: int
    audit_column: str
    record_id: int
    time: int
    time_source: str
    operation: int
    user_id: int
    record_type: int
    # Graph's auditData carries an `@odata.type` discriminator that is not an AuditData key.
    strip_odata_type: bool = False


# Column names per shape: AuditData, record id, time, operation, user, record type.
_JSON_COLUMNS: dict[Shape, tuple[tuple[str, ...], ...]] = {
    Shape.PURVIEW_CSV: (
        ("AuditData",),
        ("RecordId",),
        ("CreationDate",),
        ("Operation",),
        ("UserId",),
        ("RecordType",),
    ),
    Shape.PURVIEW_CLASSIC_CSV: (
        ("AuditData",),
        ("RecordId", "Identity"),
        ("CreationDate",),
        ("Operations", "Operation"),
        ("UserIds", "UserId"),
        ("RecordType",),
    ),
    Shape.UAL_CMDLET_CSV: (
        ("AuditData",),
        ("Identity",),
        ("CreationDate",),
        ("Operations",),
        ("UserIds",),
        ("RecordType",),
    ),
    Shape.GRAPH_CSV: (
        ("auditData",),
        ("id",),
        ("createdDateTime",),
        ("operation",),
        ("userId", "userPrincipalName"),
        ("auditLogRecordType",),
    ),
    # CloudAppEvents: ReportId is Defender's own id, not the audit record's; the UPN is only
    # inside RawEventData.
    Shape.DEFENDER_CSV: (("RawEventData",), (), ("Timestamp",), ("ActionType",), (), ()),
}


def json_column_layout(detection: Detection) -> JsonColumnLayout | None:
    names = _JSON_COLUMNS.get(detection.shape)
    if names is None:
        return None
    found = [find_column(detection.header, *candidates) for candidates in names]
    audit, record_id, time, operation, user_id, record_type = (
        -1 if index is None else index for index in found
    )
    if audit < 0:
        return None
    return JsonColumnLayout(
        audit=audit,
        audit_column=detection.header[audit].strip(),
        record_id=record_id,
        time=time,
        time_source="" if time < 0 else detection.header[time].strip(),
        operation=operation,
        user_id=user_id,
        record_type=record_type,
        strip_odata_type=detection.shape is Shape.GRAPH_CSV,
    )


def bad_json_problem(column: str, text: str, exc: orjson.JSONDecodeError) -> str:
    """Why an AuditData cell is not JSON, in a responder's words."""
    if not text.strip():
        return f"{column} is empty"
    if exc.msg.startswith("depth limit"):
        return (
            f"{column} is nested more than {JSON_DEPTH_LIMIT:,} levels deep, which the JSON "
            "parser refuses (a malformed or hostile record)"
        )
    problem = f"{column} is not valid JSON ({exc})"
    if len(text) == EXCEL_CELL_LIMIT:
        problem += (
            f"; the cell is exactly {EXCEL_CELL_LIMIT:,} characters, Excel's cell limit: it "
            "looks truncated by Excel (the CSV was opened and saved in Excel)"
        )
    elif "\x00" in text:
        problem += "; the cell contains NUL bytes (a damaged or partly zeroed file)"
    return problem


def not_object_problem(column: str, value: object) -> str:
    kinds = {list: "an array", str: "a string", int: "a number", float: "a number"}
    kind = "null" if value is None else kinds.get(type(value), type(value).__name__)
    if isinstance(value, bool):
        kind = "a boolean"
    return f"{column} is JSON {kind}, not an object"


def _wrapper_picker(layout: JsonColumnLayout) -> Callable[[list[str]], tuple[str, ...]]:
    """The five wrapper cells of a row, in WrapperFields order; "" for an absent column."""
    at = (layout.record_id, layout.time, layout.operation, layout.user_id, layout.record_type)
    if min(at) >= 0:
        return itemgetter(*at)  # C-level: the Purview, cmdlet and Graph shapes
    return lambda fields: tuple(fields[i] if i >= 0 else "" for i in at)


def _surrogates_repaired(text: str, notes: NoteBook | None) -> Any:
    """A cell that only unpaired surrogate escapes kept from parsing, parsed; None otherwise.

    .NET writes `\\ud83d` alone for a string cut inside an emoji (a long subject), and the
    JSON reader has always read such records with U+FFFD in place of the escape; the same
    record in a CSV export was rejected instead. Only a failed row comes here.
    """
    from .json_elements import loads_lenient, note_surrogates

    try:
        value, _ = loads_lenient(text)
    except orjson.JSONDecodeError:
        return None
    if notes is not None:
        note_surrogates(notes)
    return value


def json_column_converter(layout: JsonColumnLayout, notes: NoteBook | None = None) -> Converter:
    """The hot path: one orjson.loads and two tuples per row, no regex, no loop."""
    audit_at = layout.audit
    column = layout.audit_column
    pick = _wrapper_picker(layout)
    source = layout.time_source
    strip_odata = layout.strip_odata_type
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError

    def convert(fields: list[str], line: int, row: int, offset: int, length: int) -> RowEvent:
        text = fields[audit_at]
        try:
            audit = loads(text)
        except decode_error as exc:
            audit = _surrogates_repaired(text, notes) if "surrogate" in exc.msg else None
            if audit is None:
                return rejected(line, row, offset, length, bad_json_problem(column, text, exc))
        if type(audit) is not dict:
            return rejected(line, row, offset, length, not_object_problem(column, audit))
        if strip_odata:
            audit.pop("@odata.type", None)
        record_id, time, operation, user_id, record_type = pick(fields)
        wrapper = _new_tuple(
            WrapperFields,
            (
                record_id or None,
                time or None,
                source,
                operation or None,
                user_id or None,
                record_type or None,
            ),
        )
        return _new_tuple(RowEvent, (line, row, offset, length, audit, wrapper, None))

    return convert


def flat_converter(detection: Detection, notes: NoteBook) -> Converter:
    mapper = FlatMapper(detection, notes)

    def convert(fields: list[str], line: int, row: int, offset: int, length: int) -> RowEvent:
        audit = mapper.audit(fields, line)
        if not audit:
            return rejected(line, row, offset, length, "row has no values: every cell is empty")
        return RowEvent(line, row, offset, length, audit, mapper.wrapper(fields), None)

    return convert


def converter_for(detection: Detection, notes: NoteBook) -> Converter:
    layout = json_column_layout(detection)
    if layout is not None:
        return json_column_converter(layout, notes)
    if detection.shape in (Shape.SENTINEL_CSV, Shape.MAILBOX_AUDIT_CSV, Shape.FLAT_AUDITDATA_CSV):
        return flat_converter(detection, notes)
    raise ValueError(f"{detection.label}: no AuditData column in the header")


# --- Describing the file ---------------------------------------------------------------------

_ENCODINGS = {"utf-8": "UTF-8", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE"}
# Search-UnifiedAuditLog object properties (formats.md section 6.1); others are extras.
_CMDLET_COLUMNS = frozenset(
    {
        "runspaceid",
        "recordtype",
        "creationdate",
        "userids",
        "operations",
        "auditdata",
        "resultindex",
        "resultcount",
        "identity",
        "isvalid",
        "objectstate",
    }
)


def encoding_words(detection: Detection) -> str:
    name = _ENCODINGS.get(detection.encoding, detection.encoding)
    return f"{name} with BOM" if detection.bom_length else f"{name}, no BOM"


def observations(detection: Detection) -> list[str]:
    """What the header and first bytes show about how the file was written."""
    seen: list[str] = []
    if detection.header_line > 1:
        seen.append("Windows PowerShell 5.1: #TYPE line")
    seen.append(encoding_words(detection))
    if detection.delimiter != ",":
        seen.append(f"{detection.delimiter!r} delimiter (-UseCulture)")
    header = detection.header
    if detection.shape is Shape.UAL_CMDLET_CSV:
        if find_column(header, "RunspaceId") is not None:
            seen.append("RunspaceId column (remote PowerShell session)")
        extras = [c.strip() for c in header if c.strip().lower() not in _CMDLET_COLUMNS]
        if extras:
            seen.append(f"extra columns: {', '.join(extras)}")
    if detection.shape is Shape.PURVIEW_CSV and find_column(header, "AssociatedAdminUnitNames"):
        seen.append("AssociatedAdminUnitNames spelling")
    return seen


def describe(detection: Detection) -> str:
    return f"{detection.label} ({', '.join(observations(detection))})"


# --- Reading ---------------------------------------------------------------------------------


def physical_lines(text: str) -> list[str]:
    """Lines as LineSource cuts them, at line feeds only: `str.splitlines` also cuts at
    U+2028, U+0085 or a form feed inside a field, and would parse the row differently."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def _is_blank(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


def short_row_problem(fields: list[str], width: int) -> str:
    return f"row has {len(fields)} fields, header has {width}"


def csv_error_problem(exc: csv.Error, line: int) -> str:
    reason = str(exc)
    if reason.startswith("new-line character seen in unquoted field"):
        reason = "a carriage return (CR) inside an unquoted field"
    return f"the CSV reader failed on line {line} ({reason}); the rest of that line was skipped"


def merged_lines_problem(line: int, last_line: int, problem: str) -> str:
    return (
        f"lines {line}-{last_line} were read as one row, so a quote character is stray or "
        f"missing and the rows inside those lines are not loaded: {problem}"
    )


def unterminated_problem(line: int, last_line: int) -> str:
    return (
        f"a quoted field opened on line {line} is never closed: everything from there to the "
        f"end of the file (line {last_line}) was read as one field; the file is cut short or "
        "has a stray quote character"
    )


class CsvRows:
    """The rows of one CSV evidence file, or of one byte range of it."""

    def __init__(
        self, evidence: EvidenceReader, detection: Detection, span: ByteRange | None = None
    ) -> None:
        self._evidence = evidence
        self._detection = detection
        self._span = span
        self._notebook = NoteBook()
        self._convert = converter_for(detection, self._notebook)
        layout = json_column_layout(detection)
        self._audit_index = None if layout is None else layout.audit
        self.label = describe(detection)
        self.notes: list[str] = []
        self.data_rows = 0
        self.decode_error_count = 0
        self.decode_error_lines: list[int] = []
        self._multi_line_rows = 0
        self._file_size = 0

    def __iter__(self) -> Iterator[RowEvent]:
        return self._rows()

    def _source(self) -> tuple[LineSource, int, bool]:
        """Where to start: (lines, number of the first data row, whether a header comes first).

        A range that starts at or before the header is read as the top of the file.
        """
        detection, span = self._detection, self._span
        first_row = 1 if span is None else span.first_row
        if span is None or span.start <= detection.header_offset:
            start, first_line, has_header = detection.header_offset, detection.header_line, True
        else:
            start, first_line, has_header = span.start, span.first_line, False
        lines = LineSource(self._evidence, detection.encoding, start, None, first_line)
        return lines, first_row, has_header

    def _rows(self) -> Iterator[RowEvent]:
        self._notebook.restart()
        self._multi_line_rows = 0
        source, first_row, has_header = self._source()
        next_fields = csv.reader(source, delimiter=self._detection.delimiter).__next__
        convert = self._convert
        width = len(self._detection.header)
        file_size = self._file_size = os.stat(self._evidence.path).st_size
        span_end = None if self._span is None else self._span.end
        stop = sys.maxsize if span_end is None else span_end
        row = first_row - 1
        problem: str | None
        try:
            if has_header:
                with contextlib.suppress(StopIteration, csv.Error):
                    next_fields()
            # This loop runs once per row of files of up to 1,000,000 rows: whatever is not
            # needed for an ordinary one-line row is in a method called only off that path.
            while (start := source.end) < stop:
                line = source.line_no + 1
                try:
                    fields = next_fields()
                except StopIteration:
                    break
                except csv.Error as exc:
                    row += 1
                    problem = csv_error_problem(exc, source.line_no)
                    yield rejected(line, row, start, source.end - start, problem)
                    continue
                end = source.end
                problem = None
                if len(fields) != width:
                    if _is_blank(fields):
                        continue
                    problem = self._odd_width(fields, width, line)
                row += 1
                if source.line_no != line or end >= file_size:
                    yield self._checked_row(fields, problem, line, source.line_no, row, start, end)
                elif problem is None:
                    yield convert(fields, line, row, start, end - start)
                else:
                    yield rejected(line, row, start, end - start, problem)
        finally:
            self._finish(source, row - first_row + 1)

    def _checked_row(
        self,
        fields: list[str],
        problem: str | None,
        line: int,
        last_line: int,
        row: int,
        start: int,
        end: int,
    ) -> RowEvent:
        """A row spanning several lines, or the file's last: where a broken quote shows.

        A stray or missing quote makes csv read on across line ends; the result is a row that
        spans lines it should not, ending either where a later quote happens to close it or at
        the end of the file.
        """
        length = end - start
        if problem is None:
            event = self._convert(fields, line, row, start, length)
        else:
            event = rejected(line, row, start, length, problem)
        problem = event.problem
        at_eof = end >= self._file_size
        if at_eof and self._unterminated(start, length):
            if problem is None:
                # The open quote is in a column after AuditData, which itself was read.
                note = unterminated_problem(line, last_line) + "; that row's AuditData was read"
                self._notebook.tally("eof-quote", line, note)
            else:
                problem = unterminated_problem(line, last_line)
        else:
            if last_line != line:
                problem = self._multi_line_problem(fields, problem, line, last_line)
            if at_eof and problem is not None and len(fields) < len(self._detection.header):
                problem += "; it is the last row of the file, which may have been cut short"
        if problem is None or problem == event.problem:
            return event
        return rejected(line, row, start, length, problem)

    def _multi_line_problem(
        self, fields: list[str], problem: str | None, line: int, last_line: int
    ) -> str | None:
        """Line ends inside AuditData are pretty-printing; anywhere else, a broken quote."""
        audit_at = self._audit_index
        if audit_at is None:
            return problem  # flat shapes: any text column may hold line ends
        if not any("\n" in text for i, text in enumerate(fields) if i != audit_at):
            if problem is None:
                self._multi_line_rows += 1
            return problem
        if problem is not None:
            return merged_lines_problem(line, last_line, problem)
        # AuditData loaded, but line ends sit in another column: rows were swallowed into it.
        self._notebook.tally(
            "swallowed",
            line,
            "{count} rows run over several lines through a column other than "
            f"{self._detection.header[audit_at].strip()} (first on line {{line}}): a stray "
            "quote character probably merged the rows in between into them, and those rows "
            "are not loaded",
        )
        return None

    def _odd_width(self, fields: list[str], width: int, line: int) -> str | None:
        """A problem for a short row; None for a wide one, which is only noted."""
        if len(fields) < width:
            return short_row_problem(fields, width)
        self._notebook.tally(
            "wide",
            line,
            f"{{count}} rows have more fields than the header's {width} (first on line "
            "{line}); the extra fields were ignored",
        )
        return None

    def _unterminated(self, offset: int, length: int) -> bool:
        """Whether the row ending at end of file ran there because a quote never closed.

        csv (not strict) returns such a row as if the file's end closed the quote; a strict
        re-parse of just its bytes tells the two apart. Runs once per file, on the last row.
        """
        raw = read_span(self._evidence.path, offset, length)
        text = raw.decode(self._detection.encoding, "replace")
        strict = csv.reader(physical_lines(text), delimiter=self._detection.delimiter, strict=True)
        try:
            for _ in strict:
                pass
        except csv.Error as exc:
            return "unexpected end of data" in str(exc)
        return False

    def _finish(self, source: LineSource, data_rows: int) -> None:
        self.data_rows = data_rows
        self.decode_error_count = source.decode_error_count
        self.decode_error_lines = list(source.decode_error_lines)
        notes = self._notebook.render()
        if self._multi_line_rows:
            notes.append(
                f"{self._multi_line_rows} rows span several lines (AuditData pretty-printed, as "
                "Search-UnifiedAuditLog -Formatted writes it)"
            )
        self.notes = notes


def reparse_csv_row(detection: Detection, raw: bytes) -> dict[str, Any]:
    """The AuditData object of one row's bytes (a detail view); raises ValueError with why."""
    text = raw.decode(detection.encoding, "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        records = [
            fields
            for fields in csv.reader(physical_lines(text), delimiter=detection.delimiter)
            if not _is_blank(fields)
        ]
    except csv.Error as exc:
        raise ValueError(f"not one CSV row: {exc}") from exc
    if len(records) != 1:
        raise ValueError(f"expected one CSV row, found {len(records)}")
    fields = records[0]
    width = len(detection.header)
    if len(fields) < width:
        raise ValueError(short_row_problem(fields, width))
    event = converter_for(detection, NoteBook())(fields, 0, 0, 0, len(raw))
    if event.audit is None:
        raise ValueError(event.problem or "no AuditData")
    return event.audit
