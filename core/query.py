r"""The filter language shared by the explorer's filter bar and the command line.

An investigator writes what they would say out loud::

    op:MailItemsAccessed ip:203.0.113.0/24 -type:sync after:2022-03-20 invoice

`parse_query` reads that once into a `Query` whose `str()` is one canonical spelling (the
filter bar shows it, the case log records it, and two spellings of one filter log alike);
`evaluate` answers it from the index's code columns with numpy, never by walking the records.

Grammar
-------
::

    query  = [ term { space term } ]        empty (or all spaces): every record
    term   = [ "-" ] ( key ":" value | text )
    key    = letter { letter }              any case: OP: is op:
    value  = quoted | bare
    text   = quoted | bare                  a bare word not shaped like key:...
    bare   = one or more characters, none of them whitespace or '"'
    quoted = '"' { character | '\"' | '\\' } '"'
    space  = one or more Unicode whitespace characters

Inside quotes only ``\"`` (a quote) and ``\\`` (a backslash) are escapes; any other backslash
is itself, so a folder is written ``folder:"\Sent Items"`` as Exchange spells it (and
``folder:"\\Sent Items"`` reads the same). A closing quote must end the term. A bare word is a
key:value term only when everything before its first ":" is letters, so ``2001:db8::7`` and
``09:15`` are text, while ``http://x`` is an unknown key (quote it to search for it).

Combining terms
---------------
- Terms are ANDed: every term must match.
- The same key given twice is ORed: ``ip:A ip:B`` is "from either address", which is what an
  investigator means (an AND of two addresses on one record matches nothing).
- A leading ``-`` excludes what the term matches. Excluded values of one key are all
  excluded: ``-ip:A -ip:B`` keeps records from neither.
- Free-text words are ANDed with each other (``invoice march``: both); a quoted phrase is one
  word. Free text is never ORed, repeated or not.
- ``after:`` and ``before:`` appear at most once each and cannot be negated (``-after:X`` is
  ``before:X``); when both are given, after must be earlier than before.

So the rows are: time range ∩ (for each key, the OR of its values) ∩ (each word)
minus (the union of every excluded term), in time order.

Keys
----
=====================  ==========================================================================
``op``/``operation``   Operation, exact, any case
``ip``                 ClientIPAddress, normalised like the index (ports, brackets, IPv4-mapped
                       IPv6 dropped); a network such as ``203.0.113.0/24`` matches every address
                       in it (host bits are ignored: ``203.0.113.45/24`` is that /24)
``session``            SessionId, AppAccessContext.AADSessionId or UniqueTokenId, any case
``mailbox``            MailboxOwnerUPN, any case
``user``               UserId, any case
``client``             a client family (owa, rest, mapi, ews, activesync, imap, outlook-mobile,
                       exchange-service, other), else a substring of ClientInfoString, any case
``app``                AppId or ClientAppId, any case
``type``/``access``    MailAccessType: bind or sync
``folder``             a folder path, any case, leading backslash optional; matches the record's
                       folder or the folder of any item it bound
``msg``/``message``    InternetMessageId, angle brackets and case ignored; matches a record's own
                       Item and every item it bound
``id``/``record``      the record's Id, any case
``after``              CreationTime at or after (inclusive); an ISO date or date-time, UTC
                       unless it carries an offset
``before``             CreationTime before (exclusive); same forms as after
``logon``              LogonType: owner, admin, delegate (or another name) or its number
``has``                throttled (IsThrottled True; absent is not throttled), items (names at
                       least one message), sendas (a SendAs or SendOnBehalf target is present)
``rt``/``recordtype``  RecordType number (or its name, e.g. ExchangeItemAggregated)
=====================  ==========================================================================

Free text
---------
A word matches a record when it is a substring, ignoring case (Unicode case folding), of any of:
Operation, UserId, MailboxOwnerUPN, ClientIPAddress, ClientInfoString, SessionId, AADSessionId,
the folder, Subject, ObjectId, AppId, ClientAppId, or the folder of any bound item. The
distinct values of each field are searched (thousands, not millions) and the matching codes
then select rows with one numpy gather per column. InternetMessageIds are matched whole with
``msg:``: the index holds them as keys, not text (see index/messages.py).

Cost
----
Measured on a synthetic 1,000,000-record index (2,000,000 message ids), best of five on a busy
2-core machine, after the first use of each column's postings: op, ip, session, mailbox, user,
msg, id and client families under 1 ms; networks, folders, has: and negations of large sets
2-25 ms; ordinary free-text words 0.1-25 ms (measured when message ids were still searched
as text, which made the worst word ~0.5 s). The free-text buffers are built on the first
word; call `prepare_text_search` after a load to pay that in the background instead.

Canonical form
--------------
``str(query)`` lists terms in the order of the key table above, then free text; within a key,
included before excluded, then by value; duplicates dropped. Values are normalised: operations
in their documented casing (others in lower case), addresses as the index stores them, networks
as ``203.0.113.0/24``, identifiers, UPNs, folders (with one leading backslash), client
substrings and free text case-folded, message ids without brackets, times as ``2022-03-20``
(midnight) or ``2022-03-20T09:15:00Z``, logon types by name, record types by number. Values
are quoted only when they must be. ``parse_query(str(q)) == q`` for every query.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from .analysis.contexts import LOGON_TYPE_NAMES, empty_code, normalise_folder
from .index.audit_index import AuditIndex, Rows, normalise_message_id
from .index.part import STRING_FIELDS
from .normalise.addresses import normalise_address
from .normalise.clients import FAMILY_BY_LABEL, ClientFamily
from .normalise.record import ACCESS_BIND, ACCESS_SYNC, logon_type, record_type
from .normalise.times import to_iso

__all__ = [
    "Query",
    "QueryError",
    "Term",
    "describe_keys",
    "evaluate",
    "parse_query",
    "prepare_text_search",
]


class QueryError(ValueError):
    """A query that cannot be read. `term` is the offending text as typed and `position` its
    offset in the query, so the filter bar can put the cursor on it."""

    def __init__(self, message: str, term: str = "", position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.term = term
        self.position = position


class _Invalid(ValueError):
    """A value a key cannot take; the message says what the key expects."""


# -- the terms --------------------------------------------------------------------------------

_KEY_PREFIX = re.compile(r"([A-Za-z]+):")


def _quote(value: str) -> str:
    # Double a backslash only where it would otherwise be read as an escape (before a quote,
    # a backslash or the closing quote), so "\Sent Items" keeps its single backslash.
    out = ['"']
    for position, char in enumerate(value):
        if char == '"':
            out.append('\\"')
        elif char == "\\" and (position + 1 == len(value) or value[position + 1] in '"\\'):
            out.append("\\\\")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


@dataclass(frozen=True)
class Term:
    """One condition: a canonical key ("" for free text), a canonical value, and its sign."""

    key: str
    value: str
    negated: bool = False

    def __str__(self) -> str:
        value = self.value
        # The scanner splits on str.isspace, so the same test decides quoting.
        needs = value == "" or '"' in value or any(char.isspace() for char in value)
        if not self.key:
            # Bare text that looks like a key or a negation would read back as one.
            needs = needs or value.startswith("-") or _KEY_PREFIX.match(value) is not None
        text = _quote(value) if needs else value
        prefix = "-" if self.negated else ""
        return f"{prefix}{self.key}:{text}" if self.key else f"{prefix}{text}"


def _term_order(term: Term) -> tuple[int, bool, str]:
    return (_ORDER.get(term.key, len(_ORDER)), term.negated, term.value)


@dataclass(frozen=True)
class Query:
    """A parsed filter. Build it with `parse_query`; terms are kept in canonical order."""

    terms: tuple[Term, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(sorted(set(self.terms), key=_term_order)))

    def __str__(self) -> str:
        return " ".join(str(term) for term in self.terms)

    @property
    def is_empty(self) -> bool:
        """True when the query selects every record."""
        return not self.terms

    @property
    def after(self) -> int | None:
        """Epoch seconds (UTC) of `after:`, inclusive; None when not given."""
        return self._time("after")

    @property
    def before(self) -> int | None:
        """Epoch seconds (UTC) of `before:`, exclusive; None when not given."""
        return self._time("before")

    def _time(self, key: str) -> int | None:
        for term in self.terms:
            if term.key == key:
                return _parse_time(key, term.value)
        return None


# -- values: canonical forms ------------------------------------------------------------------

# Exchange mailbox actions and the admin cmdlets seen in mailbox investigations, in the
# casing Microsoft documents, so `op:mailitemsaccessed` is shown as investigators read it.
_OPERATIONS = {
    name.casefold(): name
    for name in (
        "AddFolderPermissions",
        "ApplyRecord",
        "Copy",
        "Create",
        "FolderBind",
        "HardDelete",
        "MailboxLogin",
        "MailItemsAccessed",
        "MessageBind",
        "ModifyFolderPermissions",
        "Move",
        "MoveToDeletedItems",
        "RecordDelete",
        "RemoveFolderPermissions",
        "SearchQueryInitiated",
        "Send",
        "SendAs",
        "SendOnBehalf",
        "SoftDelete",
        "Update",
        "UpdateCalendarDelegation",
        "UpdateComplianceTag",
        "UpdateFolderPermissions",
        "UpdateInboxRules",
        "Add-MailboxPermission",
        "Add-RecipientPermission",
        "New-InboxRule",
        "Set-InboxRule",
        "Remove-InboxRule",
        "Set-Mailbox",
        "Set-CASMailbox",
        "New-ManagementRoleAssignment",
    )
}

_FAMILY_NAMES: dict[ClientFamily, str] = {
    ClientFamily.OWA: "owa",
    ClientFamily.REST: "rest",
    ClientFamily.MAPI: "mapi",
    ClientFamily.EWS: "ews",
    ClientFamily.ACTIVESYNC: "activesync",
    ClientFamily.IMAP_POP: "imap",
    ClientFamily.OUTLOOK_MOBILE: "outlook-mobile",
    ClientFamily.EXCHANGE_SERVICE: "exchange-service",
    ClientFamily.OTHER: "other",
}
_FAMILY_BY_NAME = {name: family for family, name in _FAMILY_NAMES.items()}
# What an investigator may type for a family: our names, the labels the explorer shows
# ("Outlook mobile", "IMAP/POP") with spaces as hyphens, and the two protocols of IMAP/POP.
_CLIENT_ALIASES: dict[str, str] = {name: name for name in _FAMILY_BY_NAME}
_CLIENT_ALIASES.update(
    {label.replace(" ", "-"): _FAMILY_NAMES[family] for label, family in FAMILY_BY_LABEL.items()}
)
_CLIENT_ALIASES.update({"pop": "imap", "pop3": "imap", "imap4": "imap"})

_ACCESS = {"bind": ACCESS_BIND, "sync": ACCESS_SYNC}
_HAS = ("throttled", "items", "sendas")
_LOGON_BY_NUMBER = {number: name.lower() for number, name in LOGON_TYPE_NAMES.items()}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_EXPECTED = "expects a date like 2022-03-20 or 2022-03-20T09:15:00 (UTC unless it says +hh:mm)"


def _required(value: str, expected: str) -> str:
    text = value.strip()
    if not text:
        raise _Invalid(expected)
    return text


def _op_value(value: str) -> str:
    text = _required(value, "op: expects an operation like MailItemsAccessed").casefold()
    return _OPERATIONS.get(text, text)


def _ip_value(value: str) -> str:
    expected = "ip: expects an address like 203.0.113.45 or a network like 203.0.113.0/24"
    text = _required(value, expected)
    if "/" in text:
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise _Invalid(f'{expected}, not "{text}"') from None
    return normalise_address(text)


def _folded(expected: str) -> Callable[[str], str]:
    def canonical(value: str) -> str:
        return _required(value, expected).casefold()

    return canonical


def _client_value(value: str) -> str:
    text = _required(value, "client: expects a client family like owa or mapi, or client text")
    folded = text.casefold()
    return _CLIENT_ALIASES.get(folded.replace(" ", "-").replace("_", "-"), folded)


def _type_value(value: str) -> str:
    text = value.strip().casefold()
    if text not in _ACCESS:
        raise _Invalid(f'type: expects bind or sync, not "{value.strip()}"')
    return text


def _folder_value(value: str) -> str:
    text = normalise_folder(value)
    if not text:
        raise _Invalid('folder: expects a folder like Inbox or "\\Sent Items"')
    return "\\" + text


def _message_value(value: str) -> str:
    text = normalise_message_id(value)
    if not text:
        raise _Invalid("msg: expects an InternetMessageId like <ABC123@example.com>")
    return text


def _parse_time(key: str, value: str) -> int:
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise _Invalid(f'{key}: {_DATE_EXPECTED}, not "{value.strip()}"') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - _EPOCH
    # Records carry whole seconds, so a fraction rounds up for both ends: a record at
    # 09:15:00 is not at or after 09:15:00.5, and it is before it.
    return delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0)


def _time_value(key: str) -> Callable[[str], str]:
    def canonical(value: str) -> str:
        epoch = _parse_time(key, value)
        try:
            text = to_iso(epoch)
        except (ValueError, OverflowError, OSError):  # 0001-01-01T00:00+01:00 is year 0 UTC
            raise _Invalid(f'{key}: {_DATE_EXPECTED}, not "{value.strip()}"') from None
        return text[:10] if epoch % 86_400 == 0 else text

    return canonical


def _number(read: Callable[[str], int], text: str) -> int:
    """A number read by the normaliser's own reader (so names work), -1 when it is none."""
    try:
        return read(text) if text else -1
    except OverflowError:  # "inf" and "1e400" pass float() but not int()
        return -1


def _logon_value(value: str) -> str:
    text = value.strip()
    number = _number(logon_type, text)
    if number < 0:
        raise _Invalid(
            "logon: expects owner, admin, delegate (or another LogonType name) or a number, "
            f'not "{text}"'
        )
    return _LOGON_BY_NUMBER.get(number, str(number))


def _has_value(value: str) -> str:
    text = value.strip().casefold()
    if text not in _HAS:
        raise _Invalid(f'has: expects throttled, items or sendas, not "{value.strip()}"')
    return text


def _rt_value(value: str) -> str:
    text = value.strip()
    number = _number(record_type, text)
    if number < 0:
        raise _Invalid(f'rt: expects a RecordType number like 50 (or its name), not "{text}"')
    return str(number)


# -- values: rows -----------------------------------------------------------------------------

_EMPTY: Rows = np.empty(0, dtype=np.int64)
# Above this many codes, one gather over the column beats gathering postings one by one.
_POSTINGS_MAX_CODES = 32

# np.unique is avoided throughout: numpy 2.4.6 answers it with a hash table, which took 2 s
# for 1,000,000 row numbers on the 2-core development machine (busy at the time), where
# np.sort took 36 ms and flags in a boolean column 4 ms.


def _distinct(ordered: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """A non-decreasing array with repeats dropped."""
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _union(parts: list[Rows], size: int) -> Rows:
    """Rows in any of `parts` (each sorted), sorted, each once."""
    found = [part for part in parts if len(part)]
    if not found:
        return _EMPTY
    if len(found) == 1:
        return found[0]
    total = sum(len(part) for part in found)
    if total * 16 < size:  # a few rows: sorting them is cheaper than a column of flags
        return _distinct(np.sort(np.concatenate(found)))
    flags = np.zeros(size, dtype=bool)
    for part in found:
        flags[part] = True
    return np.flatnonzero(flags).astype(np.int64)


def _code_table(index: AuditIndex, kind: str, codes: list[int] | Rows) -> npt.NDArray[np.bool_]:
    table = np.zeros(len(index.dictionaries[kind]), dtype=bool)
    table[codes] = True
    return table


def _rows_with_codes(index: AuditIndex, field_name: str, codes: list[int] | Rows) -> Rows:
    """Rows whose `field_name` holds any of `codes`, in time order."""
    if len(codes) <= _POSTINGS_MAX_CODES:
        postings = index.postings(field_name)
        return _union([postings.of(int(code)) for code in codes], len(index))
    table = _code_table(index, STRING_FIELDS[field_name], codes)
    return np.flatnonzero(table[index.codes[field_name]]).astype(np.int64)


def _rows_casefold(index: AuditIndex, fields: tuple[str, ...], value: str) -> Rows:
    parts = [_rows_with_codes(index, name, index.codes_casefold(name, value)) for name in fields]
    return _union(parts, len(index))


def _op_rows(index: AuditIndex, value: str) -> Rows:
    return _rows_casefold(index, ("operation",), value)


def _ip_rows(index: AuditIndex, value: str) -> Rows:
    if "/" not in value:
        return index.rows_with("client_ip", value)
    network = ipaddress.ip_network(value)
    codes = [
        code
        for code, address in _cache(index).addresses(index)
        if address.version == network.version and address in network
    ]
    return _rows_with_codes(index, "client_ip", codes)


def _session_rows(index: AuditIndex, value: str) -> Rows:
    return _rows_casefold(index, ("session_id", "aad_session_id", "unique_token_id"), value)


def _mailbox_rows(index: AuditIndex, value: str) -> Rows:
    return _rows_casefold(index, ("mailbox",), value)


def _user_rows(index: AuditIndex, value: str) -> Rows:
    return _rows_casefold(index, ("user_id",), value)


def _client_rows(index: AuditIndex, value: str) -> Rows:
    family = _FAMILY_BY_NAME.get(value)
    if family is not None:
        return index.rows_with_number("client_family", int(family))
    codes = _cache(index).haystack(index, "client_info").codes_containing(value)
    return _rows_with_codes(index, "client_info", codes)


def _app_rows(index: AuditIndex, value: str) -> Rows:
    return _rows_casefold(index, ("app_id", "client_app_id"), value)


def _type_rows(index: AuditIndex, value: str) -> Rows:
    return index.rows_with_number("access_type", _ACCESS[value])


def _folder_rows(index: AuditIndex, value: str) -> Rows:
    wanted = normalise_folder(value)
    # Folder paths repeat across mailboxes (\Inbox), so this dictionary stays small.
    codes = [
        code for code, path in enumerate(index.values("folder")) if normalise_folder(path) == wanted
    ]
    if not codes:
        return _EMPTY
    flags = np.zeros(len(index), dtype=bool)
    flags[_rows_with_codes(index, "folder", codes)] = True
    flags[index.item_rows()[_code_table(index, "folder", codes)[index.item_folder]]] = True
    return np.flatnonzero(flags).astype(np.int64)


def _message_rows(index: AuditIndex, value: str) -> Rows:
    return index.rows_with_message(value)


def _id_rows(index: AuditIndex, value: str) -> Rows:
    row = index.row_of(value)
    return _EMPTY if row is None else np.array([row], dtype=np.int64)


def _logon_rows(index: AuditIndex, value: str) -> Rows:
    number = logon_type(value)
    return index.rows_with_number("logon_type", number)


def _has_rows(index: AuditIndex, value: str) -> Rows:
    if value == "throttled":
        # One comparison over the column (~2 ms at 1,000,000 rows); -1 (IsThrottled absent)
        # and 0 (False) both mean Bind was still audited.
        return np.flatnonzero(index.ints["throttled"] == 1).astype(np.int64)
    if value == "items":
        named = index.codes["message_id"] != empty_code(index, "message_id")
        bound = index.item_message != empty_code(index, "message_id")
        named[index.item_rows()[bound]] = True
        return np.flatnonzero(named).astype(np.int64)
    target = np.zeros(len(index), dtype=bool)
    for name in ("send_as_smtp", "send_as_guid", "send_on_behalf_smtp", "send_on_behalf_guid"):
        target |= index.codes[name] != empty_code(index, name)
    return np.flatnonzero(target).astype(np.int64)


def _rt_rows(index: AuditIndex, value: str) -> Rows:
    return index.rows_with_number("record_type", int(value))


# -- the key table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    name: str
    aliases: tuple[str, ...]
    help: str
    canonical: Callable[[str], str]
    rows: Callable[[AuditIndex, str], Rows] | None  # None: a time bound, applied as a range


_KEY_TABLE: tuple[_Key, ...] = (
    _Key(
        "op",
        ("operation",),
        "Operation, exact, any case: op:MailItemsAccessed. Also operation:.",
        _op_value,
        _op_rows,
    ),
    _Key(
        "ip",
        (),
        "Client address, port and brackets ignored, or a network: ip:203.0.113.45, "
        "ip:203.0.113.0/24, ip:2001:db8::/32.",
        _ip_value,
        _ip_rows,
    ),
    _Key(
        "session",
        (),
        "SessionId, AADSessionId or UniqueTokenId, any case: session:GUID.",
        _folded("session: expects a SessionId, AADSessionId or UniqueTokenId"),
        _session_rows,
    ),
    _Key(
        "mailbox",
        (),
        "MailboxOwnerUPN, any case: mailbox:megan.bowen@fabrikam.example.",
        _folded("mailbox: expects a mailbox owner UPN like megan.bowen@fabrikam.example"),
        _mailbox_rows,
    ),
    _Key(
        "user",
        (),
        "UserId (who acted), any case: user:attacker@fabrikam.example.",
        _folded("user: expects a UserId like megan.bowen@fabrikam.example"),
        _user_rows,
    ),
    _Key(
        "client",
        (),
        "Client family (owa, rest, mapi, ews, activesync, imap, outlook-mobile, "
        "exchange-service, other) or text in ClientInfoString: client:owa, client:Outlook-iOS.",
        _client_value,
        _client_rows,
    ),
    _Key(
        "app",
        (),
        "AppId or ClientAppId, any case: app:GUID.",
        _folded("app: expects an AppId or ClientAppId"),
        _app_rows,
    ),
    _Key(
        "type",
        ("access",),
        "MailAccessType, bind or sync: type:sync. Also access:.",
        _type_value,
        _type_rows,
    ),
    _Key(
        "folder",
        (),
        "Folder of the record or of any item it bound, any case, leading \\ optional: "
        'folder:Inbox, folder:"\\Sent Items".',
        _folder_value,
        _folder_rows,
    ),
    _Key(
        "msg",
        ("message",),
        "InternetMessageId, brackets and case ignored: msg:<ABC123@example.com>. Also message:.",
        _message_value,
        _message_rows,
    ),
    _Key(
        "id",
        ("record",),
        "The record's Id, any case. Also record:.",
        _folded("id: expects a record Id (AuditData.Id)"),
        _id_rows,
    ),
    _Key(
        "after",
        (),
        "At or after a UTC date or time: after:2022-03-20, after:2022-03-20T09:15:00.",
        _time_value("after"),
        None,
    ),
    _Key(
        "before",
        (),
        "Before (not at) a UTC date or time: before:2022-03-21.",
        _time_value("before"),
        None,
    ),
    _Key(
        "logon",
        (),
        "LogonType: owner, admin, delegate or a number: logon:delegate.",
        _logon_value,
        _logon_rows,
    ),
    _Key(
        "has",
        (),
        "has:throttled (IsThrottled True), has:items (names a message), "
        "has:sendas (SendAs or SendOnBehalf target present).",
        _has_value,
        _has_rows,
    ),
    _Key(
        "rt",
        ("recordtype",),
        "RecordType number or name: rt:50. Also recordtype:.",
        _rt_value,
        _rt_rows,
    ),
)
_KEYS = {key.name: key for key in _KEY_TABLE}
_ALIASES = {name: key.name for key in _KEY_TABLE for name in (key.name, *key.aliases)}
_ORDER = {key.name: position for position, key in enumerate(_KEY_TABLE)}
_TIME_KEYS = {"after": "before", "before": "after"}  # each with its opposite


def describe_keys() -> list[tuple[str, str]]:
    """(key, help) for the help screen: every key in canonical order, then the syntax."""
    rows = [(key.name, key.help) for key in _KEY_TABLE]
    rows += [
        ("text", "A bare word: in any field, any case (subject, folder, message id, ...)."),
        ('"..."', 'Quotes keep spaces: folder:"\\Sent Items", "quarterly invoice".'),
        ("-", "Excludes what follows: -type:sync, -op:MailItemsAccessed."),
        ("key key", "Terms are ANDed; the same key twice is ORed: ip:A ip:B is either."),
    ]
    return rows


# -- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    negated: bool
    key: str | None
    value: str
    text: str  # the term as typed
    start: int


def _read_quoted(text: str, at: int, start: int) -> tuple[str, int]:
    """The value of a quoted string opening at `at`, and the position after its close."""
    out: list[str] = []
    position = at + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text) and text[position + 1] in '"\\':
            out.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            return "".join(out), position + 1
        out.append(char)
        position += 1
    raise QueryError(
        f'{text[start:]}: the quote is never closed (end the value with ")', text[start:], start
    )


def _scan(text: str) -> Iterator[_Raw]:
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return
        start = position
        negated = text[position] == "-"
        if negated:
            position += 1
            if position >= end or text[position].isspace():
                raise QueryError(
                    '"-" must be followed by a term to exclude, like -type:sync', "-", start
                )
        key: str | None = None
        prefix = _KEY_PREFIX.match(text, position)
        if prefix is not None:
            key = prefix.group(1)
            position = prefix.end()
        if position < end and text[position] == '"':
            value, position = _read_quoted(text, position, start)
            if position < end and not text[position].isspace():
                stop = position
                while stop < end and not text[stop].isspace():
                    stop += 1
                raise QueryError(
                    f"{text[start:stop]}: a closing quote must end the term (add a space after it)",
                    text[start:stop],
                    start,
                )
        else:
            stop = position
            while stop < end and not text[stop].isspace():
                stop += 1
            value = text[position:stop]
            position = stop
            if '"' in value:
                raise QueryError(
                    f'{text[start:stop]}: a quote can only open a value, as in folder:"\\Sent '
                    'Items" or "two words"',
                    text[start:stop],
                    start,
                )
        yield _Raw(negated, key, value, text[start:position], start)


def _unknown_key(raw: _Raw) -> QueryError:
    assert raw.key is not None
    typed = raw.key.lower()
    close = difflib.get_close_matches(typed, list(_ALIASES), n=1, cutoff=0.6)
    if close:
        message = f'unknown key "{raw.key}": did you mean {close[0]}?'
    else:
        message = (
            f'unknown key "{raw.key}": the keys are {", ".join(_KEYS)} (to search for text '
            'with a ":" in it, put it in quotes)'
        )
    return QueryError(message, raw.text, raw.start)


def parse_query(text: str) -> Query:
    """Read a filter; raise QueryError naming the bad term and what was expected."""
    terms: list[Term] = []
    times: dict[str, _Raw] = {}
    for raw in _scan(text):
        if raw.key is None:
            if not raw.value:
                raise QueryError(
                    f"{raw.text}: empty quotes find nothing; put text between them",
                    raw.text,
                    raw.start,
                )
            terms.append(Term("", raw.value.casefold(), raw.negated))
            continue
        name = _ALIASES.get(raw.key.lower())
        if name is None:
            raise _unknown_key(raw)
        try:
            value = _KEYS[name].canonical(raw.value)
        except _Invalid as error:
            raise QueryError(str(error), raw.text, raw.start) from None
        if name in _TIME_KEYS:
            if raw.negated:
                raise QueryError(
                    f"{raw.text}: {name}: cannot be negated; write {_TIME_KEYS[name]}:{value}",
                    raw.text,
                    raw.start,
                )
            if name in times:
                raise QueryError(
                    f"{name}: given twice ({times[name].text} and {raw.text}); give it once",
                    raw.text,
                    raw.start,
                )
            times[name] = raw
        terms.append(Term(name, value, raw.negated))
    query = Query(tuple(terms))
    after, before = query.after, query.before
    if after is not None and before is not None and after >= before:
        late = times["before"]
        raise QueryError(
            f"{times['after'].text} is not earlier than {late.text}: no record can match",
            late.text,
            late.start,
        )
    return query


# -- free text --------------------------------------------------------------------------------

# Fields searched by free text; bound items' folders are searched too. Message ids are not:
# the index keeps them as 8-byte keys, not text (index/messages.py: 2.1 million ids of a
# 1,000,000-record case are ~290 MB as strings), so they are found whole with msg:.
_TEXT_FIELDS = (
    "operation",
    "user_id",
    "mailbox",
    "client_ip",
    "client_info",
    "session_id",
    "aad_session_id",
    "folder",
    "subject",
    "object_id",
    "app_id",
    "client_app_id",
)


def _by_dictionary(fields: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Fields grouped by the dictionary they share: each dictionary is searched once."""
    kinds: dict[str, tuple[str, ...]] = {}
    for name in fields:
        kinds[STRING_FIELDS[name]] = (*kinds.get(STRING_FIELDS[name], ()), name)
    return kinds


_TEXT_KINDS = _by_dictionary(_TEXT_FIELDS)


# Bytes compared per numpy call: one 4 MiB flag buffer is reused across a whole buffer.
# Comparing 150 MB at once page-faults a fresh 150 MB result in first (0.83 s against 0.13 s
# for the same comparison into memory already touched, measured on the 2-core machine).
_CHUNK = 1 << 22
_COUNT_SLICE = 1 << 18


def _chunks(
    data: npt.NDArray[np.uint8], byte: int, shift: int = 0
) -> Iterator[npt.NDArray[np.int64]]:
    """Offsets of `byte` in `data`, less `shift`, one sorted array per chunk."""
    flags = np.empty(min(_CHUNK, len(data)), dtype=bool)
    for lo in range(0, len(data), _CHUNK):
        chunk = data[lo : lo + _CHUNK]
        hit = flags[: len(chunk)]
        np.equal(chunk, byte, out=hit)
        offsets = np.flatnonzero(hit).astype(np.int64, copy=False)
        offsets += lo - shift
        yield offsets


@dataclass(frozen=True)
class _Haystack:
    """One dictionary case-folded into a single NUL-separated UTF-8 buffer.

    A word is found in C, not by a Python `in` per value (~100 ns a value, for each of the
    ~2 million message ids of a 1,000,000-record case, whatever the word). numpy compares
    the buffer with the word's rarest byte, chunk by chunk, narrows those candidates byte by
    byte, and maps the survivors to codes by binary search on the value offsets. The rarest
    byte matters: one a dictionary lacks ends the search with no pass at all, and one found
    ~4 million times in 150 MB of message ids took 25-90 ms to scan (best runs on a busy
    2-core machine), where bytes.find took 470-780 ms to report a word absent. UTF-8 is
    self-synchronising and a typed word holds no NUL, so a match never starts
    mid-character or spans two values. The buffer costs about the dictionary's text once
    more: ~150 MB for 2 million message ids.
    """

    data: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]  # offset of each value (its code) in the buffer
    counts: npt.NDArray[np.int64]  # occurrences of each byte value in the buffer

    @classmethod
    def build(cls, values: Sequence[str]) -> _Haystack:
        # casefold maps each character on its own (no context rule such as lower()'s final
        # sigma), so folding the joined text equals joining the folded values. On ASCII text
        # (message ids, addresses, GUIDs) it equals lower(), which has a fast path it lacks.
        text = "\x00".join(values)
        folded = text.lower() if text.isascii() else text.casefold()
        del text
        raw = folded.encode("utf-8", "surrogatepass")
        del folded
        data = np.frombuffer(raw, dtype=np.uint8)
        separators = np.concatenate([_EMPTY, *_chunks(data, 0)])
        starts = np.zeros(len(values), dtype=np.int64)
        if len(separators) == len(values) - 1:
            starts[1:] = separators + 1
        elif values:
            # A value holds a NUL itself (audit text is attacker-controlled): place values by
            # their own lengths instead of by the separators.
            lengths = np.fromiter(
                (len(value.casefold().encode("utf-8", "surrogatepass")) + 1 for value in values),
                dtype=np.int64,
                count=len(values),
            )
            np.cumsum(lengths[:-1], out=starts[1:])
        # Exact counts, 256 KiB at a time: bincount widens its input to int64 (8 bytes a
        # byte), and a 2 MiB temporary is reused where a larger one is mapped afresh each
        # time. (A strided sample would alias with fixed-length values: every 150th byte of
        # 75-byte message ids is the same character of every id.)
        counts = np.zeros(256, dtype=np.int64)
        for lo in range(0, len(data), _COUNT_SLICE):
            counts += np.bincount(data[lo : lo + _COUNT_SLICE], minlength=256)
        return cls(data, starts, counts)

    def codes_containing(self, word: str) -> npt.NDArray[np.int64]:
        """Codes of the values that contain `word`, ignoring case, ascending."""
        needle = word.casefold().encode("utf-8", "surrogatepass")
        if not needle or b"\x00" in needle or len(needle) > len(self.data):
            return _EMPTY
        order = sorted(range(len(needle)), key=lambda at: (int(self.counts[needle[at]]), at))
        anchor, rest = order[0], order[1:]
        if not self.counts[needle[anchor]]:  # a byte no value holds: no scan at all
            return _EMPTY
        limit = len(self.data) - len(needle)  # the last offset a match can start at
        found: list[npt.NDArray[np.int64]] = []
        for begins in _chunks(self.data, needle[anchor], shift=anchor):
            if len(begins) and (begins[0] < 0 or begins[-1] > limit):  # first or last chunk
                begins = begins[(begins >= 0) & (begins <= limit)]
            for at in rest:
                if not len(begins):
                    break
                begins = begins[self.data[begins + at] == needle[at]]
            if len(begins):
                found.append(begins)
        if not found:
            return _EMPTY
        # Matches come in buffer order, so their codes come out non-decreasing.
        codes = np.searchsorted(self.starts, np.concatenate(found), side="right") - 1
        return _distinct(codes.astype(np.int64))


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Cache:
    """Search structures built on first use, kept as long as their index lives."""

    def __init__(self) -> None:
        self._haystacks: dict[str, _Haystack] = {}
        self._addresses: list[tuple[int, _Address]] | None = None

    def haystack(self, index: AuditIndex, field_name: str) -> _Haystack:
        kind = STRING_FIELDS[field_name]
        found = self._haystacks.get(kind)
        if found is None:
            found = _Haystack.build(index.dictionaries[kind])
            self._haystacks[kind] = found
        return found

    def addresses(self, index: AuditIndex) -> list[tuple[int, _Address]]:
        """(code, address) of every client address that is an IP (not "", not a host name)."""
        if self._addresses is None:
            found: list[tuple[int, _Address]] = []
            for code, text in enumerate(index.values("client_ip")):
                try:
                    found.append((code, ipaddress.ip_address(text)))
                except ValueError:
                    continue
            self._addresses = found
        return self._addresses


_CACHES: weakref.WeakKeyDictionary[AuditIndex, _Cache] = weakref.WeakKeyDictionary()


def _cache(index: AuditIndex) -> _Cache:
    found = _CACHES.get(index)
    if found is None:
        found = _Cache()
        _CACHES[index] = found
    return found


def prepare_text_search(index: AuditIndex) -> None:
    """Build the free-text search buffers now rather than on the first word typed.

    Joining, case-folding and encoding every distinct value costs a moment on a large case,
    so the explorer calls this in a background worker after loading.
    """
    for fields in _TEXT_KINDS.values():
        _cache(index).haystack(index, fields[0])


def _text_rows(index: AuditIndex, word: str) -> Rows:
    hit_rows = np.zeros(len(index), dtype=bool)
    for kind, fields in _TEXT_KINDS.items():
        codes = _cache(index).haystack(index, fields[0]).codes_containing(word)
        if not len(codes):
            continue
        table = _code_table(index, kind, codes)
        # One gather per column (~2 ms at 1,000,000 rows), whatever the number of codes.
        for name in fields:
            hit_rows |= table[index.codes[name]]
        items = index.item_folder if kind == "folder" else None
        if items is not None and len(items):
            bound = table[items]
            if bound.any():
                hit_rows[index.item_rows()[bound]] = True
    return np.flatnonzero(hit_rows).astype(np.int64)


# -- evaluation -------------------------------------------------------------------------------


def _clip(rows: Rows, lo: int, hi: int, size: int) -> Rows:
    if lo == 0 and hi == size:
        return rows
    return rows[np.searchsorted(rows, lo) : np.searchsorted(rows, hi)]


def evaluate(index: AuditIndex, query: Query) -> Rows:
    """The rows `query` selects, in time order (a new array the caller may keep or change)."""
    size = len(index)
    lo, hi = index.rows_between(query.after, query.before)
    included: dict[str, list[str]] = {}
    excluded: list[Rows] = []
    words: list[Rows] = []
    for term in query.terms:
        if term.key in _TIME_KEYS:
            continue
        if not term.key:
            rows = _clip(_text_rows(index, term.value), lo, hi, size)
            (excluded if term.negated else words).append(rows)
            continue
        if term.negated:
            rows_of = _KEYS[term.key].rows
            assert rows_of is not None
            excluded.append(_clip(rows_of(index, term.value), lo, hi, size))
        else:
            included.setdefault(term.key, []).append(term.value)
    clauses = list(words)
    for key, values in included.items():
        rows_of = _KEYS[key].rows
        assert rows_of is not None
        rows = _union([rows_of(index, value) for value in values], size)
        clauses.append(_clip(rows, lo, hi, size))
        if not len(clauses[-1]):  # one empty clause empties the answer: skip the rest
            return np.empty(0, dtype=np.int64)
    # Start from the smallest clause: every later step only filters what is left.
    clauses.sort(key=len)
    result = clauses[0] if clauses else np.arange(lo, hi, dtype=np.int64)
    # Membership through a boolean column: a scatter and a gather, no sort of either side.
    member = np.zeros(size, dtype=bool)
    steps = [(rows, True) for rows in clauses[1:]] + [(rows, False) for rows in excluded]
    for rows, keep in steps:
        if not len(result):
            break
        member[:] = False
        member[rows] = True
        inside = member[result]
        result = result[inside if keep else ~inside]
    # Postings hand out views of the index's own arrays; the caller gets its own copy.
    return np.array(result, dtype=np.int64, copy=True)
