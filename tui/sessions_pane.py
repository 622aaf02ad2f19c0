"""Sessions pane: one line per session, with its activity drawn across the case window.

Bars on every line share the case window, so sessions running side by side (the owner's
and an attacker's) read as bars above each other; throttled windows and known outages are
drawn on the ruler and show through the bars wherever the session has no record. Lines are
built lazily by the list's provider (one bincount per visible line), so 50,000 sessions cost
nothing until they scroll into view. Flags, bands and order come from core.timeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from ualscope.core.record_view import short_time
from ualscope.core.timeline import (
    DENSE_RECORDS,
    FEW,
    KIND_LABELS,
    MANY,
    OUTAGE,
    THROTTLED,
    Band,
    activity_bar,
    band_line,
    case_bands,
    cell_seconds,
    named_session_ids,
    ruler_labels,
    session_bands,
    session_flags,
    session_order,
    suspect_sessions,
)

from .line_list import LineList
from .pane import CasePane
from .session_timeline import SessionTimeline
from .target import Target
from .text import fit, safe

if TYPE_CHECKING:
    from ualscope.core.analysis.sessions import Session
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile

# Columns before the bar: flags, kind, short key, records, first address, client family.
# 50 cells plus the list's own two (selection mark and space) leave 26 for the bar at 80
# columns, once the 2-cell vertical scrollbar is counted.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("!*~", 3),
    ("Kind", 4),
    ("Session", 8),
    ("Records", 7),
    ("Client address", 15),
    ("Client", 8),
)
PREFIX = sum(width + 1 for _, width in COLUMNS)
LIST_MARGIN = 2  # LineList draws a selection mark and a space before each line
SCROLLBAR = 2  # Textual's default vertical scrollbar
MIN_BAR = 20

# Attacker's and replay-looking sessions differ from the owner's by symbol first (NO_COLOR),
# colour second.
SUSPECT_STYLE = Style(color="red", bold=True)
HINT_STYLE = Style(color="yellow")
MARKED_STYLE = Style(bold=True)


def records_text(count: int) -> str:
    return f"{count:,}" if count < 1_000_000 else f"{count / 1_000_000:.1f}M"


def more(values: tuple[str, ...], width: int) -> str:
    """The first value fitted to `width`, with "+n" when there are others."""
    if not values:
        return " " * width
    suffix = f"+{len(values) - 1}" if len(values) > 1 else ""
    return fit(values[0], width - len(suffix)) + suffix


def duration_text(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{-(-seconds // size)} {unit}"
    return f"{seconds} s"


class SessionList(LineList):
    """The sessions, one line each, in the pane's order."""


class SessionsPane(CasePane):
    pane_title = "Sessions"
    # Lines of at most 70 cells: the help box at 80 columns leaves 72 inside.
    help_text = (
        "One line per session: SessionId (SID), else AADSessionId (AAD),\n"
        "else UniqueTokenId (UTI). Flags, by symbol and by colour:\n"
        "  !  the attacker's: named with s, or holding a suspect's record (red)\n"
        "  *  marked with m (bold)\n"
        "  ~  seen from several client addresses or client families (yellow)\n"
        "  no flag: looks like the owner's ordinary use\n"
        "Bar: the case window, left to right (UTC), as on the header line.\n"
        f"  {FEW}  records in that cell    {MANY}  {DENSE_RECORDS} or more records\n"
        "  ─  between its first and last record    ·  nothing\n"
        f"  {THROTTLED}  its mailbox was throttled: no Bind recorded for 24 h\n"
        f"  {OUTAGE}  known outage while it was active (MC382148: no SendAs)\n"
        "The ruler above the list shows every band of the case whole.\n"
        "Enter opens the session's own timeline: every record, in order.\n"
        "o switches between first-activity order and most records first."
    )

    DEFAULT_CSS = """
    SessionsPane #sessions-detail { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    BINDINGS = [
        Binding(
            "o",
            "order",
            "Order",
            id="sessions.order",
            tooltip="First activity, or most records first",
        ),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case: Case | None = None
        self.case_file: CaseFile | None = None
        self.sessions: list[Session] = []
        self.order: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.by_records = False
        self.suspect: npt.NDArray[np.bool_] = np.empty(0, dtype=np.bool_)
        self.marked: frozenset[str] = frozenset()
        self.bands: list[Band] = []
        self.bar_width = MIN_BAR

    def compose(self) -> ComposeResult:
        yield Static(id="sessions-status", classes="pane-status")
        yield Static(id="sessions-ruler")
        yield SessionList(id="sessions-list")
        yield Static(id="sessions-detail", classes="pane-status")

    @property
    def session_list(self) -> SessionList:
        return self.query_one(SessionList)

    # -- drawing -----------------------------------------------------------------------
    def show_case(self, case: Case, case_file: CaseFile) -> None:
        keep = self.current_session()
        self.case, self.case_file = case, case_file
        self.sessions = case.sessions
        self.order = session_order(self.sessions, self.by_records)
        named = named_session_ids(case.suspects.sessions)
        self.suspect = suspect_sessions(self.sessions, case.suspect_rows(), named)
        self.marked = named_session_ids(
            m.target_id for m in case_file.marks if m.target_kind == "session"
        )
        self.bands = case_bands(case.throttled, case.outages)
        self._draw(keep)

    def _draw(self, keep: Session | None = None) -> None:
        if self.case is None:
            return
        self.bar_width = self._bar_width()
        header = "".join(fit(title, width) + " " for title, width in COLUMNS)
        header += ruler_labels(self.case.window, self.bar_width)
        self.session_list.set_lines(
            len(self.sessions), self._session_line, header, PREFIX + self.bar_width
        )
        if keep is not None:
            self._go_to(keep)
        self._status()
        self._ruler()
        self._detail()

    def _bar_width(self) -> int:
        # A pane hidden by the ContentSwitcher has no size yet: fall back on the screen's.
        width = self.size.width or self.app.size.width
        return max(MIN_BAR, width - LIST_MARGIN - SCROLLBAR - PREFIX)

    def on_resize(self, event: events.Resize) -> None:
        if self.case is not None and self._bar_width() != self.bar_width:
            self._draw(self.current_session())

    def _status(self) -> None:
        total = len(self.sessions)
        suspect = int(self.suspect.sum())
        several = sum(1 for s in self.sessions if s.multi_address)
        order = "by records" if self.by_records else "by time"
        text = (
            f"{total:,} sessions  ! {suspect:,} suspect  ~ {several:,} from several addresses"
            f"  | {order} (o)"
        )
        self.query_one("#sessions-status", Static).update(Content(text))

    def _ruler(self) -> None:
        assert self.case is not None
        kinds = {band.kind for band in self.bands}
        legend = [f"{THROTTLED} throttled"] if "throttled" in kinds else []
        legend += [f"{OUTAGE} outage"] if "outage" in kinds else []
        if not legend:
            legend = ["no blind window"]
        step = duration_text(cell_seconds(self.case.window, self.bar_width))
        text = fit(" " + "  ".join(legend) + f"  1 cell={step}", LIST_MARGIN + PREFIX)
        text += band_line(self.bands, self.case.window, self.bar_width)
        self.query_one("#sessions-ruler", Static).update(Content(text))

    def _session_line(self, position: int) -> tuple[str, Style]:
        assert self.case is not None
        number = int(self.order[position])
        session = self.sessions[number]
        suspect = bool(self.suspect[number])
        marked = session.id in self.marked
        times = self.case.index.time[session.rows]
        bands = session_bands(self.bands, session)
        cells = [
            session_flags(session, suspect=suspect, marked=marked),
            fit(KIND_LABELS.get(session.kind, session.kind), 4),
            fit(session.key[:8], 8),  # a prefix: the full key is on the line below
            records_text(session.records).rjust(7),
            more(session.client_ips, 15),
            more(session.client_families, 8),
            activity_bar(times, self.case.window, self.bar_width, bands),
        ]
        style = (
            SUSPECT_STYLE
            if suspect
            else HINT_STYLE
            if session.hints
            else MARKED_STYLE
            if marked
            else Style()
        )
        return " ".join(cells), style

    # -- cursor ------------------------------------------------------------------------
    def current_session(self) -> Session | None:
        if not self.sessions or not self.is_mounted:
            return None
        cursor = min(self.session_list.cursor, len(self.sessions) - 1)
        return self.sessions[int(self.order[cursor])]

    def _go_to(self, session: Session) -> None:
        for position, number in enumerate(self.order.tolist()):
            if self.sessions[number].id == session.id:
                self.session_list.go_to(position)
                return

    def _detail(self) -> None:
        session = self.current_session()
        text = ""
        if session is not None:
            # "03-28 09:02 .. 03-29 02:14": the year is in the header, minutes are enough here.
            span = f"{short_time(session.first)[5:16]} .. {short_time(session.last)[5:16]}"
            text = f"{session.kind} {safe(session.key, limit=60)}  {span}"
            if session.hints:
                text += "  ~ " + safe(session.hints[0], limit=120)
        self.query_one("#sessions-detail", Static).update(Content(text))

    def on_line_list_moved(self, message: LineList.Moved) -> None:
        if message.source is self.session_list:
            self._detail()

    def on_line_list_opened(self, message: LineList.Opened) -> None:
        if message.source is not self.session_list:
            return
        message.stop()
        session = self.current_session()
        if self.case is not None and session is not None:
            self.app.push_screen(SessionTimeline(self.case, session, self.bands, self.case_file))

    # -- triage and keys ---------------------------------------------------------------
    def target(self) -> Target | None:
        session = self.current_session()
        if session is None:
            return None
        key = session.key
        choices = (("session", key, f"session {safe(key, limit=60)}"),) + tuple(
            ("client_ip", address, f"client address {safe(address, limit=60)}")
            for address in session.client_ips
        )
        mailbox = session.mailboxes[0] if session.mailboxes else ""
        return Target("session", key, f"session {safe(key, limit=60)}", choices, mailbox)

    def action_order(self) -> None:
        keep = self.current_session()
        self.by_records = not self.by_records
        self.order = session_order(self.sessions, self.by_records)
        self._draw(keep)
