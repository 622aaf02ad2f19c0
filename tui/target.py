"""What the triage keys act on: the record, context, session or finding under the cursor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ualscope.core.case_file import MarkKind
    from ualscope.core.index.audit_index import AuditIndex


@dataclass(frozen=True)
class Target:
    kind: MarkKind
    id: str  # record id, context id, session key or finding id (never a row number)
    # How the target is named in messages. This label and the choices' labels are display
    # text: every evidence value in them has passed safe() once, and the app shows them as
    # they are (escaping them again would show an ESC as `\\x1b`).
    label: str
    # What `s` can designate as the attacker's, as (suspect kind, value, label) choices:
    # a record offers its address, session, user and app; a context or session itself.
    suspect_choices: tuple[tuple[str, str, str], ...] = field(default=())
    mailbox: str = ""


def record_target(index: AuditIndex, row: int) -> Target:
    """A record as a triage target: `s` offers its address, session, user, app, or itself."""
    from ualscope.core.record_view import session_of

    from .text import safe

    record_id = index.record_id(row)
    choices = [
        ("client_ip", index.text("client_ip", row), "client address"),
        ("session", session_of(index, row), "session"),
        ("user", index.text("user_id", row), "user"),
        ("app", index.text("app_id", row), "app"),
    ]
    offered = tuple(
        (kind, value, f"{label} {safe(value, limit=60)}") for kind, value, label in choices if value
    ) + (("record", record_id, "this record only"),)
    label = f"record {safe(record_id, limit=60)}"
    return Target("record", record_id, label, offered, index.text("mailbox", row))
