"""The scope pane on the sample case at 80x24, named suspects, and hostile scope text."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from factories import bind, mailbox_record
from textual.widgets import Static

from ualscope.core.analysis.scope import Suspects, scope_of_compromise
from ualscope.core.case_file import load_case, toggle_suspect
from ualscope.core.record_view import short_time
from ualscope.tui.app import UalscopeApp
from ualscope.tui.detail import RecordDetail
from ualscope.tui.scope_pane import ScopeList, ScopePane, ScopeSummary

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "case"
EXPECTED = json.loads((ROOT / "samples" / "case-expected.json").read_text("utf-8"))
ATTACKER = EXPECTED["attacker"]
ADDRESS = "203.0.113.45"


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)


def text_of(widget: Static) -> str:
    return str(widget.render())


async def drawn(pilot, pane: ScopePane, position: int) -> str:  # type: ignore[no-untyped-def]
    """The line at `position` as the terminal gets it (the cursor is moved there first)."""
    table = pane.table
    table.go_to(position)
    await pilot.pause()
    return table.render_line(position + 1 - int(table.scroll_y)).text


def positions(pane: ScopePane, kind: str) -> list[int]:
    return [n for n, entry in enumerate(pane.entries) if entry.kind == kind]


async def loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def sample_app(tmp_path: Path) -> UalscopeApp:
    return UalscopeApp([str(SAMPLE)], case_path=str(tmp_path / "case.json"))


async def test_without_suspects_the_pane_says_how_to_name_them(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("5")
        await pilot.pause()
        pane = app.query_one(ScopePane)
        summary = pane.query_one(ScopeSummary)
        text = text_of(summary)
        assert "No attacker named yet" in text
        assert "press s" in text and "x here takes one back" in text
        assert all(len(line) <= 78 for line in text.splitlines())
        assert not pane.query_one(ScopeList).display
        # Keys stay in this pane: the hidden records list does not keep the focus.
        assert summary.has_focus
        assert pane.target() is None


async def test_an_address_named_in_the_records_pane_builds_the_scope(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        # As a responder would: filter the records by the address, s, choose the address.
        await pilot.press("1", "f", *f"ip:{ADDRESS}", "enter")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")  # first choice: the client address
        await pilot.pause()
        assert [(s.kind, s.value) for s in app.case_file.suspects] == [("client_ip", ADDRESS)]
        await pilot.press("5")
        await pilot.pause()
        pane = app.query_one(ScopePane)
        assert pane.table.has_focus
        assert app.case is not None
        core = scope_of_compromise(app.case.index, Suspects(client_ips=(ADDRESS,)))
        assert core.first_activity is not None and core.last_activity is not None

        summary = text_of(pane.query_one(ScopeSummary))
        assert short_time(core.first_activity) in summary
        assert short_time(core.last_activity) in summary
        assert f"{len(core.bound_messages)} messages bound" in summary
        assert "megan.bowen@fabrikam.example" in summary

        messages = positions(pane, "message")
        assert len(messages) == len(core.bound_messages) > 0
        assert any(
            e.kind == "section" and e.text.startswith(f"MESSAGES BOUND ({len(messages)})")
            for e in pane.entries
        )
        first = core.bound_messages[0]
        line = await drawn(pilot, pane, messages[0])
        assert first.folder in line and first.internet_message_id[:20] in line
        strip = text_of(pane.query_one("#scope-strip", Static)).replace("\n", "")
        assert first.internet_message_id in strip  # the strip has it in full

        (synced,) = EXPECTED["attacker_synced_folders"]
        (position,) = positions(pane, "synced")
        assert pane.entries[position].record_id == synced["record_id"]
        line = await drawn(pilot, pane, position)
        assert synced["folder_name"] in line
        strip = " ".join(text_of(pane.query_one("#scope-strip", Static)).split())
        assert "every item in it is assumed read" in strip and "offline" in strip

        # Enter on a bound message opens its first record; the target is that record.
        await drawn(pilot, pane, messages[0])
        target = pane.target()
        assert target is not None
        assert (target.kind, target.id) == ("record", first.record_ids[0])
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordDetail)
        assert app.case.index.record_id(app.screen.row) == first.record_ids[0]
        await pilot.press("escape")
        await pilot.pause()

        # x on the suspect takes it back: the scope empties, the case file says so too.
        (suspect,) = positions(pane, "suspect")
        await drawn(pilot, pane, suspect)
        await pilot.press("x")
        await pilot.pause()
        assert app.case_file.suspects == ()
        assert load_case(tmp_path / "case.json").suspects == ()
        assert app.case.scope() is None
        assert pane.entries == []
        assert "No attacker named yet" in text_of(pane.query_one(ScopeSummary))
        assert app.is_running


async def test_every_attacker_context_throttled_window_and_all_binds(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        for address in ATTACKER["client_addresses"]:
            app.case_file = toggle_suspect(app.case_file, "client_ip", address)
        for session in ATTACKER["session_ids"]:
            app.case_file = toggle_suspect(app.case_file, "session", session)
        app._save()
        await pilot.press("5")
        await pilot.pause()
        pane = app.query_one(ScopePane)
        assert len(positions(pane, "suspect")) == 5
        assert len(positions(pane, "message")) == EXPECTED["attacker_bound_message_count"]
        summary = text_of(pane.query_one(ScopeSummary))
        first = ATTACKER["first_activity"].replace("T", " ").rstrip("Z")
        last = ATTACKER["last_activity"].replace("T", " ").rstrip("Z")
        assert first in summary and last in summary
        assert f"{ATTACKER['records']} records" in summary
        assert "1 blind window" in summary

        (blind,) = positions(pane, "blind")
        line = await drawn(pilot, pane, blind)
        throttling = EXPECTED["throttling"]
        assert "throttled" in line and throttling["mailbox"][:20] in line
        assert throttling["time"][:16].replace("T", " ") in line
        strip = " ".join(text_of(pane.query_one("#scope-strip", Static)).split())
        assert throttling["record_id"] in strip and "is assumed read" in strip
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordDetail)
        assert app.case is not None
        assert app.case.index.record_id(app.screen.row) == throttling["record_id"]
        await pilot.press("escape")
        await pilot.pause()

        # Section lines carry no record: nothing to mark, nothing to open.
        await drawn(pilot, pane, 0)
        assert pane.target() is None
        await pilot.press("enter", "x")
        await pilot.pause()
        assert app.screen is not None and not isinstance(app.screen, RecordDetail)
        assert len(app.case_file.suspects) == 5


HOSTILE = (
    "[@click=app.quit]x[/] [bold]loud[/] [/]\x1b[2J\x1b]52;c;ZXZpbA==\x07\x1b]0;pwned\x07"
    "\u202eevil\u200b\x9b31m"
)
EVIL_IP = "203.0.113.66"


def hostile_file(folder: Path) -> Path:
    records = [
        bind(
            "2022-03-30T10:00:00",
            [(f"<{HOSTILE}@evil.example>", f"\\Inbox{HOSTILE}")],
            ip=EVIL_IP,
        ),
        mailbox_record(
            "New-InboxRule",
            "2022-03-30T10:05:00",
            ip=EVIL_IP,
            record_type=1,
            ObjectId=f"rule {HOSTILE}",
        ),
    ]
    path = folder / "evidence" / "hostile.json"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps(records))
    return path


async def test_hostile_scope_text_reaches_the_screen_inert(tmp_path: Path) -> None:
    evidence = hostile_file(tmp_path)
    app = UalscopeApp([str(evidence)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.case_file = toggle_suspect(app.case_file, "client_ip", EVIL_IP)
        app.case_file = toggle_suspect(app.case_file, "user", f"user{HOSTILE}")
        app._save()
        await pilot.press("5")
        await pilot.pause()
        pane = app.query_one(ScopePane)
        assert positions(pane, "message") and positions(pane, "operation")
        seen = []
        for position in range(len(pane.entries)):
            line = await drawn(pilot, pane, position)
            strip = text_of(pane.query_one("#scope-strip", Static))
            seen += [line, strip]
        seen.append(text_of(pane.query_one(ScopeSummary)))
        shown = "\n".join(seen)
        for live in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b"):
            assert live not in shown
        # Escaped once and shown; markup from the data stays text.
        assert "\\x1b" in shown and "\\\\x1b" not in shown
        assert "[@click=app.quit]" in shown and "[bold]" in shown and "[/]" in shown
        await pilot.press("g", "G", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordDetail)
        await pilot.press("escape")
        assert app.is_running
