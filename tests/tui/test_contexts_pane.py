"""The contexts pane and the comparison screen, driven by keys at 80x24 as an investigator would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import MAPI, OWA, bind, build_index

from ualscope.core.analysis.comparison import compare
from ualscope.core.case import Case
from ualscope.core.ingest.loader import LoadResult
from ualscope.tui.app import UalscopeApp
from ualscope.tui.comparison_screen import (
    DIFFERENT,
    EQUAL,
    ComparisonScreen,
    ContextRecords,
    FullValues,
    open_comparison,
)
from ualscope.tui.contexts_pane import ContextsPane
from ualscope.tui.detail import RecordDetail
from ualscope.tui.dialogs import ChoiceDialog
from ualscope.tui.messages import CaseLoaded
from ualscope.tui.text import safe

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "case"
EXPECTED = json.loads((ROOT / "samples" / "case-expected.json").read_text("utf-8"))
ATTACKER_IP = "203.0.113.45"
OWNER_IP = "198.51.100.14"

HOSTILE = "\x1b]8;;http://x\x07[@click=app.quit]\u202e"
RAW_CONTROLS = ("\x1b", "\x07", "\u202e")


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)


def sample_app(tmp_path: Path) -> UalscopeApp:
    return UalscopeApp([str(SAMPLE)], case_path=str(tmp_path / "case.json"))


async def open_contexts(app: UalscopeApp, pilot) -> ContextsPane:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("3")
    await pilot.pause()
    return app.query_one(ContextsPane)


def pane_lines(pane: ContextsPane) -> list[str]:
    return [pane.context_line(p)[0] for p in range(len(pane.contexts))]


def screen_lines(screen: ComparisonScreen) -> list[str]:
    return [screen.line(p)[0] for p in range(len(screen.entries))]


def field_line(screen: ComparisonScreen, name: str) -> str:
    return next(line for line in screen_lines(screen) if line.startswith(name + " "))


async def select(pane: ContextsPane, pilot, position: int) -> None:  # type: ignore[no-untyped-def]
    pane.table.go_to(position)
    await pilot.press("space")


def first_position(pane: ContextsPane, address: str, access: str = "Bind") -> int:
    return next(
        n for n, c in enumerate(pane.contexts) if c.client_ip == address and c.access_type == access
    )


# -- the sample case ---------------------------------------------------------------------------


async def test_the_victims_contexts_are_shown_with_attacker_and_owner(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_contexts(app, pilot)
        assert pane.mailbox is not None
        assert pane.mailbox.casefold() == EXPECTED["victim"].casefold()
        assert app.case is not None
        assert pane.contexts == app.case.contexts(EXPECTED["victim"])
        addresses = {c.client_ip for c in pane.contexts}
        assert {ATTACKER_IP, OWNER_IP} <= addresses
        firsts = [(c.first, c.id) for c in pane.contexts]
        assert firsts == sorted(firsts)
        status = str(pane.query_one("#contexts-status").render())
        assert EXPECTED["victim"] in status


async def test_comparing_the_attacker_and_the_owner(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_contexts(app, pilot)
        attacker = first_position(pane, ATTACKER_IP)
        # The owner's context that read some of the same mail, so both sets are non-empty.
        stolen = pane.contexts[attacker].messages
        owner = next(
            n
            for n, c in enumerate(pane.contexts)
            if c.client_ip == OWNER_IP and c.messages & stolen
        )
        await select(pane, pilot, attacker)
        await pilot.press("c")  # one is not enough: the status line says so
        await pilot.pause()
        assert not isinstance(app.screen, ComparisonScreen)
        assert "select 2 or more contexts" in str(pane.query_one("#contexts-status").render())
        await select(pane, pilot, owner)
        assert pane.table.selected == {attacker, owner}
        drawn = pane.table.render_line(owner - int(pane.table.scroll_y) + 1)  # 0 is the header
        assert drawn.text.startswith("+ ")  # selection is a symbol, not only a colour
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComparisonScreen)

        assert app.case is not None
        chosen = [pane.contexts[p] for p in sorted((attacker, owner))]
        expected = compare(app.case.index, chosen)
        assert screen.comparison == expected
        assert f" {DIFFERENT} " in field_line(screen, "ClientIPAddress")
        assert ATTACKER_IP in field_line(screen, "ClientIPAddress")
        assert f" {EQUAL} " in field_line(screen, "MailboxUPN")

        lines = screen_lines(screen)
        attacker_column = sorted((attacker, owner)).index(attacker)
        attacker_only = expected.only[attacker_column]
        assert attacker_only, "the attacker opened mail the owner did not"
        assert expected.common
        summary = "\n".join(lines)
        assert f"{len(expected.messages):,} touched" in summary
        assert f"{len(expected.common):,} by every column" in summary
        only = ", ".join(f"{n + 1}: {len(o):,}" for n, o in enumerate(expected.only))
        assert f"only in {only}" in summary
        message_lines = [line for line in lines if line[:1] in "●·" and line[1:2] == " "]
        assert len(message_lines) == len(expected.messages)
        marks = "● ·" if attacker_column == 0 else "· ●"
        assert sum(line.startswith(marks + " ") for line in message_lines) == len(attacker_only)
        assert sum(line.startswith("● ● ") for line in message_lines) == len(expected.common)

        # Legible at 80 columns: two values of 28 cells, and no line wider than the screen
        # once the list's mark and scrollbar are counted (messages may run on, cut with …).
        assert screen.value_width >= 28
        assert screen.text_width + 4 <= 80
        for line in lines:
            if not line.startswith(("●", "·")):
                assert len(line) <= screen.text_width, line

        await pilot.press("escape")
        assert isinstance(app.screen.query_one(ContextsPane), ContextsPane)


async def test_enter_lists_the_contexts_records_and_opens_one(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_contexts(app, pilot)
        pane.table.go_to(first_position(pane, ATTACKER_IP))
        context = pane.current_context
        assert context is not None
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ContextRecords)
        table = app.screen.query_one("#context-records")
        assert list(table.rows) == list(context.rows)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordDetail)
        assert app.screen.row == int(context.rows[0])
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.query_one(ContextsPane).current_context == context


async def test_the_mailbox_key_offers_every_mailbox_and_all(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_contexts(app, pilot)
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        assert app.case is not None
        assert len(dialog.options) == len(app.case.mailboxes) + 1
        await pilot.press("home", "enter")  # the first choice: all mailboxes
        await pilot.pause()
        assert pane.mailbox is None
        assert pane.contexts == app.case.contexts()
        assert "all mailboxes" in str(pane.query_one("#contexts-status").render())


async def test_suspect_from_the_pane_flags_the_attackers_contexts(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_contexts(app, pilot)
        position = first_position(pane, ATTACKER_IP)
        pane.table.go_to(position)
        target = pane.target()
        assert target is not None
        assert target.kind == "context"
        assert target.id == pane.contexts[position].id
        kinds = [kind for kind, _, _ in target.suspect_choices]
        assert kinds == ["context", "client_ip", "session"]
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("down", "enter")  # the client address
        await pilot.pause()
        flagged = [
            c.client_ip
            for c, line in zip(pane.contexts, pane_lines(pane), strict=True)
            if "!" in line[:2]
        ]
        assert flagged
        assert ATTACKER_IP in flagged
        assert OWNER_IP not in flagged


# -- hand-built cases --------------------------------------------------------------------------


HOSTILE_MAILBOX = f"[@click=app.quit]{HOSTILE}ceo@fabrikam.example"


def hostile_case() -> Case:
    """Two contexts whose client, folder, session, message and mailbox carry terminal escapes,
    a bidi override and Textual action markup."""
    index = build_index(
        {
            "hostile.csv": [
                bind(
                    "2024-03-04T09:00:00",
                    [(f"<a{HOSTILE}@fabrikam.example>", f"\\Inbox{HOSTILE}")],
                    ip="203.0.113.9",
                    client=OWA + HOSTILE,
                    session=f"sess{HOSTILE}",
                    mailbox=HOSTILE_MAILBOX,
                ),
                bind(
                    "2024-03-04T09:05:00",
                    [("<b@fabrikam.example>", "\\Inbox")],
                    client=MAPI,
                    mailbox=HOSTILE_MAILBOX,
                ),
            ]
        }
    )
    return Case(LoadResult(index, index.files))


def assert_escaped(text: str) -> None:
    assert not any(c in text for c in RAW_CONTROLS), repr(text)
    # Sanitised once: a second pass would show `\\\\x1b` for an ESC.
    assert "\\\\x1b" not in text, repr(text)


async def test_hostile_text_is_shown_escaped_and_runs_nothing(tmp_path: Path) -> None:
    app = UalscopeApp([str(tmp_path / "nothing")], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.post_message(CaseLoaded(hostile_case()))
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        pane = app.query_one(ContextsPane)
        assert len(pane.contexts) == 2
        for line in pane_lines(pane):
            assert_escaped(line)
        status = str(pane.query_one("#contexts-status").render())
        assert_escaped(status)
        assert status.startswith("[@click=app.quit]\\x1b]8;;")  # shown, not acted on

        await pilot.press("b")  # the mailbox names in the dialog
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("escape")

        await pilot.press("home", "space", "space", "c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComparisonScreen)
        for line in [*screen_lines(screen), screen.lines.header]:
            assert_escaped(line)
        client = next(n for n, e in enumerate(screen.entries) if e[0] == "field")
        screen.lines.go_to(client + 1)  # ClientInfoString, the second property
        await pilot.press("enter")
        await pilot.pause()
        shown = app.screen
        assert isinstance(shown, FullValues)
        assert safe(OWA + HOSTILE, limit=None) in shown.text
        assert_escaped(shown.text)
        await pilot.press("escape")
        screen.lines.go_to(screen.entries.index(("message", 0, 0)))
        await pilot.press("enter")  # the hostile message id in full
        await pilot.pause()
        assert isinstance(app.screen, FullValues)
        assert safe(f"<a{HOSTILE}@fabrikam.example>", limit=None) in app.screen.text
        assert_escaped(app.screen.text)
        await pilot.press("escape", "escape", "enter")  # the context's records
        await pilot.pause()
        assert isinstance(app.screen, ContextRecords)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


async def test_three_records_as_in_domain_md(tmp_path: Path) -> None:
    """domain.md's three records: one session from two addresses, one address in two sessions."""
    session_2, session_3 = (
        "22222222-0000-4000-8000-000000000002",
        "33333333-0000-4000-8000-000000000003",
    )

    def messages(letters: str) -> list[tuple[str, str]]:
        return [(f"<{letter}@fabrikam.example>", "\\Inbox") for letter in letters]

    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", messages("ADEF"), ip="203.0.113.1", session=session_2),
                bind("2024-03-04T09:01:00", messages("AC"), ip="203.0.113.2", session=session_2),
                bind("2024-03-04T09:02:00", messages("B"), ip="203.0.113.1", session=session_3),
            ]
        }
    )
    case = Case(LoadResult(index, index.files))
    app = UalscopeApp([str(tmp_path / "nothing")], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert open_comparison(app, case, [0, 1, 2])
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComparisonScreen)
        assert screen.value_width >= 16  # three columns stay readable at 80
        # Letters say which columns share a value: 1 and 3 share the address, 1 and 2 the session.
        address = field_line(screen, "ClientIPAddress")
        assert f" {DIFFERENT} a 203.0.113.1 " in address
        assert "b 203.0.113.2" in address
        session = field_line(screen, "SessionId")
        assert session.count("a 22222222") == 2
        assert "b 33333333" in session
        summary = "\n".join(screen_lines(screen))
        assert "only in 1: 3, 2: 1, 3: 1" in summary  # D E F; C; B
        assert "in both 1+2: 1, 1+3: 0, 2+3: 0" in summary  # A
        assert "6 touched, 0 by every column" in summary
        assert not open_comparison(app, case, [0])
