"""Every byte the explorer writes to the terminal, on evidence written to attack it.

A small case of real-shaped records (tests/factories.py) carries terminal escapes (CSI clear
screen, OSC 0 window title, OSC 8 hyperlink, OSC 52 clipboard, the C1 byte CSI), Textual
markup (`[bold]`, `[/]`, `[@click=app.quit]`), a bidi override and a zero-width space in
its subjects, folder paths, ClientInfoString, UserId, session ids, a message id, a rule name
and a record id; a rejected row and a refused file with a hostile name go with it. The
installed `ualscope` opens it on a bare pseudo-terminal at 80x24 and every pane and screen is
visited as an investigator would (records, a record in full, sessions and a session's
timeline, contexts, a comparison and a value in full, a context's records, SendAs, a suspect
named from the chooser, scope, findings, load problems, a note dialog, help), while a thread
keeps every byte the app writes.

Then, on the whole stream: no hostile sequence is live (the only OSC is Textual's own pointer
shape; no clear screen, no C1 control, no bidi or zero-width character), every payload was
drawn in its escaped, visible form, the markup was drawn as text, and the app neither quit
nor crashed until `q`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import MAPI, OUTLOOK_IOS, bind, mailbox_record, send_as, sync
from hostile_corpus import (
    C1_CSI,
    CSI_CLEAR,
    MARKUP,
    OSC_CLIPBOARD,
    OSC_LINK,
    OSC_TITLE,
    RLO,
    ZWSP,
    jsonl,
    purview_csv,
)
from terminals import UALSCOPE, PtyApp, app_environment

VICTIM = "megan.bowen@fabrikam.example"
ATTACKER_IP, SECOND_IP, OWNER_IP = "203.0.113.45", "203.0.113.77", "198.51.100.14"

# The attacker's session is seen from two addresses, so it is flagged, offered as a suspect
# and makes a finding; the owner's is ordinary. Both keys are hostile.
ATTACKER_SESSION = "5e55a77a-" + OSC_TITLE + MARKUP[2] + RLO
OWNER_SESSION = "0e0e0e0e-" + CSI_CLEAR + C1_CSI + ZWSP
ATTACKER_USER = "eve" + OSC_CLIPBOARD + MARKUP[0] + "@fabrikam.example"
ATTACKER_CLIENT = "Client=OWA;" + OSC_LINK + MARKUP[2] + ";Action=ViaProxy"
FORGED_ID = "4057113e-0000-4000-8000-" + OSC_TITLE + MARKUP[1] + RLO
SUBJECT = "Wire " + OSC_TITLE + " today " + CSI_CLEAR + C1_CSI + MARKUP[0] + "now" + MARKUP[1]
OWNER_SUBJECT = "in" + ZWSP + "voice_" + RLO + "fdp.exe " + MARKUP[2] + "open"
RULE = "fabrikam.example/megan.bowen\\" + MARKUP[2] + "." + OSC_CLIPBOARD + RLO
REFUSED_NAME = "notes" + OSC_TITLE + MARKUP[2] + ".txt"


def attacker(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments shared by the attacker's records."""
    return {
        "user": ATTACKER_USER,
        "mailbox": VICTIM,
        "client": ATTACKER_CLIENT,
        "session": ATTACKER_SESSION,
        "logon_type": 1,
        **kwargs,
    }


def hostile_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(Purview CSV records, JSON Lines records): the owner's morning, the attacker's hour."""
    owner = dict(user=VICTIM, client=MAPI, session=OWNER_SESSION, ip=OWNER_IP)
    purview = [
        bind(
            "2022-03-28T08:00:00",
            [("<own-1@fabrikam.example>", "\\Inbox"), ("<own-2" + ZWSP + ">", "\\Inbox" + RLO)],
            **owner,
        ),
        sync("2022-03-28T08:10:00", "\\Sent Items" + CSI_CLEAR, **owner),
        send_as(
            "2022-03-28T08:20:00",
            user=VICTIM,
            send_as_smtp=VICTIM,
            subject=OWNER_SUBJECT,
            client=OUTLOOK_IOS,
            session=OWNER_SESSION,
        ),
        mailbox_record("MailboxLogin", "2022-03-28T09:00:00", **attacker(ip=ATTACKER_IP)),
        bind(
            "2022-03-28T09:01:00",
            [
                ("<m1" + OSC_TITLE + "@fabrikam.example>", "\\Inbox" + CSI_CLEAR),
                ("<m2@fabrikam.example>", "\\Finance" + RLO + "gpj.exe"),
            ],
            **attacker(ip=ATTACKER_IP),
        ),
    ]
    api = [
        bind(
            "2022-03-28T09:03:00",
            [("<m3" + C1_CSI + "@fabrikam.example>", "\\" + MARKUP[2] + "Payroll" + MARKUP[1])],
            **attacker(ip=SECOND_IP, record_id=FORGED_ID),
        ),
        sync("2022-03-28T09:05:00", "\\Archive" + OSC_CLIPBOARD, **attacker(ip=SECOND_IP)),
        send_as(
            "2022-03-28T09:10:00",
            user=ATTACKER_USER,
            owner=VICTIM,
            send_as_smtp=VICTIM,
            subject=SUBJECT,
            client=ATTACKER_CLIENT,
            session=ATTACKER_SESSION,
            ip=SECOND_IP,
            logon_type=1,
        ),
        mailbox_record(
            "New-InboxRule",
            "2022-03-28T09:12:00",
            **attacker(ip=SECOND_IP),
            ObjectId=RULE,
            Parameters=[{"Name": "Name", "Value": MARKUP[2] + OSC_TITLE}],
        ),
    ]
    return purview, api


def write_case(folder: Path) -> Path:
    purview, api = hostile_records()
    (folder / "purview").mkdir(parents=True)
    (folder / "purview" / "AuditLog_2022-03-28.csv").write_bytes(purview_csv(purview))
    # A row without an Id is rejected, and shown with its line on the problems screen.
    no_id = {k: v for k, v in api[0].items() if k != "Id"} | {"Operation": SUBJECT}
    (folder / "api").mkdir()
    (folder / "api" / "ual.jsonl").write_bytes(jsonl(api) + jsonl([no_id]))
    (folder / REFUSED_NAME).write_text("not an audit export " + SUBJECT, encoding="utf-8")
    return folder


# -- the run ------------------------------------------------------------------------------------

# What no byte of the stream may hold. Textual itself sends none of these (checked on the
# sample case: its only OSC is 22, the pointer shape, and it never clears with CSI 2J).
FORBIDDEN = {
    "CSI clear screen": "\x1b[2J",
    "OSC 0 window title": "\x1b]0;",
    "OSC 8 hyperlink": "\x1b]8;",
    "OSC 52 clipboard": "\x1b]52;",
}
OSC = re.compile(r"\x1b\](\d*)")
# C1 controls (U+0080-U+009F: \x9b is CSI on terminals that honour 8-bit controls), bidi
# embeddings, overrides and isolates, zero-width characters and the BOM.
INVISIBLE = re.compile("[\x80-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Each payload as the sanitiser shows it: drawn, so the test knows the value reached the screen.
VISIBLE = (
    r"\x1b[2J",
    r"\x1b]0;pwned\x07",
    r"\x1b]8;;https://evil",
    r"\x1b]52;c;",
    r"\x9b31m",
    r"\u202e",
    r"\u200b",
    "[@click=app.quit]",
    "[bold]",
    "[/]",
)
DOUBLED = (r"\\x1b", r"\\x07", r"\\x9b", r"\\u202e", r"\\u200b")
RECORDS = 9


@pytest.fixture
def app(tmp_path: Path) -> Iterator[PtyApp]:
    case = write_case(tmp_path / "case")
    env = app_environment(tmp_path / "state")
    running = PtyApp([str(UALSCOPE), str(case)], env, cwd=tmp_path)
    try:
        yield running
    finally:
        running.close()


def step(app: PtyApp, keys: tuple[str, ...], needle: str = "", what: str = "") -> None:
    """Press `keys`, then wait for `needle` to be drawn, or for the redraw to end."""
    since = app.mark()
    app.press(*keys)
    if needle:
        app.wait_for(needle, since, what or needle)
    app.wait_quiet()
    assert app.alive(), f"the app exited after {keys}:\n{app.text(since)[-3000:]}"


def visit_every_pane(app: PtyApp) -> None:
    app.wait_for(f"{RECORDS} of {RECORDS} records", 0, "the case to load")
    app.wait_quiet()
    # Records: scroll right to draw the Session and Mailbox columns, then every record in full.
    step(app, ("ctrl+pagedown",) * 3)
    for position in range(RECORDS):
        step(app, ("g", *("j",) * position, "enter"), "Time source", f"record {position}")
        step(app, ("G",))  # the original record, to its end
        step(app, ("escape",))
    # Mark the record with the forged id, and open a note on it.
    step(app, ("g", *("j",) * 5, "m"))
    step(app, ("n",), "Note on", "the note dialog")
    step(app, ("escape",))

    # Sessions, and each session's own timeline.
    step(app, ("2",), "[2 Sessions]")
    for position in range(2):
        step(app, ("g", *("j",) * position, "enter"), "Session timeline", "a timeline")
        step(app, ("escape",))
    step(app, ("n",), "Note on", "the note dialog")
    step(app, ("escape",))

    # Contexts: every column, a comparison of the attacker's two, a value and a message in
    # full, then one context's records.
    step(app, ("3",), "[3 Contexts]")
    step(app, ("ctrl+pagedown",) * 2)
    step(app, ("ctrl+pageup",) * 2, "Address")
    step(app, ("g", "j", "j", "space", "space", "c"), "Comparing 2", "the comparison")
    for position in range(3, 15):  # the property lines, each in full
        step(app, ("g", *("j",) * position, "enter"))
        step(app, ("escape",))
    step(app, ("G", "enter"), "first access", "a message in full")
    step(app, ("escape",))
    step(app, ("escape",))
    step(app, ("enter",), "records from", "a context's records")
    step(app, ("escape",))

    # SendAs: both sends, the attacker's in full.
    step(app, ("4",), "[4 SendAs]")
    step(app, ("j",), "D delegate")
    step(app, ("enter",), "Time source", "the send in full")
    step(app, ("escape",))

    # Name the attacker's session from its last record (client address first, then session).
    step(app, ("1",), "[1 Records]")
    step(app, ("G", "s"), "Mark as the attacker", "the suspect chooser")
    step(app, ("down", "enter"))

    # Scope: every line, so the strip under it says each in full; a bound message in full.
    step(app, ("5",), "SUSPECTS (1)", "the scope")
    for _ in range(16):
        step(app, ("j",))
    step(app, ("enter",), "Time source", "a bound message's record")
    step(app, ("escape",))

    # Findings: each one's detail.
    step(app, ("6",), "[6 Findings]")
    for _ in range(10):
        step(app, ("j",))

    step(app, ("l",), "refused", "the load problems")
    step(app, ("escape",))
    step(app, ("?",), "Keys:", "the help screen")
    step(app, ("escape",))


def test_no_hostile_sequence_reaches_the_terminal(app: PtyApp) -> None:
    visit_every_pane(app)
    assert app.alive()  # [@click=app.quit] did not quit it, [/] did not crash it
    app.press("q")
    assert app.wait_exit() == 0
    raw = app.raw
    stream = raw.decode("utf-8")  # strict: a stray byte would be a control to the terminal
    text = app.text()
    assert "Traceback" not in text

    for name, sequence in FORBIDDEN.items():
        at = stream.find(sequence)
        assert at < 0, f"{name} reached the terminal: {stream[max(0, at - 80) : at + 40]!r}"
    others = set(OSC.findall(stream)) - {"22"}
    assert not others, f"an OSC other than Textual's pointer shape (22): {sorted(others)}"
    hidden = {f"U+{ord(c):04X}" for c in INVISIBLE.findall(stream)}
    assert not hidden, f"invisible or C1 characters reached the terminal: {sorted(hidden)}"

    missing = [needle for needle in VISIBLE if needle not in text]
    assert not missing, f"never drawn, so never tested: {missing}"
    # Escaped once, never twice: `\\x1b` is how the sanitiser shows the four characters
    # `\x1b` typed in the data, so a real ESC shown that way would misstate the evidence.
    # (The original record's JSON text holds `\u001b`, a backslash in the data, rightly shown
    # as `\\u001b`; JSON never writes `\x`, and leaves C1, bidi and zero-width raw.)
    twice = [text[max(0, at - 60) : at + 20] for at in map(text.find, DOUBLED) if at >= 0]
    assert not twice, f"escaped twice: {twice}"
