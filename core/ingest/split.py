"""Cutting a large CSV export into byte ranges that start on row boundaries.

In RFC 4180 CSV a newline ends a row exactly when the number of quote characters before it
is even: doubled quotes inside a field add two and keep the parity. So one pass of
`bytes.count` (C speed, several GB/s) over the prefix gives an exact cut without parsing,
even when AuditData is pretty-printed across lines. The same pass counts newlines, so the
worker that starts mid-file numbers its lines as if it had read from the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .readers import ByteRange

SCAN_CHUNK = 16 * 1024 * 1024
# Below this size a file is parsed by one process: starting a worker costs ~0.2 s, which a
# 64 MiB file (~40,000 Purview rows, ~1 s of parsing) barely repays.
SPLIT_MIN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Boundary:
    offset: int  # first byte of a row
    line: int  # its physical line number (1-based)


def _next_boundary(handle: BinaryIO, start: int, start_line: int, target: int) -> Boundary | None:
    """First row start at or after `target`, scanning from `start`, a row start on line
    `start_line`; None when no row starts after the target."""
    handle.seek(start)
    position = start
    quotes = 0
    newlines = 0
    # Up to the target only parities and newline counts matter.
    while position < target:
        chunk = handle.read(min(SCAN_CHUNK, target - position))
        if not chunk:
            return None
        quotes += chunk.count(b'"')
        newlines += chunk.count(b"\n")
        position += len(chunk)
    # From the target on, walk newline by newline until one sits at even quote parity.
    while chunk := handle.read(SCAN_CHUNK):
        cursor = 0
        while (newline := chunk.find(b"\n", cursor)) >= 0:
            quotes += chunk.count(b'"', cursor, newline)
            newlines += 1
            cursor = newline + 1
            if quotes % 2 == 0:
                return Boundary(position + cursor, start_line + newlines)
        quotes += chunk.count(b'"', cursor)
        position += len(chunk)
    return None


def plan_ranges(path: Path, body_start: int, first_line: int, parts: int) -> list[ByteRange]:
    """Byte ranges (row-aligned) covering the file from `body_start` (first data row).

    `first_line` is the physical line number of the row at `body_start`. Rows are numbered
    per range from 1; the loader adds the rows of earlier ranges afterwards, since counting
    rows (not lines) would mean parsing.
    """
    size = path.stat().st_size
    if parts <= 1 or size - body_start < SPLIT_MIN_BYTES:
        return [ByteRange(body_start, None, first_line, 1)]
    step = (size - body_start) // parts
    ranges: list[ByteRange] = []
    start, line = body_start, first_line
    with open(path, "rb") as handle:
        for k in range(1, parts):
            boundary = _next_boundary(handle, start, line, body_start + step * k)
            if boundary is None or boundary.offset >= size:
                break
            ranges.append(ByteRange(start, boundary.offset, line, 1))
            start, line = boundary.offset, boundary.line
    ranges.append(ByteRange(start, None, line, 1))
    return ranges


def first_data_row(path: Path, header_offset: int, header_line: int) -> Boundary | None:
    """Where the first data row starts: the row boundary after the header."""
    with open(path, "rb") as handle:
        return _next_boundary(handle, header_offset, header_line, header_offset + 1)
