"""Small modal prompts: a line of text (notes, export path) and a choice from a list.

A prompt or option given as `str` is sanitised here; one given as `Content` is display text
already (a target's label, whose values passed safe()) and is shown as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from .text import safe


def shown(text: str | Content, limit: int) -> Content:
    return text if isinstance(text, Content) else Content(safe(text, limit=limit))


class TextDialog(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, prompt: str | Content, value: str) -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(shown(self.prompt, 200))
            yield Input(value=self.value, id="dialog-input")
            yield Static(Content("Enter to confirm, Esc to cancel"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, prompt: str | Content, options: Sequence[str | Content]) -> None:
        super().__init__()
        self.prompt = prompt
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(shown(self.prompt, 200))
            yield OptionList(
                *[Option(shown(text, 70), id=str(i)) for i, text in enumerate(self.options)],
                id="dialog-options",
            )
            yield Static(Content("Enter to choose, Esc to cancel"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
