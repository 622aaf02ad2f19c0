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
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from itertools import pairwise
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from ..index.part import Part
from . import split
from .allocator import reuse_freed_memory
from .cutter import cut_and_hash
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
from .split import Boundary, first_data_row

# How often the parent wakes to drain progress and check for cancellation: 10 Hz.
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Unit:
    """One piece of work for a worker: a whole file, or one row-aligned range of a large one."""

    file_index: int
    path: Path
    shown: str
    span: ByteRange | None
    hash_file: bool  # False for a range: the parent hashes the file as it cuts it

    @property
    def key(self) -> tuple[int, int]:
        return (self.file_index, self.span.start if self.span else 0)

    def bytes(self, size: int) -> int:
        if self.span is None:
            return size
        return (size if self.span.end is None else self.span.end) - self.span.start


# A range of ~128 MiB is ~80,000 Purview rows, ~2 s of one core's parsing: small enough that
# the explorer can show a first part of a 1.6 GB case early, large enough that the parts of
# such a case cost little to merge. At the start of a file the cutter makes them smaller, so
# the workers start at once, and towards its end, so they finish together (cutter.range_size):
# 26 parts for 1.6 GB.
RANGE_BYTES = 128 * 1024 * 1024

# Each preview is a merge in the caller's process, on CPU the workers and the screen need
# too: a first one as soon as a range is done, then only when four times as much has loaded
# (8, 32, 128, then 512 MiB of 1.6 GB).
PREVIEW_GROWTH = 4

WORKER_NICENESS = 10

_progress_queue: Any = None
_cancel_event: Any = None


def _init_worker(progress_queue: Any, cancel_event: Any) -> None:
    global _progress_queue, _cancel_event
    _progress_queue = progress_queue
    _cancel_event = cancel_event
    reuse_freed_memory()  # a forked worker has it from the parent already; a spawned one not
    # Workers take every core, and the explorer shares them: at equal priority a key press
    # waited 0.8 s (p50) to 2.7 s (p95) for its frame during a 1,000,000-record load. Niced,
    # the workers still get all the CPU nobody else wants.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)


def _run_unit(unit: Unit, size: int) -> tuple[tuple[int, int], Part, InputFile]:
    info = InputFile(path=unit.shown, size=size)
    start = unit.span.start if unit.span else 0

    def on_rows(rows: int, position: int) -> None:
        if _cancel_event is not None and _cancel_event.is_set():
            raise Cancelled()
        if _progress_queue is not None:
            # Progress is advisory: a full queue must never slow the parse.
            with contextlib.suppress(queue.Full):
                _progress_queue.put_nowait((unit.key, rows, position - start))

    with collector_paused():
        part = read_part(
            unit.path, info, unit.file_index, unit.span, on_rows, hash_file=unit.hash_file
        )
    return unit.key, part, info


def first_row_if_splittable(path: Path, size: int) -> Boundary | None:
    """The first data row of a file worth cutting into ranges, or None to read it whole."""
    if size < split.SPLIT_MIN_BYTES:
        return None
    try:
        with open(path, "rb") as handle:
            detection = detect(handle.read(SNIFF_BYTES))
    except (OSError, NotAnAuditExport):
        return None  # the worker reading it whole will say why
    if not splittable(detection):
        return None
    return first_data_row(path, detection.header_offset, detection.header_line)


def os_threads() -> int:
    """Threads of this process as the kernel counts them (C libraries' included); 0 when
    the system does not say (not Linux)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def worker_context() -> BaseContext:
    """How to start the workers: fork where it is safe, spawn otherwise.

    A forked worker starts at once, with numpy and the loader already imported. A spawned one
    starts a new interpreter and imports them again (~0.2 s of CPU each on these machines):
    parsing began 0.5-0.6 s into a 1,000,000-record load, against 0.2-0.3 s forked, and the
    workers spent 0.4-0.7 s more CPU. But fork copies only the calling thread: a lock that
    another thread held at that moment stays locked in the child for ever. So fork only on
    Linux and only when the kernel counts one thread in this process: the command line and
    the explorer's load process (background.py), never the explorer itself.
    """
    if sys.platform == "linux" and os_threads() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


PartsDone = Callable[[list[Part]], None]


def load_in_processes(
    targets: list[tuple[Path, str]],
    files: list[InputFile],
    workers: int,
    progress: ProgressCallback | None,
    cancelled: CancelCheck | None,
    parts_done: PartsDone | None = None,
) -> list[Part]:
    """Parse every file in worker processes; large CSV files range by range as they are cut.

    `parts_done`, when given, is called with the parts finished so far (in load order) when
    the first finishes and each time the bytes finished have grown PREVIEW_GROWTH times: a
    preview of the case for a reader who should not wait for the whole of it.
    """
    # Before the workers are forked, so they have it too (allocator.py: receiving and
    # sending the parts cost ~0.45 s less CPU on these machines).
    reuse_freed_memory()
    context = worker_context()
    progress_queue = context.Queue(maxsize=10_000)
    cancel_event = context.Event()
    stop_cutting = threading.Event()
    results: dict[tuple[int, int], tuple[Part, InputFile]] = {}
    positions: dict[tuple[int, int], tuple[int, int]] = {}
    bytes_total = sum(info.size for info in files)
    units: list[Unit] = []
    # Units handed to the pool, by this thread or the cutter's, not yet seen by this loop.
    submitted: queue.Queue[tuple[Unit, Future[tuple[tuple[int, int], Part, InputFile]]]] = (
        queue.Queue()
    )
    cuts: dict[int, Future[str]] = {}
    previewed_bytes = 0
    with (
        ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(progress_queue, cancel_event),
        ) as pool,
        ThreadPoolExecutor(1) as cutter,
    ):
        # A spawning pool starts a process only when a task finds no idle one: the first
        # when the first range was cut, ~0.6 s into a load before parsing began. Asking
        # every worker for its pid now starts them all while the first ranges are being
        # cut. (A forking pool starts them all at the first task: before the cutter's thread.)
        for _ in range(workers):
            pool.submit(os.getpid)
        pending: set[Future[tuple[tuple[int, int], Part, InputFile]]] = set()

        def submit(unit: Unit) -> None:
            # The cutter's thread submits each range as it is cut: left for this loop, a
            # range waited for it to wake (up to POLL_SECONDS), and at the start of a load
            # the second worker sat idle for that long.
            submitted.put((unit, pool.submit(_run_unit, unit, files[unit.file_index].size)))

        def take_submitted() -> None:
            while True:
                try:
                    unit, future = submitted.get_nowait()
                except queue.Empty:
                    return
                units.append(unit)
                pending.add(future)

        for index, ((path, shown), info) in enumerate(zip(targets, files, strict=True)):
            body = first_row_if_splittable(path, info.size)
            if body is None:
                submit(Unit(index, path, shown, None, True))
                continue
            # Ranges no larger than a worker's share, so a file just over the split size
            # still keeps every worker busy.
            share = -(-(info.size - body.offset) // workers)
            cuts[index] = cutter.submit(
                cut_and_hash,
                path,
                body,
                max(1, min(RANGE_BYTES, share)),
                _range_submitter(submit, targets, index),
                stop_cutting.is_set,
                workers,
            )
        while pending or not _all_cut(cuts) or not submitted.empty():
            take_submitted()
            if pending:
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            else:
                done = set()
                time.sleep(POLL_SECONDS / 10)  # only ranges still to be cut
            for future in done:
                key, part, info = future.result()
                results[key] = (part, info)
            _drain(progress_queue, positions)
            if cancelled is not None and cancelled():
                cancel_event.set()
                stop_cutting.set()
                take_submitted()
                for future in pending:
                    future.cancel()
                raise Cancelled()
            if progress is not None:
                done_bytes = sum(p for _, p in positions.values())
                rows = sum(r for r, _ in positions.values())
                finished = len({k[0] for k in results})
                progress(LoadProgress(len(files), finished, bytes_total, done_bytes, rows, ""))
            if parts_done is not None and done and (pending or not _all_cut(cuts)):
                finished_bytes = sum(
                    u.bytes(files[u.file_index].size) for u in units if u.key in results
                )
                if finished_bytes >= PREVIEW_GROWTH * previewed_bytes:
                    previewed_bytes = finished_bytes
                    parts_done([results[key][0] for key in sorted(results)])
        unreadable = set()
        for index, cut in cuts.items():
            try:
                files[index].sha256 = cut.result()
            except OSError:
                unreadable.add(index)  # read again whole: the worker will say what failed
        units = _resplit_bad_seams(pool, units, results, files, unreadable)
    return _combine(units, results, files)


def _range_submitter(
    submit: Callable[[Unit], None], targets: list[tuple[Path, str]], index: int
) -> Callable[[ByteRange], None]:
    path, shown = targets[index]

    def found(span: ByteRange) -> None:
        submit(Unit(index, path, shown, span, False))

    return found


def _all_cut(cuts: dict[int, Future[str]]) -> bool:
    return all(cut.done() for cut in cuts.values())


def _resplit_bad_seams(
    pool: ProcessPoolExecutor,
    units: list[Unit],
    results: dict[tuple[int, int], tuple[Part, InputFile]],
    files: list[InputFile],
    unreadable: set[int],
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
        if results[unit.key][0].end_offset != results[following.key][0].start_offset:
            bad.add(unit.file_index)
    bad |= unreadable
    if not bad:
        return units
    kept = [u for u in units if u.file_index not in bad]
    for key in [k for k in results if k[0] in bad]:
        del results[key]
    redo = [
        Unit(i, units_path(units, i), files[i].path, None, i in unreadable) for i in sorted(bad)
    ]
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
