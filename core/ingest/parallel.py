"""Loading in worker processes: large CSV exports split by byte range, one part per range.

engineering.md measured why processes and not threads: parsing in a thread stalled key
presses 160-380 ms (the GIL), parsing in a subprocess kept the worst key under 50 ms. Each
worker sends back a Part (flat arrays and distinct strings, tens of MB for a million
records), never the records themselves. Progress comes back through a queue, coalesced to
one message per 4,096 rows; cancellation goes out through an event the workers poll.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..index.part import Part, PartBuilder
from . import split
from .detect import detect
from .evidence import SNIFF_BYTES, sha256_file
from .inputs import InputFile
from .loader import (
    CancelCheck,
    Cancelled,
    LoadProgress,
    ProgressCallback,
    collector_paused,
    read_part,
)
from .readers import ByteRange, splittable
from .rows import NotAnAuditExport
from .split import Boundary, first_data_row, next_row_start, plan_targets

# How often the parent wakes to drain progress and check for cancellation: 10 Hz.
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Unit:
    """One piece of work for a worker: a whole file, or one range of a large one."""

    file_index: int
    path: Path
    shown: str
    span: ByteRange | None
    hash_file: bool  # False when the parent hashes a split file in one sequential pass
    # For a range after a file's first: span.start is only a target, and the worker finds
    # the first row starting at or after it by scanning from this, the first data row.
    body: Boundary | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.file_index, self.span.start if self.span else 0)


_progress_queue: Any = None
_cancel_event: Any = None


def _init_worker(progress_queue: Any, cancel_event: Any) -> None:
    global _progress_queue, _cancel_event
    _progress_queue = progress_queue
    _cancel_event = cancel_event


def _run_unit(unit: Unit, size: int) -> tuple[tuple[int, int], Part, InputFile]:
    info = InputFile(path=unit.shown, size=size)
    span = unit.span
    if span is not None and unit.body is not None:
        with open(unit.path, "rb") as handle:
            found = next_row_start(handle, unit.body.offset, unit.body.line, span.start)
        stop = size if span.end is None else span.end
        if found is None or found.offset >= stop:
            # No row starts in this range: the previous range's reader reads on through it.
            at = size if found is None else found.offset
            return unit.key, PartBuilder(unit.file_index).finish(0, at, start_offset=at), info
        span = ByteRange(found.offset, span.end, found.line, 1)
    start = span.start if span else 0

    def on_rows(rows: int, position: int) -> None:
        if _cancel_event is not None and _cancel_event.is_set():
            raise Cancelled()
        if _progress_queue is not None:
            # Progress is advisory: a full queue must never slow the parse.
            with contextlib.suppress(queue.Full):
                _progress_queue.put_nowait((unit.key, rows, position - start))

    with collector_paused():
        part = read_part(unit.path, info, unit.file_index, span, on_rows, hash_file=unit.hash_file)
    return unit.key, part, info


def plan_units(targets: list[tuple[Path, str]], files: list[InputFile], workers: int) -> list[Unit]:
    units: list[Unit] = []
    for index, ((path, shown), info) in enumerate(zip(targets, files, strict=True)):
        planned = _ranges(path, info, workers)
        if planned is None:
            units.append(Unit(index, path, shown, None, True))
            continue
        body, starts = planned
        ends: list[int | None] = [*starts[1:], None]
        units.append(Unit(index, path, shown, ByteRange(body.offset, ends[0], body.line, 1), False))
        units.extend(
            Unit(index, path, shown, ByteRange(start, end, 0, 1), False, body)
            for start, end in zip(starts[1:], ends[1:], strict=True)
        )
    return units


def _ranges(path: Path, info: InputFile, workers: int) -> tuple[Boundary, list[int]] | None:
    """The first data row and each range's target start (the first range's is the row)."""
    if info.size < split.SPLIT_MIN_BYTES:
        return None
    try:
        with open(path, "rb") as handle:
            detection = detect(handle.read(SNIFF_BYTES))
    except (OSError, NotAnAuditExport):
        return None  # the worker reading it whole will say why
    if not splittable(detection):
        return None
    body = first_data_row(path, detection.header_offset, detection.header_line)
    if body is None:
        return None
    targets = plan_targets(info.size, body.offset, workers)
    return (body, [body.offset, *targets]) if targets else None


def load_in_processes(
    targets: list[tuple[Path, str]],
    files: list[InputFile],
    workers: int,
    progress: ProgressCallback | None,
    cancelled: CancelCheck | None,
) -> list[Part]:
    units = plan_units(targets, files, workers)
    # Spawn, not fork: the caller may be a TUI with threads, and fork copies locked locks.
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue(maxsize=10_000)
    cancel_event = context.Event()
    results: dict[tuple[int, int], tuple[Part, InputFile]] = {}
    positions: dict[tuple[int, int], tuple[int, int]] = {}
    bytes_total = sum(info.size for info in files)
    split_files = sorted({u.file_index for u in units if not u.hash_file})
    with (
        ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(progress_queue, cancel_event),
        ) as pool,
        ThreadPoolExecutor(1) as hasher,
    ):
        # hashlib releases the GIL on large updates: hashing here overlaps the parse.
        hashes = {i: hasher.submit(sha256_file, targets[i][0]) for i in split_files}
        pending: set[Future[tuple[tuple[int, int], Part, InputFile]]] = {
            pool.submit(_run_unit, unit, files[unit.file_index].size) for unit in units
        }
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                key, part, info = future.result()
                results[key] = (part, info)
            _drain(progress_queue, positions)
            if cancelled is not None and cancelled():
                cancel_event.set()
                for future in pending:
                    future.cancel()
                raise Cancelled()
            if progress is not None:
                done_bytes = sum(p for _, p in positions.values())
                rows = sum(r for r, _ in positions.values())
                finished = len({k[0] for k in results})
                progress(LoadProgress(len(files), finished, bytes_total, done_bytes, rows, ""))
        for index, future_hash in hashes.items():
            files[index].sha256 = future_hash.result()
        units = _resplit_bad_seams(pool, units, results, files)
    return _combine(units, results, files)


def _resplit_bad_seams(
    pool: ProcessPoolExecutor,
    units: list[Unit],
    results: dict[tuple[int, int], tuple[Part, InputFile]],
    files: list[InputFile],
) -> list[Unit]:
    """Re-read whole any file whose ranges do not meet exactly.

    Quote parity finds row boundaries exactly in well-formed CSV, but one stray quote flips
    it for the rest of the file: a cut could then fall inside a row, and the rows at that
    seam would be read twice or not at all. A range's last row must end where the next
    range starts; where one does not, the file is parsed again by one process.
    """
    bad: set[int] = set()
    ordered = sorted(units, key=lambda u: u.key)
    for unit, following in pairwise(ordered):
        if following.file_index != unit.file_index:
            continue
        ended, began = results[unit.key][0].end_offset, results[following.key][0].start_offset
        # A range with no row start in it begins at the end of the file: the range before it
        # must then have read on to the end.
        size = files[unit.file_index].size
        if (ended < size) if began >= size else (ended != began):
            bad.add(unit.file_index)
    if not bad:
        return units
    kept = [u for u in units if u.file_index not in bad]
    for key in [k for k in results if k[0] in bad]:
        del results[key]
    redo = [Unit(i, units_path(units, i), files[i].path, None, False) for i in sorted(bad)]
    sizes = [files[u.file_index].size for u in redo]
    for key, part, info in pool.map(_run_unit, redo, sizes):
        info.notes.append(
            "a stray quote made the parallel cut points unreliable: this file was read again "
            "by one process"
        )
        results[key] = (part, info)
    return kept + redo


def units_path(units: list[Unit], file_index: int) -> Path:
    return next(u.path for u in units if u.file_index == file_index)


def _drain(progress_queue: Any, positions: dict[tuple[int, int], tuple[int, int]]) -> None:
    while True:
        try:
            key, rows, position = progress_queue.get_nowait()
        except queue.Empty:
            return
        positions[key] = (rows, position)


def _combine(
    units: list[Unit],
    results: dict[tuple[int, int], tuple[Part, InputFile]],
    files: list[InputFile],
) -> list[Part]:
    """Parts in load order, and each file's account assembled from its ranges."""
    parts: list[Part] = []
    rows_before: dict[int, int] = {}
    for unit in sorted(units, key=lambda u: u.key):
        part, fragment = results[unit.key]
        info = files[unit.file_index]
        offset = rows_before.get(unit.file_index, 0)
        if offset == 0:
            info.shape, info.label, info.encoding = (
                fragment.shape,
                fragment.label,
                fragment.encoding,
            )
            info.refused = fragment.refused
            if unit.hash_file:
                info.sha256 = fragment.sha256
        for rejection in part.rejections:
            rejection.row += offset
        info.rejections.extend(part.rejections)
        info.data_rows += fragment.data_rows
        info.notes.extend(n for n in fragment.notes if n not in info.notes)
        rows_before[unit.file_index] = offset + fragment.data_rows
        parts.append(part)
    for info in files:
        if not info.sha256:
            path = next(u.path for u in units if files[u.file_index] is info)
            info.sha256 = sha256_file(path)
    return parts
