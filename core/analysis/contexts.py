"""Access contexts: MailItemsAccessed records grouped by the properties that separate readers.

Exchange writes a new MailItemsAccessed record whenever any of eight context properties
differs (ClientIPAddress, ClientInfoString, ParentFolder, LogonType, MailAccessType,
MailboxUPN, UserId, SessionId), even inside one 2-minute aggregation window. So every record
belongs to exactly one context, and the owner and an attacker reading the same mailbox at the
same time land in different contexts: the context is the unit an investigator labels
"attacker" or "owner".

Grouping runs on the index's code columns: the eight columns become one int64 key per record
(mixed radix) and a sort splits them, so a million records cost a few sorts, not a million
Python tuples. Python work is per context and per distinct value only.

Sorting notes, measured with numpy 2.4 on 1,000,000 int64 keys: the default argsort (SIMD
quicksort) takes 25 ms and a stable one (timsort) 227 ms; `np.unique` without return_* flags
takes a hash path that needed 4.2 s (0.04 s for 100,000: it grows far faster than the input).
So every sort here is the default kind, time order inside a group is restored by sorting packed
(group, row) integers, and distinct values come from a sorted array and a "differs from its
neighbour" mask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from ..index.audit_index import AuditIndex, Rows, normalise_message_id
from ..normalise.clients import FAMILY_LABELS
from ..normalise.record import ACCESS_BIND, ACCESS_LABELS, ACCESS_SYNC

MAIL_ITEMS_ACCESSED = "MailItemsAccessed"

# The context properties in AuditData's vocabulary, with the index column behind each.
CONTEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("ClientIPAddress", "client_ip"),
    ("ClientInfoString", "client_info"),
    ("ParentFolder", "folder"),
    ("LogonType", "logon_type"),
    ("MailAccessType", "access_type"),
    ("MailboxUPN", "mailbox"),
    ("UserId", "user_id"),
    ("SessionId", "session_id"),
)

LOGON_TYPE_NAMES = {
    0: "Owner",
    1: "Admin",
    2: "Delegate",
    3: "Transport",
    4: "SystemService",
    5: "BestAccess",
    6: "DelegatedAdmin",
}

# Keys above this get re-numbered densely before the next column is folded in, so the
# mixed-radix product never overflows int64 (2**62 leaves headroom for one more multiply).
_KEY_LIMIT = 2**62
# By plain int: building a ClientFamily per context costs more than the rest of its fields.
_FAMILY_LABEL = {int(family): label for family, label in FAMILY_LABELS.items()}


def normalise_folder(path: str) -> str:
    """A folder path for matching: a Sync names `Inbox` where a Bind names `\\Inbox`."""
    return path.strip().lstrip("\\").casefold()


def logon_type_text(value: int) -> str:
    """LogonType as recorded with its meaning (`2 (Delegate)`); "" when absent (-1)."""
    if value < 0:
        return ""
    name = LOGON_TYPE_NAMES.get(value)
    return f"{value} ({name})" if name else str(value)


class MessageNames:
    """Normalised message ids of codes, looked up together and kept once found."""

    def __init__(self, index: AuditIndex) -> None:
        self._table = index.messages
        self._cache: dict[int, str] = {}

    def normalised(self, codes: list[int]) -> list[str]:
        missing = [code for code in codes if code not in self._cache]
        if missing:
            for code, text in zip(missing, self._table.texts(missing), strict=True):
                self._cache[code] = normalise_message_id(text)
        return [self._cache[code] for code in codes]


@dataclass(frozen=True)
class AccessContext:
    """One access context: its eight key values as recorded, and what its records did."""

    id: str  # "C-" + 10 hex of sha256 over the key values: the same on every reload
    client_ip: str
    client_info: str
    folder: str  # the record's first folder, as recorded (see normalise_folder to match)
    logon_type: int  # -1 when absent
    access_type: str  # "Bind", "Sync" or ""
    mailbox: str
    user_id: str
    session_id: str
    client_family: str  # FAMILY_LABELS of the ClientInfoString
    # Left out of ==, hash and repr: an array has no truth value, and the other fields already
    # say which records (and how many) the context holds.
    rows: Rows = field(compare=False, repr=False)  # time order
    records: int
    first: int  # epoch seconds UTC
    last: int
    binds: int  # records with MailAccessType Bind
    syncs: int
    items: int  # bound items (FolderItems with a message id), repeats included
    aad_session_ids: tuple[str, ...]  # sorted
    app_ids: tuple[str, ...]  # AppId and ClientAppId values, sorted
    # Distinct message codes the records touched (a code is a message, brackets and case
    # ignored). Their texts are looked up on first use of `messages`: a large case keeps them
    # on disk (index/messages.py), and most contexts are only ever counted.
    message_codes: npt.NDArray[np.int64] = field(compare=False, repr=False)
    names: MessageNames = field(compare=False, repr=False)

    @property
    def message_count(self) -> int:
        """Distinct messages touched (bound items and each record's own Item)."""
        return len(self.message_codes)

    @cached_property
    def messages(self) -> frozenset[str]:
        """Normalised InternetMessageIds (bound items and each record's own Item)."""
        return frozenset(self.names.normalised(self.message_codes.tolist()))

    def key_values(self) -> dict[str, str]:
        """The eight context properties by AuditData name, as text."""
        return {
            "ClientIPAddress": self.client_ip,
            "ClientInfoString": self.client_info,
            "ParentFolder": self.folder,
            "LogonType": str(self.logon_type) if self.logon_type >= 0 else "",
            "MailAccessType": self.access_type,
            "MailboxUPN": self.mailbox,
            "UserId": self.user_id,
            "SessionId": self.session_id,
        }


def make_context_id(key_values: Sequence[str]) -> str:
    """The id of the context with these eight values, in CONTEXT_FIELDS order, as text."""
    # Values, not dictionary codes: codes depend on load order, the values do not.
    joined = "\x1f".join(key_values)
    return "C-" + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:10]


# -- grouping helpers (shared with sessions.py) ------------------------------------------------


@dataclass(frozen=True)
class Groups:
    """Rows split by key: group g is rows[starts[g]:starts[g + 1]], in time order."""

    rows: Rows
    starts: Rows

    @property
    def count(self) -> int:
        return len(self.starts) - 1

    def of(self, group: int) -> Rows:
        return self.rows[self.starts[group] : self.starts[group + 1]]

    @cached_property
    def labels(self) -> Rows:
        """The group number of every position in `rows`."""
        return np.repeat(np.arange(self.count, dtype=np.int64), np.diff(self.starts))


def run_starts(ordered: npt.NDArray[Any]) -> Rows:
    """Positions where a sorted array's value changes (0 included): the start of each run."""
    if len(ordered) == 0:
        return np.empty(0, dtype=np.int64)
    changed = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    return np.concatenate(([0], changed)).astype(np.int64)


def sorted_distinct(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """np.unique by sorting (see the module notes for why not np.unique itself)."""
    ordered = np.sort(values)
    return ordered[run_starts(ordered)]


def group_rows(rows: Rows, keys: npt.NDArray[np.int64]) -> Groups:
    """Split ascending (time-ordered) rows by key; each group keeps time order."""
    size = len(rows)
    if size == 0:
        return Groups(rows, np.zeros(1, dtype=np.int64))
    order = np.argsort(keys)  # groups come out contiguous, their members shuffled
    starts = run_starts(keys[order])
    labels = np.zeros(size, dtype=np.int64)
    labels[starts[1:]] = 1
    np.cumsum(labels, out=labels)
    # Time order inside each group: sort (group, row) packed into one int64. Both are below
    # the row count, so the product fits for any index under 3 billion records.
    span = int(rows.max()) + 1
    packed = labels * span + rows[order]
    packed.sort()
    return Groups(packed % span, np.append(starts, size).astype(np.int64))


def _dense(key: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Key values renumbered 0, 1, 2 ... in sorted order (equal stays equal)."""
    order = np.argsort(key)
    ranks = np.zeros(len(key), dtype=np.int64)
    ranks[run_starts(key[order])[1:]] = 1
    np.cumsum(ranks, out=ranks)
    dense = np.empty(len(key), dtype=np.int64)
    dense[order] = ranks
    return dense


def combined_key(columns: list[npt.NDArray[Any]]) -> npt.NDArray[np.int64]:
    """One int64 per position, equal exactly where every column is equal."""
    size = len(columns[0]) if columns else 0
    key = np.zeros(size, dtype=np.int64)
    if size == 0:
        return key
    span = 1
    for column in columns:
        values = column.astype(np.int64)
        low = int(values.min())
        width = int(values.max()) - low + 1
        if span * width >= _KEY_LIMIT:
            key = _dense(key)
            span = int(key.max()) + 1
        key = key * width + (values - low)
        span *= width
    return key


@dataclass(frozen=True)
class Distinct:
    """Distinct codes of one column per group, each group's in order of first appearance.

    Group g's codes are codes[starts[g]:starts[g + 1]]; `rows` holds the row where each first
    appears and `counts` how many of the group's records carry it.
    """

    # Python lists, converted once: slicing a list per group is ~10x cheaper than slicing an
    # array and converting each slice, and there can be tens of thousands of groups.
    codes: list[int]
    rows: list[int]
    counts: list[int]
    starts: list[int]

    def of(self, group: int) -> list[int]:
        return self.codes[self.starts[group] : self.starts[group + 1]]

    def rows_of(self, group: int) -> list[int]:
        return self.rows[self.starts[group] : self.starts[group + 1]]

    def counts_of(self, group: int) -> list[int]:
        return self.counts[self.starts[group] : self.starts[group + 1]]


def distinct_per_group(
    groups: Groups, column: npt.NDArray[Any], *, skip: int | None = None
) -> Distinct:
    """Distinct values of `column` in each group; `skip` is the code of "absent" ("" or -1)."""
    values = column[groups.rows].astype(np.int64)
    # Absent values are dropped before sorting: AADSessionId or AppId is often on few records.
    positions = (
        np.flatnonzero(values != skip)
        if skip is not None
        else np.arange(len(values), dtype=np.int64)
    )
    if len(positions) == 0:
        return Distinct([], [], [], [0] * (groups.count + 1))
    present = values[positions]
    low = int(present.min())
    width = int(present.max()) - low + 1
    pairs = groups.labels[positions] * width + (present - low)
    order = np.argsort(pairs)
    starts = run_starts(pairs[order])
    # The earliest position holding each distinct (group, value) pair, and how many hold it.
    first = positions[np.minimum.reduceat(order, starts)]
    counts = np.diff(np.append(starts, len(pairs)))
    # Positions of one group are contiguous in groups.rows, so ordering by first position
    # orders by group and, inside a group, by first appearance in time.
    by_first = np.argsort(first)
    first, counts = first[by_first], counts[by_first]
    owner = np.searchsorted(groups.starts, first, side="right") - 1
    starts = np.searchsorted(owner, np.arange(groups.count + 1), side="left")
    return Distinct(
        values[first].tolist(), groups.rows[first].tolist(), counts.tolist(), starts.tolist()
    )


def empty_code(index: AuditIndex, field_name: str) -> int:
    """The code of "" in a field's dictionary.

    Every dictionary starts with "" at code 0 (part.py, merge.py); asking code_of instead would
    build a lookup table of the whole dictionary: 2.1 million message ids at 1,000,000 records.
    """
    values = index.values(field_name)
    if values and values[0] == "":
        return 0
    found = index.code_of(field_name, "")
    return -1 if found is None else found


def select_rows(
    index: AuditIndex,
    base: Rows | None,
    *,
    mailbox: str | None,
    rows: npt.NDArray[Any] | None,
) -> Rows:
    """`base` (None: every row) narrowed to a mailbox (any case) and to given rows, ascending."""
    selected = base
    if rows is not None:
        wanted = sorted_distinct(np.asarray(rows, dtype=np.int64))
        wanted = wanted[(wanted >= 0) & (wanted < len(index))]
        selected = wanted if selected is None else _both(selected, wanted)
    if mailbox is not None:
        mine = index.rows_with_casefold("mailbox", mailbox)
        selected = mine if selected is None else _both(selected, mine)
    if selected is None:
        return np.arange(len(index), dtype=np.int64)
    return selected.astype(np.int64)


def _both(first: Rows, second: Rows) -> Rows:
    return np.intersect1d(first, second, assume_unique=True).astype(np.int64)


def item_positions(index: AuditIndex, rows: Rows) -> tuple[Rows, Rows]:
    """Positions in the index's item arrays of every item of `rows`, with its owner's position."""
    starts = index.item_start[rows]
    counts = index.item_start[rows + 1] - starts
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    return starts[owner] + offsets, owner


def bound_message_codes(index: AuditIndex, rows: Rows) -> tuple[npt.NDArray[np.int64], Rows]:
    """Message codes of the items `rows` bound, with each one's owner (a position in `rows`).

    A folder named without items (a Sync, formats.md 3.3 Variant B) has the empty code: left out.
    """
    items, owners = item_positions(index, rows)
    codes = index.item_message[items].astype(np.int64)
    keep = codes != empty_code(index, "message_id")
    return codes[keep], owners[keep]


def with_own_items(
    index: AuditIndex, rows: Rows, codes: npt.NDArray[np.int64], owners: Rows
) -> tuple[npt.NDArray[np.int64], Rows]:
    """Bound message codes plus each record's own Item.InternetMessageId (a SendAs, a Create)."""
    own = index.codes["message_id"][rows].astype(np.int64)
    has = np.flatnonzero(own != empty_code(index, "message_id"))
    return np.concatenate((codes, own[has])), np.concatenate((owners, has))


def message_codes(index: AuditIndex, rows: Rows) -> tuple[npt.NDArray[np.int64], Rows]:
    """Message codes `rows` touched (bound items, then each record's own Item), with owners."""
    return with_own_items(index, rows, *bound_message_codes(index, rows))


# -- contexts ---------------------------------------------------------------------------------


def _context_key(index: AuditIndex, rows: Rows) -> npt.NDArray[np.int64]:
    columns = [
        index.codes[column][rows] if column in index.codes else index.ints[column][rows]
        for _, column in CONTEXT_FIELDS
    ]
    return combined_key(columns)


def _message_codes_per_group(
    groups: Groups, codes: npt.NDArray[np.int64], owners: Rows
) -> list[npt.NDArray[np.int64]]:
    """Each group's distinct message codes (a code is a message, whatever its spelling)."""
    labels = groups.labels[owners]
    width = int(codes.max()) + 1 if len(codes) else 1
    pairs = sorted_distinct(labels * width + codes)
    group_of, code_of = pairs // width, pairs % width
    starts = np.searchsorted(group_of, np.arange(groups.count + 1), side="left").tolist()
    return [code_of[starts[g] : starts[g + 1]] for g in range(groups.count)]


def _count_per_group(groups: Groups, which: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """How many of `which` (a mask of positions, or positions with repeats) fall in each group."""
    return np.bincount(groups.labels[which], minlength=groups.count).astype(np.int64)


def _context_groups(
    index: AuditIndex, mailbox: str | None, rows: npt.NDArray[Any] | None
) -> Groups:
    mia = select_rows(
        index, index.rows_with("operation", MAIL_ITEMS_ACCESSED), mailbox=mailbox, rows=rows
    )
    return group_rows(mia, _context_key(index, mia))


KeyValues = tuple[str, str, str, str, str, str, str, str]


def _key_values(index: AuditIndex, first_rows: Rows) -> list[KeyValues]:
    """The eight properties, as text in CONTEXT_FIELDS order, of each group's first row."""
    columns: list[list[str]] = []
    for _, column in CONTEXT_FIELDS:
        if column == "logon_type":
            logons = index.ints[column][first_rows].tolist()
            columns.append([str(v) if v >= 0 else "" for v in logons])
        elif column == "access_type":
            accesses = index.ints[column][first_rows].tolist()
            columns.append([ACCESS_LABELS.get(v, "") for v in accesses])
        else:
            values = index.values(column)
            columns.append([values[c] for c in index.codes[column][first_rows].tolist()])
    return list(zip(*columns, strict=True))


def access_contexts(
    index: AuditIndex,
    *,
    mailbox: str | None = None,
    rows: npt.NDArray[Any] | None = None,
) -> list[AccessContext]:
    """The access contexts of MailItemsAccessed records, by first time then id."""
    found = _contexts(index, _context_groups(index, mailbox, rows))
    found.sort(key=lambda context: (context.first, context.id))
    return found


def context_by_id(index: AuditIndex, context_id: str) -> AccessContext | None:
    """The context with this id (any case), or None when no record has that context now."""
    wanted = context_id.strip().casefold()
    groups = _context_groups(index, None, None)
    # Hashing every group's key is cheap; the rest of a context is built for the match only.
    for g, key in enumerate(_key_values(index, groups.rows[groups.starts[:-1]])):
        if make_context_id(key).casefold() == wanted:
            members = groups.of(g)
            only = Groups(members, np.array([0, len(members)], dtype=np.int64))
            return _contexts(index, only)[0]
    return None


def _contexts(index: AuditIndex, groups: Groups) -> list[AccessContext]:
    """One AccessContext per group, in group order."""
    first_rows = groups.rows[groups.starts[:-1]]
    access = index.ints["access_type"][groups.rows]
    binds = _count_per_group(groups, access == ACCESS_BIND).tolist()
    syncs = _count_per_group(groups, access == ACCESS_SYNC).tolist()
    bound, owners = bound_message_codes(index, groups.rows)
    items = _count_per_group(groups, owners).tolist()
    codes = _message_codes_per_group(groups, *with_own_items(index, groups.rows, bound, owners))
    aad = distinct_per_group(
        groups, index.codes["aad_session_id"], skip=empty_code(index, "aad_session_id")
    )
    no_app = empty_code(index, "app_id")
    apps = distinct_per_group(groups, index.codes["app_id"], skip=no_app)
    client_apps = distinct_per_group(groups, index.codes["client_app_id"], skip=no_app)
    families = [_FAMILY_LABEL[f] for f in index.ints["client_family"][first_rows].tolist()]
    logons = index.ints["logon_type"][first_rows].tolist()
    bounds = groups.starts.tolist()
    first_times = index.time[first_rows].tolist()
    last_times = index.time[groups.rows[groups.starts[1:] - 1]].tolist()
    sessions = index.values("aad_session_id")
    app_names = index.values("app_id")
    names = MessageNames(index)  # shared: each message id is looked up once for all contexts

    found = []
    for g, key in enumerate(_key_values(index, first_rows)):
        ip, info, folder, _, access_type, mailbox, user_id, session_id = key
        found.append(
            AccessContext(
                id=make_context_id(key),
                client_ip=ip,
                client_info=info,
                folder=folder,
                logon_type=logons[g],
                access_type=access_type,
                mailbox=mailbox,
                user_id=user_id,
                session_id=session_id,
                client_family=families[g],
                rows=groups.rows[bounds[g] : bounds[g + 1]],
                records=bounds[g + 1] - bounds[g],
                first=first_times[g],
                last=last_times[g],
                binds=binds[g],
                syncs=syncs[g],
                items=items[g],
                aad_session_ids=tuple(sorted(sessions[c] for c in aad.of(g))),
                app_ids=tuple(sorted({app_names[c] for c in apps.of(g) + client_apps.of(g)})),
                message_codes=codes[g],
                names=names,
            )
        )
    return found
