"""Deciding what an evidence file is from its content, never from its name.

The first 64 KiB settle the encoding (BOM, UTF-16 without BOM, binary), the family (JSON if
the first significant character is `[` or `{`, CSV otherwise) and, for CSV, the export shape
from the header's column names (formats.md section 12). JSON files are refined further by
the JSON reader from their first element, because a JSON array looks the same whichever tool
wrote it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from enum import StrEnum

from .rows import NotAnAuditExport


class Shape(StrEnum):
    PURVIEW_CSV = "purview-csv"
    PURVIEW_CLASSIC_CSV = "purview-classic-csv"
    UAL_CMDLET_CSV = "ual-cmdlet-csv"
    GRAPH_CSV = "graph-csv"
    MAILBOX_AUDIT_CSV = "mailbox-audit-csv"
    SENTINEL_CSV = "sentinel-officeactivity-csv"
    DEFENDER_CSV = "defender-cloudappevents-csv"
    FLAT_AUDITDATA_CSV = "flat-auditdata-csv"
    JSON = "json"


SHAPE_LABELS: dict[Shape, str] = {
    Shape.PURVIEW_CSV: "Purview portal audit export CSV (new, RecordId/CreationDate/AuditData)",
    Shape.PURVIEW_CLASSIC_CSV: "Purview classic audit export CSV (CreationDate/UserIds/Operations"
    "/AuditData)",
    Shape.UAL_CMDLET_CSV: "Search-UnifiedAuditLog saved with Export-Csv",
    Shape.GRAPH_CSV: "Microsoft Graph auditLogRecord CSV (Get-UALGraph)",
    Shape.MAILBOX_AUDIT_CSV: "Search-MailboxAuditLog -ShowDetails CSV (legacy, flat columns)",
    Shape.SENTINEL_CSV: "Microsoft Sentinel OfficeActivity export CSV",
    Shape.DEFENDER_CSV: "Microsoft Defender CloudAppEvents export CSV (RawEventData)",
    Shape.FLAT_AUDITDATA_CSV: "CSV of flattened AuditData columns (nested arrays may be lost)",
    Shape.JSON: "JSON",
}


@dataclass(frozen=True)
class Detection:
    shape: Shape
    encoding: str  # "utf-8", "utf-16-le" or "utf-16-be"
    bom_length: int
    # CSV only: the delimiter, the header's column names and the physical line it sits on
    # (2 when a `#TYPE` line comes first), and the byte offset where the header starts.
    delimiter: str = ","
    header: tuple[str, ...] = ()
    header_line: int = 1
    header_offset: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return SHAPE_LABELS[self.shape]

    def column(self, name: str) -> int | None:
        """Index of a header column, matched case-insensitively and ignoring spaces."""
        wanted = _norm(name)
        for i, col in enumerate(self.header):
            if _norm(col) == wanted:
                return i
        return None


def _norm(name: str) -> str:
    # Log Analytics exports suffix datetime columns with their zone: `TimeGenerated [UTC]`.
    text = name.strip().strip("\ufeff").lower()
    return text[:-5].rstrip() if text.endswith("[utc]") else text


# Magic numbers of containers people save evidence in by mistake.
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (extract it first)",
    b"\x1f\x8b": "gzip-compressed (decompress it first)",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an OLE2 document (legacy Excel .xls?)",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"SQLite format 3\x00": "an SQLite database",
}


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """Return (encoding, BOM length), or refuse a file that is not text."""
    if not head:
        raise NotAnAuditExport("empty file")
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if head.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if head.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise NotAnAuditExport(f"binary file: {what}")
    sample = head[:4096]
    if b"\x00" in sample:
        # UTF-16 text without BOM has a NUL in every other byte; anything else is binary.
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > 0.9 * half and even_nuls < 0.1 * half:
            return "utf-16-le", 0
        if even_nuls > 0.9 * half and odd_nuls < 0.1 * half:
            return "utf-16-be", 0
        raise NotAnAuditExport("binary file: contains NUL bytes and is not UTF-16 text")
    return "utf-8", 0


def _decode_head(head: bytes, encoding: str, bom: int) -> str:
    body = head[bom:]
    if encoding.startswith("utf-16") and len(body) % 2:
        body = body[:-1]
    # A 64 KiB cut may split a multi-byte character; ignore only that cut tail.
    return body.decode(encoding, "replace").rstrip("\ufffd")


def _first_line(text: str) -> str:
    end = text.find("\n")
    return text if end < 0 else text[: end + 1]


def _pick_delimiter(header_line: str) -> str:
    # `-UseCulture` writes `;` in most European locales; tabs come from spreadsheet exports.
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _classify_header(cols: set[str]) -> Shape | None:
    has = cols.__contains__
    if has("rawEventData".lower()):
        return Shape.DEFENDER_CSV
    if has("auditdata"):
        if has("recordid") and has("creationdate"):
            return Shape.PURVIEW_CSV
        if has("createddatetime"):
            return Shape.GRAPH_CSV
        if has("userids") and has("operations"):
            if has("resultindex") or has("identity") or has("runspaceid"):
                return Shape.UAL_CMDLET_CSV
            return Shape.PURVIEW_CLASSIC_CSV
        return Shape.PURVIEW_CLASSIC_CSV if has("creationdate") else Shape.UAL_CMDLET_CSV
    if has("lastaccessed") and (has("operationresult") or has("aggregatedrecordfoldersdata")):
        return Shape.MAILBOX_AUDIT_CSV
    if has("timegenerated") and (has("officeworkload") or has("officeid")):
        return Shape.SENTINEL_CSV
    if has("creationtime") and has("operation") and has("id"):
        return Shape.FLAT_AUDITDATA_CSV
    return None


def detect(head: bytes) -> Detection:
    """Decide a file's shape from its first bytes; raise NotAnAuditExport with a reason."""
    encoding, bom = sniff_encoding(head)
    text = _decode_head(head, encoding, bom)
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise NotAnAuditExport("file holds only whitespace")
    if stripped[0] in "[{":
        return Detection(Shape.JSON, encoding, bom)

    notes: list[str] = []
    header_line = 1
    header_text = _first_line(text)
    header_offset = bom
    if header_text.startswith("#TYPE"):
        # Windows PowerShell 5.1 Export-Csv without -NoTypeInformation.
        notes.append(f"first line is a PowerShell type line: {header_text.strip()[:80]}")
        header_offset += len(header_text.encode(encoding))
        text = text[len(header_text) :]
        header_text = _first_line(text)
        header_line = 2
    delimiter = _pick_delimiter(header_text)
    try:
        header = next(csv.reader(io.StringIO(header_text), delimiter=delimiter))
    except (csv.Error, StopIteration):
        header = []
    cols = {_norm(c) for c in header}
    shape = _classify_header(cols)
    if shape is None:
        shown = ", ".join(h.strip()[:40] for h in header[:8]) or "(none)"
        raise NotAnAuditExport(
            "not an audit export: no AuditData column and no CreationTime key "
            f"(first line's columns: {shown})"
        )
    if delimiter != ",":
        notes.append(f"delimiter is {delimiter!r} (Export-Csv -UseCulture)")
    return Detection(
        shape,
        encoding,
        bom,
        delimiter=delimiter,
        header=tuple(header),
        header_line=header_line,
        header_offset=header_offset,
        notes=tuple(notes),
    )
