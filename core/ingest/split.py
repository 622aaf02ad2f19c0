"""Row boundaries of a CSV export found from quote parity, without parsing.

In RFC 4180 CSV a newline ends a row exactly when the number of quote characters before it
is even: doubled quotes inside a field add two and keep the parity, even when AuditData is
pretty-printed across lines. `next_row_start` finds the first data row after the header;
cutter.py applies the same rule in one streaming pass to cut a large file into ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SCAN_CHUNK = 16 * 1024 * 1024
# Below this size a file is parsed by one process: starting a worker costs ~0.2 s, which a
# 64 MiB file (~40,000 Purview rows, ~1 s of parsing) barely repays.
SPLIT_MIN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Boundary:
    offset: int  # first byte of a row
    line: int  # its physical line number (1-based)


def next_row_start(handle: BinaryIO, start: int, start_line: int, target: int) -> Boundary | None:
    """First row start at or after `target`, scanning from `start`, a row start on line
    `start_line`; None when no row starts at or after the target."""
    handle.seek(start)
    position = start
    quotes = 0
    newlines = 0
    last = b"\n"  # the byte before `position`: `start` is a row start
    # Up to the target only parities and newline counts matter.
    while position < target:
        chunk = handle.read(min(SCAN_CHUNK, target - position))
        if not chunk:
            return None
        quotes += chunk.count(b'"')
        newlines += chunk.count(b"\n")
        position += len(chunk)
        last = chunk[-1:]
    if last == b"\n" and quotes % 2 == 0:
        return Boundary(position, start_line + newlines)  # the target is itself a row start
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


def first_data_row(path: Path, header_offset: int, header_line: int) -> Boundary | None:
    """Where the first data row starts: the row boundary after the header."""
    with open(path, "rb") as handle:
        return next_row_start(handle, header_offset, header_line, header_offset + 1)
