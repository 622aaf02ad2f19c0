"""Records or access contexts side by side: which properties match, which mail each touched.

The view behind domain.md's three-record illustration. Everything it states (equal or not,
common, only-in, pairwise overlaps) is read from `core.analysis.comparison.compare`; this
module only lays the answer out. Equality is a symbol (`=` / `≠`) and touched is `●` / `·`,
so the view reads the same with NO_COLOR; the highlight on differing lines is extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.cells import cell_len, chop_cells, set_cell_size
from rich.style import Style
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from ualscope.core.analysis.comparison import Comparison, Selection, compare
from ualscope.core.analysis.contexts import AccessContext
from ualscope.core.record_view import short_time

from .detail import RecordDetail
from .line_list import LineList
from .records import RecordTable
from .text import fit, safe, safe_lines

if TYPE_CHECKING:
    from ualscope.core.case import Case

NAME_WIDTH = 16  # "ClientInfoString", the longest property name compare() returns
HEAD_WIDTH = NAME_WIDTH + 3  # the name, a space, the =/≠ symbol and a space
LIST_CHROME = 2 + 2  # LineList's selection mark and a space, and the vertical scrollbar
# At 80 columns that leaves 55 cells and a gap between values: 18 per value for three
# selections (an IPv4 address, a folder path, a SessionId over three lines), 28 for two.
MIN_VALUE_WIDTH = 10  # below this the values scroll sideways rather than shrink further
VALUE_LINES = 3  # a SessionId GUID (36) or a time span (44) fits 3 lines of 16-18 cells
EQUAL, DIFFERENT = "=", "≠"
TOUCHED, UNTOUCHED = "●", "·"
EMPTY_VALUE = "(none)"

DIFFERENT_STYLE = Style(bold=True, color="yellow")
SECTION_STYLE = Style(bold=True)
PLAIN = Style()


def selections_title(selections: list[Selection]) -> str:
    contexts = sum(isinstance(s, AccessContext) for s in selections)
    if contexts == len(selections):
        return f"{contexts} access contexts"
    if contexts == 0:
        return f"{len(selections)} records"
    return f"{len(selections)} selections"


def open_comparison(app: App[object], case: Case, selections: list[Selection]) -> bool:
    """Compare records (index rows) and/or contexts on a new screen; False if fewer than 2."""
    if len(selections) < 2:
        app.notify("select at least 2 to compare", markup=False)
        return False
    comparison = compare(case.index, selections)
    app.push_screen(ComparisonScreen(comparison, selections_title(selections)))
    return True


def value_groups(comparison: Comparison, field_number: int) -> list[int]:
    """For each column, the first column holding an equal value (core decides equality).

    Drawn as letters (a, b, ...) before the values when three or more are compared, so
    "1 and 3 share an address, 2 does not" reads without colour.
    """
    compared = comparison.fields[field_number]
    groups: list[int] = []
    for column in range(len(compared.values)):
        first = next(c for c in range(column + 1) if compared.equal_between(c, column))
        groups.append(groups[first] if first < column else max(groups, default=-1) + 1)
    return groups


class ComparisonScreen(Screen[None]):
    """One header of columns, one line per property, then the message sets and each message."""

    DEFAULT_CSS = """
    ComparisonScreen #comparison-title { height: 1; padding: 0 1; text-style: bold; }
    ComparisonScreen #comparison-lines { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="comparison.back"),
    ]

    def __init__(self, comparison: Comparison, title: str) -> None:
        super().__init__()
        self.comparison = comparison
        self.title_text = title
        self.value_width = 18
        # What each line shows, as (kind, number, part): rebuilt when the width changes (a
        # long value wraps onto more lines), drawn lazily by `line()`, because two busy
        # contexts can share tens of thousands of messages.
        self.entries: list[tuple[str, int, int]] = []
        # Per column totals, for the summary: a tally of core's flags, not a new judgement.
        self.touched = [
            sum(1 for m in comparison.messages if m.touched[n])
            for n in range(len(comparison.columns))
        ]

    def compose(self) -> ComposeResult:
        yield Static(
            Content(
                f"Comparing {self.title_text}  {EQUAL} equal  {DIFFERENT} different"
                "  Enter: in full  Esc: back"
            ),
            id="comparison-title",
        )
        yield LineList(id="comparison-lines")
        yield Footer()

    @property
    def lines(self) -> LineList:
        return self.query_one("#comparison-lines", LineList)

    def on_mount(self) -> None:
        self._layout(self.app.size.width)
        self.lines.focus()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        columns = len(self.comparison.columns)
        room = width - LIST_CHROME - HEAD_WIDTH - (columns - 1)
        self.value_width = max(MIN_VALUE_WIDTH, room // columns)
        self.entries = self._entries()
        self.lines.set_lines(len(self.entries), self.line, self._header(), self.text_width)

    @property
    def text_width(self) -> int:
        """Cells a line's text takes: the name, the symbol, the values and their gaps."""
        columns = len(self.comparison.columns)
        return HEAD_WIDTH + columns * (self.value_width + 1) - 1

    # -- what the lines are ------------------------------------------------------------
    def _entries(self) -> list[tuple[str, int, int]]:
        comparison = self.comparison
        entries = [("legend", n, 0) for n in range(len(comparison.columns))]
        entries.append(("blank", 0, 0))
        for number in range(len(comparison.fields)):
            parts = len(self._field_cells(number))
            entries += [("field", number, part) for part in range(parts)]
        entries += [("blank", 0, 0), ("messages", 0, 0), ("touched", 0, 0), ("only", 0, 0)]
        if len(comparison.columns) > 2:
            entries.append(("pairs", 0, 0))
        if comparison.messages:
            entries.append(("message_header", 0, 0))
            entries += [("message", n, 0) for n in range(len(comparison.messages))]
        return entries

    def _header(self) -> str:
        cells = [fit(label, self.value_width) for label in self.comparison.columns]
        return fit("Property", NAME_WIDTH) + "   " + " ".join(cells)

    def _field_cells(self, number: int) -> list[str]:
        """A property's values as lines of text after the symbol.

        Equal values are shown once across every column (the first column's spelling, where
        core compares without case): the eye finds the differences faster, and a UPN gets
        the whole width. Different values wrap in their column up to
        VALUE_LINES lines, so a SessionId or a time span can be read, not only told apart.
        """
        compared = self.comparison.fields[number]
        if compared.equal:
            return [pad(safe(compared.values[0], limit=None) or EMPTY_VALUE, self.value_room)]
        lettered = len(compared.values) > 2
        groups = value_groups(self.comparison, number) if lettered else []
        inner = self.value_width - (2 if lettered else 0)
        columns: list[list[str]] = []
        for column, value in enumerate(compared.values):
            pieces = chop(safe(value, limit=None) or EMPTY_VALUE, inner, VALUE_LINES)
            if lettered:
                letter = chr(ord("a") + groups[column] % 26)
                pieces = [(f"{letter} " if n == 0 else "  ") + p for n, p in enumerate(pieces)]
            columns.append(pieces)
        depth = max(len(pieces) for pieces in columns)
        blank = " " * self.value_width
        return [
            " ".join(pieces[line] if line < len(pieces) else blank for pieces in columns)
            for line in range(depth)
        ]

    @property
    def value_room(self) -> int:
        return self.text_width - HEAD_WIDTH

    # -- drawing -----------------------------------------------------------------------
    def line(self, position: int) -> tuple[str, Style]:
        """The text and style of a body line (public so tests read what is drawn)."""
        kind, number, part = self.entries[position]
        if kind == "field":
            return self._draw_field(number, part)
        text, style = getattr(self, f"_draw_{kind}")(number)
        return pad(text, self.text_width).rstrip(), style

    def _draw_blank(self, number: int) -> tuple[str, Style]:
        return "", PLAIN

    def _draw_legend(self, number: int) -> tuple[str, Style]:
        return f"{number + 1}: {safe(self.comparison.columns[number], limit=120)}", PLAIN

    def _draw_field(self, number: int, part: int) -> tuple[str, Style]:
        compared = self.comparison.fields[number]
        cells = self._field_cells(number)[part]
        if part == 0:
            symbol = EQUAL if compared.equal else DIFFERENT
            head = fit(compared.name, NAME_WIDTH) + f" {symbol} "
        else:
            head = " " * HEAD_WIDTH
        return (head + cells).rstrip(), PLAIN if compared.equal else DIFFERENT_STYLE

    def _draw_messages(self, number: int) -> tuple[str, Style]:
        comparison = self.comparison
        return (
            f"Messages: {len(comparison.messages):,} touched, "
            f"{len(comparison.common):,} by every column (common)",
            SECTION_STYLE,
        )

    def _draw_touched(self, number: int) -> tuple[str, Style]:
        return "  touched by " + ", ".join(
            f"{n + 1}: {count:,}" for n, count in enumerate(self.touched)
        ), PLAIN

    def _draw_only(self, number: int) -> tuple[str, Style]:
        return "  only in " + ", ".join(
            f"{n + 1}: {len(only):,}" for n, only in enumerate(self.comparison.only)
        ), PLAIN

    def _draw_pairs(self, number: int) -> tuple[str, Style]:
        return "  in both " + ", ".join(
            f"{i + 1}+{j + 1}: {len(shared):,}"
            for (i, j), shared in sorted(self.comparison.overlap.items())
        ), PLAIN

    def _draw_message_header(self, number: int) -> tuple[str, Style]:
        columns = " ".join(str(n + 1)[-1] for n in range(len(self.comparison.columns)))
        return f"{columns}  {'First access (UTC)':<19}  InternetMessageId", SECTION_STYLE

    def _draw_message(self, number: int) -> tuple[str, Style]:
        message = self.comparison.messages[number]
        marks = " ".join(TOUCHED if t else UNTOUCHED for t in message.touched)
        return f"{marks}  {short_time(message.first)}  {safe(message.shown, limit=None)}", PLAIN

    # -- in full -----------------------------------------------------------------------
    def on_line_list_opened(self, event: LineList.Opened) -> None:
        event.stop()
        kind, number, _ = self.entries[event.position]
        comparison = self.comparison
        if kind == "field":
            compared = comparison.fields[number]
            verdict = "equal" if compared.equal else "different"
            lines = [f"{compared.name}: {verdict}", ""]
            for label, value in zip(comparison.columns, compared.values, strict=True):
                lines += [safe(label), "  " + (safe(value, limit=None) or EMPTY_VALUE), ""]
            self.app.push_screen(FullValues(lines))
        elif kind == "message":
            message = comparison.messages[number]
            lines = [safe(message.shown, limit=None), f"first access {short_time(message.first)}"]
            lines += [
                f"  {TOUCHED if touched else UNTOUCHED} {safe(label)}"
                for label, touched in zip(comparison.columns, message.touched, strict=True)
            ]
            self.app.push_screen(FullValues(lines))


def pad(text: str, width: int) -> str:
    r"""Already sanitised text padded or cut (with …) to `width` cells.

    `fit()` sanitises, and sanitising twice would double the backslash of every escape
    (`\\x1b` instead of `\x1b`), so text that went through `safe()` is sized here.
    """
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def chop(text: str, width: int, lines: int) -> list[str]:
    """Already sanitised text in lines of `width` cells, at most `lines`, the last cut with …."""
    pieces = chop_cells(text, width) or [""]
    if len(pieces) > lines:
        pieces = [*pieces[: lines - 1], pad("".join(pieces[lines - 1 :]), width)]
    return [pad(piece, width) for piece in pieces]


class FullValues(ModalScreen[None]):
    """A property's values or a message id in full, where the columns had to cut them."""

    DEFAULT_CSS = """
    FullValues { align: center middle; }
    FullValues #full-values {
        width: 76; height: auto; max-height: 20;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    BINDINGS = [Binding("escape,q,enter", "app.pop_screen", "Close", id="full_values.close")]

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.text = "\n".join(lines)  # already sanitised line by line

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="full-values"):
            yield Static(safe_lines([self.text]))  # not escaped a second time


class ContextRecords(Screen[None]):
    """The records of one access context, in time order; Enter opens a record in full."""

    DEFAULT_CSS = """
    ContextRecords #context-records-title { height: 1; padding: 0 1; text-style: bold; }
    ContextRecords RecordTable { height: 1fr; }
    """

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", id="context_records.back")]

    def __init__(
        self, case: Case, context: AccessContext, marked: set[int], suspect: set[int]
    ) -> None:
        super().__init__()
        self.case = case
        self.context = context
        self.marked = marked
        self.suspect = suspect

    def compose(self) -> ComposeResult:
        context = self.context
        with Vertical():
            yield Static(
                Content(
                    f"{context.id}: {context.records:,} records from "
                    f"{safe(context.client_ip, limit=40)} {context.client_family}"
                    "  (Enter: record, Esc: back)"
                ),
                id="context-records-title",
            )
            yield RecordTable(id="context-records")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(RecordTable)
        table.show(self.case.index, np.ascontiguousarray(self.context.rows, dtype=np.int64))
        table.set_flags(self.marked, self.suspect)
        table.focus()

    def on_line_list_opened(self, event: LineList.Opened) -> None:
        # Handled here, not left to the app's handler, so this screen owns what Enter does.
        event.stop()
        row = self.query_one(RecordTable).current_row
        if row is not None:
            self.app.push_screen(RecordDetail(self.case, row))
