"""What the triage keys act on: the record, context, session or finding under the cursor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ualscope.core.case_file import MarkKind


@dataclass(frozen=True)
class Target:
    kind: MarkKind
    id: str  # record id, context id, session key or finding id (never a row number)
    label: str  # how the target is named in messages
    # What `s` can designate as the attacker's, as (suspect kind, value, label) choices:
    # a record offers its address, session, user and app; a context or session itself.
    suspect_choices: tuple[tuple[str, str, str], ...] = field(default=())
    mailbox: str = ""
