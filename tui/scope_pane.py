"""Scope pane: what the contexts named as the attacker's reached, updated on every `s`.

Microsoft's method, steps 1-4 (domain.md 2), as core's `Case.scope()` answers them: when the
attacker was active, the windows in which the trail was blind meanwhile, the folders synced
(every item assumed read), other operations, and the exact messages bound. The pane keeps
no forensic logic: it lays core's Scope out as one list with section lines, because at
80x24 there is room for one long list, and a strip under it says in full what the line
under the cursor is cut to.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from ualscope.core.analysis.outages import KnownOutage
from ualscope.core.analysis.scope import AttackerOperation, BoundMessage, Scope, SyncedFolder
from ualscope.core.analysis.throttling import ThrottledWindow
from ualscope.core.case_file import Suspect, toggle_suspect
from ualscope.core.record_view import short_time

from .detail import RecordDetail
from .line_list import LineList
from .pane import CasePane
from .target import Target, record_target
from .text import fit, safe

if TYPE_CHECKING:
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile

    from .app import UalscopeApp

SUSPECT_LABELS = {
    "client_ip": "client address",
    "session": "session",
    "user": "user",
    "app": "app",
    "context": "context",
    "record": "record",
}

SECTION_STYLE = Style(bold=True)
NOTE_STYLE = Style(dim=True)
BLIND_STYLE = Style(color="yellow")
LIST_CHROME = 2 + 2  # the list's selection gutter, and room for its vertical scrollbar
TIME_WIDTH = 16  # "2022-03-28 09:04": seconds are in the strip and the record
FOLDER_WIDTH = 18  # "\Archive\Payments" and most folder paths in full
OPERATION_WIDTH = 17  # "MailItemsAccessed", the longest common operation name
STRIP_LINES = 3  # a full InternetMessageId, its folder, mailbox and time need about 200 cells

NO_SUSPECTS = """\
No attacker named yet, so there is no scope of compromise to show.

Name what is the attacker's and the scope appears here, updated at once:
  1 Records   put the cursor on a record the attacker made and press s, then
              choose its client address, session, user or app
  2 Sessions  press s on a session          3 Contexts  press s on a context
  4 SendAs    press s on a send

A record matching any suspect counts as the attacker's; x here takes one back.
Then read: messages bound (opened), folders synced (every item assumed read),
blind windows (throttling, known outages), first and last attacker activity."""


@dataclass(frozen=True)
class Entry:
    """One line of the list: a section title, a note, or one item of the scope."""

    kind: str  # "section" | "note" | "suspect" | "blind" | "outage" | "synced" | ...
    item: object = None
    text: str = ""

    @property
    def record_id(self) -> str:
        """The record behind the line (a bound message's first), or ""."""
        item = self.item
        if isinstance(item, BoundMessage):
            return item.record_ids[0] if item.record_ids else ""
        if isinstance(item, SyncedFolder | AttackerOperation | ThrottledWindow):
            return item.record_id
        if isinstance(item, Suspect) and item.kind == "record":
            return item.value
        return ""


SECTION_NOTES = {
    "suspects": "What the investigator named as the attacker's: every record matching any"
    " of them is the attacker's. x takes the suspect under the cursor back.",
    "blind": "Throttling stops Bind auditing for 24 h; a known outage stops some operations"
    " altogether. Within these windows, assume all mail was read.",
    "synced": "A Sync downloads a whole folder: every item in it is assumed read, and can be"
    " read offline afterwards, where nothing more is audited.",
    "operations": "Everything else the attacker's records did: sign-ins, rules, sends,"
    " deletions. Enter opens the record.",
    "messages": "The exact messages opened (Bind), by InternetMessageId as recorded: collect"
    " them to review what was exposed. Enter opens the first record.",
}


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _section(name: str, title: str) -> Entry:
    return Entry("section", item=name, text=title)


def scope_entries(scope: Scope, suspects: tuple[Suspect, ...]) -> list[Entry]:
    """The list: suspects, blind windows, syncs, other operations, then the (long) binds."""
    entries = [_section("suspects", f"SUSPECTS ({len(suspects)}) · x takes one back")]
    entries += [Entry("suspect", s) for s in suspects]
    blind = len(scope.throttled_windows) + len(scope.outages)
    entries.append(
        _section("blind", f"BLIND WHILE THE ATTACKER WAS ACTIVE ({blind}) · assume all read")
    )
    entries += [Entry("blind", w) for w in scope.throttled_windows]
    entries += [Entry("outage", o) for o in scope.outages]
    if not blind:
        entries.append(Entry("note", text="none from throttling or known outages"))
    synced = len(scope.synced_folders)
    entries.append(
        _section("synced", f"FOLDERS SYNCED ({synced}) · all items read, readable offline after")
    )
    entries += [Entry("synced", f) for f in scope.synced_folders]
    if not synced:
        entries.append(Entry("note", text="none: no Sync in the attacker's records"))
    entries.append(_section("operations", f"OTHER OPERATIONS ({len(scope.other_operations)})"))
    entries += [Entry("operation", o) for o in scope.other_operations]
    if not scope.other_operations:
        entries.append(Entry("note", text="none"))
    bound = len(scope.bound_messages)
    entries.append(_section("messages", f"MESSAGES BOUND ({bound}) · opened, by InternetMessageId"))
    entries += [Entry("message", m) for m in scope.bound_messages]
    if not bound:
        entries.append(Entry("note", text="none: no Bind in the attacker's records"))
    return entries


def _until(start: int, end: int) -> str:
    """A throttled window [start, end), to the minute: "until" reads as exclusive."""
    first, after = short_time(start)[:16], short_time(end)[:16]
    # The year once when both ends share it: the mailbox then fits beside it at 80 columns.
    return f"{first} until {after[5:] if after[:4] == first[:4] else after}"


def _days(start: int, end: int) -> str:
    """An outage [start, end) as its first and last day, as the notice words it."""
    return f"{short_time(start)[:10]} .. {short_time(end - 1)[:10]}"


class ScopeList(LineList):
    """The scope as one list; section lines carry no record."""


class ScopeSummary(Static):
    """The summary, or the how-to while no suspect is named.

    Focusable only while the list is hidden: the pane then still takes the focus when
    shown, so keys reach this pane and the app, not the pane that was left.
    """


class ScopePane(CasePane):
    DEFAULT_CSS = """
    ScopePane #scope-summary {
        height: auto;
        padding: 0 1;
    }
    ScopePane ScopeList {
        height: 1fr;
    }
    ScopePane #scope-strip {
        height: 3;
        padding: 0 1;
        background: $boost;
    }
    """

    pane_title = "Scope"
    help_text = (
        "The scope of compromise of the suspects named with s in the other panes:\n"
        "every record matching any suspect is the attacker's. Sections:\n"
        "  BLIND        throttled windows (Bind not audited for 24 h) and known outages\n"
        "               during the attack: assume everything in them was read\n"
        "  SYNCED       a Sync downloads a whole folder: every item assumed read, and\n"
        "               readable offline afterwards, where nothing is audited\n"
        "  BOUND        the exact messages opened, by InternetMessageId as recorded\n"
        "x on a suspect takes it back; Enter opens the record behind a line."
    )

    BINDINGS = [
        Binding("x", "remove_suspect", "Remove suspect", id="scope.remove"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case: Case | None = None
        self.scope: Scope | None = None
        self.suspects: tuple[Suspect, ...] = ()
        self.entries: list[Entry] = []
        self._several_mailboxes = False

    def compose(self) -> ComposeResult:
        yield ScopeSummary(id="scope-summary")
        yield ScopeList(id="scope-list")
        yield Static(id="scope-strip")

    @property
    def table(self) -> ScopeList:
        return self.query_one(ScopeList)

    # -- drawing ---------------------------------------------------------------------------
    def show_case(self, case: Case, case_file: CaseFile) -> None:
        self.case = case
        self.suspects = case_file.suspects
        self.scope = case.scope()
        self._redraw()

    def _width(self) -> int:
        # A pane hidden by the switcher has no size yet; it spans the screen when shown.
        return self.size.width or self.app.size.width

    def _redraw(self) -> None:
        summary = self.query_one(ScopeSummary)
        table, strip = self.table, self.query_one("#scope-strip", Static)
        scope = self.scope
        had_focus = table.has_focus
        table.display = strip.display = scope is not None
        summary.can_focus = scope is None
        if scope is None:
            if had_focus:  # the last suspect was just taken back with x
                summary.focus()
            self.entries = []
            table.set_lines(0, self._line, "", 0)
            summary.update(Content(NO_SUSPECTS))
            self.refresh_bindings()
            return
        if summary.has_focus:
            table.focus()
        width = self._width() - 2  # the summary's padding
        summary.update(Content("\n".join(self.summary_lines(scope, width))))
        self._several_mailboxes = len(scope.mailboxes) > 1
        self.entries = scope_entries(scope, self.suspects)
        header = "Scope of compromise · Enter opens the record behind a line"
        table.set_lines(len(self.entries), self._line, header, self._list_width())
        self._show_strip()
        self.refresh_bindings()

    def _list_width(self) -> int:
        return max(40, self._width() - LIST_CHROME)

    def summary_lines(self, scope: Scope, width: int) -> list[str]:
        """Three lines: when, how much and where, what was reached."""
        if scope.first_activity is None or scope.last_activity is None:
            return [
                fit("No record matches these suspects: check them below (x takes one back).", width)
            ]
        blind = len(scope.throttled_windows) + len(scope.outages)
        records = len(scope.rows)
        return [
            fit(
                f"Attacker active {short_time(scope.first_activity)} .. "
                f"{short_time(scope.last_activity)} UTC, {_plural(records, 'record')}",
                width,
            ),
            fit("Mailboxes: " + (", ".join(scope.mailboxes) or "none recorded"), width),
            fit(
                f"{_plural(len(scope.bound_messages), 'message')} bound · "
                f"{_plural(len(scope.synced_folders), 'folder')} synced · "
                f"{_plural(blind, 'blind window')} · "
                f"{_plural(len(scope.other_operations), 'other operation')}",
                width,
            ),
        ]

    def _line(self, position: int) -> tuple[str, Style]:
        entry = self.entries[position]
        width = self._list_width()
        item = entry.item
        style = Style()
        if entry.kind == "section":
            return fit("── " + entry.text, width), SECTION_STYLE
        if entry.kind == "note":
            return fit("   " + entry.text, width), NOTE_STYLE
        if isinstance(item, Suspect):
            label = fit(SUSPECT_LABELS.get(item.kind, item.kind), 15)
            return label + " " + fit(item.value, width - 16), style
        if isinstance(item, ThrottledWindow):
            text = f"{_until(item.start, item.end)} throttled {item.mailbox}"
            return fit(text, width), BLIND_STYLE
        if isinstance(item, KnownOutage):
            notice = item.source.split()[-1]
            text = f"{_days(item.start, item.end)} {notice}: {'/'.join(item.operations)}"
            return fit(text + " never recorded", width), BLIND_STYLE
        if isinstance(item, SyncedFolder):
            synced = (
                fit(short_time(item.time)[:16], TIME_WIDTH),
                fit(item.folder, FOLDER_WIDTH),
                fit(item.mailbox, max(10, width - TIME_WIDTH - FOLDER_WIDTH - 2)),
            )
            return " ".join(synced), style
        if isinstance(item, AttackerOperation):
            operation = (
                fit(short_time(item.time)[:16], TIME_WIDTH),
                fit(item.operation, OPERATION_WIDTH),
                fit(item.detail, max(10, width - TIME_WIDTH - OPERATION_WIDTH - 2)),
            )
            return " ".join(operation), style
        assert isinstance(item, BoundMessage)
        rest = width - TIME_WIDTH - FOLDER_WIDTH - 2
        cells = [
            fit(short_time(item.first_access)[:16], TIME_WIDTH),
            fit(item.folder, FOLDER_WIDTH),
        ]
        if self._several_mailboxes:
            # Which mailbox matters only when the attacker reached more than one.
            cells.append(fit(item.mailbox, 20))
            rest -= 21
        cells.append(fit(item.internet_message_id, max(10, rest)))
        return " ".join(cells), style

    @property
    def current(self) -> Entry | None:
        table = self.table
        if not self.entries or table.cursor >= len(self.entries):
            return None
        return self.entries[table.cursor]

    def strip_text(self, entry: Entry | None, width: int) -> str:
        """Two lines saying in full what the line under the cursor is, and what it means."""
        if entry is None:
            return ""
        item = entry.item
        if isinstance(item, Suspect):
            text = (
                f"{SUSPECT_LABELS.get(item.kind, item.kind)} {safe(item.value, limit=None)}: "
                "every record matching it is the attacker's. x takes it back."
            )
        elif isinstance(item, ThrottledWindow):
            past = " (runs past the end of the evidence)" if item.extends_past_data else ""
            text = (
                f"IsThrottled record {safe(item.record_id)}: Bind not audited until"
                f" {short_time(item.end)[:16]} UTC{past}, so every message in"
                f" {safe(item.mailbox)} is assumed read."
            )
        elif isinstance(item, KnownOutage):
            text = f"{safe(item.description)} Source: {safe(item.source)}."
        elif isinstance(item, SyncedFolder):
            text = (
                f"{safe(item.folder, limit=None)} in {safe(item.mailbox)} synced at "
                f"{short_time(item.time)} UTC: every item in it is assumed read, and readable"
                " offline afterwards, where nothing is audited."
            )
        elif isinstance(item, AttackerOperation):
            text = (
                f"{safe(item.operation)} at {short_time(item.time)} from "
                f"{safe(item.client_ip) or 'no client address'}: {safe(item.detail, limit=None)}"
            )
        elif isinstance(item, BoundMessage):
            count = len(item.record_ids)
            text = (
                f"{safe(item.internet_message_id, limit=None)} in "
                f"{safe(item.folder, limit=None)} of {safe(item.mailbox)}, first opened "
                f"{short_time(item.first_access)} UTC; {count} record"
                + ("s" if count != 1 else "")
                + " (Enter opens the first)"
            )
        elif entry.kind == "section":
            text = SECTION_NOTES.get(str(item), "")
        else:
            text = safe(entry.text, limit=None)
        return "\n".join(
            textwrap.wrap(
                text, width=width, max_lines=STRIP_LINES, placeholder=" …", break_on_hyphens=False
            )
        )

    def _show_strip(self) -> None:
        strip = self.query_one("#scope-strip", Static)
        strip.update(Content(self.strip_text(self.current, max(20, self._width() - 2))))

    # -- events and actions ----------------------------------------------------------------
    def on_line_list_moved(self, message: LineList.Moved) -> None:
        if message.source is self.table:
            self._show_strip()
            self.refresh_bindings()

    def on_line_list_opened(self, message: LineList.Opened) -> None:
        if message.source is not self.table:
            return
        message.stop()
        entry = self.current
        if self.case is None or entry is None or not entry.record_id:
            return
        row = self.case.index.row_of(entry.record_id)
        if row is not None:
            self.app.push_screen(RecordDetail(self.case, row))

    def on_resize(self, event: events.Resize) -> None:
        if self.case is not None:
            self._redraw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "remove_suspect":
            # Shown greyed out unless the cursor is on a suspect, so `x` is discoverable.
            entry = self.current
            return True if entry is not None and entry.kind == "suspect" else None
        return True

    def action_remove_suspect(self) -> None:
        entry = self.current
        app = cast("UalscopeApp", self.app)
        if entry is None or not isinstance(entry.item, Suspect) or app.case_file is None:
            return
        app.case_file = toggle_suspect(app.case_file, entry.item.kind, entry.item.value)
        app._save()  # saves the case file, recomputes the scope and redraws every pane

    def target(self) -> Target | None:
        entry = self.current
        if self.case is None or entry is None or not entry.record_id:
            return None
        index = self.case.index
        record_id = entry.record_id
        row = index.row_of(record_id)
        if row is None:
            return None
        return record_target(index, row)
