"""Messages between the loading worker, the app and the panes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ualscope.core.case import Case
    from ualscope.core.index.audit_index import AuditIndex
    from ualscope.core.ingest.loader import LoadProgress


@dataclass
class LoadProgressed(Message):
    """The background load moved on."""

    progress: LoadProgress


@dataclass
class CaseLoaded(Message):
    """The evidence is loaded and indexed."""

    case: Case


@dataclass
class CasePreviewed(Message):
    """Part of a large case has loaded: the records read so far, for browsing meanwhile."""

    index: AuditIndex


@dataclass
class LoadFailed(Message):
    """The load stopped: cancelled or nothing readable."""

    reason: str


class CaseChanged(Message):
    """Suspects, marks or notes changed: panes showing analyses redraw."""
