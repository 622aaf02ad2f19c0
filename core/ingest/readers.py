"""The contract between containers and the loader, and the dispatch from shape to reader.

A reader turns one evidence file (or, for line-oriented shapes, one byte range of it) into
`RowEvent`s. It never interprets records: that is the normaliser's job, done once for every
shape. Each reader also refines the shape's description ("ConvertTo-Json from Windows
PowerShell 5.1, AuditData as a string") and collects file-level notes as it goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .detect import Detection, Shape
from .evidence import EvidenceReader
from .rows import RowEvent


@dataclass(frozen=True)
class ByteRange:
    """A slice of a line-oriented file that starts on a row boundary.

    `first_line` and `first_row` let a worker number lines and rows as if it had read the
    file from the top (the splitter counts newlines and rows before `start`).
    """

    start: int
    end: int | None
    first_line: int
    first_row: int


class RowReader(Protocol):
    label: str  # the detected shape in words, refined while reading
    notes: list[str]  # file-level observations worth a responder's attention
    data_rows: int  # rows or elements seen, good or bad (for the collection-cap check)
    decode_error_count: int
    decode_error_lines: list[int]

    def __iter__(self) -> Iterator[RowEvent]: ...


def open_rows(
    evidence: EvidenceReader, detection: Detection, span: ByteRange | None = None
) -> RowReader:
    """The reader for a detected file; `span` restricts line-oriented shapes to a range."""
    if detection.shape is Shape.JSON:
        from .json_exports import JsonRows

        return JsonRows(evidence, detection, span)
    from .csv_exports import CsvRows

    return CsvRows(evidence, detection, span)


def reparse_row(detection: Detection, raw: bytes) -> dict[str, Any]:
    """The AuditData object of one row's bytes (for a detail view); raises ValueError."""
    if detection.shape is Shape.JSON:
        from .json_exports import reparse_json_row

        return reparse_json_row(detection, raw)
    from .csv_exports import reparse_csv_row

    return reparse_csv_row(detection, raw)


def splittable(detection: Detection) -> bool:
    """Whether a file can be parsed in byte ranges by several processes.

    CSV row boundaries can be found from quote parity alone, and JSONL from newlines; UTF-16
    files are small PowerShell outputs and not worth the trouble.
    """
    return detection.encoding == "utf-8" and detection.shape is not Shape.JSON
