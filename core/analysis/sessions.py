"""Sessions: every record (any operation) grouped by the session that produced it.

A session is the thread that ties an attacker's actions together: the reads, the rule they
created, the mail they sent. Exchange records carry `SessionId`; REST/Graph records have none
(formats.md 2.1) and carry `AppAccessContext.AADSessionId` (the Entra sign-in session, which
also links to the sign-in logs) or at least `UniqueTokenId` (the token). The key is therefore
the first of the three a record has, and `kind` says which one it was, so nobody mistakes an
Entra sign-in session for an Exchange session.

One session seen from two client addresses is the signature of a stolen session cookie or
token being replayed from the attacker's machine; one address with two sessions is the
ordinary case of one client signing in twice. Both come out of the same grouping.

Grouping is numpy over the code columns (a sort of one int64 key, see contexts.py), so a
million records cost a few sorts; Python work is per session and per distinct value only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..index.audit_index import AuditIndex, Rows
from ..normalise.clients import FAMILY_LABELS, ClientFamily
from ..normalise.times import to_iso
from .contexts import (
    Distinct,
    Groups,
    distinct_per_group,
    empty_code,
    group_rows,
    select_rows,
    sorted_distinct,
)
from .findings import Finding, Severity, make_finding

# Key kinds in order of preference, with the index column behind each.
SESSION_KINDS: tuple[tuple[str, str], ...] = (
    ("SessionId", "session_id"),
    ("AADSessionId", "aad_session_id"),
    ("UniqueTokenId", "unique_token_id"),
)
# SessionId and AADSessionId are GUIDs whose case varies between exporters; UniqueTokenId is a
# case-sensitive base64url token (formats.md 2.5), so only the first two are matched ignoring case.
_GUID_KINDS = frozenset({"SessionId", "AADSessionId"})
_COLUMN_OF_KIND = dict(SESSION_KINDS)


@dataclass(frozen=True)
class Session:
    """The records of one session key and what they show about who used it."""

    id: str  # "S-" + 10 hex of sha256(kind, key): the same on every reload
    kind: str  # "SessionId" | "AADSessionId" | "UniqueTokenId"
    key: str  # as first recorded
    # Left out of ==, hash and repr: an array has no truth value; `records` says how many.
    rows: Rows = field(compare=False, repr=False)  # time order
    records: int
    first: int  # epoch seconds UTC
    last: int
    # The tuples below hold distinct non-empty values in order of first appearance.
    mailboxes: tuple[str, ...]
    users: tuple[str, ...]
    client_ips: tuple[str, ...]
    clients: tuple[str, ...]  # ClientInfoString values
    client_families: tuple[str, ...]
    apps: tuple[str, ...]  # AppId and ClientAppId values
    operations: tuple[tuple[str, int], ...]  # (operation, records), most frequent first
    aad_session_ids: tuple[str, ...]  # Entra sign-in sessions seen: the link to sign-in logs
    hints: tuple[str, ...]
    multi_address: bool


def make_session_id(kind: str, key: str) -> str:
    """The session's stable id: from its kind and key (GUIDs in any case), never from codes."""
    text = f"{kind}\x1f{key.casefold() if kind in _GUID_KINDS else key}"
    return "S-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _casefold_codes(index: AuditIndex, column: str, codes: npt.NDArray[Any]) -> Rows:
    """Codes with every case variant of a value replaced by one code (the lowest)."""
    present = sorted_distinct(codes)
    if len(present) == 0:
        return np.empty(0, dtype=np.int64)
    values = index.values(column)
    lowest: dict[str, int] = {}
    # One casefold per distinct value present, not per record; then one gather through a
    # table as long as the dictionary (a binary search per record cost ~30 ms a million).
    canonical = np.arange(len(values), dtype=np.int64)
    canonical[present] = [lowest.setdefault(values[c].casefold(), c) for c in present.tolist()]
    folded: Rows = canonical[codes]
    return folded


def _session_keys(index: AuditIndex, rows: Rows) -> tuple[npt.NDArray[np.int64], Rows]:
    """(kind number 0-2, or -1 for no session; key code) of every row."""
    present = []
    keys = []
    for kind, column in SESSION_KINDS:
        codes = index.codes[column][rows]
        present.append(codes != empty_code(index, column))
        keys.append(_casefold_codes(index, column, codes) if kind in _GUID_KINDS else codes)
    kind_number = np.select(present, [0, 1, 2], default=-1).astype(np.int64)
    key_code = np.select(present, keys, default=0).astype(np.int64)
    return kind_number, key_code


def _key_rows(
    index: AuditIndex, mailbox: str | None, rows: npt.NDArray[Any] | None
) -> tuple[Rows, npt.NDArray[np.int64], Rows]:
    selected = select_rows(index, None, mailbox=mailbox, rows=rows)
    kind_number, key_code = _session_keys(index, selected)
    return selected, kind_number, key_code


def records_without_session(
    index: AuditIndex,
    *,
    mailbox: str | None = None,
    rows: npt.NDArray[Any] | None = None,
) -> int:
    """Records with no SessionId, AADSessionId or UniqueTokenId: in no session at all."""
    _, kind_number, _ = _key_rows(index, mailbox, rows)
    return int(np.count_nonzero(kind_number < 0))


def sessions(
    index: AuditIndex,
    *,
    mailbox: str | None = None,
    rows: npt.NDArray[Any] | None = None,
) -> list[Session]:
    """Every session of the selected records (mailbox in any case), by first time then id."""
    selected, kind_number, key_code = _key_rows(index, mailbox, rows)
    keyed = kind_number >= 0
    if not keyed.any():
        return []
    keyed_rows, keyed_kinds = selected[keyed], kind_number[keyed]
    width = int(key_code.max()) + 1
    groups = group_rows(keyed_rows, keyed_kinds * width + key_code[keyed])
    # Selected rows are ascending, so a group's first row finds its kind by binary search.
    first_rows = groups.rows[groups.starts[:-1]]
    kinds = keyed_kinds[np.searchsorted(keyed_rows, first_rows)]
    found = _build_sessions(index, groups, [SESSION_KINDS[int(k)][0] for k in kinds])
    found.sort(key=lambda s: (s.first, s.id))
    return found


@dataclass(frozen=True)
class _Seen:
    """Distinct values of every column a Session lists, for all groups at once."""

    mailboxes: Distinct
    users: Distinct
    client_ips: Distinct
    clients: Distinct
    families: Distinct
    app_ids: Distinct
    client_app_ids: Distinct
    operations: Distinct
    aad_sessions: Distinct


def _seen(index: AuditIndex, groups: Groups) -> _Seen:
    def strings(column: str) -> Distinct:
        return distinct_per_group(groups, index.codes[column], skip=empty_code(index, column))

    return _Seen(
        mailboxes=strings("mailbox"),
        users=strings("user_id"),
        client_ips=strings("client_ip"),
        clients=strings("client_info"),
        families=distinct_per_group(
            groups, index.ints["client_family"], skip=int(ClientFamily.NONE)
        ),
        app_ids=strings("app_id"),
        client_app_ids=strings("client_app_id"),
        operations=distinct_per_group(groups, index.codes["operation"]),
        aad_sessions=strings("aad_session_id"),
    )


def _build_sessions(index: AuditIndex, groups: Groups, kinds: list[str]) -> list[Session]:
    seen = _seen(index, groups)

    def texts(column: str, distinct: Distinct) -> Callable[[int], tuple[str, ...]]:
        # Each column's values looked up once, each group's texts gathered in C: tens of
        # thousands of sessions on a large case, seven columns each.
        text_of = index.values(column).__getitem__
        return lambda group: tuple(map(text_of, distinct.of(group)))

    mailboxes = texts("mailbox", seen.mailboxes)
    users = texts("user_id", seen.users)
    client_ips_of = texts("client_ip", seen.client_ips)
    clients = texts("client_info", seen.clients)
    aad_sessions = texts("aad_session_id", seen.aad_sessions)
    times = index.time
    found = []
    for g, kind in enumerate(kinds):
        members = groups.of(g)
        key = index.text(_COLUMN_OF_KIND[kind], int(members[0]))
        client_ips = client_ips_of(g)
        families = tuple(FAMILY_LABELS[ClientFamily(c)] for c in seen.families.of(g))
        found.append(
            Session(
                id=make_session_id(kind, key),
                kind=kind,
                key=key,
                rows=members,
                records=len(members),
                first=int(times[members[0]]),
                last=int(times[members[-1]]),
                mailboxes=mailboxes(g),
                users=users(g),
                client_ips=client_ips,
                clients=clients(g),
                client_families=families,
                apps=_apps(index, seen, g),
                operations=_operations(index, seen.operations, g),
                aad_session_ids=aad_sessions(g),
                hints=_hints(client_ips, families),
                multi_address=len(client_ips) > 1,
            )
        )
    return found


def _apps(index: AuditIndex, seen: _Seen, group: int) -> tuple[str, ...]:
    """AppId and ClientAppId values together, in order of first appearance."""
    values = index.values("app_id")
    pairs = sorted(
        [
            *zip(seen.app_ids.rows_of(group), seen.app_ids.of(group), strict=True),
            *zip(seen.client_app_ids.rows_of(group), seen.client_app_ids.of(group), strict=True),
        ]
    )
    return tuple(dict.fromkeys(values[code] for _, code in pairs))


def _operations(index: AuditIndex, distinct: Distinct, group: int) -> tuple[tuple[str, int], ...]:
    names = index.values("operation")
    counted = zip(distinct.of(group), distinct.counts_of(group), strict=True)
    return tuple(sorted(((names[c], n) for c, n in counted), key=lambda p: (-p[1], p[0])))


def _hints(client_ips: tuple[str, ...], families: tuple[str, ...]) -> tuple[str, ...]:
    hints = []
    if len(client_ips) > 1:
        hints.append(
            f"seen from {len(client_ips)} client addresses: {', '.join(client_ips)} "
            "(token or session replay?)"
        )
    if len(families) > 1:
        hints.append(f"seen from {len(families)} client families: {', '.join(families)}")
    return tuple(hints)


def session_timeline(index: AuditIndex, session: Session) -> list[int]:
    """The session's rows in time order (rows are time-ordered; ties keep load order)."""
    return [int(row) for row in np.sort(session.rows)]


# -- findings ---------------------------------------------------------------------------------


def _first_appearances(rows: Rows, values: npt.NDArray[Any], empty: int) -> list[int]:
    """The earliest row of each distinct non-empty value, in time order."""
    unique, first = np.unique(values[rows], return_index=True)
    return sorted(int(rows[i]) for u, i in zip(unique, first, strict=True) if u != empty)


def session_findings(index: AuditIndex, found: list[Session]) -> list[Finding]:
    """A MEDIUM finding for each session used from several addresses or client families."""
    findings = []
    for session in found:
        if session.multi_address or len(session.client_families) > 1:
            findings.append(_many_addresses(index, session))
    return findings


def _many_addresses(index: AuditIndex, session: Session) -> Finding:
    address_rows = _first_appearances(
        session.rows, index.codes["client_ip"], empty_code(index, "client_ip")
    )
    family_rows = _first_appearances(
        session.rows, index.ints["client_family"], int(ClientFamily.NONE)
    )
    parts = []
    if session.multi_address:
        parts.append(f"{len(session.client_ips)} client addresses")
    if len(session.client_families) > 1:
        parts.append(f"{len(session.client_families)} client families")
    title = f"{session.kind} {session.key} used from {' and '.join(parts)}"
    return make_finding(
        "session_many_addresses",
        Severity.MEDIUM,
        title,
        _explanation(index, session, address_rows, family_rows),
        mailbox=", ".join(session.mailboxes),
        start=session.first,
        end=session.last,
        record_ids=tuple(index.record_id(r) for r in sorted(set(address_rows + family_rows))),
    )


def _explanation(
    index: AuditIndex, session: Session, address_rows: list[int], family_rows: list[int]
) -> str:
    def first_seen(value_of: Callable[[int], str], rows: list[int]) -> str:
        return "; ".join(
            f"{value_of(row)} first in record {index.record_id(row)} "
            f"at {to_iso(int(index.time[row]))}"
            for row in rows
        )

    def address(row: int) -> str:
        return index.text("client_ip", row)

    def family(row: int) -> str:
        return FAMILY_LABELS[ClientFamily(index.number("client_family", row))]

    lines = [
        f"One {session.kind} belongs to one sign-in on one device. This one was used from "
        "more than one place or program, which is what a stolen session cookie or token "
        "replayed from an attacker's machine looks like.",
    ]
    if session.multi_address:
        lines.append(f"Client addresses: {first_seen(address, address_rows)}.")
    if len(session.client_families) > 1:
        lines.append(f"Client families: {first_seen(family, family_rows)}.")
    if session.kind != "SessionId":
        lines.append(
            "This session is keyed by its Entra sign-in (AADSessionId) or token, which single "
            "sign-on shares between apps, and REST/Graph records often carry Microsoft-side "
            "IPv6 addresses: check the sign-in logs for this session before concluding."
        )
    else:
        lines.append(
            "A phone changing networks can also do this: check whether the addresses belong to "
            "the user's usual networks and compare with the sign-in logs."
        )
    return " ".join(lines)
