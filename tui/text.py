"""The one crossing from core values to the screen: sanitised, never parsed as markup.

Everything drawn from evidence passes `safe()` (escapes controls, bidi overrides and
zero-width characters via core's sanitiser) and is handed to widgets as `Content`, which
Textual does not parse for markup, so `[bold]` or `[@click=app.quit]` in a subject stays text.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len, set_cell_size
from textual.content import Content

from ualscope.core.textsafe import display_block, display_text


def safe(value: object, limit: int | None = 300) -> str:
    return display_text(value, limit=limit)


def fit(value: object, width: int) -> str:
    """Sanitised and padded or cut to exactly `width` terminal cells (cut text ends in …).

    Cells, not characters: a CJK subject or an emoji takes two, and a row must not push
    the next column out of line.
    """
    text = display_text(value, limit=None)
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def content(value: object, limit: int | None = 300) -> Content:
    return Content(display_text(value, limit=limit))


def block(value: object) -> Content:
    return Content(display_block(value))


def safe_lines(lines: Iterable[str]) -> Content:
    r"""Lines whose evidence values already went through `safe()`, joined as they are.

    Not `block()`: escaping again doubles the backslash of every escape, so an ESC in the
    data would show as `\\x1b`, which is how the four characters `\x1b` typed in data show.
    """
    return Content("\n".join(lines))
