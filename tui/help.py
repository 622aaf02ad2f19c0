"""`?`: every binding of the current pane and the app, with its description."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .text import block


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close", id="help.close")]

    def __init__(self, title: str, bindings: list[tuple[str, str]], extra: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.bindings = bindings
        self.extra = extra

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.bindings), default=4)
        lines = [self.title_text, ""]
        lines += [f"  {key:<{width}}  {text}" for key, text in self.bindings]
        if self.extra:
            lines += ["", self.extra]
        with VerticalScroll(id="help-body"):
            yield Static(block("\n".join(lines)))
