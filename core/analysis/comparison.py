"""Side-by-side comparison of records and access contexts: which properties match, which mail.

This is the view behind the classic three-record illustration (domain.md, "Access context"):
record 1 and record 2 share SessionId 2 but come from two ClientIPAddresses (one session, two
addresses: a replayed session), record 1 and record 3 share an address but not a session; and
message A was opened by records 1 and 2 only, message B by record 3 only. Any number of
selections (two or more) is compared the same way: one column per selection, one row per
property, one row per message.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..index.audit_index import AuditIndex, Rows, normalise_message_id
from ..normalise.clients import FAMILY_LABELS, ClientFamily
from ..normalise.record import ACCESS_LABELS
from ..normalise.times import to_iso
from .contexts import AccessContext, logon_type_text, message_codes, run_starts

# A selection is one record (its row in the index) or one access context.
Selection = int | AccessContext

FIELD_NAMES: tuple[str, ...] = (
    "ClientIPAddress",
    "ClientInfoString",
    "ParentFolder",
    "LogonType",
    "MailAccessType",
    "MailboxUPN",
    "UserId",
    "SessionId",
    "Client family",
    "AADSessionId",
    "AppId",
    "Time span",
)


@dataclass(frozen=True)
class ComparedField:
    """One property across the selections; `equal` when every selection has the same value."""

    name: str
    values: tuple[str, ...]
    equal: bool

    def equal_between(self, first: int, second: int) -> bool:
        return _comparable(self.name, self.values[first]) == _comparable(
            self.name, self.values[second]
        )


@dataclass(frozen=True)
class ComparedMessage:
    """One message and which selections touched it."""

    message_id: str  # normalised (no brackets, lower case): the identity used for matching
    shown: str  # the first recorded spelling, brackets and case as written
    first: int  # epoch seconds UTC of the first record, among the selections, that touched it
    touched: tuple[bool, ...]  # one flag per selection


@dataclass(frozen=True)
class Comparison:
    columns: tuple[str, ...]  # a label per selection: "record 1 <Id>", "context 2 C-…"
    fields: tuple[ComparedField, ...]
    messages: tuple[ComparedMessage, ...]  # by first access time, then message id
    common: tuple[str, ...]  # normalised ids touched by every selection, in `messages` order
    only: tuple[tuple[str, ...], ...]  # only[i]: touched by selection i and no other
    overlap: dict[tuple[int, int], tuple[str, ...]]  # (i, j), i < j: touched by both

    def field(self, name: str) -> ComparedField:
        for compared in self.fields:
            if compared.name == name:
                return compared
        raise KeyError(name)


def compare(index: AuditIndex, selections: list[Selection]) -> Comparison:
    """Compare two or more records or contexts property by property and message by message."""
    if len(selections) < 2:
        raise ValueError(f"a comparison needs at least 2 selections, got {len(selections)}")
    for selection in selections:
        _check(index, selection)
    per_selection = [_values(index, s) for s in selections]
    fields = tuple(
        _compared_field(name, tuple(values[name] for values in per_selection))
        for name in FIELD_NAMES
    )
    messages = _compared_messages(index, [_rows(s) for s in selections])
    return Comparison(
        columns=tuple(_label(index, n, s) for n, s in enumerate(selections, start=1)),
        fields=fields,
        messages=messages,
        common=tuple(m.message_id for m in messages if all(m.touched)),
        only=tuple(_only(messages, i) for i in range(len(selections))),
        overlap={
            (i, j): tuple(m.message_id for m in messages if m.touched[i] and m.touched[j])
            for i, j in combinations(range(len(selections)), 2)
        },
    )


def _check(index: AuditIndex, selection: Selection) -> None:
    if isinstance(selection, AccessContext):
        return
    if isinstance(selection, bool) or not 0 <= int(selection) < len(index):
        raise ValueError(f"not a record row of this case: {selection!r}")


def _rows(selection: Selection) -> Rows:
    if isinstance(selection, AccessContext):
        return selection.rows
    return np.array([int(selection)], dtype=np.int64)


def _label(index: AuditIndex, number: int, selection: Selection) -> str:
    if isinstance(selection, AccessContext):
        return f"context {number} {selection.id}"
    return f"record {number} {index.record_id(int(selection))}"


# UPNs and GUIDs name the same thing in any case, and exporters differ in the case they write
# (record ids too, see record_ids.py); the other properties compare exactly as recorded.
_ANY_CASE = frozenset({"MailboxUPN", "UserId", "SessionId", "AADSessionId", "AppId"})


def _compared_field(name: str, values: tuple[str, ...]) -> ComparedField:
    return ComparedField(name, values, len({_comparable(name, v) for v in values}) == 1)


def _comparable(name: str, value: str) -> str:
    return value.casefold() if name in _ANY_CASE else value


def _span(first: int, last: int) -> str:
    return to_iso(first) if first == last else f"{to_iso(first)} – {to_iso(last)}"


def _values(index: AuditIndex, selection: Selection) -> dict[str, str]:
    if isinstance(selection, AccessContext):
        return _context_values(selection)
    return _record_values(index, int(selection))


def _context_values(context: AccessContext) -> dict[str, str]:
    values = context.key_values()
    values["LogonType"] = logon_type_text(context.logon_type)
    values["Client family"] = context.client_family
    # A context is keyed by the eight properties above; these can vary inside it.
    values["AADSessionId"] = ", ".join(context.aad_session_ids)
    values["AppId"] = ", ".join(context.app_ids)
    values["Time span"] = _span(context.first, context.last)
    return values


def _record_values(index: AuditIndex, row: int) -> dict[str, str]:
    apps = {index.text("app_id", row), index.text("client_app_id", row)} - {""}
    time = int(index.time[row])
    return {
        "ClientIPAddress": index.text("client_ip", row),
        "ClientInfoString": index.text("client_info", row),
        "ParentFolder": index.text("folder", row),
        "LogonType": logon_type_text(index.number("logon_type", row)),
        "MailAccessType": ACCESS_LABELS.get(index.number("access_type", row), ""),
        "MailboxUPN": index.text("mailbox", row),
        "UserId": index.text("user_id", row),
        "SessionId": index.text("session_id", row),
        "Client family": FAMILY_LABELS[ClientFamily(index.number("client_family", row))],
        "AADSessionId": index.text("aad_session_id", row),
        "AppId": ", ".join(sorted(apps)),
        "Time span": _span(time, time),
    }


def _first_rows(index: AuditIndex, rows: Rows) -> tuple[list[int], list[int]]:
    """Each message code the rows touched, with the earliest row that touched it."""
    codes, owners = message_codes(index, rows)
    # Sort (code, row) packed in one int64: the first of each code's run is its earliest row.
    # Codes and rows are both below a few million, so the product fits easily.
    span = len(index)
    packed = np.sort(codes * span + rows[owners])
    first = packed[run_starts(packed // span)]
    return (first // span).tolist(), (first % span).tolist()


def _compared_messages(index: AuditIndex, selections: list[Rows]) -> tuple[ComparedMessage, ...]:
    # A message code is a message, brackets and case ignored (index/messages.py), so sets
    # compare by code; texts are looked up once, together, for the messages shown.
    touched: dict[int, list[bool]] = {}
    earliest: dict[int, int] = {}  # code -> earliest row that touched it
    for number, rows in enumerate(selections):
        for code, row in zip(*_first_rows(index, rows), strict=True):
            touched.setdefault(code, [False] * len(selections))[number] = True
            seen = earliest.get(code)
            if seen is None or row < seen:
                earliest[code] = row
    codes = list(touched)
    shown = index.messages.texts(codes)
    found = [
        ComparedMessage(
            message_id=normalise_message_id(text),
            shown=text,
            first=int(index.time[earliest[code]]),
            touched=tuple(touched[code]),
        )
        for code, text in zip(codes, shown, strict=True)
    ]
    found.sort(key=lambda m: (m.first, m.message_id))
    return tuple(found)


def _only(messages: tuple[ComparedMessage, ...], number: int) -> tuple[str, ...]:
    return tuple(m.message_id for m in messages if m.touched[number] and sum(m.touched) == 1)
