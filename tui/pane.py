"""The contract every pane keeps with the app: show a case, say what is under the cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical

from .target import Target

if TYPE_CHECKING:
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile


class CasePane(Vertical):
    """A pane of the explorer. Subclasses render `case` and keep no forensic logic."""

    pane_title = ""
    help_text = ""  # shown under the bindings by `?`

    def show_case(self, case: Case, case_file: CaseFile) -> None:
        """(Re)draw from the case; called after loading and whenever triage changes."""

    def target(self) -> Target | None:
        """What `m`, `n` and `s` act on in this pane, if anything."""
        return None
