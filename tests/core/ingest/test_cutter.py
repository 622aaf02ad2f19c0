"""Cutting a large CSV export into row-aligned ranges while hashing it, in one pass."""

from __future__ import annotations

import csv
import functools
import io
import itertools
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from core.ingest.test_loader import records, write_purview, write_purview_with_pretty_row
from hypothesis import given, settings
from hypothesis import strategies as st

from ualscope.core.ingest import cutter, parallel, split
from ualscope.core.ingest import loader as loader_module
from ualscope.core.ingest.cutter import SMALL_RANGE_BYTES, cut_and_hash, range_size
from ualscope.core.ingest.evidence import sha256_file
from ualscope.core.ingest.loader import load
from ualscope.core.ingest.readers import ByteRange


def row_starts(path: Path) -> dict[int, int]:
    """Offset -> physical line of every data row, as Python's csv module splits the rows."""
    starts: dict[int, int] = {}
    with open(path, "rb") as handle:
        lines = handle.readlines()
    offsets = [0]
    for raw in lines:
        offsets.append(offsets[-1] + len(raw))
    reader = csv.reader(io.StringIO(b"".join(lines).decode("utf-8"), newline=""))
    next(reader)
    while True:
        at = reader.line_num  # lines consumed so far: the next row starts on the next one
        try:
            next(reader)
        except StopIteration:
            return starts
        starts[offsets[at]] = at + 1


@functools.cache
def pretty_case_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return _pretty_case(Path(folder)).read_bytes()


def pretty_case(folder: Path) -> Path:
    path = folder / "case.csv"
    path.write_bytes(pretty_case_bytes())
    return path


def _pretty_case(tmp_path: Path) -> Path:
    return write_purview_with_pretty_row(tmp_path / "case.csv", records(300), 150)


@settings(max_examples=40, deadline=None)
@given(
    range_bytes=st.integers(min_value=1, max_value=60_000),
    workers=st.integers(min_value=1, max_value=3),
    chunk_bytes=st.sampled_from([97, 4_096, 65_536, 1 << 22]),
    tail_bytes=st.integers(min_value=1, max_value=5_000),
)
def test_ranges_tile_the_body_on_row_starts_with_their_line_numbers(
    tmp_path_factory: pytest.TempPathFactory,
    range_bytes: int,
    workers: int,
    chunk_bytes: int,
    tail_bytes: int,
) -> None:
    path = pretty_case(tmp_path_factory.mktemp("cut"))
    data = path.read_bytes()
    body = split.first_data_row(path, 0, 1)
    assert body is not None
    found: list[ByteRange] = []
    size = len(data)
    with mock.patch.object(cutter, "SMALL_RANGE_BYTES", tail_bytes):
        digest = cut_and_hash(
            path, body, range_bytes, found.append, workers=workers, chunk_bytes=chunk_bytes
        )
        # Each range is at least the size asked for it, given what was cut before it.
        asked = [
            range_size(range_bytes, span.start - body.offset, size - span.start, workers)
            for span in found
        ]
    assert digest == sha256_file(path)
    starts = row_starts(path)
    assert found[0].start == body.offset and found[-1].end is None
    for (this, following), wanted in zip(itertools.pairwise(found), asked, strict=False):
        assert this.end == following.start  # contiguous, nothing read twice or skipped
        assert this.end is not None and this.end - this.start >= wanted
    for span in found:
        assert starts[span.start] == span.first_line  # a true row start, with its line
    # Ranges are never cut inside the pretty-printed row, whatever the size asked.
    pretty_at = data.index(b'"{\r\n  ')
    assert not any(pretty_at < span.start < pretty_at + 400 for span in found)


def test_ranges_grow_at_the_start_and_shrink_at_the_end() -> None:
    mib = 1024 * 1024
    sizes = []
    done, left = 0, 1_600 * mib
    while left > 0:
        size = range_size(128 * mib, done, left, workers=2)
        sizes.append(size)
        done, left = done + size, left - size
    # The first workers start after a few MiB, and ranges double up to the full size.
    assert sizes[:5] == [8 * mib, 16 * mib, 32 * mib, 64 * mib, 128 * mib]
    full = sizes.index(128 * mib)
    tail = sizes[full:]
    assert tail == sorted(tail, reverse=True)  # then ever smaller
    assert min(sizes) == SMALL_RANGE_BYTES  # but never below the floor
    assert tail[-6] <= 32 * mib  # the last ranges are a fraction of a full one
    assert range_size(128 * mib, 0, 10 * mib, workers=1) == 128 * mib  # one worker: whole


def test_a_large_file_is_read_in_ranges_and_previewed_as_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_purview(tmp_path / "big.csv", records(4_000))
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(loader_module, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(parallel, "RANGE_BYTES", path.stat().st_size // 10)
    previews: list[int] = []
    shared = load([path], workers=2, preview=lambda index: previews.append(len(index)))
    alone = load([path], workers=1)
    assert len(shared.index) == len(alone.index) == 4_000
    assert shared.files[0].sha256 == alone.files[0].sha256
    assert shared.files[0].data_rows == 4_000
    assert previews and previews == sorted(previews) and previews[-1] < 4_000
    assert all(p > 0 for p in previews)
