"""Loading a case: every evidence file named, in a stable order, into one index.

Per file: open read-only and hash while reading, detect the shape from content, stream its
rows through the normaliser into a part, and account for every row (kept, duplicate or
rejected with its line). A file that is not an export is refused with the reason; a reader
failure mid-file keeps what was read and says where reading stopped. Nothing here raises
past the file boundary, so one bad file never stops a case from loading.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..index.audit_index import AuditIndex
from ..index.merge import merge_parts
from ..index.part import Part, PartBuilder
from ..normalise.record import FileNormaliser
from .allocator import return_freed_memory
from .detect import detect
from .evidence import EvidenceReader, sha256_file
from .inputs import InputFile
from .readers import ByteRange, open_rows
from .reread import attach_evidence
from .rows import FileProblem, NotAnAuditExport, RowEvent
from .split import SPLIT_MIN_BYTES

# Progress and cancellation are checked every this many rows: often enough for a 10 Hz
# progress bar at ~100,000 rows/s, rarely enough to cost nothing measurable.
CHECK_EVERY = 4096


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a bulk load.

    A load allocates millions of short-lived containers (orjson dicts) and keeps few: the
    collector's generation-2 passes over a growing heap cost seconds per million records
    (engineering.md: 16.6 s with the collector on, 7.0 s off, for a list of dicts).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Cancelled(Exception):
    """The user cancelled the load."""


@dataclass
class LoadProgress:
    files_total: int
    files_done: int
    bytes_total: int
    bytes_done: int
    records: int  # rows accepted so far (duplicates are only known after the merge)
    current: str


@dataclass
class LoadResult:
    index: AuditIndex
    files: list[InputFile]
    # Paths that could not be opened at all or were skipped while walking folders.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(len(info.rejections) for info in self.files)

    @property
    def duplicates(self) -> int:
        return sum(info.duplicates for info in self.files)


ProgressCallback = Callable[[LoadProgress], None]
CancelCheck = Callable[[], bool]


def discover(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Files to read (real path, shown path), sorted by shown path, and what was skipped.

    Folders are walked recursively, following links but never the same folder twice (a link
    loop is reported, not followed). The same file reached twice is read once.
    """
    found: dict[tuple[int, int], tuple[Path, str]] = {}
    skipped: list[tuple[str, str]] = []
    visited_dirs: set[tuple[int, int]] = set()

    def add_file(path: Path, shown: str) -> None:
        try:
            status = path.stat()
        except OSError as error:
            skipped.append((shown, f"cannot read: {error.strerror or error}"))
            return
        if not stat.S_ISREG(status.st_mode):
            # A FIFO would block the load forever and /dev/zero would be hashed forever.
            skipped.append((shown, "not a regular file (a pipe, socket or device)"))
            return
        key = (status.st_dev, status.st_ino)
        if key in found:
            skipped.append((shown, f"same file as {found[key][1]}"))
            return
        found[key] = (path, shown)

    def walk(folder: Path, shown: str) -> None:
        try:
            status = folder.stat()
        except OSError as error:
            skipped.append((shown, f"cannot read folder: {error.strerror or error}"))
            return
        key = (status.st_dev, status.st_ino)
        if key in visited_dirs:
            skipped.append((shown, "folder already visited (link loop)"))
            return
        visited_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            skipped.append((shown, f"cannot list folder: {error.strerror or error}"))
            return
        for entry in entries:
            child = Path(entry.path)
            child_shown = os.path.join(shown, entry.name)
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError as error:
                skipped.append((child_shown, f"cannot read: {error.strerror or error}"))
                continue
            if is_dir:
                walk(child, child_shown)
            elif is_file:
                add_file(child, child_shown)
            else:
                skipped.append((child_shown, "not a regular file (broken link or device)"))

    for raw in paths:
        path = Path(raw)
        shown = str(raw)
        if path.is_dir():
            walk(path, shown)
        elif path.exists():
            add_file(path, shown)
        else:
            skipped.append((shown, "no such file or folder"))
    files = sorted(found.values(), key=lambda pair: pair[1])
    return files, sorted(skipped)


def case_bytes(paths: Iterable[str | Path]) -> int:
    """The size of every file `load` would read from `paths`."""
    total = 0
    for path, _ in discover(paths)[0]:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def read_part(
    path: Path,
    info: InputFile,
    file_index: int,
    span: ByteRange | None = None,
    on_rows: Callable[[int, int], None] | None = None,
    *,
    hash_file: bool = True,
) -> Part:
    """Read one file (or one range of it) into a part, filling in `info` as it goes.

    `on_rows(rows_done, bytes_done)` is called every CHECK_EVERY rows; it may raise
    Cancelled, which propagates.
    """
    normaliser = FileNormaliser()
    share = 1.0  # of the file's bytes this part reads
    if span is not None and info.size:
        share = ((span.end if span.end is not None else info.size) - span.start) / info.size
    builder = PartBuilder(file_index, normaliser, share)
    data_rows = 0
    event: RowEvent | None = None  # the last row read: where the part ends
    try:
        with EvidenceReader(path) as evidence:
            try:
                detection = detect(evidence.sniff())
                info.shape = detection.shape.value
                info.label = detection.label
                info.encoding = detection.encoding + (" with BOM" if detection.bom_length else "")
                reader = open_rows(evidence, detection, span)
                # Once per row of up to 1,000,000: nothing here that can wait for the end.
                add_event, reject = builder.add_event, builder.reject
                for event in reader:
                    if event.audit is None:
                        reject(event.line, event.row, event.problem or "unreadable row")
                    else:
                        add_event(event)
                    if on_rows is not None and event.row % CHECK_EVERY == 0:
                        on_rows(event.row, event.offset + event.length)
                builder.flush()  # the normaliser's account below must include the last chunk
                data_rows = reader.data_rows
                info.label = reader.label
                info.notes.extend(detection.notes)
                info.notes.extend(reader.notes)
                _note_reader(info, reader.decode_error_count, reader.decode_error_lines)
                _note_normaliser(info, normaliser)
            except NotAnAuditExport as refusal:
                info.refused = str(refusal)
            except FileProblem as problem:
                info.notes.append(f"reading stopped: {problem}")
                # The rows read before the stop are in the part: count them, or the file's
                # account (kept + duplicates + rejected = data rows) would not add up.
                data_rows = reader.data_rows
            finally:
                if hash_file:
                    info.sha256 = evidence.finish()
    except OSError as error:
        info.refused = f"cannot read: {error.strerror or error}"
    start_offset = span.start if span is not None else 0
    end_offset = start_offset if event is None else event.offset + event.length
    part = builder.finish(data_rows, end_offset, start_offset)
    info.data_rows += data_rows
    info.rejections.extend(part.rejections)
    return part


def _note_reader(info: InputFile, count: int, lines: list[int]) -> None:
    if count:
        shown = ", ".join(str(n) for n in lines)
        more = f" and {count - len(lines)} more" if count > len(lines) else ""
        info.notes.append(
            f"{count} lines hold bytes that are not valid {info.encoding or 'text'} "
            f"(lines {shown}{more}); they were replaced by U+FFFD and the rows kept"
        )


def _note_normaliser(info: InputFile, normaliser: FileNormaliser) -> None:
    if normaliser.wrapper_timed:
        order = {
            True: ", read day first as the file's other rows showed",
            False: ", read month first as the file's other rows showed",
            None: "",
        }[normaliser.day_first]
        info.notes.append(
            f"{normaliser.wrapper_timed} records have no usable AuditData.CreationTime and "
            f"were timed from the {normaliser.wrapper_time_source} column, assumed UTC{order}"
        )


def default_workers() -> int:
    """Processes for a large load: the work splits by byte range, so use every core."""
    return max(1, min(os.cpu_count() or 1, 8))


def load(
    paths: Iterable[str | Path],
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    workers: int | None = None,
    preview: Callable[[AuditIndex], None] | None = None,
) -> LoadResult:
    """Load every file named (folders recursively) into one deduplicated, time-ordered index.

    Large CSV exports are parsed in byte ranges by `workers` processes (default: one per
    core); a case under 64 MiB is read in this process, where starting workers would cost
    more than it saves. `preview`, when given, receives indexes of what has loaded so far
    while workers are still reading (first when the first range is done, then each time
    that has grown fourfold), so a reader can browse before the load ends.
    """
    targets, skipped = discover(paths)
    files: list[InputFile] = []
    for path, shown in targets:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        files.append(InputFile(path=shown, size=size, location=str(path.resolve())))
    count = default_workers() if workers is None else max(1, workers)
    with collector_paused():
        if count > 1 and sum(info.size for info in files) >= SPLIT_MIN_BYTES:
            from .parallel import load_in_processes

            parts_done = None if preview is None else _previewer(files, preview)
            parts = load_in_processes(targets, files, count, progress, cancelled, parts_done)
        else:
            parts = _load_here(targets, files, progress, cancelled)
        index = merge_parts(parts, files)
        del parts
        # The load's processes kept freed memory for reuse (allocator.py); what the parts and
        # the merge held goes back now, not after the analyses that follow a load.
        return_freed_memory()
        attach_evidence(index, files)
    # What stays (the index, its dictionaries) is long-lived: keep it out of every later
    # collection so browsing never pauses for a pass over a million strings.
    gc.freeze()
    return LoadResult(index, files, skipped)


def _previewer(
    files: list[InputFile], preview: Callable[[AuditIndex], None]
) -> Callable[[list[Part]], None]:
    def show(parts: list[Part]) -> None:
        # Copies: merging counts records and duplicates into the files' accounts, which
        # belong to the final merge alone.
        index = merge_parts(parts, [replace(info) for info in files])
        attach_evidence(index, files)
        preview(index)

    return show


def _load_here(
    targets: list[tuple[Path, str]],
    files: list[InputFile],
    progress: ProgressCallback | None,
    cancelled: CancelCheck | None,
) -> list[Part]:
    bytes_total = sum(info.size for info in files)
    parts: list[Part] = []
    bytes_before = 0
    records = 0
    for index, ((path, shown), info) in enumerate(zip(targets, files, strict=True)):

        def on_rows(
            rows: int,
            position: int,
            shown: str = shown,
            base: int = bytes_before,
            index: int = index,
            records: int = records,
        ) -> None:
            if cancelled is not None and cancelled():
                raise Cancelled()
            if progress is not None:
                progress(
                    LoadProgress(
                        len(files), index, bytes_total, base + position, records + rows, shown
                    )
                )

        part = read_part(path, info, index, on_rows=on_rows)
        if info.refused and not info.sha256:
            info.sha256 = _hash_quietly(path)
        parts.append(part)
        records += part.size
        bytes_before += info.size
        if progress is not None:
            progress(LoadProgress(len(files), index + 1, bytes_total, bytes_before, records, shown))
    return parts


def _hash_quietly(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return ""
