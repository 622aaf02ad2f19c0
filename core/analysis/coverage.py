"""Coverage: what the evidence can show, and where it is blind.

An investigator must say not only what the records show but where their absence proves
nothing: a known Microsoft outage, a throttled mailbox, an export that stopped at a
collection cap, Bind records that do not list what they counted, a mailbox that falls
silent for days. Every gap is half-open, [start, end), in epoch seconds UTC.

Everything here is numpy over the index columns; Python loops run over outages, files,
throttled windows, anomalous rows and mailboxes, never over all records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from ..index.audit_index import AuditIndex, Rows
from ..ingest.inputs import InputFile
from ..normalise.record import ACCESS_BIND
from ..normalise.times import to_iso
from .findings import Finding, Severity, make_finding, sort_findings
from .outages import KnownOutage, outages_overlapping
from .throttling import ThrottledWindow, throttled_windows

Groups = npt.NDArray[np.int64]

MAIL_ITEMS_ACCESSED = "MailItemsAccessed"
SEND_OPERATIONS = frozenset({"SendAs", "SendOnBehalf"})

# Silences. A mailbox needs a rhythm before a pause in it means anything: 20 records.
SILENCE_MIN_RECORDS = 20
# 12 hours: a night without mail is normal for anyone.
SILENCE_FLOOR_SECONDS = 12 * 3600
# 10x the median gap: a mailbox read every 30 minutes is not silent after 2 hours.
SILENCE_MEDIAN_FACTOR = 10
# Twice the usual nightly pause: an office mailbox goes quiet ~15 h each night (17:00 to
# 08:00), past the 12 h floor; a silence twice that long spans a whole working day.
SILENCE_PAUSE_FACTOR = 2
DAY = 86_400

# What each collection cap is (inputs.COLLECTION_CAPS; formats.md 5.1, 6.5).
CAP_NAMES = {
    5_000: "the 5,000 records one Search-UnifiedAuditLog call returns",
    50_000: "the 50,000-row limit of the Purview (Audit Standard) export",
    1_000_000: "the 1,000,000-row limit of the Purview (Audit Premium) export",
}


class GapKind(StrEnum):
    KNOWN_OUTAGE = "known_outage"
    THROTTLED = "throttled"
    TRUNCATED_FILE = "truncated_file"
    BIND_WITHOUT_ITEMS = "bind_without_items"
    SILENCE = "silence"


@dataclass(frozen=True)
class TimeRange:
    first: int  # time of the first record, epoch seconds UTC
    last: int  # time of the last record (inclusive)
    records: int


@dataclass(frozen=True)
class Gap:
    kind: GapKind
    start: int  # inclusive
    end: int  # exclusive
    operations: tuple[str, ...]  # operations the gap hides; () means every operation
    mailbox: str  # as recorded; "" when the gap concerns every mailbox
    source: str  # what the gap rests on: a notice, a record, a file
    detail: str  # plain words, with the numbers
    record_ids: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    window: tuple[int, int]  # the investigation window [start, end)
    mailbox: str  # the mailbox asked about, "" for all
    ranges_by_mailbox: dict[str, TimeRange]  # MailboxOwnerUPN casefold ("" for none)
    ranges_by_operation: dict[str, TimeRange]
    gaps: list[Gap]


def duration(seconds: int) -> str:
    """A span in the units an investigator reads: `3 d 15 h`, `15 h 0 min`, `4 min 10 s`."""
    if seconds >= DAY:
        return f"{seconds // DAY} d {seconds % DAY // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


# -- selection and ranges ----------------------------------------------------------------


@dataclass(frozen=True)
class MailboxGroups:
    """The rows of a selection grouped by MailboxOwnerUPN, ignoring case and surrounding space.

    Built once per analysis: the grouping loops over the distinct addresses (thousands), and
    everything after it is numpy over the rows.
    """

    keys: list[str]  # casefold address per group; "" for records without MailboxOwnerUPN
    of_row: Groups  # group of each row of the selection

    @classmethod
    def of(cls, index: AuditIndex, rows: Rows) -> MailboxGroups:
        keys: dict[str, int] = {}
        values = index.values("mailbox")
        group_of_code = np.empty(len(values), dtype=np.int64)
        for code, text in enumerate(values):
            group_of_code[code] = keys.setdefault(text.strip().casefold(), len(keys))
        return cls(list(keys), group_of_code[index.codes["mailbox"][rows]])

    def order(self) -> Rows:
        """Positions of the selection sorted by group, time order kept within each group."""
        # A stable sort of 16-bit keys is a radix sort: 1,000,000 rows in ~50 ms where the
        # same keys as int64 took ~870 ms (measured on this project's 2-core box).
        narrow = self.of_row.astype(np.uint16) if len(self.keys) <= 0xFFFF else self.of_row
        return np.argsort(narrow, kind="stable").astype(np.int64)

    def split(self) -> list[Rows]:
        """Positions of the selection per group, groups in key order, each in time order."""
        if not len(self.of_row):
            return []
        order = self.order()
        bounds = np.flatnonzero(np.diff(self.of_row[order])) + 1
        parts = np.split(order, bounds)
        return sorted(parts, key=lambda part: self.keys[int(self.of_row[part[0]])])


def window_rows(index: AuditIndex, window: tuple[int, int], mailbox: str | None) -> Rows:
    """Rows inside the window, of one mailbox (MailboxOwnerUPN, case-insensitive) if given."""
    lo, hi = index.rows_between(*window)
    if mailbox is None:
        return np.arange(lo, hi, dtype=np.int64)
    rows = index.rows_with_casefold("mailbox", mailbox.strip())
    return rows[(rows >= lo) & (rows < hi)]


def _ranges(keys: npt.NDArray[Any], labels: Sequence[str], times: Rows) -> dict[str, TimeRange]:
    """First time, last time and count per key (a code into `labels`)."""
    size = len(labels)
    counts = np.bincount(keys, minlength=size)
    first = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, keys, times)
    np.maximum.at(last, keys, times)
    found = {
        labels[g]: TimeRange(int(first[g]), int(last[g]), int(counts[g]))
        for g in np.flatnonzero(counts).tolist()
    }
    return dict(sorted(found.items()))


def _clip(start: int, end: int, window: tuple[int, int]) -> tuple[int, int] | None:
    lo, hi = max(start, window[0]), min(end, window[1])
    return (lo, hi) if lo < hi else None


# -- gaps ----------------------------------------------------------------------------------


def _outage_gap(index: AuditIndex, rows: Rows, outage: KnownOutage, span: tuple[int, int]) -> Gap:
    start, end = span
    detail = (
        f"{outage.description} It overlaps the investigation window from {to_iso(start)} to"
        f" {to_iso(end)} (end exclusive)."
    )
    record_ids: tuple[str, ...] = ()
    codes = [index.code_of("operation", op) for op in outage.operations]
    wanted = [c for c in codes if c is not None]
    if wanted:
        times = index.time[rows]
        inside = rows[
            (times >= start) & (times < end) & np.isin(index.codes["operation"][rows], wanted)
        ]
        record_ids = tuple(index.record_id(int(r)) for r in inside)
        if record_ids:
            detail += (
                f" {len(record_ids)} {'/'.join(outage.operations)} record(s) are nonetheless"
                " dated inside it: the outage may have started late or ended early for this"
                " tenant; read them, but do not take their number as complete."
            )
    return Gap(
        GapKind.KNOWN_OUTAGE,
        start,
        end,
        outage.operations,
        "",
        outage.source,
        detail,
        record_ids,
    )


def outage_gaps(index: AuditIndex, rows: Rows, window: tuple[int, int]) -> list[Gap]:
    gaps = []
    for outage in outages_overlapping(*window):
        span = _clip(outage.start, outage.end, window)
        if span is not None:
            gaps.append(_outage_gap(index, rows, outage, span))
    return gaps


def _throttled_gap(window: ThrottledWindow, span: tuple[int, int]) -> Gap:
    detail = (
        f"IsThrottled=True at {to_iso(window.start)}: Bind was not audited until"
        f" {to_iso(window.end)} (24 hours); Sync is still audited. Assume every message in"
        " the mailbox was read in this window."
    )
    if window.extends_past_data:
        detail += " The window runs past the last record of the evidence."
    return Gap(
        GapKind.THROTTLED,
        span[0],
        span[1],
        (MAIL_ITEMS_ACCESSED,),
        window.mailbox,
        f"IsThrottled=True on record {window.record_id}",
        detail,
        (window.record_id,),
    )


def throttled_gaps(index: AuditIndex, window: tuple[int, int], mailbox: str | None) -> list[Gap]:
    gaps = []
    for throttled in throttled_windows(index):
        if mailbox is not None and throttled.mailbox.casefold() != mailbox.strip().casefold():
            continue
        span = _clip(throttled.start, throttled.end, window)
        if span is not None:
            gaps.append(_throttled_gap(throttled, span))
    return gaps


def _truncated_gap(info: InputFile, span: tuple[int, int]) -> Gap:
    cap = CAP_NAMES.get(info.data_rows, "a known collection cap")
    seen = (
        f"its records run from {to_iso(info.first_time)} to {to_iso(info.last_time)}"
        if info.first_time is not None and info.last_time is not None
        else "none of its rows became a record"
    )
    return Gap(
        GapKind.TRUNCATED_FILE,
        span[0],
        span[1],
        (),
        "",
        info.path,
        f"{info.path} holds exactly {info.data_rows:,} data rows, {cap}: the export probably"
        f" stopped at the cap, not at the end of the evidence; {seen}. Records beyond what it"
        " holds may be missing: search again in smaller time slices.",
        (),
    )


def truncated_file_gaps(index: AuditIndex, window: tuple[int, int]) -> list[Gap]:
    gaps = []
    for info in index.files:
        if not info.possibly_truncated:
            continue
        if info.first_time is None or info.last_time is None:
            span: tuple[int, int] | None = window if window[0] < window[1] else None
        else:
            span = _clip(info.first_time, info.last_time + 1, window)
        if span is not None:
            gaps.append(_truncated_gap(info, span))
    return gaps


def _listed_messages(index: AuditIndex, rows: Rows) -> npt.NDArray[np.int64]:
    """Per row, the bound items that name a message (a folder without items names none)."""
    empty = index.code_of("message_id", "")
    named = index.item_message != (-1 if empty is None else empty)
    running = np.zeros(len(named) + 1, dtype=np.int64)
    np.cumsum(named, out=running[1:])
    return running[index.item_start[rows + 1]] - running[index.item_start[rows]]


def _bind_gap(index: AuditIndex, rows: Rows, listed: Rows, counted: Rows) -> Gap:
    empty = int(np.count_nonzero(listed == 0))
    mismatched = len(rows) - empty
    detail = (
        f"{empty} MailItemsAccessed Bind record(s) list no message (no InternetMessageId)"
        f" and {mismatched} have an OperationCount different from the messages they list;"
        f" together they count {int(np.maximum(counted, 0).sum()):,} binds and list"
        f" {int(listed.sum()):,} messages. The record set under-reports which messages were"
        " opened: the exact set read cannot be taken from these records alone."
    )
    first, last = int(rows[0]), int(rows[-1])
    return Gap(
        GapKind.BIND_WITHOUT_ITEMS,
        int(index.time[first]),
        int(index.time[last]) + 1,
        (MAIL_ITEMS_ACCESSED,),
        index.text("mailbox", first).strip(),
        "MailItemsAccessed Bind records",
        detail,
        tuple(index.record_id(int(r)) for r in rows),
    )


def bind_gaps(index: AuditIndex, rows: Rows, mailboxes: MailboxGroups) -> list[Gap]:
    """Per mailbox, Bind records listing no message or other than their OperationCount."""
    operation = index.code_of("operation", MAIL_ITEMS_ACCESSED)
    if operation is None or not len(rows):
        return []
    is_bind = (index.codes["operation"][rows] == operation) & (
        index.ints["access_type"][rows] == ACCESS_BIND
    )
    at = np.flatnonzero(is_bind)
    binds = rows[at]
    listed = _listed_messages(index, binds)
    counted = index.ints["operation_count"][binds].astype(np.int64)
    # OperationCount absent (-1) is not a mismatch: older renderings omit it.
    odd = (listed == 0) | ((counted >= 0) & (counted != listed))
    at, binds, listed, counted = at[odd], binds[odd], listed[odd], counted[odd]
    odd_groups = MailboxGroups(mailboxes.keys, mailboxes.of_row[at])
    return [
        _bind_gap(index, binds[part], listed[part], counted[part]) for part in odd_groups.split()
    ]


def _lower_median(groups: Groups, values: Rows, size: int) -> Rows:
    """Per group, the lower median of its values (0 for a group without values).

    One sort of (group, value) packed into an int64 instead of a numpy call per mailbox:
    np.percentile costs ~1 ms a call, so 2 x 2,000 mailboxes took 4.6 s where the packed
    sort of 1,000,000 gaps takes well under 0.1 s (measured on this project's 2-core box).
    """
    counts = np.bincount(groups, minlength=size)
    packed = np.sort((groups << 32) | np.minimum(values, 0xFFFF_FFFF))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    middle = np.minimum(starts + (counts - 1) // 2, max(len(packed) - 1, 0))
    medians = packed[middle] & 0xFFFF_FFFF if len(packed) else np.zeros(size, dtype=np.int64)
    return np.where(counts > 0, medians, 0).astype(np.int64)


@dataclass(frozen=True)
class _Rhythm:
    """A mailbox's usual pace, against which a silence is measured."""

    records: Rows  # per group
    median_gap: Rows
    nightly_pause: Rows
    threshold: Rows


def _rhythm(group: Groups, times: Rows, gap: Rows, size: int) -> _Rhythm:
    """Per group: median gap, usual nightly pause and the silence threshold.

    `group`/`times` are the rows in (group, time) order; `gap` follows each row but the last
    of its group. The nightly pause is, per UTC day, the longest gap under 24 h that starts
    in it, then the lower median over days: gaps of a day or more are what is looked for, so
    they stay out of the baseline.
    """
    same = group[1:] == group[:-1]
    gap_group = group[:-1][same]
    median = _lower_median(gap_group, gap, size)
    short = gap < DAY
    day = times[:-1][same][short] // DAY
    short_group = gap_group[short]
    if len(short_group):
        change = (np.diff(short_group) != 0) | (np.diff(day) != 0)
        starts = np.concatenate(([0], np.flatnonzero(change) + 1))
        longest = np.maximum.reduceat(gap[short], starts)
        pause = _lower_median(short_group[starts], longest, size)
    else:
        pause = np.zeros(size, dtype=np.int64)
    threshold = np.maximum(
        SILENCE_FLOOR_SECONDS,
        np.maximum(SILENCE_MEDIAN_FACTOR * median, SILENCE_PAUSE_FACTOR * pause),
    )
    return _Rhythm(np.bincount(group, minlength=size), median, pause, threshold)


def _silence(index: AuditIndex, before: int, after: int, rhythm: _Rhythm, group: int) -> Gap:
    start, end = int(index.time[before]), int(index.time[after])
    mailbox = index.text("mailbox", before).strip()
    median, pause = int(rhythm.median_gap[group]), int(rhythm.nightly_pause[group])
    return Gap(
        GapKind.SILENCE,
        start,
        end,
        (),
        mailbox,
        f"the {int(rhythm.records[group])} records of {mailbox} in the window",
        f"No record in {mailbox} for {duration(end - start)}, from {to_iso(start)} to"
        f" {to_iso(end)}; its median gap is {duration(median)} and its usual nightly pause"
        f" {duration(pause)}, so anything over {duration(int(rhythm.threshold[group]))} stands"
        " out (the largest of 12 h, 10x the median gap and twice the nightly pause). Auditing"
        " may have been off, the collection may miss a slice, or the mailbox was idle: check"
        " before reading the silence as inactivity.",
        (index.record_id(before), index.record_id(after)),
    )


def silence_gaps(index: AuditIndex, rows: Rows, mailboxes: MailboxGroups) -> list[Gap]:
    """Long silences in mailboxes that are otherwise active (the SILENCE_* rules)."""
    size = len(mailboxes.keys)
    active = np.bincount(mailboxes.of_row, minlength=size) >= SILENCE_MIN_RECORDS
    if "" in mailboxes.keys:
        active[mailboxes.keys.index("")] = False  # records with no MailboxOwnerUPN: no mailbox
    order = mailboxes.order()
    order = order[active[mailboxes.of_row[order]]]
    if len(order) < 2:
        return []
    group, ordered_rows = mailboxes.of_row[order], rows[order]
    times = index.time[ordered_rows]
    same = group[1:] == group[:-1]
    after = np.flatnonzero(same) + 1  # each row that follows another of its mailbox
    gap = times[after] - times[after - 1]
    rhythm = _rhythm(group, times, gap, size)
    hits = after[gap > rhythm.threshold[group[after]]]
    found = [
        _silence(index, int(ordered_rows[i - 1]), int(ordered_rows[i]), rhythm, int(group[i]))
        for i in hits.tolist()
    ]
    return sorted(found, key=lambda g: (g.mailbox.casefold(), g.start))


# -- the whole account -------------------------------------------------------------------


def coverage(
    index: AuditIndex,
    *,
    window: tuple[int, int] | None = None,
    mailbox: str | None = None,
) -> Coverage:
    """What the evidence covers in [start, end) (default: all of it), for one mailbox or all."""
    if window is None:
        window = (index.first_time or 0, (index.last_time or -1) + 1)
    rows = window_rows(index, window, mailbox)
    times = index.time[rows]
    mailboxes = MailboxGroups.of(index, rows)
    gaps = [
        *outage_gaps(index, rows, window),
        *throttled_gaps(index, window, mailbox),
        *truncated_file_gaps(index, window),
        *bind_gaps(index, rows, mailboxes),
        *silence_gaps(index, rows, mailboxes),
    ]
    gaps.sort(key=lambda g: (g.start, g.end, g.kind, g.mailbox.casefold(), g.source))
    return Coverage(
        window=window,
        mailbox=mailbox.strip() if mailbox else "",
        ranges_by_mailbox=_ranges(mailboxes.of_row, mailboxes.keys, times),
        ranges_by_operation=_ranges(
            index.codes["operation"][rows], index.values("operation"), times
        ),
        gaps=gaps,
    )


# -- findings ------------------------------------------------------------------------------


def _outage_finding(gap: Gap) -> Finding:
    hides_sends = bool(SEND_OPERATIONS & set(gap.operations)) or not gap.operations
    explanation = (
        "No SendAs or SendOnBehalf records can exist here; delegated sends in this window are"
        " invisible. "
        if hides_sends
        else ""
    )
    return make_finding(
        "known_outage",
        Severity.HIGH if hides_sends else Severity.MEDIUM,
        f"{gap.source}: {', '.join(gap.operations) or 'all operations'} not audited"
        f" {to_iso(gap.start)} to {to_iso(gap.end)}",
        explanation + gap.detail,
        mailbox=gap.mailbox,
        start=gap.start,
        end=gap.end,
        record_ids=gap.record_ids,
    )


_OTHER_FINDINGS: dict[GapKind, tuple[Severity, str]] = {
    GapKind.TRUNCATED_FILE: (Severity.MEDIUM, "Evidence file probably cut at a collection cap"),
    GapKind.BIND_WITHOUT_ITEMS: (Severity.LOW, "Bind records under-report the messages read"),
    GapKind.SILENCE: (Severity.LOW, "Long silence in an active mailbox"),
}


def coverage_findings(cov: Coverage) -> list[Finding]:
    """HIGH per outage hiding sends, MEDIUM per truncated file, LOW per Bind anomaly or
    silence. Throttled windows are left to throttling_findings, which reports each once."""
    findings = []
    for gap in cov.gaps:
        if gap.kind is GapKind.KNOWN_OUTAGE:
            findings.append(_outage_finding(gap))
        elif gap.kind in _OTHER_FINDINGS:
            severity, title = _OTHER_FINDINGS[gap.kind]
            subject = gap.mailbox or gap.source
            findings.append(
                make_finding(
                    str(gap.kind),
                    severity,
                    f"{title}: {subject}",
                    gap.detail,
                    mailbox=gap.mailbox,
                    start=gap.start,
                    end=gap.end,
                    record_ids=gap.record_ids,
                )
            )
    return sort_findings(findings)
