"""Records pane: every record in time order as a virtual list (Line API), filter and search.

Only visible lines are rendered, from an LRU of formatted rows; moving the cursor refreshes
the two lines that changed (engineering.md: a full refresh per key sent ~4.0 KB over SSH at
80x24, two lines ~1.4 KB). Filtering and sorting are core calls returning row arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Input, Static

from ualscope.core.index.audit_index import AuditIndex
from ualscope.core.normalise.times import from_iso
from ualscope.core.query import QueryError, describe_keys, evaluate, parse_query
from ualscope.core.record_view import RECORD_COLUMNS, record_cells, sort_rows

from .line_list import LineList
from .pane import CasePane
from .target import Target, record_target
from .text import fit, safe

if TYPE_CHECKING:
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile

FLAG_WIDTH = 2  # "*" marked, "!" suspect: symbols, so the state survives NO_COLOR

SUSPECT_STYLE = Style(color="red")
MARKED_STYLE = Style(color="yellow")


class RecordTable(LineList):
    """The records of a view (an array of index rows), one line each, with flags."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index: AuditIndex | None = None
        self.rows: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.marked: set[int] = set()
        self.suspect: set[int] = set()
        self._width = FLAG_WIDTH + sum(c.width + 1 for c in RECORD_COLUMNS)
        self._header = " " * FLAG_WIDTH + "".join(
            fit(c.title, c.width) + " " for c in RECORD_COLUMNS
        )

    def show(
        self, index: AuditIndex, rows: npt.NDArray[np.int64], keep_row: int | None = None
    ) -> None:
        self.index = index
        self.rows = rows
        position = 0
        if keep_row is not None and len(rows):
            found = np.flatnonzero(rows == keep_row)
            position = int(found[0]) if len(found) else 0
        self.set_lines(len(rows), self._record_line, self._header, self._width)
        self.go_to(position)

    def set_flags(self, marked: set[int], suspect: set[int]) -> None:
        self.marked, self.suspect = marked, suspect
        self.redraw()

    @property
    def current_row(self) -> int | None:
        if not len(self.rows):
            return None
        return int(self.rows[min(self.cursor, len(self.rows) - 1)])

    def _record_line(self, position: int) -> tuple[str, Style]:
        assert self.index is not None
        row = int(self.rows[position])
        cells = record_cells(self.index, row)
        text = "".join(fit(v, c.width) + " " for v, c in zip(cells, RECORD_COLUMNS, strict=True))
        flags = ("*" if row in self.marked else " ") + ("!" if row in self.suspect else " ")
        style = (
            SUSPECT_STYLE
            if row in self.suspect
            else MARKED_STYLE
            if row in self.marked
            else Style()
        )
        return flags + text, style


class RecordsPane(CasePane):
    """The records list with its query bar: filter (`f`), search (`/`), sort, go to time."""

    pane_title = "Records"
    help_text = "Query keys (filter and search):\n" + "\n".join(
        f"  {key:<12} {text}" for key, text in describe_keys()
    )

    BINDINGS = [
        Binding("f", "ask('filter')", "Filter", id="records.filter"),
        Binding("slash", "ask('search')", "Search", id="records.search"),
        Binding("n", "match(1)", "Next match", id="records.next_match"),
        Binding("N", "match(-1)", "Previous match", id="records.previous_match"),
        Binding("o", "sort(1)", "Sort", id="records.sort"),
        Binding("O", "sort(-1)", "Sort back", id="records.sort_back", show=False),
        Binding("t", "ask('time')", "Go to time", id="records.time"),
        Binding("escape", "clear", "Clear search/filter", id="records.clear", show=False),
    ]

    PROMPTS = {
        "filter": "filter (op: ip: session: mailbox: user: type: folder: after: before: has: text)",
        "search": "search: free text or key:value; n / N to move between matches",
        "time": "go to time (UTC), e.g. 2022-03-28T09:00",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index: AuditIndex | None = None
        self.query_text = ""
        self.search_text = ""
        self._matches: npt.NDArray[np.int64] | None = None
        self._base: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._sort = 0  # position in RECORD_COLUMNS; 0 is time
        self._mode = ""
        self.preview = False  # showing what has loaded so far of a large case

    def compose(self) -> ComposeResult:
        yield Input(id="records-input", classes="hidden")
        yield Static(id="records-status")
        yield RecordTable(id="records-table")

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    def show_case(self, case: Case, case_file: CaseFile) -> None:
        index = case.index
        marked = {
            row
            for mark in case_file.marks
            if mark.target_kind == "record" and (row := index.row_of(mark.target_id)) is not None
        }
        self.table.set_flags(marked, set(case.suspect_rows().tolist()))

    def target(self) -> Target | None:
        row = self.table.current_row
        if self.index is None or row is None:
            return None
        return record_target(self.index, row)

    def load(self, index: AuditIndex, *, preview: bool = False) -> None:
        """Show `index`: a preview while a large case loads, then the case itself.

        The filter and the record under the cursor carry over from one index to the next
        (rows differ between them; record ids do not), so browsing goes on as more loads.
        """
        previous = self.index
        at = self.table.current_row
        record = previous.record_id(at) if previous is not None and at is not None else None
        self.index = index
        self.preview = preview
        self._base = np.arange(len(index), dtype=np.int64)
        if self.query_text:
            try:
                self._base = evaluate(index, parse_query(self.query_text))
            except QueryError:
                self.query_text = ""
        self._matches = None
        keep = index.row_of(record) if record is not None else None
        self._apply(keep=keep)
        if previous is None:
            self.table.focus()

    # -- view --------------------------------------------------------------------------
    def _apply(self, keep: int | None) -> None:
        if self.index is None:
            return
        rows = self._base
        column = RECORD_COLUMNS[abs(self._sort)]
        rows = sort_rows(self.index, rows, column.key)
        if self._sort < 0:
            rows = rows[::-1]
        self.table.show(self.index, np.ascontiguousarray(rows), keep_row=keep)
        self._status()

    def _status(self, error: str = "") -> None:
        total = len(self.index) if self.index is not None else 0
        parts = [f"{len(self.table.rows):,} of {total:,} records"]
        if self.query_text:
            parts.append("filter: " + safe(self.query_text, limit=80))
        if self.search_text and self._matches is not None:
            parts.append(
                f"search: {safe(self.search_text, limit=40)} ({len(self._matches):,} hits)"
            )
        column = RECORD_COLUMNS[abs(self._sort)]
        parts.append(f"sorted by {column.title}{' (reversed)' if self._sort < 0 else ''}")
        if self.preview:
            parts.insert(0, "LOADING: the records read so far")
        if error:
            parts = [error]
        self.query_one("#records-status", Static).update(Content("  |  ".join(parts)))

    # -- actions -----------------------------------------------------------------------
    def action_ask(self, mode: str) -> None:
        field = self.query_one("#records-input", Input)
        self._mode = mode
        field.placeholder = self.PROMPTS[mode]
        field.value = {"filter": self.query_text, "search": self.search_text}.get(mode, "")
        field.remove_class("hidden")
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = event.input
        field.add_class("hidden")
        self.table.focus()
        text = event.value.strip()
        handler = {"filter": self.run_filter, "search": self.run_search, "time": self.go_to_time}
        handler[self._mode](text)

    def run_filter(self, text: str) -> None:
        if self.index is None:
            return
        keep = self.table.current_row
        if not text:
            self.query_text = ""
            self._base = np.arange(len(self.index), dtype=np.int64)
            self._apply(keep)
            return
        try:
            rows = evaluate(self.index, parse_query(text))
        except QueryError as error:
            self._status(error=f"filter not applied: {error}")
            return
        self.query_text = text
        self._base = rows
        self._apply(keep)

    def run_search(self, text: str) -> None:
        if self.index is None:
            return
        if not text:
            self.search_text, self._matches = "", None
            self._status()
            return
        try:
            self._matches = evaluate(self.index, parse_query(text))
        except QueryError as error:
            self._status(error=f"search not run: {error}")
            return
        self.search_text = text
        self._status()
        self.action_match(1)

    def go_to_time(self, text: str) -> None:
        if self.index is None or not text:
            return
        try:
            moment = from_iso(text)
        except ValueError:
            self._status(error=f"not a time: {safe(text, limit=60)} (use 2022-03-28T09:00)")
            return
        times = self.index.time[self.table.rows]
        if self._sort == 0:
            self.table.go_to(int(np.searchsorted(times, moment)))
        else:
            self.table.go_to(int(np.argmin(np.abs(times - moment))))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "match":
            # `n` is the note key except while a search is active (then: next match).
            return self._matches is not None
        return True

    def action_match(self, direction: int) -> None:
        if self._matches is None:
            return
        table = self.table
        hits = np.flatnonzero(np.isin(table.rows, self._matches))
        if not len(hits):
            self._status(error=f"no record in this view matches {safe(self.search_text, limit=60)}")
            return
        if direction > 0:
            after = hits[hits > table.cursor]
            table.go_to(int(after[0] if len(after) else hits[0]))
        else:
            before = hits[hits < table.cursor]
            table.go_to(int(before[-1] if len(before) else hits[-1]))

    def action_sort(self, step: int) -> None:
        keep = self.table.current_row
        if step > 0:
            self._sort = (abs(self._sort) + 1) % len(RECORD_COLUMNS)
        else:
            self._sort = -self._sort if self._sort else 0
        self._apply(keep)

    def action_clear(self) -> None:
        field = self.query_one("#records-input", Input)
        if not field.has_class("hidden"):
            field.add_class("hidden")
            self.table.focus()
        elif self._matches is not None:
            self.run_search("")
        elif self.query_text:
            self.run_filter("")
