"""SendAs pane: every SendAs / SendOnBehalf, its three addresses compared, and why.

Who really sent a message is read from three fields side by side (domain.md 3): UserId,
MailboxOwnerUPN and SendAsUserSmtp / SendOnBehalfOfUserSmtp. Core classifies each record
and groups the fields that hold one address (`equal_fields`); this pane only draws that:
the first field of a group in full, the others as "= UserId", so "all three are one
address" reads at a glance in any colour mode. Known outages (MC382148) get a banner,
because an empty list in such a window is not evidence that nobody sent anything.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from ualscope.core.analysis.send_as import SendClassification, SendKind, message_id_of
from ualscope.core.record_view import logon_label, short_time

from .detail import RecordDetail
from .line_list import LineList
from .pane import CasePane
from .target import Target
from .text import fit, safe

if TYPE_CHECKING:
    from ualscope.core.analysis.outages import KnownOutage
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile

# Symbol and short label per class: the symbol carries the meaning without colour.
KIND_LABELS: dict[SendKind, tuple[str, str]] = {
    SendKind.DELEGATE_SEND_AS: ("D", "delegate"),
    SendKind.SEND_ON_BEHALF: ("B", "on behalf"),
    SendKind.OWNER_LOGGED_AS_SEND_AS: ("=", "own send"),
    SendKind.INCONSISTENT: ("?", "inconsistent"),
}
KIND_STYLES: dict[SendKind, Style] = {
    SendKind.DELEGATE_SEND_AS: Style(bold=True),
    SendKind.SEND_ON_BEHALF: Style(bold=True),
    SendKind.OWNER_LOGGED_AS_SEND_AS: Style(dim=True),
    SendKind.INCONSISTENT: Style(color="yellow"),
}

# What `f` cycles through: (name, classes kept; empty keeps all). The name is shown in the
# class column's title, so the filter in force is always on screen.
FILTERS: tuple[tuple[str, frozenset[SendKind]], ...] = (
    ("all", frozenset()),
    ("D B", frozenset({SendKind.DELEGATE_SEND_AS, SendKind.SEND_ON_BEHALF})),
    ("=", frozenset({SendKind.OWNER_LOGGED_AS_SEND_AS})),
    ("?", frozenset({SendKind.INCONSISTENT})),
)

# Short names for the equal-field marker; the list columns are 15 cells wide at 80 columns.
MARKER_NAMES = {"UserId": "UserId", "MailboxOwnerUPN": "OwnerUPN"}

FLAG_WIDTH = 2  # "!" attacker's record (in the scope), "*" marked: symbols, not colour
CLASS_WIDTH = 14  # "? inconsistent"
ADDRESS_MIN = 12
# The list's own gutter (selection mark and a space) and a vertical scrollbar: reserved
# always, so the columns do not jump when the list grows past the screen.
LIST_CHROME = 2 + 2
REASON_LINES_MAX = 6
DETAIL_FIXED_LINES = 6  # three addresses, client, subject, message id


def _values(send: SendClassification) -> dict[str, str]:
    return {
        "UserId": send.user_id,
        "MailboxOwnerUPN": send.mailbox_owner_upn,
        send.target_field: send.target_smtp,
    }


def same_as(send: SendClassification) -> dict[str, str]:
    """For each field that repeats an earlier field's address (core's groups): that field."""
    found: dict[str, str] = {}
    for group in send.equal_fields:
        for name in group[1:]:
            found[name] = group[0]
    return found


def outage_banner(outages: list[KnownOutage], window: tuple[int, int]) -> str:
    """Two lines per outage overlapping the case window [start, end); 78 cells at most."""
    lines = []
    for outage in outages:
        notice = outage.source.split()[-1]
        operations = "/".join(outage.operations) or "any"
        first, last = short_time(outage.start)[:10], short_time(outage.end - 1)[:10]
        start, end = max(outage.start, window[0]), min(outage.end, window[1])
        lines.append(f"! {notice}: no {operations} records exist {first}..{last}")
        lines.append(
            f"  {short_time(start)[:10]}..{short_time(end - 1)[:10]} of this case is blind"
            " for sends (unrecoverable)"
        )
    return "\n".join(safe(line, limit=None) for line in lines)


def reason_lines(reason: str, width: int) -> list[str]:
    """Core's reason, wrapped under a "why" label.

    Core's longest reason takes 5 lines at 80 columns; only very long (or hostile)
    addresses in it go past 6, and the full record is one Enter away.
    """
    wrapped = textwrap.wrap(
        safe(reason, limit=None),
        width=width - 9,
        break_on_hyphens=False,
        max_lines=REASON_LINES_MAX,
        placeholder=" …",
    )
    return [("why      " if n == 0 else " " * 9) + part for n, part in enumerate(wrapped)]


class SendList(LineList):
    """One line per send: flags, time, class, and the three addresses side by side."""


class SendAsPane(CasePane):
    DEFAULT_CSS = """
    SendAsPane #sendas-banner {
        height: auto;
        padding: 0 1;
        color: $warning;
        text-style: bold;
    }
    SendAsPane SendList {
        height: 1fr;
        min-height: 4;
    }
    SendAsPane #sendas-detail {
        height: 7;
        padding: 0 1;
        background: $boost;
    }
    """

    pane_title = "SendAs"
    help_text = (
        "Every SendAs / SendOnBehalf record, classified by core:\n"
        "  D delegate      a delegate sent as another mailbox (SendAs permission)\n"
        "  B on behalf     a delegate sent on behalf of another mailbox\n"
        "  = own send      UserId, MailboxOwnerUPN and SendAsUserSmtp are one address: the\n"
        "                  owner's own send logged as SendAs (Outlook mobile, new Outlook);\n"
        "                  not evidence of delegation\n"
        "  ? inconsistent  the addresses do not add up: read the full record (Enter)\n"
        "'= UserId' in an address column: the same address as UserId (case-insensitively).\n"
        "f cycles the classes shown: all, D B, =, ?  (the Class title shows which).\n"
        "Flags: ! the attacker's record (scope), * marked.  s names the sender as a suspect.\n"
        "MC382148: no SendAs/SendOnBehalf records exist 2022-01-28..2022-03-26 at all."
    )

    BINDINGS = [
        Binding("f", "cycle_filter", "Filter", id="sendas.filter"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case: Case | None = None
        self.sends: list[SendClassification] = []  # what the list shows, filtered
        self.filter = 0
        self.marked: set[str] = set()
        self.attacker_rows: set[int] = set()
        self._widths = (ADDRESS_MIN, ADDRESS_MIN, ADDRESS_MIN)
        self._short_time = True

    def compose(self) -> ComposeResult:
        yield Static(id="sendas-banner", classes="hidden")
        yield SendList(id="sendas-list")
        yield Static(id="sendas-detail")

    @property
    def table(self) -> SendList:
        return self.query_one(SendList)

    # -- drawing ---------------------------------------------------------------------------
    def show_case(self, case: Case, case_file: CaseFile) -> None:
        self.case = case
        self.marked = {m.target_id for m in case_file.marks if m.target_kind == "record"}
        # Only the send rows are looked up: a suspect user can own most of a million rows.
        rows = np.array([s.row for s in case.sends], dtype=np.int64)
        self.attacker_rows = set(rows[np.isin(rows, case.suspect_rows())].tolist())
        banner = self.query_one("#sendas-banner", Static)
        text = outage_banner(case.outages, case.window)
        banner.update(Content(text))
        banner.set_class(not text, "hidden")
        years = {short_time(s.time)[:4] for s in case.sends}
        # One year in the whole list: "03-28 11:02" leaves three more cells per address.
        self._short_time = len(years) <= 1
        self._redraw()

    def _width(self) -> int:
        # A pane hidden by the switcher has no size yet; it spans the screen when shown.
        return self.size.width or self.app.size.width

    def _redraw(self) -> None:
        if self.case is None:
            return
        keep = self.current.record_id if self.current is not None else None
        kinds = FILTERS[self.filter][1]
        self.sends = [s for s in self.case.sends if not kinds or s.classification in kinds]
        time_width = 11 if self._short_time else 16
        fixed = FLAG_WIDTH + time_width + 1 + CLASS_WIDTH + 1 + 2  # two spaces between addresses
        room = max(3 * ADDRESS_MIN, self._width() - LIST_CHROME - fixed)
        each = room // 3
        self._widths = (each, each, room - 2 * each)
        time_title = (
            short_time(self.case.sends[0].time)[:4] + " UTC"
            if self._short_time and self.case.sends
            else "Time (UTC)"
        )
        header = " " * FLAG_WIDTH + " ".join(
            (
                fit(time_title, time_width),
                fit(f"Class [{FILTERS[self.filter][0]}]", CLASS_WIDTH),
                fit("UserId", self._widths[0]),
                fit("MailboxOwnerUPN", self._widths[1]),
                fit("As/OnBehalfOf", self._widths[2]),
            )
        )
        table = self.table
        table.set_lines(len(self.sends), self._line, header, fixed + room)
        if keep is not None:
            for position, send in enumerate(self.sends):
                if send.record_id == keep:
                    table.go_to(position)
                    break
        # The strip is as tall as the longest explanation in the list, so it does not
        # change height (and move the list) as the cursor goes from record to record.
        # Reasons repeat per sender and target: each distinct one is wrapped once.
        width = self._detail_width()
        reasons = {s.reason for s in self.sends}
        tallest = max((len(reason_lines(r, width)) for r in reasons), default=0)
        self.query_one("#sendas-detail", Static).styles.height = DETAIL_FIXED_LINES + tallest
        self._show_detail()

    def _detail_width(self) -> int:
        return max(40, self._width() - 2)  # the strip's padding

    def _line(self, position: int) -> tuple[str, Style]:
        send = self.sends[position]
        symbol, label = KIND_LABELS[send.classification]
        flag = (
            "!" if send.row in self.attacker_rows else "*" if send.record_id in self.marked else " "
        )
        when = short_time(send.time)
        when = when[5:16] if self._short_time else when[:16]
        repeats = same_as(send)
        cells = []
        for (name, value), width in zip(_values(send).items(), self._widths, strict=True):
            shown = f"= {MARKER_NAMES[repeats[name]]}" if name in repeats else value or "(empty)"
            cells.append(fit(shown, width))
        text = fit(flag, FLAG_WIDTH) + " ".join(
            (when, fit(f"{symbol} {label}", CLASS_WIDTH), *cells)
        )
        return text, KIND_STYLES[send.classification]

    @property
    def current(self) -> SendClassification | None:
        table = self.table
        if not self.sends or table.cursor >= len(self.sends):
            return None
        return self.sends[table.cursor]

    def detail_lines(self, send: SendClassification, width: int) -> list[str]:
        """The strip under the list: full addresses, logon, client, subject, id, reason.

        Values go to fit() as recorded (it sanitises once); the class and time are on the
        list line above, the operation is named by the target field's label.
        """
        repeats = same_as(send)
        values = _values(send)
        # Field names in full ("SendOnBehalfOfUserSmtp" is 22 cells): they are what the
        # investigator looks for in the record.
        label = max(len(name) for name in values) + 1
        room = width - label - 2
        logon = f"LogonType {send.logon_type} {logon_label(send.logon_type) or 'absent'}"
        lines = []
        for name, value in values.items():
            mark = "=" if name in repeats else " "
            shown = value or "(empty)"
            if name in repeats:
                shown += f"  (same as {repeats[name]})"
            if name == "UserId":
                # The logon type says in what role UserId acted, so it sits beside it.
                cell = fit(shown, max(10, room - len(logon) - 2)) + "  " + logon
            else:
                cell = fit(shown, room)
            lines.append(fit(name, label) + mark + " " + cell)
        client = send.client_info_string or "no ClientInfoString"
        lines.append(fit(f"client   {send.client_family or 'not recorded'} · {client}", width))
        lines.append(fit(f"subject  {send.subject}", width))
        message_id = message_id_of(self.case.index, send) if self.case is not None else ""
        lines.append(fit(f"msg id   {message_id or '(none)'}", width))
        return lines + reason_lines(send.reason, width)

    def _show_detail(self) -> None:
        strip = self.query_one("#sendas-detail", Static)
        send = self.current
        if send is not None:
            text = "\n".join(self.detail_lines(send, self._detail_width()))
        elif self.case is not None and self.case.sends:
            text = "No send of this class: f shows the next filter."
        else:
            text = "No SendAs or SendOnBehalf record in the evidence."
        strip.update(Content(text))

    # -- events and actions ----------------------------------------------------------------
    def on_line_list_moved(self, message: LineList.Moved) -> None:
        if message.source is self.table:
            self._show_detail()

    def on_line_list_opened(self, message: LineList.Opened) -> None:
        if message.source is not self.table:
            return
        message.stop()
        send = self.current
        if self.case is not None and send is not None:
            self.app.push_screen(RecordDetail(self.case, send.row))

    def on_resize(self, event: events.Resize) -> None:
        self._redraw()

    def action_cycle_filter(self) -> None:
        self.filter = (self.filter + 1) % len(FILTERS)
        self._redraw()

    def target(self) -> Target | None:
        send = self.current
        if send is None:
            return None
        choices: list[tuple[str, str, str]] = []
        if send.user_id:
            choices.append(("user", send.user_id, f"sender (UserId) {safe(send.user_id, 60)}"))
        choices.append(("record", send.record_id, "this record only"))
        return Target(
            "record",
            send.record_id,
            f"{safe(send.operation, limit=40)} record {safe(send.record_id, limit=60)}",
            tuple(choices),
            send.mailbox_owner_upn,
        )
