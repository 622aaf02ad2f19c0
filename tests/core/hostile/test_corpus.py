"""Every file of the hostile corpus loads to the outcome written down for it.

The outcomes live beside the builders in tests/hostile_corpus.py and, as a table, in
tests/data/hostile/README.md; both are checked here. Across every case: loading never raises,
each data row is kept, counted as a duplicate or rejected with its line and a reason, a refused
file says why, and a hostile string is in the index exactly as the evidence holds it.
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import hostile_corpus as corpus
import pytest
from hostile_corpus import CASES, COMMITTED_ROOT, Case, HostileFile

from ualscope.core.index.audit_index import AuditIndex
from ualscope.core.info import case_info, render_info
from ualscope.core.ingest import json_exports, split
from ualscope.core.ingest import loader as loader_module
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.ingest.loader import LoadResult, load
from ualscope.core.textsafe import csv_cell

README = COMMITTED_ROOT / "README.md"
# Everything terminal-hostile: C0 but newline, DEL, C1, and the format characters (bidi
# overrides, zero-width) that a terminal would obey or hide.
SAFE_CONTROLS = {"\n"}


def hidden_characters(text: str) -> set[str]:
    return {
        ch
        for ch in text
        if ch not in SAFE_CONTROLS and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co")
    }


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed files as git holds them, plus the generated ones (the 50 MB file has its
    own test, so its memory is given back as soon as it is checked)."""
    folder = tmp_path_factory.mktemp("hostile")
    shutil.copytree(COMMITTED_ROOT, folder, dirs_exist_ok=True)
    corpus.write_generated(folder, big=False)
    return folder


def cases_and_files() -> list[tuple[Case, HostileFile]]:
    return [
        (case, hostile) for case in CASES if case is not corpus.BIG_FIELD for hostile in case.files
    ]


def the_file(result: LoadResult, root: Path, hostile: HostileFile) -> InputFile:
    wanted = str(root / hostile.path)
    (info,) = [info for info in result.files if info.path == wanted]
    return info


def assert_accounted(info: InputFile) -> None:
    """The invariant every file keeps, whatever it holds."""
    if info.refused:
        assert info.data_rows == info.records == 0
        return
    assert info.records + info.duplicates + len(info.rejections) == info.data_rows, info
    for rejection in info.rejections:
        assert rejection.line >= 1 and rejection.row >= 1 and rejection.reason.strip()


def assert_outcome(info: InputFile, hostile: HostileFile) -> None:
    outcome = hostile.outcome
    assert info.records == outcome.records, (info.rejections, info.notes, info.refused)
    if outcome.refused:
        assert outcome.refused in info.refused
        # A refused file is still hashed: it is evidence that was handed over.
        assert len(info.sha256) == 64
    else:
        assert info.refused == ""
    assert len(info.rejections) == len(outcome.rejected), info.rejections
    for rejection, (line, fragment) in zip(info.rejections, outcome.rejected, strict=True):
        assert rejection.line == line, rejection
        assert fragment in rejection.reason, rejection
    for fragment in outcome.notes:
        assert any(fragment in note for note in info.notes), (fragment, info.notes)
    assert_accounted(info)


def assert_kept_verbatim(index: AuditIndex, hostile: HostileFile) -> None:
    for kept in hostile.kept:
        row = index.row_of(kept.record_id)
        assert row is not None, kept.record_id
        if kept.field == "record_id":
            assert index.record_id(row) == kept.value
        elif kept.field == "items":
            assert (kept.value, kept.folder) in [(m, f) for m, f, _ in index.items(row)]
        else:
            assert index.text(kept.field, row) == kept.value, kept


@pytest.mark.parametrize(
    ("case", "hostile"),
    cases_and_files(),
    ids=[f"{case.name}: {Path(hostile.path).name[:40]!a}" for case, hostile in cases_and_files()],
)
def test_each_file_loads_to_its_written_outcome(
    root: Path, case: Case, hostile: HostileFile
) -> None:
    target = root / (case.folder or hostile.path)
    result = load([target], workers=1)  # must not raise, whatever the file holds
    info = the_file(result, root, hostile)
    assert_outcome(info, hostile)
    assert_kept_verbatim(result.index, hostile)
    skipped = {str(Path(path).relative_to(root)): reason for path, reason in result.skipped}
    assert len(skipped) == len(case.skipped)
    for path, fragment in case.skipped:
        assert fragment in skipped[path]


def test_the_whole_corpus_loads_at_once_with_every_file_accounted_for(root: Path) -> None:
    result = load([root], workers=1)
    expected = {str(root / h.path): h for _, h in cases_and_files()}
    seen = {info.path: info for info in result.files}
    assert set(expected) <= set(seen)
    for path, hostile in expected.items():
        info = seen[path]
        # Several files carry the same records in other shapes: a copy read after the first
        # is a duplicate of the first, found by AuditData.Id whatever the container.
        assert info.records + info.duplicates == hostile.outcome.records, info
        assert [(r.line, r.reason) for r in info.rejections] == [
            (r.line, r.reason) for r in load([path], workers=1).files[0].rejections
        ]
        assert_accounted(info)
        assert_kept_verbatim(result.index, hostile)
    assert sum(info.duplicates for info in result.files) > 0
    assert len(result.index) == sum(info.records for info in result.files)
    skipped = {str(Path(path).relative_to(root)): reason for path, reason in result.skipped}
    expected_skips = {path: reason for case in CASES for path, reason in case.skipped}
    assert set(skipped) == set(expected_skips)
    assert all(expected_skips[path] in reason for path, reason in skipped.items())


def test_worker_processes_give_the_same_account(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile record crashing a worker would lose the whole load, so run the committed
    corpus through the parallel path too, every file cut into ranges."""
    alone = load([COMMITTED_ROOT], workers=1)
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(loader_module, "SPLIT_MIN_BYTES", 1)
    shared = load([COMMITTED_ROOT], workers=2)

    def account(result: LoadResult) -> list[tuple[object, ...]]:
        return [
            (
                info.path,
                info.records,
                info.data_rows,
                info.refused,
                info.sha256,
                [(r.line, r.reason) for r in info.rejections],
            )
            for info in result.files
        ]

    assert account(shared) == account(alone)
    assert [shared.index.record_id(r) for r in range(len(shared.index))] == [
        alone.index.record_id(r) for r in range(len(alone.index))
    ]


def test_the_50_mb_field_is_read_whole(tmp_path: Path) -> None:
    corpus.BIG_FIELD.build(tmp_path)
    (hostile,) = corpus.BIG_FIELD.files
    path = tmp_path / hostile.path
    assert path.stat().st_size > corpus.BIG_FIELD_BYTES
    result = load([path], workers=1)
    (info,) = result.files
    assert_outcome(info, hostile)
    row = result.index.row_of(corpus.rid(123))
    assert row is not None
    subject = result.index.text("subject", row)
    # Compared piecewise: one failed == on 50 MB would print all of it.
    assert len(subject) == corpus.BIG_FIELD_BYTES
    assert subject.startswith(corpus.BIG_HEAD) and subject.endswith(corpus.BIG_TAIL)
    assert subject == corpus.big_subject()


@pytest.mark.parametrize("first", ["records", "garbage"])
def test_a_value_too_large_to_be_a_record_stops_reading_and_keeps_the_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """The JSON reader stops at an element over MAX_ELEMENT_BYTES (64 MiB; shrunk here to
    avoid writing 64 MiB): what was read before it is kept and counted as rows, whether
    records or, before any record, a line that was not JSON."""
    monkeypatch.setattr(json_exports, "MAX_ELEMENT_BYTES", 16 * 1024)
    huge = corpus.send_as_record(
        173, "2022-03-28T13:59:00", subject="x" * 32 * 1024, user=corpus.VICTIM
    )
    head = (
        corpus.jsonl(corpus.plain_records(171, 2))
        if first == "records"
        else b'{"Operation": "cut\n{}\n'
    )
    path = tmp_path / "ual.jsonl"
    path.write_bytes(head + corpus.jsonl([huge, *corpus.plain_records(174, 1)]))
    (info,) = load([path], workers=1).files
    assert info.records == (2 if first == "records" else 0)
    assert info.data_rows == 2
    assert any("reading stopped" in note and "line 3" in note for note in info.notes)
    assert_accounted(info)


def test_formula_values_are_kept_and_guarded_for_spreadsheets(root: Path) -> None:
    (hostile,) = corpus.CSV_FORMULAS.files
    result = load([root / hostile.path], workers=1)
    assert_kept_verbatim(result.index, hostile)
    values = [kept.value for kept in hostile.kept] + [kept.folder for kept in hostile.kept]
    leading = [v for v in values if v and v[0] in "=+-@"]
    assert {v[0] for v in leading} == {"=", "+", "-", "@"}
    # No CSV export exists in core yet; the sanitiser one must use is checked on these values.
    assert all(csv_cell(v) == "'" + v for v in leading)


def test_ualscope_info_shows_the_corpus_without_a_live_control_character(root: Path) -> None:
    result = load([root], workers=1)
    text = render_info(case_info(result, "ualscope"))
    assert not hidden_characters(text), sorted(hidden_characters(text))
    # The file with a hostile name was listed, escaped.
    assert "AuditLog_\\x1b]0;pwned\\x07[bold]|`x`\\u202e.csv" in text


def test_committed_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    corpus.write_committed(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(COMMITTED_ROOT)
        for p in COMMITTED_ROOT.rglob("*")
        if p.is_file() and p.name not in ("README.md", ".gitattributes")
    )
    assert written == committed
    for relative in written:
        assert (tmp_path / relative).read_bytes() == (COMMITTED_ROOT / relative).read_bytes()
    # "A few KB" at most: anything bigger is generated at test time instead.
    assert max((COMMITTED_ROOT / r).stat().st_size for r in committed) < 16 * 1024


def test_the_readme_table_is_the_outcomes_written_here() -> None:
    assert corpus.readme_table() in README.read_text(encoding="utf-8")
