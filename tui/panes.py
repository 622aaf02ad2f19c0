"""The panes, their keys and titles, in the order the number keys reach them."""

from __future__ import annotations

from textual.widget import Widget

PANES: tuple[tuple[str, str, str], ...] = (
    ("records", "1", "Records"),
    ("sessions", "2", "Sessions"),
    ("contexts", "3", "Contexts"),
    ("sendas", "4", "SendAs"),
    ("scope", "5", "Scope"),
    ("findings", "6", "Findings"),
)


def make_panes() -> list[Widget]:
    from .contexts_pane import ContextsPane
    from .findings_pane import FindingsPane
    from .records import RecordsPane
    from .scope_pane import ScopePane
    from .send_as_pane import SendAsPane
    from .sessions_pane import SessionsPane

    return [
        RecordsPane(id="records"),
        SessionsPane(id="sessions"),
        ContextsPane(id="contexts"),
        SendAsPane(id="sendas"),
        ScopePane(id="scope"),
        FindingsPane(id="findings"),
    ]
