"""The sessions pane on the sample case at 80x24, and on hostile session strings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import build_index, mailbox_record
from textual.app import App, ComposeResult
from textual.widgets import Static

from ualscope.core.case import Case
from ualscope.core.case_file import CaseFile
from ualscope.core.ingest.loader import LoadResult
from ualscope.core.timeline import HINT_FLAG, MARKED_FLAG, SUSPECT_FLAG
from ualscope.tui.app import UalscopeApp
from ualscope.tui.detail import RecordDetail
from ualscope.tui.line_list import LineList
from ualscope.tui.records import RecordTable
from ualscope.tui.session_timeline import SessionTimeline
from ualscope.tui.sessions_pane import MIN_BAR, PREFIX, SUSPECT_STYLE, SessionsPane

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "case"
EXPECTED = json.loads((ROOT / "samples" / "case-expected.json").read_text("utf-8"))
REPLAYED = EXPECTED["attacker"]["token_replay"]["SessionId"]


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)


def text_of(widget: Static) -> str:
    return str(widget.render())


def line(pane: SessionsPane, position: int) -> str:
    return pane.session_list._line(position)[0]


def position_of(pane: SessionsPane, key: str) -> int:
    for position, number in enumerate(pane.order.tolist()):
        if pane.sessions[number].key.casefold() == key.casefold():
            return position
    raise AssertionError(f"no session {key}")


async def open_sessions(pilot) -> SessionsPane:  # type: ignore[no-untyped-def]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("2")
    await pilot.pause()
    return pilot.app.query_one(SessionsPane)


def sample_app(tmp_path: Path) -> UalscopeApp:
    return UalscopeApp([str(SAMPLE)], case_path=str(tmp_path / "case.json"))


async def test_one_line_per_session_with_a_bar_that_fills_80_columns(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sessions(pilot)
        assert app.case is not None
        total = len(app.case.sessions)
        assert pane.session_list.count == total > 100
        assert pane.session_list.has_focus
        assert text_of(pane.query_one("#sessions-status", Static)).startswith(f"{total:,} sessions")
        assert pane.bar_width >= MIN_BAR
        assert 2 + PREFIX + pane.bar_width <= 80
        assert all(len(line(pane, p)) == PREFIX + pane.bar_width for p in range(total))
        # The header carries the case window's first and last day over the bar.
        assert pane.session_list.header.endswith("2022-04-02")
        assert "2022-03-20" in pane.session_list.header
        # The ruler draws the throttled window and the MC382148 outage, with a legend.
        ruler = text_of(pane.query_one("#sessions-ruler", Static))
        assert "▒" in ruler and "░" in ruler and "throttled" in ruler


async def test_lines_are_in_first_activity_order_and_o_orders_by_records(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sessions(pilot)
        firsts = [pane.sessions[n].first for n in pane.order.tolist()]
        assert firsts == sorted(firsts)
        await pilot.press("o")
        counts = [pane.sessions[n].records for n in pane.order.tolist()]
        assert counts == sorted(counts, reverse=True)
        assert f"{counts[0]:,}" in line(pane, 0)
        await pilot.press("o")
        assert [pane.sessions[n].first for n in pane.order.tolist()] == firsts


async def test_replayed_session_is_flagged_then_named_suspect_with_s(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sessions(pilot)
        position = position_of(pane, REPLAYED)
        flags = line(pane, position)[:3]
        assert flags == "  " + HINT_FLAG  # two client addresses, nobody named yet
        pane.session_list.go_to(position)
        await pilot.pause()
        assert REPLAYED in text_of(pane.query_one("#sessions-detail", Static))
        target = pane.target()
        assert target is not None and target.kind == "session" and target.id == REPLAYED
        offered = {(kind, value) for kind, value, _ in target.suspect_choices}
        assert offered == {
            ("session", REPLAYED),
            *(("client_ip", a) for a in EXPECTED["attacker"]["token_replay"]["addresses"]),
        }
        await pilot.press("s")  # several choices: the dialog lists the session first
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.case_file.suspects[0].value == REPLAYED
        position = position_of(pane, REPLAYED)
        text, style = pane.session_list._line(position)
        assert text[0] == SUSPECT_FLAG and style == SUSPECT_STYLE
        assert "! 0 suspect" not in text_of(pane.query_one("#sessions-status", Static))
        # Owner-looking lines keep neither the symbol nor the colour.
        owner = next(p for p in range(pane.session_list.count) if line(pane, p)[:3] == "   ")
        assert pane.session_list._line(owner)[1] != SUSPECT_STYLE


async def test_m_marks_the_session_under_the_cursor(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sessions(pilot)
        pane.session_list.go_to(position_of(pane, REPLAYED))
        await pilot.press("m")
        await pilot.pause()
        assert [(m.target_kind, m.target_id) for m in app.case_file.marks] == [
            ("session", REPLAYED)
        ]
        assert line(pane, position_of(pane, REPLAYED))[1] == MARKED_FLAG


async def test_enter_opens_the_session_timeline_and_escape_returns(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sessions(pilot)
        assert app.case is not None
        pane.session_list.go_to(position_of(pane, REPLAYED))
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SessionTimeline)
        session = screen.session
        assert session.key == REPLAYED
        assert REPLAYED in text_of(screen.query_one("#timeline-title", Static))
        summary = text_of(screen.query_one("#timeline-summary", Static))
        assert f"({session.records:,} records)" in summary
        for address in EXPECTED["attacker"]["token_replay"]["addresses"]:
            assert address in summary
        assert "~ seen from 2 client addresses" in summary
        table = screen.query_one(RecordTable)
        assert table.has_focus
        assert table.rows.tolist() == session.rows.tolist()
        times = [table._line(p)[0][2:21] for p in range(table.count)]
        assert times == sorted(times)
        operations = {table._line(p)[0].split()[2] for p in range(table.count)}
        assert len(operations) > 1  # every operation, not only the reads
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordDetail)
        assert app.screen.row == int(session.rows[0])
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SessionTimeline)
        assert pane.session_list.has_focus


async def test_triage_keys_in_the_timeline_act_on_its_session(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sessions(pilot)
        pane.session_list.go_to(position_of(pane, REPLAYED))
        await pilot.press("enter", "m")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SessionTimeline)
        assert [(m.target_kind, m.target_id) for m in app.case_file.marks] == [
            ("session", REPLAYED)
        ]
        table = screen.query_one(RecordTable)
        assert table._line(0)[0][1] == " "  # no suspect yet
        await pilot.press("s")  # the dialog: the session is the first choice
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert all(table._line(p)[0][1] == SUSPECT_FLAG for p in range(table.count))
        await pilot.press("3")  # a pane key closes the timeline and shows that pane
        await pilot.pause()
        assert not isinstance(app.screen, SessionTimeline)
        assert app.current_pane is not None and app.current_pane.id == "contexts"


# -- hostile strings ---------------------------------------------------------------------------

HOSTILE_KEY = "\x1b[31mevil[bold]\u202e"
HOSTILE_CLIENT = "Client=\x1b]0;pwned\x07[@click=app.quit]\u202e"


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SessionsPane(id="sessions")


def hostile_case() -> Case:
    records = [
        mailbox_record(
            "MailboxLogin",
            f"2022-03-28T09:0{minute}:00",
            session=HOSTILE_KEY,
            client=HOSTILE_CLIENT,
            ip=ip,
        )
        for minute, ip in ((0, "203.0.113.45"), (5, "203.0.113.77\u202e"))
    ]
    index = build_index({"hostile.csv": records})
    return Case(LoadResult(index, index.files))


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text


async def test_hostile_session_strings_are_escaped_everywhere() -> None:
    case = hostile_case()
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(SessionsPane)
        pane.show_case(case, CaseFile())
        await pilot.pause()
        assert pane.session_list.count == 1
        text, _ = pane.session_list._line(0)
        assert_inert(text)
        assert text.startswith("  " + HINT_FLAG)  # two addresses, one of them hostile
        detail = text_of(pane.query_one("#sessions-detail", Static))
        assert_inert(detail)
        assert "\\x1b[31mevil[bold]\\u202e" in detail  # shown, escaped, not dropped
        target = pane.target()
        assert target is not None
        assert target.id == HOSTILE_KEY  # the raw key is what the case file matches on
        for _, _, label in target.suspect_choices:
            assert_inert(label)
        pane.session_list.focus()
        pane.post_message(LineList.Opened(pane.session_list, 0))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SessionTimeline)
        for widget in screen.query(Static):
            assert_inert(text_of(widget))
        summary = text_of(screen.query_one("#timeline-summary", Static))
        assert "[@click=app.quit]" in summary  # text, never markup
        assert_inert(screen.query_one(RecordTable)._line(0)[0])
