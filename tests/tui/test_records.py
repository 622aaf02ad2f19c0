"""The records pane and the app around it, driven by keys at 80x24."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_CASE
from textual import work
from textual.widgets import Static

from ualscope.core.case_file import load_case
from ualscope.core.ingest import background
from ualscope.core.ingest.loader import load
from ualscope.tui.app import UalscopeApp
from ualscope.tui.detail import RecordDetail
from ualscope.tui.help import HelpScreen
from ualscope.tui.line_list import LineList
from ualscope.tui.messages import CaseLoaded, CasePreviewed
from ualscope.tui.records import RecordsPane, RecordTable


async def opened(app: UalscopeApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    assert app.case is not None


async def test_keys_move_filter_and_open_a_record(tmp_path: Path) -> None:
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        table = app.query_one(RecordTable)
        assert table.count == len(app.case.index)  # type: ignore[union-attr]
        await pilot.press("j", "j", "G")
        assert table.cursor == table.count - 1
        await pilot.press("g")
        assert table.cursor == 0
        await pilot.press("f")
        await pilot.press(*"ip:203.0.113.45 op:MailItemsAccessed", "enter")
        index = app.case.index  # type: ignore[union-attr]
        assert table.count > 0
        assert all(index.text("client_ip", int(r)) == "203.0.113.45" for r in table.rows)
        assert all(index.text("operation", int(r)) == "MailItemsAccessed" for r in table.rows)
        await pilot.press("enter")
        assert isinstance(app.screen, RecordDetail)
        await pilot.press("escape")
        assert not isinstance(app.screen, RecordDetail)
        await pilot.press("escape")  # clears the filter
        assert table.count == len(index)


async def test_a_bad_filter_says_why_and_keeps_the_view(tmp_path: Path) -> None:
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        table = app.query_one(RecordTable)
        before = table.count
        await pilot.press("f", *"opp:Send", "enter")
        assert table.count == before
        status = str(app.query_one("#records-status").render())
        assert "filter not applied" in status and "opp" in status


async def test_search_moves_between_matches_with_n(tmp_path: Path) -> None:
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        table = app.query_one(RecordTable)
        index = app.case.index  # type: ignore[union-attr]
        await pilot.press("slash", *"op:New-InboxRule", "enter")
        first = table.current_row
        assert first is not None and index.text("operation", first) == "New-InboxRule"
        await pilot.press("n")
        assert table.current_row is not None
        assert index.text("operation", table.current_row) == "New-InboxRule"


async def test_help_lists_the_panes_bindings(tmp_path: Path) -> None:
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.bindings)
        assert keys["f"] == "Filter" and keys["m"] == "Mark" and keys["q"] == "Quit"
        await pilot.press("escape")


async def test_marks_and_notes_survive_reopening_the_evidence(tmp_path: Path) -> None:
    case_path = tmp_path / "case.json"
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(case_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        table = app.query_one(RecordTable)
        await pilot.press("j", "j", "j", "m")
        marked = app.case.index.record_id(table.current_row)  # type: ignore[union-attr,arg-type]
        await pilot.press("n", *"looks odd", "enter")
    saved = load_case(case_path)
    assert [(m.target_id, m.note) for m in saved.marks] == [(marked, "looks odd")]
    again = UalscopeApp([str(SAMPLE_CASE)], case_path=str(case_path))
    async with again.run_test(size=(80, 24)) as pilot:
        await opened(again, pilot)
        table = again.query_one(RecordTable)
        row = again.case.index.row_of(marked)  # type: ignore[union-attr]
        assert row in table.marked
        position = [int(r) for r in table.rows].index(row)
        assert table._line(position)[0].startswith("*")


async def test_export_writes_selected_findings_with_hashes(tmp_path: Path) -> None:
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    out = tmp_path / "notes" / "findings.md"
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(app, pilot)
        await pilot.press("6")
        findings = app.query_one("#findings-list", LineList)
        assert findings.count > 0
        await pilot.press("space", "e")
        await pilot.press(*["backspace"] * 200)
        await pilot.press(*str(out), "enter")
        await pilot.pause()
    text = out.read_text(encoding="utf-8")
    assert "## Evidence" in text and "## Findings: 1" in text
    for info in app.case.index.files:  # type: ignore[union-attr]
        if info.read:
            assert info.sha256 in text


async def test_the_first_screen_appears_before_the_load_finishes(tmp_path: Path) -> None:
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        # The first frame holds the header and the load bar; the load runs in a worker and
        # the panes mount after that frame, so nothing heavy stands before it.
        assert app.case is None
        assert "loading" in str(app.query_one("#case-header").render())
        await opened(app, pilot)
        await pilot.pause()
        assert app.query_one(RecordsPane).display
        assert [p.id for p in app.query("CasePane") if p.display] == ["records"]


class SlowPanesApp(UalscopeApp):
    """Panes mount only when the test says so: the window a fast typist can hit."""

    hold = True

    async def _mount_panes(self) -> None:
        if not self.hold:
            await super()._mount_panes()


async def test_a_pane_key_before_the_panes_exist_is_kept_for_them(tmp_path: Path) -> None:
    app = SlowPanesApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")  # before the panes exist: this used to end the app
        assert "[2 Sessions]" in str(app.query_one("#pane-tabs").render())
        app.hold = False
        await app._mount_panes()
        await opened(app, pilot)
        await pilot.pause()
        assert app.query_one("#panes").current == "sessions"  # type: ignore[attr-defined]


class HeldLoadApp(UalscopeApp):
    """Shows one file of the sample case as a preview, then loads the whole when released."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()

    @work(thread=True, exclusive=True, group="load")
    def load_evidence(self) -> None:
        from ualscope.core.case import Case
        from ualscope.core.ingest.loader import load

        first = sorted((SAMPLE_CASE / "purview").glob("*.csv"))[0]
        self._on_preview(load([first], workers=1).index)
        self.release.wait(timeout=60)
        self.post_message(CaseLoaded(Case(load(self.paths, workers=1))))


async def test_browsing_starts_on_what_has_loaded_and_carries_over(tmp_path: Path) -> None:
    app = HeldLoadApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            tables = app.query(RecordTable)
            if tables and tables.first().count:
                break
        table = app.query_one(RecordTable)
        pane = app.query_one(RecordsPane)
        assert app.case is None and pane.preview
        partial = table.count
        assert "LOADING" in str(app.query_one("#records-status").render())
        await pilot.press("f", *"op:MailItemsAccessed", "enter")
        await pilot.press("j", "j")
        record = pane.index.record_id(table.current_row)  # type: ignore[union-attr,arg-type]
        await pilot.press("enter")  # the detail view works on the preview too
        assert isinstance(app.screen, RecordDetail)
        await pilot.press("escape")
        await pilot.press("m")  # triage waits for the whole case: nothing happens
        assert app.case_file is None
        app.release.set()
        await opened(app, pilot)
        assert not pane.preview and table.count > 0
        index = app.case.index  # type: ignore[union-attr]
        assert len(index) > partial
        assert index.record_id(table.current_row) == record  # type: ignore[arg-type]
        assert all(index.text("operation", int(r)) == "MailItemsAccessed" for r in table.rows)
        assert "LOADING" not in str(app.query_one("#records-status").render())


async def test_c_cancels_a_load_and_leaves_nothing_on_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sample case loads in a process of its own, as a large case does, and a preview of
    # it is on screen when `c` is pressed.
    monkeypatch.setattr(background, "SPLIT_MIN_BYTES", 0)
    # As the launcher does (tui/launch.py): inside the app stderr has no file descriptor,
    # which multiprocessing's resource tracker needs when it starts.
    resource_tracker.ensure_running()
    preview = load([SAMPLE_CASE], workers=1).index
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(CasePreviewed(preview))
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.case is None and app.preview_case is None
        header = app.query_one("#case-header", Static).render()
        assert "load cancelled: nothing was kept" in str(header)
        pane = app.query_one(RecordsPane)
        assert pane.index is not None and len(pane.index) == 0
        assert app.query_one(RecordTable).count == 0
    assert not multiprocessing.active_children()
