"""Finding where the byte ranges of a large CSV export start: on row boundaries.

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

SCAN_CHUNK = 16 * 1024 * 1024
# Below this size a file is parsed by one process: starting a worker costs ~0.2 s, which a
# 64 MiB file (~40,000 Purview rows, ~1 s of parsing) barely repays.
SPLIT_MIN_BYTES = 64 * 1024 * 1024
# Scanning a byte for quote parity costs about this fraction of parsing it (a parse runs at
# ~16 MB/s per core on these machines, a scan at 400 MB/s or more).
SCAN_COST = 0.04


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


def plan_targets(size: int, body_start: int, parts: int) -> list[int]:
    """Where each range after the first should start looking for its first row.

    The worker of range k scans the file from the first data row up to its target for
    quote parity and line count, then starts at the next row boundary; the worker of range
    k - 1 stops at the first row starting at or after the same target, so both meet there
    without talking. Scanning runs at disk speed, parsing at ~16 MB/s, so the scan costs
    the later workers a few percent: the targets sit that much earlier to even the work.
    """
    if parts <= 1 or size - body_start < SPLIT_MIN_BYTES:
        return []
    body = size - body_start
    # Range k holds weight 1 + k * SCAN_COST of scanning on top of its parsing.
    weights = [1.0 / (1.0 + k * SCAN_COST) for k in range(parts)]
    total = sum(weights)
    targets, covered = [], 0.0
    for weight in weights[:-1]:
        covered += weight / total
        targets.append(body_start + int(body * covered))
    return targets


def first_data_row(path: Path, header_offset: int, header_line: int) -> Boundary | None:
    """Where the first data row starts: the row boundary after the header."""
    with open(path, "rb") as handle:
        return next_row_start(handle, header_offset, header_line, header_offset + 1)
