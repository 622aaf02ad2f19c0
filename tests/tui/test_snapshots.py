"""SVG snapshots of the explorer at 80x24 on the sample case (pytest-textual-snapshot).

One snapshot per pane or screen an investigator reads: records, sessions, a session's own
timeline, contexts and a comparison, SendAs, scope with the replayed session named as the
attacker's, findings, and the help screen. After an intended change to what is drawn:

    .venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update

then look at every changed file in `__snapshots__/test_snapshots/` before committing it.
Snapshot tests are plain `def` tests: the plugin runs the app in its own event loop.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE_CASE
from textual.pilot import Pilot
from textual.widgets import Input

from ualscope.tui.app import UalscopeApp
from ualscope.tui.contexts_pane import ContextsPane
from ualscope.tui.sessions_pane import SessionsPane

EXPECTED = json.loads((ROOT / "samples" / "case-expected.json").read_text("utf-8"))
REPLAYED = EXPECTED["attacker"]["token_replay"]["SessionId"]
LOAD_SECONDS = 120  # the sample case loads in a few seconds; a busy machine may take longer

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture(autouse=True)
def steady_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # NO_COLOR is read when the app is built; the theme and animation level are set again in
    # `loaded`, because Textual reads TEXTUAL_THEME and TEXTUAL_ANIMATIONS at import.
    for name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)
    # An input's cursor blinks every 0.5 s: a snapshot would catch either phase.
    init = Input.__init__

    def without_blink(self: Input, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.cursor_blink = False

    monkeypatch.setattr(Input, "__init__", without_blink)


def sample_app(tmp_path: Path) -> UalscopeApp:
    # The case file goes to tmp_path: a saved suspect or mark from another run never shows.
    return UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))


async def loaded(pilot: Pilot[None]) -> UalscopeApp:
    """Wait until the case is on screen, with no toast (its 6 s timeout races the snapshot)."""
    app = pilot.app
    assert isinstance(app, UalscopeApp)
    app.theme = "textual-dark"
    app.animation_level = "full"
    await app.workers.wait_for_complete()
    for _ in range(LOAD_SECONDS * 10):
        await pilot.pause()
        if app.case_file is not None:
            break
        await pilot.pause(0.1)
    assert app.case_file is not None, "the sample case did not load"
    app.clear_notifications()
    await pilot.pause()
    return app


def then_press(*keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


async def on_replayed_session(pilot: Pilot[None]) -> SessionsPane:
    """The Sessions pane with its cursor on the attacker's replayed session."""
    app = await loaded(pilot)
    await pilot.press("2")
    await pilot.pause()
    pane = app.query_one(SessionsPane)
    keys = [pane.sessions[n].key.casefold() for n in pane.order.tolist()]
    pane.session_list.go_to(keys.index(REPLAYED.casefold()))
    await pilot.pause()
    return pane


def test_records_pane(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(sample_app(tmp_path), run_before=then_press())


def test_sessions_pane(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(sample_app(tmp_path), run_before=then_press("2"))


def test_session_timeline_of_the_replayed_session(
    snap_compare: SnapCompare, tmp_path: Path
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await on_replayed_session(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(sample_app(tmp_path), run_before=run_before)


def test_contexts_pane(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(sample_app(tmp_path), run_before=then_press("3"))


def test_comparison_of_two_contexts(snap_compare: SnapCompare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        app = await loaded(pilot)
        await pilot.press("3")
        await pilot.pause()
        assert len(app.query_one(ContextsPane).contexts) > 2
        await pilot.press("space", "space", "c")  # space selects and moves down
        await pilot.pause()

    assert snap_compare(sample_app(tmp_path), run_before=run_before)


def test_send_as_pane(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(sample_app(tmp_path), run_before=then_press("4"))


def test_scope_with_the_replayed_session_as_suspect(
    snap_compare: SnapCompare, tmp_path: Path
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await on_replayed_session(pilot)
        await pilot.press("s")  # a chooser: the session itself is the first choice
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        app = pilot.app
        assert isinstance(app, UalscopeApp) and app.case_file is not None
        assert [s.value for s in app.case_file.suspects] == [REPLAYED]
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(sample_app(tmp_path), run_before=run_before)


def test_findings_pane(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(sample_app(tmp_path), run_before=then_press("6"))


def test_help_screen_of_the_records_pane(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(sample_app(tmp_path), run_before=then_press("question_mark"))
