"""Scope of compromise: what the contexts named as the attacker's reached.

Microsoft's method, steps 2-4 (domain.md): from the attacker's records, the exact messages
bound (opened), the folders synced (every item assumed read, and readable offline from then
on), and the windows in which the trail was blind during the attack (throttling, known
outages). The investigator names the attacker by client address, session (SessionId,
AADSessionId or UniqueTokenId), user, app, or explicit context ids; a record matching any of
them is the attacker's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..index.audit_index import AuditIndex, normalise_message_id, sorted_unique
from ..normalise.addresses import normalise_address
from ..normalise.record import ACCESS_BIND, ACCESS_SYNC
from .findings import Finding, Severity, make_finding
from .outages import KnownOutage, outages_overlapping
from .throttling import ThrottledWindow, throttled_windows

Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Suspects:
    """What the investigator says is the attacker's."""

    client_ips: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()  # SessionId, AADSessionId or UniqueTokenId
    users: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()  # AppId or ClientAppId
    context_ids: tuple[str, ...] = ()
    record_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any(
            (
                self.client_ips,
                self.sessions,
                self.users,
                self.apps,
                self.context_ids,
                self.record_ids,
            )
        )

    def described(self) -> list[tuple[str, str]]:
        """(kind, value) pairs, for reports."""
        pairs = [("client address", v) for v in self.client_ips]
        pairs += [("session", v) for v in self.sessions]
        pairs += [("user", v) for v in self.users]
        pairs += [("app", v) for v in self.apps]
        pairs += [("context", v) for v in self.context_ids]
        pairs += [("record", v) for v in self.record_ids]
        return pairs


@dataclass(frozen=True)
class BoundMessage:
    internet_message_id: str  # as first recorded
    folder: str
    mailbox: str
    record_ids: tuple[str, ...]
    first_access: int


@dataclass(frozen=True)
class SyncedFolder:
    mailbox: str
    folder: str
    record_id: str
    time: int


@dataclass(frozen=True)
class AttackerOperation:
    """Something else the attacker did in those sessions: a rule, a send, a delete."""

    time: int
    operation: str
    mailbox: str
    record_id: str
    client_ip: str
    detail: str  # subject, object or folder, whichever the record has


@dataclass(frozen=True)
class Scope:
    suspects: Suspects
    rows: Rows  # every attacker record, all operations, time order
    first_activity: int | None
    last_activity: int | None
    mailboxes: tuple[str, ...]
    bound_messages: tuple[BoundMessage, ...]
    synced_folders: tuple[SyncedFolder, ...]
    throttled_windows: tuple[ThrottledWindow, ...]
    outages: tuple[KnownOutage, ...]
    other_operations: tuple[AttackerOperation, ...]


def attacker_rows(index: AuditIndex, suspects: Suspects) -> Rows:
    """Rows of every record matching any suspect, in time order."""
    found: list[Rows] = []
    for address in suspects.client_ips:
        found.append(index.rows_with("client_ip", normalise_address(address)))
    for session in suspects.sessions:
        value = session.strip()
        for field in ("session_id", "aad_session_id", "unique_token_id"):
            found.append(index.rows_with(field, value))
    for user in suspects.users:
        found.append(index.rows_with_casefold("user_id", user.strip()))
    for app in suspects.apps:
        for field in ("app_id", "client_app_id"):
            found.append(index.rows_with_casefold(field, app.strip()))
    if suspects.context_ids:
        from .contexts import context_by_id

        for context_id in suspects.context_ids:
            context = context_by_id(index, context_id)
            if context is not None:
                found.append(context.rows)
    for record_id in suspects.record_ids:
        row = index.row_of(record_id)
        if row is not None:
            found.append(np.array([row], dtype=np.int64))
    if not found:
        return np.empty(0, dtype=np.int64)
    return sorted_unique(np.concatenate(found))


def _bound_messages(index: AuditIndex, rows: Rows) -> tuple[BoundMessage, ...]:
    groups: dict[tuple[str, str, str], list[int]] = {}
    shown: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    mia = index.code_of("operation", "MailItemsAccessed")
    binds = (
        rows[
            (index.codes["operation"][rows] == mia)
            & (index.ints["access_type"][rows] == ACCESS_BIND)
        ]
        if mia is not None
        else rows[:0]
    )
    for row in binds.tolist():
        mailbox = index.text("mailbox", row)
        for message_id, folder, _size in index.items(row):
            if not message_id:
                continue
            key = (normalise_message_id(message_id), folder.casefold(), mailbox.casefold())
            groups.setdefault(key, []).append(row)
            shown.setdefault(key, (message_id, folder, mailbox))
    messages = []
    for key, member_rows in groups.items():
        message_id, folder, mailbox = shown[key]
        ordered = sorted(set(member_rows))
        messages.append(
            BoundMessage(
                internet_message_id=message_id,
                folder=folder,
                mailbox=mailbox,
                record_ids=tuple(index.record_id(r) for r in ordered),
                first_access=int(index.time[ordered[0]]),
            )
        )
    messages.sort(
        key=lambda m: (m.first_access, normalise_message_id(m.internet_message_id), m.folder)
    )
    return tuple(messages)


def _synced_folders(index: AuditIndex, rows: Rows) -> tuple[SyncedFolder, ...]:
    mia = index.code_of("operation", "MailItemsAccessed")
    if mia is None:
        return ()
    syncs = rows[
        (index.codes["operation"][rows] == mia) & (index.ints["access_type"][rows] == ACCESS_SYNC)
    ]
    found = []
    for row in syncs.tolist():
        folders = [f for m, f, _ in index.items(row) if not m and f] or [index.text("folder", row)]
        for folder in dict.fromkeys(folders):
            found.append(
                SyncedFolder(
                    mailbox=index.text("mailbox", row),
                    folder=folder,
                    record_id=index.record_id(row),
                    time=int(index.time[row]),
                )
            )
    found.sort(key=lambda s: (s.time, s.mailbox.casefold(), s.folder, s.record_id))
    return tuple(found)


def _other_operations(index: AuditIndex, rows: Rows) -> tuple[AttackerOperation, ...]:
    mia = index.code_of("operation", "MailItemsAccessed")
    others = rows if mia is None else rows[index.codes["operation"][rows] != mia]
    result = []
    for row in others.tolist():
        detail = (
            index.text("subject", row) or index.text("object_id", row) or index.text("folder", row)
        )
        result.append(
            AttackerOperation(
                time=int(index.time[row]),
                operation=index.text("operation", row),
                mailbox=index.text("mailbox", row),
                record_id=index.record_id(row),
                client_ip=index.text("client_ip", row),
                detail=detail,
            )
        )
    return tuple(result)


def scope_of_compromise(
    index: AuditIndex, suspects: Suspects, *, window: tuple[int, int] | None = None
) -> Scope:
    """The attacker's reach; `window` restricts it to an investigation window [start, end)."""
    rows = attacker_rows(index, suspects)
    if window is not None:
        times = index.time[rows]
        rows = rows[(times >= window[0]) & (times < window[1])]
    first = int(index.time[rows[0]]) if len(rows) else None
    last = int(index.time[rows[-1]]) if len(rows) else None
    mailboxes = sorted({index.text("mailbox", r) for r in rows.tolist()} - {""}, key=str.casefold)
    folded = {m.casefold() for m in mailboxes}
    windows: tuple[ThrottledWindow, ...] = ()
    outages: tuple[KnownOutage, ...] = ()
    if first is not None and last is not None:
        windows = tuple(
            w
            for w in throttled_windows(index)
            if w.mailbox.casefold() in folded and w.start <= last and first < w.end
        )
        outages = tuple(outages_overlapping(first, last + 1))
    return Scope(
        suspects=suspects,
        rows=rows,
        first_activity=first,
        last_activity=last,
        mailboxes=tuple(mailboxes),
        bound_messages=_bound_messages(index, rows),
        synced_folders=_synced_folders(index, rows),
        throttled_windows=windows,
        outages=outages,
        other_operations=_other_operations(index, rows),
    )


_RULE_OPERATIONS = frozenset(
    {"new-inboxrule", "set-inboxrule", "updateinboxrules", "set-mailbox", "enable-inboxrule"}
)
_SEND_OPERATIONS = frozenset({"send", "sendas", "sendonbehalf"})
_DELETE_OPERATIONS = frozenset({"softdelete", "harddelete", "movetodeleteditems"})


def scope_findings(scope: Scope) -> list[Finding]:
    """Findings a responder writes down from the scope: syncs, binds, rules, sends, deletes."""
    findings: list[Finding] = []
    for synced in scope.synced_folders:
        findings.append(
            make_finding(
                "sync_in_attacker_context",
                Severity.HIGH,
                f"Folder {synced.folder} synced from the attacker's context",
                "A Sync downloads a whole folder: every item in it must be assumed read, and "
                "from then on the attacker could read it offline, where nothing is audited. "
                "A desktop-client sync usually takes more than one folder: consider the whole "
                "mailbox exposed.",
                mailbox=synced.mailbox,
                start=synced.time,
                end=synced.time,
                record_ids=(synced.record_id,),
            )
        )
    by_mailbox: dict[str, list[BoundMessage]] = {}
    for message in scope.bound_messages:
        by_mailbox.setdefault(message.mailbox.casefold(), []).append(message)
    for messages in by_mailbox.values():
        records = tuple(sorted({r for m in messages for r in m.record_ids}))
        findings.append(
            make_finding(
                "messages_bound_by_attacker",
                Severity.HIGH,
                f"{len(messages)} messages opened (bound) in the attacker's context",
                "MailItemsAccessed Bind records in the attacker's context list the exact "
                "messages opened, by InternetMessageId: collect them to review their content.",
                mailbox=messages[0].mailbox,
                start=min(m.first_access for m in messages),
                end=max(m.first_access for m in messages),
                record_ids=records,
            )
        )
    groups = (
        (
            "attacker_mailbox_rule",
            _RULE_OPERATIONS,
            Severity.HIGH,
            "Mailbox rule or forwarding change by the attacker",
            "Rules that forward, move or mark mail as read keep the "
            "attacker informed and hide replies from the owner; check their parameters.",
        ),
        (
            "attacker_send",
            _SEND_OPERATIONS,
            Severity.HIGH,
            "Message sent by the attacker",
            "Mail sent from the attacker's context: identify the recipients from message trace.",
        ),
        (
            "attacker_delete",
            _DELETE_OPERATIONS,
            Severity.MEDIUM,
            "Items deleted by the attacker",
            "Deletions in the attacker's context often hide sent mail or security notices.",
        ),
    )
    for kind, operations, severity, title, explanation in groups:
        chosen = [op for op in scope.other_operations if op.operation.lower() in operations]
        if chosen:
            findings.append(
                make_finding(
                    kind,
                    severity,
                    f"{title} ({len(chosen)})",
                    explanation,
                    mailbox=chosen[0].mailbox,
                    start=chosen[0].time,
                    end=chosen[-1].time,
                    record_ids=tuple(op.record_id for op in chosen),
                )
            )
    return findings
