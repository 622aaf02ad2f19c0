"""Loading a case: folders, refusals, hashing, duplicates, parallel ranges, untouched evidence."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import bind, mailbox_record

from ualscope.core.ingest import loader as loader_module
from ualscope.core.ingest import parallel, split
from ualscope.core.ingest.loader import Cancelled, LoadProgress, discover, load

PURVIEW_HEADER = (
    "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,"
    "AssociatedAdminUnitsNames\r\n"
)


def purview_row(record: dict[str, Any]) -> str:
    audit = json.dumps(record, separators=(",", ":")).replace('"', '""')
    when = record["CreationTime"] + ".0000000Z "
    return (
        f'{record["Id"]},"{when}",{record["RecordType"]},{record["Operation"]},'
        f'{record["UserId"]},"{audit}",,\r\n'
    )


def write_purview(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(PURVIEW_HEADER + "".join(purview_row(r) for r in records), encoding="utf-8")
    return path


def write_purview_with_pretty_row(path: Path, rows: list[dict[str, Any]], at: int) -> Path:
    """A Purview CSV whose row `at` has its AuditData pretty-printed across lines."""
    pretty = mailbox_record("Send", "2022-03-28T09:30:00", Item={"Subject": 'line1\n"two"'})
    write_purview(path, [*rows[:at], pretty, *rows[at:]])
    # Bytes, not text: reading text would turn every CRLF into LF and miss the row.
    row = purview_row(pretty).encode("utf-8")
    data = path.read_bytes()
    assert row in data
    path.write_bytes(data.replace(row, row.replace(b',"{', b',"{\r\n  ')))
    return path


def records(n: int, start_hour: int = 8) -> list[dict[str, Any]]:
    return [
        bind(
            f"2022-03-28T{start_hour + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
            [(f"<m{i}@mail.fabrikam.example>", "\\Inbox")],
            ip=f"198.51.100.{i % 50}",
        )
        for i in range(n)
    ]


def test_a_folder_is_read_recursively_in_a_stable_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    write_purview(tmp_path / "b" / "one.csv", records(3))
    write_purview(tmp_path / "a" / "two.csv", records(2, start_hour=10))
    (tmp_path / "notes.txt").write_text("case notes, not an export\n")
    result = load([tmp_path], workers=1)
    assert [Path(f.path).relative_to(tmp_path).as_posix() for f in result.files] == [
        "a/two.csv",
        "b/one.csv",
        "notes.txt",
    ]
    assert len(result.index) == 5
    refused = result.files[2]
    assert refused.refused.startswith("not an audit export")
    assert refused.sha256 == hashlib.sha256(b"case notes, not an export\n").hexdigest()


def test_a_link_loop_and_a_second_path_to_one_file_are_reported_not_followed(
    tmp_path: Path,
) -> None:
    case = tmp_path / "case"
    case.mkdir()
    write_purview(case / "export.csv", records(2))
    os.symlink(case, case / "loop")
    os.symlink(case / "export.csv", case / "again.csv")
    files, skipped = discover([case])
    assert [shown for _, shown in files] == [str(case / "again.csv")]
    reasons = dict(skipped)
    assert reasons[str(case / "export.csv")].startswith("same file as")
    assert reasons[str(case / "loop")] == "folder already visited (link loop)"


def test_a_zip_with_an_audit_like_name_is_refused_with_a_reason(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "AuditLog_2022.csv", "w") as archive:
        archive.writestr("AuditLog.csv", PURVIEW_HEADER)
    result = load([tmp_path / "AuditLog_2022.csv"], workers=1)
    assert result.files[0].refused == "binary file: a zip archive (extract it first)"
    assert len(result.index) == 0


def test_missing_paths_are_said(tmp_path: Path) -> None:
    result = load([tmp_path / "nope.csv"], workers=1)
    assert result.skipped == [(str(tmp_path / "nope.csv"), "no such file or folder")]


def test_sha256_is_of_the_whole_file_as_read(tmp_path: Path) -> None:
    path = write_purview(tmp_path / "x.csv", records(20))
    result = load([path], workers=1)
    assert result.files[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_at_a_collection_cap_is_flagged(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in records(5_000)]
    path = tmp_path / "ual.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load([path], workers=1)
    assert result.files[0].data_rows == 5_000
    assert result.files[0].possibly_truncated


def test_progress_is_reported_and_a_load_can_be_cancelled(tmp_path: Path) -> None:
    path = write_purview(tmp_path / "x.csv", records(10_000))
    seen: list[LoadProgress] = []
    load([path], workers=1, progress=seen.append)
    assert seen[-1].bytes_done == seen[-1].bytes_total == path.stat().st_size
    assert seen[-1].records == 10_000
    with pytest.raises(Cancelled):
        load([path], workers=1, cancelled=lambda: True)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_parallel_ranges_give_the_same_index_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_method: str
) -> None:
    # A multi-line AuditData (the -Formatted shape) must not confuse the range cutter.
    write_purview_with_pretty_row(tmp_path / "big.csv", records(3_000), 1_500)
    (tmp_path / "bad.csv").write_text(PURVIEW_HEADER + "x,y\r\n", encoding="utf-8")
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(loader_module, "SPLIT_MIN_BYTES", 1)
    # Workers forked (the command line) or spawned (a process with other threads).
    if start_method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{start_method} is not available here")
    monkeypatch.setattr(
        parallel, "worker_context", lambda: multiprocessing.get_context(start_method)
    )
    alone = load([tmp_path], workers=1)
    shared = load([tmp_path], workers=2)
    assert len(shared.index) == len(alone.index) == 3_001
    for name in ("time", "offset", "line", "length"):
        assert np.array_equal(getattr(shared.index, name), getattr(alone.index, name))
    assert [shared.index.record_id(r) for r in range(0, 3_001, 97)] == [
        alone.index.record_id(r) for r in range(0, 3_001, 97)
    ]
    for field in ("client_ip", "session_id", "message_id"):
        left = [shared.index.text(field, r) for r in range(3_001)]
        right = [alone.index.text(field, r) for r in range(3_001)]
        assert left == right
    assert [f.sha256 for f in shared.files] == [f.sha256 for f in alone.files]
    assert [(r.line, r.row) for f in shared.files for r in f.rejections] == [
        (r.line, r.row) for f in alone.files for r in f.rejections
    ]


def test_loading_leaves_the_evidence_untouched(tmp_path: Path) -> None:
    path = write_purview(tmp_path / "x.csv", records(50))
    os.chmod(path, 0o444)
    before = (path.stat().st_mtime_ns, path.stat().st_size, path.read_bytes())
    load([tmp_path], workers=1)
    after = (path.stat().st_mtime_ns, path.stat().st_size, path.read_bytes())
    assert before == after
    assert sorted(os.listdir(tmp_path)) == ["x.csv"]


def test_a_stray_quote_that_fools_the_range_cutter_costs_time_not_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = records(2_000)
    path = write_purview(tmp_path / "big.csv", rows)
    # A quote inside an unquoted cell is literal to a CSV reader but flips quote parity for
    # every byte after it; a pretty-printed AuditData further on then has a newline at even
    # parity inside its quoted cell, and the cutter takes it for a row boundary.
    lines = path.read_bytes().split(b"\r\n")
    lines[10] = lines[10].replace(b",MailItemsAccessed,", b',Mail"ItemsAccessed,', 1)
    lines[1_300] = lines[1_300].replace(b',"{', b',"{\r\n  ', 1)
    path.write_bytes(b"\r\n".join(lines))
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(loader_module, "SPLIT_MIN_BYTES", 1)
    alone = load([path], workers=1)
    shared = load([path], workers=2)
    assert len(shared.index) == len(alone.index) == 2_000
    assert np.array_equal(shared.index.offset, alone.index.offset)
    assert any("read again by one process" in note for note in shared.files[0].notes)


def test_ranges_with_no_row_start_leave_the_reading_to_the_range_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four rows, one of them ~200 KB: with eight workers most targets fall inside that row,
    # so their ranges hold no row start and the ranges before them read on.
    rows = records(4)
    rows[1]["Padding"] = "x" * 200_000
    path = write_purview(tmp_path / "wide.csv", rows)
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(loader_module, "SPLIT_MIN_BYTES", 1)
    alone = load([path], workers=1)
    shared = load([path], workers=8)
    assert len(shared.index) == len(alone.index) == 4
    assert np.array_equal(shared.index.offset, alone.index.offset)
    assert np.array_equal(shared.index.line, alone.index.line)
    assert shared.files[0].data_rows == 4
    assert not any("read again" in note for note in shared.files[0].notes)


def test_a_target_on_a_row_start_is_that_row(tmp_path: Path) -> None:
    path = write_purview(tmp_path / "x.csv", records(5))
    data = path.read_bytes()
    third = data.index(b"\r\n", data.index(b"\r\n", data.index(b"\r\n") + 2) + 2) + 2
    body = split.first_data_row(path, 0, 1)
    assert body is not None
    with open(path, "rb") as handle:
        exact = split.next_row_start(handle, body.offset, body.line, third)
        after = split.next_row_start(handle, body.offset, body.line, third + 1)
    assert exact is not None and (exact.offset, exact.line) == (third, 4)
    assert after is not None and after.offset > third and after.line == 5


def test_a_pipe_or_device_named_directly_is_skipped_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.csv"
    os.mkfifo(fifo)
    real = write_purview(tmp_path / "real.csv", records(3))
    result = load([fifo, "/dev/zero", real], workers=1)  # either would never finish
    assert len(result.index) == 3
    reasons = dict(result.skipped)
    assert "not a regular file" in reasons[str(fifo)]
    assert "not a regular file" in reasons["/dev/zero"]
