"""A record in full: every normalised field, its bound items, the original record."""

from __future__ import annotations

import orjson
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ualscope.core.case import Case
from ualscope.core.record_view import normalised_fields

from .text import block, content, safe, safe_lines


class RecordDetail(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="detail.back"),
        Binding("down,j", "scroll(1)", "Down", id="detail.down", show=False),
        Binding("up,k", "scroll(-1)", "Up", id="detail.up", show=False),
        Binding("g,home", "top", "Top", id="detail.top", show=False),
        Binding("G,end", "bottom", "Bottom", id="detail.bottom", show=False),
    ]

    def __init__(self, case: Case, row: int) -> None:
        super().__init__()
        self.case = case
        self.row = row

    def compose(self) -> ComposeResult:
        index = self.case.index
        fields = normalised_fields(index, self.row)
        width = max(len(name) for name, _ in fields)
        lines = [f"{name:<{width}}  {safe(value, limit=None)}" for name, value in fields]
        items = list(index.items(self.row))
        if items:
            lines += ["", f"Bound items ({len(items)}):"]
            for message, folder, size in items:
                shown = safe(message, limit=None) or "(folder without items)"
                extra = f"  {size} bytes" if size >= 0 else ""
                lines.append(f"  {shown}  in {safe(folder, limit=None)}{extra}")
        try:
            original = orjson.dumps(
                self.case.original_record(self.row), option=orjson.OPT_INDENT_2
            ).decode("utf-8")
        except (OSError, ValueError) as error:
            original = f"(the original record could not be re-read: {error})"
        with VerticalScroll(id="detail-body"):
            yield Static(content("Record " + index.record_id(self.row)), classes="title")
            yield Static(safe_lines(lines), id="detail-fields")  # each value safe() once
            yield Static(
                content("Original record, as the evidence file holds it:"), classes="title"
            )
            yield Static(block(original), id="detail-original")
        yield Footer()

    def action_scroll(self, delta: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=delta, animate=False)

    def action_top(self) -> None:
        self.query_one(VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(VerticalScroll).scroll_end(animate=False)
