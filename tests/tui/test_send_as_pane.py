"""The SendAs pane on the sample case at 80x24, and on hostile send records."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from factories import OUTLOOK_IOS, send_as
from textual.widgets import Static

from ualscope.tui.app import UalscopeApp
from ualscope.tui.detail import RecordDetail
from ualscope.tui.send_as_pane import KIND_LABELS, SendAsPane, SendList

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "case"
EXPECTED = json.loads((ROOT / "samples" / "case-expected.json").read_text("utf-8"))
LABELS = {kind.value: f"{symbol} {label}" for kind, (symbol, label) in KIND_LABELS.items()}


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)


def text_of(widget: Static) -> str:
    return str(widget.render())


def screen_lines(table: SendList) -> list[str]:
    """What the list sends to the terminal, line by line (header first)."""
    return [table.render_line(y).text for y in range(table.size.height)]


async def line_of(pilot, pane: SendAsPane, record_id: str) -> str:  # type: ignore[no-untyped-def]
    """The line of one send as drawn on screen (the cursor is moved to it first)."""
    table = pane.table
    position = next(n for n, s in enumerate(pane.sends) if s.record_id == record_id)
    table.go_to(position)
    await pilot.pause()
    return table.render_line(position + 1 - int(table.scroll_y)).text


async def open_sends(pilot) -> SendAsPane:  # type: ignore[no-untyped-def]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("4")
    await pilot.pause()
    return pilot.app.query_one(SendAsPane)


def sample_app(tmp_path: Path) -> UalscopeApp:
    return UalscopeApp([str(SAMPLE)], case_path=str(tmp_path / "case.json"))


async def test_every_sample_send_shows_its_class_symbol_and_all_fit_80_columns(
    tmp_path: Path,
) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sends(pilot)
        expected = EXPECTED["send_as"]
        assert len(pane.sends) == sum(len(ids) for ids in expected.values())
        assert pane.table.count == len(pane.sends)
        assert pane.table.has_focus
        # Banner, list and strip share 80x24: most of the sample's 7 sends are in view.
        assert pane.table.size.height - 1 >= 5
        for kind, record_ids in expected.items():
            for record_id in record_ids:
                drawn = await line_of(pilot, pane, record_id)
                assert f" {LABELS[kind]} " in drawn, (kind, drawn)
        for drawn in screen_lines(pane.table):
            assert len(drawn.rstrip()) <= 80
        header = screen_lines(pane.table)[0]
        assert "UserId" in header and "MailboxOwnerUPN" in header and "As/OnBehalfOf" in header


async def test_outage_banner_names_mc382148_and_the_blind_part_of_the_case(
    tmp_path: Path,
) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sends(pilot)
        banner = pane.query_one("#sendas-banner", Static)
        assert banner.display
        text = text_of(banner)
        assert "MC382148" in text
        assert "SendAs/SendOnBehalf" in text
        assert "2022-01-28..2022-03-26" in text  # the notice's days, last one included
        overlap = EXPECTED["outages"][0]["overlap_with_case_window"]
        assert f"{overlap['start'][:10]}..{overlap['end'][:10]}" in text
        assert all(len(line) <= 78 for line in text.splitlines())


async def test_equal_fields_are_drawn_as_equal(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sends(pilot)
        artefact, _ = EXPECTED["send_as"]["owner_logged_as_send_as"]
        drawn = await line_of(pilot, pane, artefact)
        # UserId in full, MailboxOwnerUPN and SendAsUserSmtp as "= UserId": no colour needed.
        assert drawn.count("= UserId") == 2
        assert "megan.bowen@fa" in drawn.casefold()
        delegate = EXPECTED["send_as"]["delegate_send_as"][0]
        drawn = await line_of(pilot, pane, delegate)
        assert drawn.count("= UserId") == 1  # MailboxOwnerUPN repeats the delegate
        assert "adele.vance@" in drawn and "megan.bowen@" in drawn

        # The strip under the list spells the three addresses out in full, as recorded.
        position = next(n for n, s in enumerate(pane.sends) if s.record_id == artefact)
        pane.table.go_to(position)
        await pilot.pause()
        strip = text_of(pane.query_one("#sendas-detail", Static))
        send = pane.sends[position]
        assert send.user_id in strip and send.target_smtp in strip
        assert strip.count("(same as UserId)") == 2
        assert "Client=OutlookService;Outlook-iOS/2.0;" in strip
        assert "LogonType 0 Owner" in strip
        assert send.subject in strip
        # An 85-character InternetMessageId is cut at 80 columns; the record has it in full.
        assert send.message_id[:60] in strip
        assert "not evidence of" in strip and "delegation" in strip  # core's reason


async def test_filter_enter_and_target(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sends(pilot)
        await pilot.press("f")  # delegated only: D and B
        delegated = EXPECTED["send_as"]["delegate_send_as"] + EXPECTED["send_as"]["send_on_behalf"]
        assert sorted(s.record_id for s in pane.sends) == sorted(delegated)
        assert "Class [D B]" in pane.table.header
        await pilot.press("f")
        assert [s.record_id for s in pane.sends] == EXPECTED["send_as"]["owner_logged_as_send_as"]
        await pilot.press("f")
        assert [s.record_id for s in pane.sends] == EXPECTED["send_as"]["inconsistent"]
        await pilot.press("f")  # all again, the cursor still on the inconsistent send
        assert len(pane.sends) == 7
        assert pane.current is not None
        assert pane.current.record_id == EXPECTED["send_as"]["inconsistent"][0]
        pane.table.go_to(0)
        await pilot.pause()

        target = pane.target()
        assert target is not None and pane.current is not None
        assert (target.kind, target.id) == ("record", pane.current.record_id)
        kinds = [kind for kind, _, _ in target.suspect_choices]
        assert kinds == ["user", "record"]
        assert target.suspect_choices[0][1] == pane.current.user_id

        await pilot.press("j", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordDetail)
        assert app.case is not None
        assert app.case.index.record_id(app.screen.row) == pane.sends[1].record_id
        await pilot.press("escape")

        # s names the sender: the scope then holds the send, and the line is flagged "!".
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")  # first choice: the sender (UserId)
        await pilot.pause()
        assert [(s.kind, s.value) for s in app.case_file.suspects] == [
            ("user", pane.sends[1].user_id)
        ]
        drawn = await line_of(pilot, pane, pane.sends[1].record_id)
        assert drawn.lstrip().startswith("!")


HOSTILE = (
    "[@click=app.quit]x[/] [bold]loud[/] [/]\x1b[2J\x1b]52;c;ZXZpbA==\x07\x1b]0;pwned\x07"
    "\u202eevil\u200b\x9b31m"
)


def hostile_file(folder: Path) -> Path:
    records = [
        send_as(
            "2022-03-30T10:00:00",
            user=f"adele{HOSTILE}@fabrikam.example",
            owner=f"adele{HOSTILE}@fabrikam.example",
            send_as_smtp=f"ceo{HOSTILE}@fabrikam.example",
            subject=f"Invoice {HOSTILE}",
            client=f"Client=REST;{HOSTILE}",
        ),
        send_as(
            "2022-03-30T11:00:00",
            user="megan.bowen@fabrikam.example",
            send_as_smtp="megan.bowen@fabrikam.example",
            subject=HOSTILE * 3,
            client=OUTLOOK_IOS,
        ),
    ]
    path = folder / "evidence" / "hostile.json"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps(records))
    return path


def assert_inert(text: str) -> None:
    for live in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b"):
        assert live not in text, (live, text)
    # Escaped once, never twice: a reader can tell the attacker put an ESC there.
    assert "\\x1b" in text and "\\\\x1b" not in text


async def test_hostile_send_text_reaches_the_screen_inert(tmp_path: Path) -> None:
    evidence = hostile_file(tmp_path)
    app = UalscopeApp([str(evidence)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_sends(pilot)
        assert len(pane.sends) == 2
        for position in range(2):
            pane.table.go_to(position)
            await pilot.pause()
            drawn = "\n".join(screen_lines(pane.table))
            strip = text_of(pane.query_one("#sendas-detail", Static))
            for text in (drawn, strip):
                assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
            assert_inert(strip)
            # Markup in the data is text: shown literally, never parsed or run.
            assert "[bold]" in strip and "[@click=app.quit]" in strip
        pane.table.go_to(0)
        await pilot.pause()
        assert "[/]" in text_of(pane.query_one("#sendas-detail", Static))
        await pilot.press("j", "k", "f", "f", "f", "f", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordDetail)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running
        assert not pane.query_one("#sendas-banner", Static).display  # 2022-03-30: no outage
