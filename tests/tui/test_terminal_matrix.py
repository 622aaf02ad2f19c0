"""The installed `ualscope` in the terminals a jump host offers, at 80x24.

Each terminal of the matrix (TERM=xterm, screen, tmux-256color; 16 colours forced with
TEXTUAL_COLOR_SYSTEM=standard; NO_COLOR=1) opens the sample case in tmux and visits every
pane by its key, then the help and load-problems screens: each must show its key labels and
its rows, and no traceback. The colours sent must be ones that terminal can show. With
NO_COLOR, states must read from symbols: the attacker's session and records (`!`), owner
sessions (no flag), equal and different properties of a comparison (`=` / `≠`), the class
of each send, the current pane. Skips where tmux is absent, except the one pilot test at the
end, which needs no terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLE_CASE
from terminals import TMUX, UALSCOPE, Tmux, app_environment

from ualscope.tui.app import UalscopeApp
from ualscope.tui.panes import PANES

needs_tmux = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

LOADED = "2,471 records"
REPLAYED_ADDRESS = "203.0.113.77"  # the second address of the attacker's replayed session

TERMINALS = {
    "xterm": {"TERM": "xterm"},
    "screen": {"TERM": "screen"},
    "tmux-256color": {"TERM": "tmux-256color"},
    "16-colours": {"TERM": "xterm-256color", "TEXTUAL_COLOR_SYSTEM": "standard"},
    "no-color": {"TERM": "xterm-256color", "NO_COLOR": "1"},
}

# What each pane must show once its key is pressed: the tab marked as current (a symbol,
# not a colour), a column title or status, row text from the sample case, a footer label.
PANE_TEXTS = {
    "records": ("Time (UTC)", "Operation", "MailItemsAccessed", "Filter"),
    "sessions": ("sessions", "Client address", "SID", "Order"),
    "contexts": ("contexts", "Folder", "Bind", "Compare"),
    "sendas": ("UserId", "MailboxOwnerUPN", "D delegate", "= own send", "Filter"),
    "scope": ("No attacker named yet", "press s on a session", "Remove suspect"),
    "findings": ("findings:", "Sev", "HIGH", "Select all"),
}

# SGR colour parameters: 30-37/40-47 and 90-97/100-107 are the 16 colours; 38/48 with 5 are
# the 256-colour palette, with 2 true colour.
SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def colours(screen: str) -> set[tuple[str, ...]]:
    """Every colour the screen uses, as ('16', code), ('256', index) or ('rgb', r, g, b)."""
    found: set[tuple[str, ...]] = set()
    for parameters in SGR.findall(screen):
        parts = re.split("[;:]", parameters)
        i = 0
        while i < len(parts):
            part = parts[i]
            if part in ("38", "48") and parts[i + 1 : i + 2] == ["5"]:
                found.add(("256", parts[i + 2]))
                i += 3
            elif part in ("38", "48") and parts[i + 1 : i + 2] == ["2"]:
                found.add(("rgb", *parts[i + 2 : i + 5]))
                i += 5
            else:
                if part.isdigit() and (30 <= int(part) <= 37 or 40 <= int(part) <= 47):
                    found.add(("16", part))
                if part.isdigit() and (90 <= int(part) <= 97 or 100 <= int(part) <= 107):
                    found.add(("16", part))
                i += 1
    return found


def is_grey(colour: tuple[str, ...]) -> bool:
    """True for a colour without hue: black, white and the greys between."""
    kind, *values = colour
    if kind == "rgb":
        return len(set(values)) == 1
    if kind == "16":
        return int(values[0]) % 10 in (0, 7)  # black and white, normal and bright
    index = int(values[0])
    if index in (0, 7, 8, 15) or index >= 232:
        return True
    if 16 <= index <= 231:
        cube = index - 16
        return cube // 36 == (cube // 6) % 6 == cube % 6
    return False


def assert_legible(screen: str, where: str) -> None:
    lines = screen.split("\n")[:-1]  # capture-pane ends every line, the last one too
    assert len(lines) == 24, f"{where}: not 24 lines:\n{screen}"
    for marker in ("Traceback", "Error:", "\ufffd"):  # a crash, or text the terminal garbled
        assert marker not in screen, f"{where}: {marker!r} on screen:\n{screen}"
    assert "palette" in lines[-1], f"{where}: no key labels in the footer:\n{screen}"


def assert_colours_fit(terminal: str, screen: str, where: str) -> None:
    used = colours(screen)
    if terminal in ("xterm", "screen", "16-colours"):
        # TERM=xterm and screen promise 8/16 colours; a 256-colour code shows as garbage.
        assert {c[0] for c in used} == {"16"}, f"{where}: beyond 16 colours: {sorted(used)}"
    elif terminal == "tmux-256color":
        assert "rgb" not in {c[0] for c in used}, f"{where}: true colour sent to 256 colours"
    elif terminal == "no-color":
        hues = sorted(c for c in used if not is_grey(c))
        assert not hues, f"{where}: colours despite NO_COLOR: {hues}"


@pytest.fixture(params=sorted(TERMINALS))
def terminal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Tmux]]:
    name = request.param
    env = app_environment(tmp_path / "state", **TERMINALS[name])
    term = Tmux([str(UALSCOPE), str(SAMPLE_CASE)], env, cwd=tmp_path)
    try:
        yield name, term
    finally:
        term.close()


def footer_drawn(screen: str) -> bool:
    # The footer's bindings can come a frame after the rest of a new screen.
    lines = screen.split("\n")
    return len(lines) > 23 and "palette" in lines[23]


def show(term: Tmux, key: str, texts: tuple[str, ...], what: str) -> str:
    if key:
        term.keys(key)
    return term.wait_for(lambda s: footer_drawn(s) and all(t in s for t in texts), what)


@needs_tmux
def test_every_pane_is_legible(terminal: tuple[str, Tmux]) -> None:
    name, term = terminal
    term.wait_for(lambda s: LOADED in s, "the case to load")
    for pane, key, title in PANES:
        texts = (f"[{key} {title}]", *PANE_TEXTS[pane])
        screen = show(term, key, texts, f"the {title} pane in {name}")
        where = f"{name}, {title}"
        assert_legible(screen, where)
        assert_colours_fit(name, term.screen(escapes=True), where)
    screen = show(term, "?", ("Keys: Findings", "Select for export"), "the help screen")
    assert_legible(screen, f"{name}, help")
    term.keys("Escape")
    term.wait_for(lambda s: "Keys:" not in s, "the help screen to close")
    screen = show(term, "l", ("AuditLog_broken.csv", "sha256", "line "), "the load problems")
    assert_legible(screen, f"{name}, load problems")
    term.keys("Escape")
    show(term, "", ("[6 Findings]",), "the findings pane again")
    term.keys("q")
    term.wait_for(lambda s: LOADED not in s, "the app to quit")
    assert "Traceback" not in term.history()


# -- NO_COLOR: meaning by symbol ---------------------------------------------------------------

# A Sessions line: the list's selection mark and a space, three flag cells (! suspect,
# * marked, ~ several addresses), the session kind.
SESSION_LINE = re.compile(r"^  ([!* ~]{3}) (SID|AAD|UTI) ")
# A Records line: mark and space, then two flags (* marked, ! suspect) and the time.
SUSPECT_RECORD = re.compile(r"^   !\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
# A comparison line: mark and space, the property name in 16 cells, then = or ≠.
COMPARED = re.compile(r"^  ([A-Za-z][A-Za-z ]{15}) ([=≠]) \S")


@needs_tmux
def test_no_color_states_read_from_symbols(tmp_path: Path) -> None:
    env = app_environment(tmp_path / "state", NO_COLOR="1")
    term = Tmux([str(UALSCOPE), str(SAMPLE_CASE)], env, cwd=tmp_path)
    try:
        term.wait_for(lambda s: LOADED in s, "the case to load")

        # Name the replayed session as the attacker's, from one of its records.
        term.keys("f")
        term.wait_for(lambda s: "filter (op:" in s, "the filter bar")
        term.keys(f"ip:{REPLAYED_ADDRESS}", literal=True)
        term.wait_for(lambda s: f"ip:{REPLAYED_ADDRESS}" in s, "the typed filter")
        term.keys("Enter")
        term.wait_for(lambda s: f"filter: ip:{REPLAYED_ADDRESS}" in s, "the filter")
        term.keys("s")
        term.wait_for(lambda s: "Mark as the attacker" in s, "the suspect chooser")
        term.keys("Down", "Enter")  # client address first, then the session
        records = term.wait_for(_has_suspect_record, "! on the attacker's records")
        assert "Mark as the attacker" not in records

        # Sessions: the attacker's carries !, the owner's none; flags are text in the line.
        screen = show(term, "2", ("[2 Sessions]", "! 1 suspect"), "the sessions pane")
        flags = _session_flags(screen)
        for _ in range(20):  # page through the list until the suspect line has been seen
            if any(f.startswith("!") for f in flags):
                break
            term.keys("PageDown")
            screen = term.wait_for(lambda s, before=screen: s != before, "the next page")
            flags += _session_flags(screen)
        assert any(f.startswith("!") for f in flags), "no session line carries !"
        assert "   " in flags, "no owner-looking session line (no flag)"
        assert any(f.endswith("~") for f in flags), "no line flags several addresses with ~"

        # Scope: the suspect is named in words.
        show(term, "5", ("[5 Scope]", "SUSPECTS (1)", "Attacker active"), "the scope")

        # SendAs: each class has its letter or symbol before the word.
        screen = show(term, "4", ("[4 SendAs]",), "the SendAs pane")
        for label in ("= own send", "D delegate", "B on behalf", "? inconsistent", "= UserId"):
            assert label in screen

        # A comparison of two contexts: equal and different properties by = and ≠.
        show(term, "3", ("[3 Contexts]", "Bind"), "the contexts pane")
        term.keys("Space", "Space", "c")
        screen = term.wait_for(lambda s: "Comparing 2" in s, "the comparison")
        assert "= equal" in screen and "≠ different" in screen  # the legend, in words
        symbols = {m.group(2) for line in screen.split("\n") if (m := COMPARED.match(line))}
        assert symbols == {"=", "≠"}, f"not both = and ≠ on the lines:\n{screen}"
        assert_colours_fit("no-color", term.screen(escapes=True), "no-color, comparison")
        term.keys("q")
        term.wait_for(lambda s: "Comparing 2" not in s, "the comparison to close")
        term.keys("q")
        term.wait_for(lambda s: LOADED not in s, "the app to quit")
        assert "Traceback" not in term.history()
    finally:
        term.close()


def _has_suspect_record(screen: str) -> bool:
    return any(SUSPECT_RECORD.match(line) for line in screen.split("\n"))


def _session_flags(screen: str) -> list[str]:
    return [m.group(1) for line in screen.split("\n") if (m := SESSION_LINE.match(line))]


# -- NO_COLOR under pilot: no terminal needed --------------------------------------------------


async def test_no_color_every_pane_draws_under_pilot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NO_COLOR, Textual filters every segment to monochrome; a blank line of a short
    list had no style and crashed that filter (the Contexts pane, before it is filled)."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = UalscopeApp([str(SAMPLE_CASE)], case_path=str(tmp_path / "case.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        await app.workers.wait_for_complete()
        await pilot.pause()
        for _, key, _ in PANES:
            await pilot.press(key)
            await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape", "l")
        await pilot.pause()
        assert app.return_code is None  # still running: nothing raised while drawing
