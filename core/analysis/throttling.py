"""Throttled mailboxes: 24-hour windows in which Bind was not audited.

When a mailbox produces more than 1,000 MailItemsAccessed records within 24 hours, Exchange
marks the record written at that moment with `IsThrottled` = True and stops auditing Bind
for the next 24 hours (Sync is still audited). Microsoft's first investigation step: treat
every message in the mailbox as read during that window (domain.md 2). The index holds
IsThrottled as `throttled` (-1 absent, 0 False, 1 True); only 1 opens a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..index.audit_index import AuditIndex
from ..normalise.times import to_iso
from .findings import Finding, Severity, make_finding, sort_findings

THROTTLE_SECONDS = 86_400  # Bind auditing stops for 24 hours after the IsThrottled record


@dataclass(frozen=True)
class ThrottledWindow:
    mailbox: str  # MailboxOwnerUPN as recorded (UserId when the record has none)
    start: int  # epoch seconds UTC: the IsThrottled record's CreationTime, inclusive
    end: int  # start + 24 h, exclusive
    record_id: str  # the IsThrottled record the window rests on
    row: int
    extends_past_data: bool  # the window runs beyond the last record of the evidence


class BlindSpan(NamedTuple):
    """Overlapping or adjacent throttled windows of one mailbox as one blind span."""

    mailbox: str
    start: int
    end: int  # exclusive
    record_ids: tuple[str, ...]


def throttled_windows(index: AuditIndex) -> list[ThrottledWindow]:
    """One window per IsThrottled=True record, by (mailbox casefold, start, record id).

    Windows are not merged: each cites its own record (see merged_blind_spans).
    """
    if not len(index):
        return []
    # The evidence ends with its last record; a window reaching past that is partly unseen.
    data_end = int(index.time[-1]) + 1
    windows = []
    # One comparison over the column (~2 ms for 1,000,000 rows) rather than building the
    # column's postings (a sort) for the handful of throttled records a case holds.
    for row in np.flatnonzero(index.ints["throttled"] == 1).tolist():
        start = int(index.time[row])
        end = start + THROTTLE_SECONDS
        windows.append(
            ThrottledWindow(
                mailbox=index.text("mailbox", row).strip() or index.text("user_id", row).strip(),
                start=start,
                end=end,
                record_id=index.record_id(row),
                row=row,
                extends_past_data=end > data_end,
            )
        )
    return sorted(windows, key=lambda w: (w.mailbox.casefold(), w.start, w.record_id))


def merged_blind_spans(windows: list[ThrottledWindow]) -> list[BlindSpan]:
    """Per mailbox, windows that overlap or touch merged into spans, citing every record."""
    spans: list[BlindSpan] = []
    ordered = sorted(windows, key=lambda w: (w.mailbox.casefold(), w.start, w.record_id))
    for window in ordered:
        last = spans[-1] if spans else None
        if (
            last is not None
            and last.mailbox.casefold() == window.mailbox.casefold()
            and window.start <= last.end
        ):
            spans[-1] = last._replace(
                end=max(last.end, window.end), record_ids=(*last.record_ids, window.record_id)
            )
        else:
            spans.append(BlindSpan(window.mailbox, window.start, window.end, (window.record_id,)))
    return spans


def _explanation(window: ThrottledWindow) -> str:
    text = (
        f"A MailItemsAccessed record at {to_iso(window.start)} carries IsThrottled=True: the"
        " mailbox produced more than 1,000 MailItemsAccessed records within 24 hours, so"
        f" Exchange stopped auditing Bind until {to_iso(window.end)} (the 24-hour rule; Sync"
        " is still audited). The absence of Bind records in this window proves nothing:"
        " assume every message in the mailbox was read. Fewer than 1% of mailboxes are ever"
        " throttled; an attacker mass-reading mail is a likely cause."
    )
    if window.extends_past_data:
        text += (
            " The window runs past the last record of the evidence: collect the audit log"
            " beyond it to see what followed."
        )
    return text


def throttling_findings(windows: list[ThrottledWindow]) -> list[Finding]:
    """A HIGH finding per throttled window."""
    return sort_findings(
        [
            make_finding(
                "throttled_window",
                Severity.HIGH,
                f"{window.mailbox} throttled: 24 h of unaudited mail reads",
                _explanation(window),
                mailbox=window.mailbox,
                start=window.start,
                end=window.end,
                record_ids=(window.record_id,),
            )
            for window in windows
        ]
    )
