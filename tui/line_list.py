"""A virtual list for every pane: Line API, fixed header, cursor, selection, no markup.

DataTable took 13 s for 100,000 rows (engineering.md); this renders only visible lines
through a `line(position)` callback and caches them. Moving the cursor refreshes the two
lines that changed. Text reaches the terminal as Segments built from sanitised strings, so
nothing is parsed as markup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

CACHE_LINES = 4096

HEADER_STYLE = Style(bold=True, underline=True)
CURSOR_STYLE = Style(reverse=True)
SELECTED_MARK = "+"  # selection is shown by a symbol, not only by colour

# A line provider returns the line's text (already sanitised and fitted) and its style.
LineProvider = Callable[[int], tuple[str, Style]]


class LineList(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("down,j", "move(1)", "Down", id="list.down", show=False),
        Binding("up,k", "move(-1)", "Up", id="list.up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="list.pagedown", show=False),
        Binding("pageup", "page(-1)", "Page up", id="list.pageup", show=False),
        Binding("g,home", "first", "Top", id="list.top", show=False),
        Binding("G,end", "last", "Bottom", id="list.bottom", show=False),
        Binding("enter", "open", "Open", id="list.open"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Opened(Message):
        """Enter on a line."""

        def __init__(self, source: LineList, position: int) -> None:
            super().__init__()
            self.source = source
            self.position = position

    class Moved(Message):
        """The cursor moved."""

        def __init__(self, source: LineList, position: int) -> None:
            super().__init__()
            self.source = source
            self.position = position

    def __init__(self, *, id: str | None = None, selectable: bool = False) -> None:
        super().__init__(id=id)
        self.count = 0
        self.header = ""
        self.selectable = selectable
        self.selected: set[int] = set()
        self._provider: LineProvider = lambda position: ("", Style())
        self._cache: OrderedDict[int, tuple[str, Style]] = OrderedDict()

    def set_lines(self, count: int, provider: LineProvider, header: str, width: int) -> None:
        """Show `count` lines drawn by `provider`; keeps the cursor where it can."""
        self.count = count
        self.header = header
        self._provider = provider
        self._cache.clear()
        self.selected = {p for p in self.selected if p < count}
        self.virtual_size = Size(width + 2, count + 1)
        self.cursor = min(self.cursor, max(count - 1, 0))
        self.refresh()

    def redraw(self) -> None:
        self._cache.clear()
        self.refresh()

    def _line(self, position: int) -> tuple[str, Style]:
        found = self._cache.get(position)
        if found is None:
            found = self._provider(position)
            self._cache[position] = found
            if len(self._cache) > CACHE_LINES:
                self._cache.popitem(last=False)
        return found

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:
            header = Strip([Segment("  " + self.header, HEADER_STYLE)])
            return header.crop(scroll_x, scroll_x + width)
        position = scroll_y + y - 1
        if position >= self.count:
            # A style, never None: with NO_COLOR, Textual's monochrome filter reads the style
            # of every segment and crashed on a blank line (an empty or short list).
            return Strip.blank(width, Style())
        text, style = self._line(position)
        mark = SELECTED_MARK if position in self.selected else " "
        if position == self.cursor:
            style = style + (CURSOR_STYLE if self.has_focus else Style(underline=True))
        strip = Strip([Segment(mark + " " + text, style)])
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, style)

    # -- cursor and selection ----------------------------------------------------------
    def _scroll_to_cursor(self) -> None:
        # The content region, not the widget: a horizontal scrollbar takes the last row.
        height = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_y)
        self._scroll_to_cursor()
        if int(self.scroll_y) == top:
            for position in (old, new):
                self.refresh_line(position + 1)  # virtual line: the header is line 0
        self.post_message(self.Moved(self, new))

    def action_move(self, delta: int) -> None:
        if self.count:
            self.cursor = max(0, min(self.count - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self.action_move(-self.count)

    def action_last(self) -> None:
        self.action_move(self.count)

    def action_open(self) -> None:
        if self.count:
            self.post_message(self.Opened(self, self.cursor))

    def toggle_selected(self) -> None:
        if not self.count or not self.selectable:
            return
        self.selected ^= {self.cursor}
        self.refresh_line(self.cursor + 1)

    def go_to(self, position: int) -> None:
        if self.count:
            self.cursor = max(0, min(self.count - 1, position))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
