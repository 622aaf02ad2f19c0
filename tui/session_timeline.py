"""One session's own timeline: what it is, when it was active, and every record in order.

The summary names the session's mailboxes, addresses, clients, apps and Entra sign-in
sessions (the link to the sign-in logs); a bar zoomed to the session's own span shows its
bursts; below, every record of the session (all operations) in time order, where Enter
opens the record in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from ualscope.core.record_view import short_time
from ualscope.core.timeline import Band, activity_bar, ruler_labels, session_bands

from .detail import RecordDetail
from .help import HelpScreen
from .line_list import LineList
from .panes import PANES
from .records import RecordTable
from .text import safe, safe_lines

if TYPE_CHECKING:
    from ualscope.core.analysis.sessions import Session
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile

BAR_MARGIN = 2  # the bar lines up with the record list's text, after its two-cell margin
SUMMARY_VALUE_LIMIT = 80  # one value of a list; the line itself is cut by CSS at the edge

# Lines of at most 70 cells: the help box at 80 columns leaves 72 inside.
HELP = (
    "The session's summary; its activity from its first record to its\n"
    "last (▆ records, █ 10 or more in the cell, ▒ throttled, ░ outage);\n"
    "then every record of the session, all operations, in time order\n"
    "(! a suspect's record, * a marked record). Enter opens a record.\n"
    "m, n and s act on the session itself, as in the Sessions list;\n"
    "e and the pane keys 1-6 close this view first."
)


def summary_lines(session: Session) -> list[str]:
    """Label and values of every non-empty property of the session, one line each."""

    def joined(values: tuple[str, ...]) -> str:
        return ", ".join(safe(v, limit=SUMMARY_VALUE_LIMIT) for v in values)

    operations = tuple(f"{name} {count:,}" for name, count in session.operations)
    span = f"{short_time(session.first)} .. {short_time(session.last)} UTC"
    # The usual case (the owner's own mailbox) takes one line instead of two.
    same = [m.casefold() for m in session.mailboxes] == [u.casefold() for u in session.users]
    rows = [
        ("Active", f"{span}  ({session.records:,} records)"),
        ("Mailbox/user" if same else "Mailboxes", joined(session.mailboxes)),
        ("Users", "" if same else joined(session.users)),
        ("Addresses", joined(session.client_ips)),
        ("Families", joined(session.client_families)),
        ("Clients", joined(session.clients)),
        ("Apps", joined(session.apps)),
        ("AADSessionIds", joined(session.aad_session_ids)),
        ("Operations", joined(operations)),
    ]
    lines = [f"{label:<13} {value}" for label, value in rows if value]
    return lines + [f"~ {safe(hint, limit=None)}" for hint in session.hints]


class SessionTimeline(Screen[None]):
    DEFAULT_CSS = """
    SessionTimeline #timeline-title { height: 1; text-style: bold; padding: 0 1; }
    SessionTimeline #timeline-summary {
        height: auto; max-height: 10; padding: 0 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    SessionTimeline #timeline-bar { height: 2; color: $text-muted; }
    SessionTimeline RecordTable { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="timeline.back"),
        # m, n and s are the app's: they act on the Sessions pane's target, which is this
        # session (the list's cursor has not moved). Export and pane keys would act under this
        # screen, out of sight, so they close it first.
        Binding("e", "leave('export')", "Export", id="timeline.export", show=False),
        Binding("question_mark", "help", "Help", id="timeline.help"),
        *[
            Binding(
                key, f"leave(\"show_pane('{name}')\")", title, id=f"timeline.{name}", show=False
            )
            for name, key, title in PANES
        ],
    ]

    def __init__(
        self, case: Case, session: Session, bands: list[Band], case_file: CaseFile | None = None
    ) -> None:
        super().__init__()
        self.case = case
        self.session = session
        self.bands = session_bands(bands, session)
        self.case_file = case_file

    def compose(self) -> ComposeResult:
        session = self.session
        title = f"Session timeline: {session.kind} {safe(session.key, limit=80)}"
        yield Static(Content(title), id="timeline-title")
        # Each value went through safe() in summary_lines: not escaped a second time.
        yield Static(safe_lines(summary_lines(session)), id="timeline-summary")
        yield Static(id="timeline-bar")
        yield RecordTable(id="timeline-records")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(RecordTable)
        index = self.case.index
        rows = self.session.rows
        table.show(index, np.ascontiguousarray(rows))
        self._flags()
        table.focus()
        self._bar()

    def _flags(self) -> None:
        suspect = np.intersect1d(self.session.rows, self.case.suspect_rows())
        self.query_one(RecordTable).set_flags(self._marked_rows(), set(suspect.tolist()))

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Back from `s` (its dialog) or `n`: the app has updated the case and its case file.
        self.case_file = getattr(self.app, "case_file", self.case_file)
        if self.is_mounted:
            self._flags()

    def _marked_rows(self) -> set[int]:
        if self.case_file is None:
            return set()
        index = self.case.index
        return {
            row
            for mark in self.case_file.marks
            if mark.target_kind == "record" and (row := index.row_of(mark.target_id)) is not None
        }

    def _bar(self) -> None:
        """The session's activity over its own span, with ruler labels above it."""
        session = self.session
        width = max(1, (self.size.width or self.app.size.width) - BAR_MARGIN - 1)
        window = (session.first, session.last + 1)
        times = self.case.index.time[session.rows]
        pad = " " * BAR_MARGIN
        text = pad + ruler_labels(window, width) + "\n"
        text += pad + activity_bar(times, window, width, self.bands)
        self.query_one("#timeline-bar", Static).update(Content(text))

    def on_resize(self, event: events.Resize) -> None:
        if self.is_mounted:
            self._bar()

    def on_line_list_opened(self, message: LineList.Opened) -> None:
        message.stop()  # the app would open it too: one detail screen, not two
        row = self.query_one(RecordTable).current_row
        if row is not None:
            self.app.push_screen(RecordDetail(self.case, row))

    async def action_leave(self, then: str) -> None:
        """Back to the sessions list, then run an app action there."""
        await self.app.pop_screen()
        await self.app.run_action(then)

    def action_help(self) -> None:
        entries = [
            (b.key.replace("question_mark", "?"), b.description)
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.id and not b.key.isdigit()  # 1-6: one line below
        ]
        entries += [
            ("enter", "Open the record"),
            ("m n s", "Mark, note, name as the attacker's: this session"),
            ("1-6", "Back, then that pane"),
        ]
        self.app.push_screen(HelpScreen("Keys: session timeline", entries, HELP))
