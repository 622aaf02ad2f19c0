"""Loading in a process of its own gives what loading here gives, and stops when asked.

The explorer loads large cases this way (ingest/background.py). The sample case is small,
so these tests lower the size at which a process is used, here in the caller only: the
load process itself reads the case as `load` would.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from conftest import SAMPLE_CASE

from ualscope.core.ingest import background
from ualscope.core.ingest.background import load_in_background
from ualscope.core.ingest.loader import Cancelled, LoadProgress, load
from ualscope.core.report.build import ReportOptions, analyse, build_report
from ualscope.core.report.markdown import render_markdown


@pytest.fixture
def always_in_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "SPLIT_MIN_BYTES", 0)


def report_of(result: object) -> str:
    options = ReportOptions()
    report = build_report(
        result,  # type: ignore[arg-type]
        analyse(result.index, options),  # type: ignore[attr-defined]
        options,
        name="ualscope",
        version="t",
        command="x",
    )
    return render_markdown(report)


@pytest.mark.usefixtures("always_in_a_process")
def test_a_load_in_a_process_equals_a_load_here() -> None:
    progress: list[LoadProgress] = []
    here = load([SAMPLE_CASE], workers=1)
    there = load_in_background([SAMPLE_CASE], progress=progress.append)
    assert len(there.index) == len(here.index) > 1000
    assert [f.sha256 for f in there.files] == [f.sha256 for f in here.files]
    assert [len(f.rejections) for f in there.files] == [len(f.rejections) for f in here.files]
    assert report_of(there) == report_of(here)
    # The evidence is attached in this process: the detail view re-reads records from it.
    assert there.index.reread is not None
    assert there.index.reread(0)["Id"].lower() == there.index.record_id(0).lower()
    assert progress and progress[-1].files_done == len(here.files)
    assert not multiprocessing.active_children()


@pytest.mark.usefixtures("always_in_a_process")
def test_a_cancelled_load_stops_its_process() -> None:
    with pytest.raises(Cancelled):
        load_in_background([SAMPLE_CASE], cancelled=lambda: True)
    assert not multiprocessing.active_children()


def test_a_small_case_loads_on_the_calling_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("a small case must not start a process")

    monkeypatch.setattr(background.multiprocessing, "get_context", no_process)
    result = load_in_background([SAMPLE_CASE])
    assert len(result.index) > 1000


@pytest.mark.usefixtures("always_in_a_process")
def test_nothing_readable_is_still_a_result(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an audit export\n")
    result = load_in_background([tmp_path])
    assert len(result.index) == 0
    assert result.files[0].refused
