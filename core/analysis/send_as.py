"""SendAs and SendOnBehalf: who really sent a message, and which records not to trust blindly.

A genuine delegate SendAs names the delegate in `UserId` and `MailboxOwnerUPN` and the
impersonated mailbox in `SendAsUserSmtp` (formats.md 4.1). Outlook mobile and the new
Outlook for Windows log an owner's own sends to external recipients as `SendAs` with all
three addresses equal (domain.md 3): such a record is a logging artefact, not delegation.
Addresses are compared case-insensitively: one record can spell the same address
`Megan.Bowen@...` in UserId and `megan.bowen@...` in SendAsUserSmtp.

Only send rows are looped over (a few per mailbox per day), never the whole index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from ..index.audit_index import AuditIndex, Rows
from ..normalise.clients import FAMILY_LABELS, ClientFamily
from ..normalise.times import to_iso
from .findings import Finding, Severity, make_finding, sort_findings

SEND_AS = "SendAs"
SEND_ON_BEHALF = "SendOnBehalf"
_TARGET_FIELD = {SEND_AS: "SendAsUserSmtp", SEND_ON_BEHALF: "SendOnBehalfOfUserSmtp"}
_TARGET_COLUMN = {SEND_AS: "send_as_smtp", SEND_ON_BEHALF: "send_on_behalf_smtp"}


class SendKind(StrEnum):
    DELEGATE_SEND_AS = "delegate_send_as"
    OWNER_LOGGED_AS_SEND_AS = "owner_logged_as_send_as"
    SEND_ON_BEHALF = "send_on_behalf"
    INCONSISTENT = "inconsistent"


@dataclass(frozen=True)
class SendClassification:
    row: int
    record_id: str
    time: int  # epoch seconds UTC
    operation: str  # "SendAs" or "SendOnBehalf"
    user_id: str  # the actor, as recorded
    mailbox_owner_upn: str
    target_field: str  # "SendAsUserSmtp" or "SendOnBehalfOfUserSmtp"
    target_smtp: str  # the mailbox whose identity was used, as recorded
    client_info_string: str
    client_family: str  # FAMILY_LABELS label, e.g. "Outlook mobile"
    logon_type: int  # 0 owner, 1 admin, 2 delegate, -1 absent
    subject: str
    # The InternetMessageId as recorded. In a case too large to hold message texts in memory
    # (index/messages.py), it is read from the evidence only for the sends findings cite
    # (delegated and inconsistent): "" for the thousands of owner artefacts, whose text
    # `message_id_of` reads one at a time when a screen shows one.
    message_id: str
    classification: SendKind
    reason: str
    # Groups of field names (UserId, MailboxOwnerUPN, target_field) that hold one address,
    # compared case-insensitively; only groups of two or more, empty values never grouped.
    # A UI shows the fields of one group as visibly equal.
    equal_fields: tuple[tuple[str, ...], ...]


def _same(a: str, b: str) -> bool:
    return bool(a) and a.casefold() == b.casefold()


def equal_field_groups(values: dict[str, str]) -> tuple[tuple[str, ...], ...]:
    """Field names grouped by equal (case-insensitive, non-empty) value, in the given order."""
    groups: dict[str, list[str]] = {}
    for name, value in values.items():
        if value:
            groups.setdefault(value.casefold(), []).append(name)
    return tuple(tuple(names) for names in groups.values() if len(names) > 1)


def _client_note(family: ClientFamily) -> str:
    if family is ClientFamily.OUTLOOK_MOBILE:
        return " The client is Outlook mobile, the client this defect is documented for."
    if family is ClientFamily.REST:
        return (
            " The client is REST, which the new Outlook for Windows uses (so do Graph apps:"
            " check AppId)."
        )
    label = FAMILY_LABELS[family] or "not recorded"
    return f" The client ({label}) is not one the defect is documented for: worth a second look."


def _owner_note(actor: str, owner: str, target: str) -> str:
    """What MailboxOwnerUPN says about a send whose target differs from the actor."""
    if _same(owner, actor):
        return ""
    if not owner:
        return " MailboxOwnerUPN is empty, where a delegate send normally repeats the sender."
    if _same(owner, target):
        return (
            f" MailboxOwnerUPN names the represented mailbox ({owner}), not the sender as it"
            " normally does for a delegate send."
        )
    return (
        f" MailboxOwnerUPN is {owner}, neither the sender nor the represented mailbox; a"
        " delegate send normally repeats the sender there."
    )


def classify(
    operation: str, actor: str, owner: str, target: str, family: ClientFamily
) -> tuple[SendKind, str]:
    """(classification, reason) of one send from its three addresses (already stripped)."""
    field = _TARGET_FIELD[operation]
    if not actor:
        return SendKind.INCONSISTENT, f"UserId is empty: the {operation} record names no sender."
    if not target:
        return SendKind.INCONSISTENT, (
            f"{field} is missing or empty: the {operation} record does not say whose identity"
            " was used."
        )
    if operation == SEND_ON_BEHALF:
        if _same(target, actor):
            return SendKind.INCONSISTENT, (
                f"SendOnBehalfOfUserSmtp is the sender itself ({actor}): a send on behalf of"
                " oneself is not a delegation; the record is inconsistent."
            )
        return SendKind.SEND_ON_BEHALF, (
            f"{actor} sent on behalf of {target} (SendOnBehalf permission)."
            + _owner_note(actor, owner, target)
        )
    if _same(target, actor):
        if _same(owner, actor):
            return SendKind.OWNER_LOGGED_AS_SEND_AS, (
                "UserId, MailboxOwnerUPN and SendAsUserSmtp are one address (compared"
                " case-insensitively): an owner's own send logged as SendAs, a known logging"
                " defect for Outlook mobile and the new Outlook for Windows; not evidence of"
                " delegation." + _client_note(family)
            )
        return SendKind.INCONSISTENT, (
            f"UserId and SendAsUserSmtp are one address ({actor}) but MailboxOwnerUPN is"
            f" {owner or 'empty'}: neither an owner's own send nor a delegate send."
        )
    return SendKind.DELEGATE_SEND_AS, (
        f"{actor} sent as {target} (SendAs permission): the message appears to come from"
        f" {target}." + _owner_note(actor, owner, target)
    )


def send_rows(index: AuditIndex, *, mailbox: str | None = None) -> Rows:
    """Rows of SendAs and SendOnBehalf records; with `mailbox`, those where it is the sender,
    the owner or the represented mailbox (case-insensitively)."""
    # One pass over the operation codes (a few ms for 1,000,000 rows) rather than building
    # the column's postings, a sort, for the few sends a case holds.
    codes = [index.code_of("operation", op) for op in (SEND_AS, SEND_ON_BEHALF)]
    wanted_ops = [c for c in codes if c is not None]
    rows = np.flatnonzero(np.isin(index.codes["operation"], wanted_ops)).astype(np.int64)
    if mailbox is None or not len(rows):
        return rows
    wanted = index.codes_casefold("mailbox", mailbox.strip())
    involved = np.zeros(len(rows), dtype=bool)
    # user_id, mailbox and both target columns share the "user" dictionary: one code list.
    for column in ("user_id", "mailbox", "send_as_smtp", "send_on_behalf_smtp"):
        involved |= np.isin(index.codes[column][rows], wanted)
    return rows[involved]


def _classification(index: AuditIndex, row: int, message_id: str = "") -> SendClassification:
    operation = index.text("operation", row)
    actor = index.text("user_id", row).strip()
    owner = index.text("mailbox", row).strip()
    target = index.text(_TARGET_COLUMN[operation], row).strip()
    family = ClientFamily(index.number("client_family", row))
    kind, reason = classify(operation, actor, owner, target, family)
    field = _TARGET_FIELD[operation]
    return SendClassification(
        row=row,
        record_id=index.record_id(row),
        time=int(index.time[row]),
        operation=operation,
        user_id=actor,
        mailbox_owner_upn=owner,
        target_field=field,
        target_smtp=target,
        client_info_string=index.text("client_info", row),
        client_family=FAMILY_LABELS[family],
        logon_type=index.number("logon_type", row),
        subject=index.text("subject", row),
        message_id=message_id,
        classification=kind,
        reason=reason,
        equal_fields=equal_field_groups({"UserId": actor, "MailboxOwnerUPN": owner, field: target}),
    )


def classify_sends(index: AuditIndex, *, mailbox: str | None = None) -> list[SendClassification]:
    """Every SendAs / SendOnBehalf record classified, by time then record id."""
    rows = send_rows(index, mailbox=mailbox).tolist()
    found = [_classification(index, row) for row in rows]
    # Message ids in one lookup. Re-read from the evidence one send at a time, they cost
    # 46 s for the 21,701 sends of a generated 1,000,000-record case: there only the sends
    # a finding cites are read, a few hundred records.
    cited = [
        position
        for position, send in enumerate(found)
        if index.messages.in_memory or send.classification is not SendKind.OWNER_LOGGED_AS_SEND_AS
    ]
    codes = index.codes["message_id"][[rows[position] for position in cited]]
    for position, text in zip(cited, index.messages.texts(codes), strict=True):
        found[position] = replace(found[position], message_id=text)
    return sorted(found, key=lambda s: (s.time, s.record_id))


def message_id_of(index: AuditIndex, send: SendClassification) -> str:
    """The send's InternetMessageId as recorded, read from the evidence if need be."""
    return send.message_id or index.text("message_id", send.row)


# -- findings ------------------------------------------------------------------------------


def _artefact_findings(sends: list[SendClassification]) -> list[Finding]:
    """One INFO finding per mailbox whose own sends were logged as SendAs."""
    groups: dict[str, list[SendClassification]] = defaultdict(list)
    for send in sends:
        if send.classification is SendKind.OWNER_LOGGED_AS_SEND_AS:
            groups[send.mailbox_owner_upn.casefold()].append(send)
    findings = []
    for group in groups.values():
        clients = sorted({s.client_family or "not recorded" for s in group})
        findings.append(
            make_finding(
                "send_as_logging_artefact",
                Severity.INFO,
                f"{len(group)} own send(s) of {group[0].mailbox_owner_upn} logged as SendAs",
                "UserId, MailboxOwnerUPN and SendAsUserSmtp are one address in each of these"
                " records: the owner sent from their own mailbox and Exchange logged it as"
                " SendAs, a known defect for Outlook mobile and the new Outlook for Windows."
                " Nobody was impersonated; these are not evidence of delegation. Clients: "
                + ", ".join(clients)
                + ".",
                mailbox=group[0].mailbox_owner_upn,
                start=group[0].time,
                end=group[-1].time + 1,
                record_ids=tuple(s.record_id for s in group),
            )
        )
    return findings


def _delegate_finding(send: SendClassification) -> Finding:
    verb = "on behalf of" if send.operation == SEND_ON_BEHALF else "as"
    return make_finding(
        "delegate_send",
        Severity.MEDIUM,
        f"{send.user_id} sent {verb} {send.target_smtp}",
        f"{send.reason} A delegated send answers 'who really sent this message?': the"
        f" recipient saw {send.target_smtp}, the sender was {send.user_id}. Confirm the"
        f" delegate held {send.operation} permission legitimately and recognises the message"
        f" (subject {send.subject!r}, {send.message_id or 'no InternetMessageId'}).",
        mailbox=send.target_smtp,
        start=send.time,
        end=send.time + 1,
        record_ids=(send.record_id,),
    )


def _inconsistent_finding(send: SendClassification) -> Finding:
    return make_finding(
        "send_as_inconsistent",
        Severity.LOW,
        f"{send.operation} record at {to_iso(send.time)} does not add up",
        f"{send.reason} Read the full record before drawing a conclusion from it.",
        mailbox=send.mailbox_owner_upn or send.user_id,
        start=send.time,
        end=send.time + 1,
        record_ids=(send.record_id,),
    )


def send_as_findings(sends: list[SendClassification]) -> list[Finding]:
    """INFO per mailbox of logging artefacts, MEDIUM per delegated send, LOW per inconsistency.

    Findings span [first, last + 1): end is exclusive, as for every finding.
    """
    ordered = sorted(sends, key=lambda s: (s.time, s.record_id))
    findings = _artefact_findings(ordered)
    for send in ordered:
        if send.classification in (SendKind.DELEGATE_SEND_AS, SendKind.SEND_ON_BEHALF):
            findings.append(_delegate_finding(send))
        elif send.classification is SendKind.INCONSISTENT:
            findings.append(_inconsistent_finding(send))
    return sort_findings(findings)
