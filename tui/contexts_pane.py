"""Contexts pane: the access contexts of one mailbox, to pick out the attacker's and compare.

A context is the unit an investigator labels "attacker" or "owner" (domain.md, "Access
context"). The list is core's (`Case.contexts`, by first record then id, so it is the same on
every load); space selects, `c` compares the selection side by side, Enter lists a context's
records. Flags are symbols (`*` marked, `!` suspect) so they survive NO_COLOR.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from ualscope.core.analysis.contexts import AccessContext
from ualscope.core.normalise.times import to_iso

from .comparison_screen import ContextRecords, open_comparison
from .dialogs import ChoiceDialog
from .line_list import LineList
from .pane import CasePane
from .target import Target
from .text import fit, safe

if TYPE_CHECKING:
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile

SUSPECT_STYLE = Style(color="red")
MARKED_STYLE = Style(color="yellow")

# (title, width). Address to first time take 76 cells: with LineList's mark and a space (2)
# and the vertical scrollbar (2) they fill 80 columns. The context id and the mailbox (for
# when every mailbox is listed) scroll into view with the right arrow.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("", 2),
    ("Address", 15),  # an IPv4 address in full; IPv6 is cut with …
    ("Client", 8),
    ("Session", 8),
    ("Acc", 4),
    ("Folder", 11),
    ("Recs", 4),
    ("Msgs", 4),
    ("First (UTC)", 11),
    ("Context", 12),
    ("Mailbox", 40),
)
WIDTH = sum(width + 1 for _, width in COLUMNS)
HEADER = "".join(fit(title, width) + " " for title, width in COLUMNS)
SESSION_SHORT = 8  # a SessionId GUID's first group tells sessions apart on screen


def count_cell(value: int, width: int) -> str:
    """A count right-aligned in `width`; 12345 in 4 cells becomes `12k` rather than `123…`."""
    text = str(value)
    if len(text) > width:
        text = f"{value // 1000}k"
    return text.rjust(width)


class ContextsPane(CasePane):
    pane_title = "Contexts"
    help_text = (
        "Access contexts of MailItemsAccessed records: one per client address, client,\n"
        "folder, logon type, access type, mailbox, user and session.\n"
        "Flags: * marked, ! suspect (its records are in the suspects' scope).\n"
        "Select 2 or 3 with space and press c to compare them side by side."
    )

    BINDINGS = [
        Binding("space", "select_context", "Select", id="contexts.select"),
        Binding("c", "compare", "Compare", id="contexts.compare"),
        Binding("b", "choose_mailbox", "Mailbox", id="contexts.mailbox"),
    ]

    MAILBOX_PROMPT = "Access contexts of which mailbox? (counts of MailItemsAccessed records)"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case: Case | None = None
        self.case_file: CaseFile | None = None
        self.mailbox: str | None = None  # None: every mailbox
        self.chosen = False  # the investigator picked the mailbox: stop choosing for them
        self.contexts: list[AccessContext] = []
        self._stale = False
        self._suspect_mask: npt.NDArray[np.bool_] | None = None
        self._suspect_ids: set[str] = set()
        self._marked_ids: set[str] = set()
        self._note = ""

    def compose(self) -> ComposeResult:
        yield Static(id="contexts-status", classes="pane-status")
        yield LineList(id="contexts-table", selectable=True)

    @property
    def table(self) -> LineList:
        return self.query_one("#contexts-table", LineList)

    # -- the contract with the app -----------------------------------------------------
    def show_case(self, case: Case, case_file: CaseFile) -> None:
        self.case, self.case_file = case, case_file
        # Grouping a million records into contexts takes seconds: do it when the pane is
        # first looked at, not for every pane on every load.
        self._stale = True
        if self.display:
            self.refresh_contexts()

    def on_show(self) -> None:
        if self._stale:
            self.refresh_contexts()

    def target(self) -> Target | None:
        context = self.current_context
        if context is None:
            return None
        choices = [("context", context.id, f"context {context.id}")]
        if context.client_ip:
            choices.append(
                ("client_ip", context.client_ip, f"client address {safe(context.client_ip)}")
            )
        if context.session_id:
            choices.append(
                ("session", context.session_id, f"session {safe(context.session_id, limit=60)}")
            )
        return Target(
            "context", context.id, f"context {context.id}", tuple(choices), context.mailbox
        )

    @property
    def current_context(self) -> AccessContext | None:
        if not self.contexts:
            return None
        return self.contexts[min(self.table.cursor, len(self.contexts) - 1)]

    # -- drawing -----------------------------------------------------------------------
    def refresh_contexts(self) -> None:
        case, case_file = self.case, self.case_file
        if case is None or case_file is None:
            return
        self._stale = False
        mailbox = self.mailbox if self.chosen else case.default_mailbox()
        if mailbox != self.mailbox or not self.contexts:
            self.table.selected = set()
        self.mailbox = mailbox
        self.contexts = case.contexts(mailbox)
        suspect_rows = case.suspect_rows()
        self._suspect_mask = None
        if len(suspect_rows):
            self._suspect_mask = np.zeros(len(case.index), dtype=np.bool_)
            self._suspect_mask[suspect_rows] = True
        self._suspect_ids = {value.casefold() for value in case.suspects.context_ids}
        self._marked_ids = {
            mark.target_id.casefold() for mark in case_file.marks if mark.target_kind == "context"
        }
        self.table.set_lines(len(self.contexts), self.context_line, HEADER, WIDTH)
        self.show_status()

    def suspect(self, context: AccessContext) -> bool:
        if context.id.casefold() in self._suspect_ids:
            return True
        return self._suspect_mask is not None and bool(self._suspect_mask[context.rows].any())

    def context_line(self, position: int) -> tuple[str, Style]:
        """The text and style of one context's line (public so tests read what is drawn)."""
        context = self.contexts[position]
        marked = context.id.casefold() in self._marked_ids
        suspect = self.suspect(context)
        values: list[str | int] = [
            ("*" if marked else " ") + ("!" if suspect else " "),
            context.client_ip,
            context.client_family,
            context.session_id[:SESSION_SHORT],
            context.access_type,
            context.folder,
            context.records,
            context.message_count,
            to_iso(context.first)[5:16].replace("T", " "),  # years: the case header
            context.id,
            context.mailbox,
        ]
        cells = [
            count_cell(value, width) if isinstance(value, int) else fit(value, width)
            for value, (_, width) in zip(values, COLUMNS, strict=True)
        ]
        style = SUSPECT_STYLE if suspect else MARKED_STYLE if marked else Style()
        return " ".join(cells), style

    def show_status(self) -> None:
        name = safe(self.mailbox, limit=40) if self.mailbox else "all mailboxes"
        status = f"{name}: {len(self.contexts):,} contexts"
        selected = len(self.table.selected)
        hint = f"{selected} selected, c compares" if selected else "space selects, b mailbox"
        status += "  " + (self._note or hint)
        self.query_one("#contexts-status", Static).update(Content(status))
        self._note = ""

    # -- actions -----------------------------------------------------------------------
    def action_select_context(self) -> None:
        self.table.toggle_selected()
        self.table.action_move(1)  # select a run of contexts with repeated presses
        self.show_status()

    def action_compare(self) -> None:
        if self.case is None:
            return
        positions = sorted(p for p in self.table.selected if p < len(self.contexts))
        if len(positions) < 2:
            self._note = f"select 2 or more contexts with space first ({len(positions)} selected)"
            self.show_status()
            return
        open_comparison(self.app, self.case, [self.contexts[p] for p in positions])

    def action_choose_mailbox(self) -> None:
        case = self.case
        if case is None:
            return
        counts = case.mailbox_counts()
        total = sum(records for records, _ in counts.values())
        options = [f"all mailboxes  {total:,} records, {len(case.contexts()):,} contexts"]
        for name, _ in case.mailboxes:
            records, contexts = counts.get(name.casefold(), (0, 0))
            options.append(f"{name}  {records:,} records, {contexts:,} contexts")

        def chosen(choice: int | None) -> None:
            if choice is None:
                return
            self.mailbox = None if choice == 0 else case.mailboxes[choice - 1][0]
            self.chosen = True
            self.contexts = []  # a new list: clear the selection
            self.table.go_to(0)
            self.refresh_contexts()

        self.app.push_screen(ChoiceDialog(self.MAILBOX_PROMPT, options), chosen)

    def on_line_list_opened(self, event: LineList.Opened) -> None:
        event.stop()
        case, case_file = self.case, self.case_file
        if case is None or case_file is None or not self.contexts:
            return
        context = self.contexts[event.position]
        index = case.index
        marked = {
            row
            for mark in case_file.marks
            if mark.target_kind == "record" and (row := index.row_of(mark.target_id)) is not None
        }
        suspect = set(case.suspect_rows().tolist())
        self.app.push_screen(ContextRecords(case, context, marked, suspect))
