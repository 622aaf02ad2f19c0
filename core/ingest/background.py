"""Loading in a process of its own, for a caller whose thread must stay responsive.

The explorer draws the screen in the process that would otherwise merge a large case, and a
merge holds the interpreter in C calls of 30-140 ms at a time (building a dict and lists
over a million record ids, numpy gathers over millions of items): keys pressed at the end of
a 1,000,000-record load waited that long (p95 59 ms, max 261 ms). Here `load` runs in a
spawned process, whose own workers are forked from it (it has no other thread when they
start: parallel.worker_context); what comes back through a queue is progress, the
previews and the finished index, which pickles as flat arrays and a few lists of distinct
strings (176 MB, unpickled in ~30 ms for 1,000,000 records).
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import queue
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..index.audit_index import AuditIndex
from .loader import CancelCheck, Cancelled, LoadResult, ProgressCallback, case_bytes, load
from .reread import attach_evidence, detach_evidence
from .split import SPLIT_MIN_BYTES

# How often the caller's thread looks at the queue and the cancel flag: 10 Hz.
POLL_SECONDS = 0.1
# How long a cancelled load process gets to stop by itself before it is terminated.
STOP_SECONDS = 5.0


class LoadProcessFailed(Exception):
    """The load process ended without a result; the message says how."""


def _run(paths: list[str], workers: int | None, messages: Any, cancel: Any) -> None:
    """The load process: `load`, with everything it reports put on `messages`."""

    def progress(report: Any) -> None:
        # Progress is advisory: a full queue (a caller busy elsewhere) skips a report.
        with contextlib.suppress(queue.Full):
            messages.put_nowait(("progress", report))

    def preview(index: AuditIndex) -> None:
        detach_evidence(index)  # a function reading files does not pickle; re-attached there
        messages.put(("preview", index))

    try:
        result = load(
            paths, progress=progress, cancelled=cancel.is_set, preview=preview, workers=workers
        )
    except Cancelled:
        messages.put(("cancelled", None))
        return
    except BaseException:  # reported to the caller, who shows it; nothing is lost silently
        messages.put(("failed", traceback.format_exc()))
        return
    if cancel.is_set():
        return  # nobody is reading any more: sending 100+ MB would only delay the exit
    detach_evidence(result.index)
    messages.put(("done", result))


_running: list[tuple[Any, Any]] = []  # (process, cancel event) of loads in progress


@atexit.register
def _stop_running_loads() -> None:
    # multiprocessing joins its children at exit: a load still running would hold the
    # caller's exit until it finished. (atexit runs this before multiprocessing's own hook.)
    for process, cancel in list(_running):
        cancel.set()
        _stop(process)


def _stop(process: Any) -> None:
    process.join(STOP_SECONDS)
    if process.is_alive():
        process.terminate()
        process.join(STOP_SECONDS)


def load_in_background(
    paths: Iterable[str | Path],
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    preview: Callable[[AuditIndex], None] | None = None,
    workers: int | None = None,
) -> LoadResult:
    """`load`, run in a process of its own; callbacks run on the calling thread.

    A case under SPLIT_MIN_BYTES (64 MiB) loads on the calling thread instead: a process
    costs ~0.4 s to start, and such a case merges in milliseconds. Raises Cancelled when
    `cancelled()` turns true, LoadProcessFailed when the process fails or dies.
    """
    paths = list(paths)
    if case_bytes(paths) < SPLIT_MIN_BYTES:
        return load(paths, progress=progress, cancelled=cancelled, preview=preview, workers=workers)
    context = multiprocessing.get_context("spawn")  # the caller may be a TUI with threads
    messages = context.Queue(maxsize=64)
    cancel = context.Event()
    process = context.Process(
        target=_run,
        args=([str(path) for path in paths], workers, messages, cancel),
        name="ualscope-load",
    )
    process.start()
    _running.append((process, cancel))
    try:
        while True:
            if cancelled is not None and cancelled():
                raise Cancelled()  # at once; `finally` stops the process
            try:
                kind, payload = messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not process.is_alive():
                    raise LoadProcessFailed(
                        f"the load process ended unexpectedly (exit code {process.exitcode})"
                    ) from None
                continue
            if kind == "progress" and progress is not None:
                progress(payload)
            elif kind == "preview" and preview is not None:
                attach_evidence(payload, payload.files)
                preview(payload)
            elif kind == "done":
                result: LoadResult = payload
                attach_evidence(result.index, result.files)
                return result
            elif kind == "cancelled":
                raise Cancelled()
            elif kind == "failed":
                lines = [line for line in str(payload).splitlines() if line.strip()]
                raise LoadProcessFailed(f"the load failed: {lines[-1] if lines else payload}")
    finally:
        cancel.set()
        _stop(process)
        _running.remove((process, cancel))
