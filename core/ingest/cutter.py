"""One sequential pass over a large CSV export: its SHA-256 and the row boundaries to cut at.

The parent reads a split file once, at disk speed, for its hash; the same bytes give the
cut points. In RFC 4180 CSV a newline ends a row exactly when the count of quote characters
since a known row start is even (doubled quotes inside a field add two), so counting quotes
and newlines with `bytes.count` finds each boundary and its physical line number without
parsing. Parsing runs at ~16 MB/s per core and this pass at hundreds of MB/s, so each range
is known long before a worker is free to take it; the workers start at once, on exact
boundaries, and no worker scans bytes another one parses.

This pass shares the two cores with the workers, so its CPU is the load's: over a 1.6 GB
export, reading into fresh 1 MiB bytes objects, `bytes.count` for quotes and newlines and
the hash took ~5 s of CPU (page faults of new buffers 1.5 s, each count ~1 s). One reused
buffer and numpy's vectorised comparisons bring it to ~2 s, most of it SHA-256 (1.0 s).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .readers import ByteRange
from .split import Boundary

RangeFound = Callable[[ByteRange], None]


CUT_CHUNK = 4 * 1024 * 1024
# ~5,000 Purview rows, ~0.1 s of one worker's parsing.
SMALL_RANGE_BYTES = 8 * 1024 * 1024
QUOTE = ord('"')
NEWLINE = ord("\n")


class CutCancelled(Exception):
    pass


def _count(codes: npt.NDArray[np.uint8], byte: int, start: int, stop: int) -> int:
    return int(np.count_nonzero(codes[start:stop] == byte))


def range_size(range_bytes: int, done: int, left: int, workers: int) -> int:
    """How much the next range should take, with `done` bytes of the body cut already and
    `left` still to cut.

    With one worker, `range_bytes`. With several, the ranges grow from SMALL_RANGE_BYTES
    at the start (each at most what was cut before it, plus that much), so the first
    worker starts once 8 MiB are cut, not 128 MiB (0.2 s); and they shrink towards the end,
    to a share of what is left, so both workers finish together: with equal ranges the one
    taking the last worked alone while the other core idled (0.9 s of a 1.6 GB load). Never
    below SMALL_RANGE_BYTES, where a part's own cost (sending its dictionaries, merging
    them) would outweigh the balance gained.
    """
    if workers <= 1:
        return range_bytes
    head = done + SMALL_RANGE_BYTES
    tail = left // (2 * workers)
    return max(min(range_bytes, SMALL_RANGE_BYTES), min(range_bytes, head, tail))


def cut_and_hash(
    path: Path,
    body: Boundary,
    range_bytes: int,
    on_range: RangeFound,
    cancelled: Callable[[], bool] = lambda: False,
    workers: int = 1,
    chunk_bytes: int = CUT_CHUNK,
) -> str:
    """Call `on_range` for each row-aligned range of about `range_bytes` from `body` (the
    first data row), in file order, the last one open-ended; return the file's SHA-256.
    With several `workers`, the ranges grow at the start and shrink at the end (`range_size`)."""
    digest = hashlib.sha256()
    start, start_line = body.offset, body.line  # the range being measured
    quotes = newlines = 0  # since `start`
    last_byte = NEWLINE
    position = 0  # file offset of the chunk in hand
    buffer = bytearray(chunk_bytes)  # reused: a fresh buffer per read costs page faults
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        target = start + range_size(range_bytes, 0, size - start, workers)
        while read := os.readv(fd, [buffer]):
            if cancelled():
                raise CutCancelled()
            chunk = memoryview(buffer)[:read]
            digest.update(chunk)
            codes = np.frombuffer(chunk, dtype=np.uint8)
            cursor = max(0, start - position)  # bytes before the first data row are skipped
            while cursor < read:
                if position + cursor < target:
                    # Up to the target only parity and line count matter: count in C.
                    stop = min(read, target - position)
                    quotes += _count(codes, QUOTE, cursor, stop)
                    newlines += _count(codes, NEWLINE, cursor, stop)
                    last_byte = buffer[stop - 1]
                    cursor = stop
                    if position + cursor < target:
                        break  # the target is in a later chunk
                    if last_byte == NEWLINE and quotes % 2 == 0:
                        boundary = position + cursor  # the target is itself a row start
                    else:
                        continue
                else:
                    # Past the target: the first newline at even parity ends the range.
                    newline = buffer.find(b"\n", cursor, read)
                    if newline < 0:
                        quotes += buffer.count(b'"', cursor, read)
                        cursor = read
                        break
                    quotes += buffer.count(b'"', cursor, newline)
                    newlines += 1
                    cursor = newline + 1
                    if quotes % 2:
                        continue
                    boundary = position + cursor
                if boundary >= size:
                    break  # the last row ends the file: the open-ended range below has it
                on_range(ByteRange(start, boundary, start_line, 1))
                start, start_line = boundary, start_line + newlines
                done = start - body.offset
                target = start + range_size(range_bytes, done, size - start, workers)
                quotes = newlines = 0
            position += read
    finally:
        os.close(fd)
    on_range(ByteRange(start, None, start_line, 1))
    return digest.hexdigest()
