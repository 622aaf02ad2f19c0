"""The case at a glance: records, mailboxes, time range, and blind-window warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from ualscope.core.normalise.times import to_iso

if TYPE_CHECKING:
    from ualscope.core.case import Case


def header_text(case: Case) -> str:
    index = case.index
    if not len(index):
        return "no records loaded"
    mailboxes = len(case.mailboxes)
    first = to_iso(index.first_time or 0)[:16].replace("T", " ")
    last = to_iso(index.last_time or 0)[:16].replace("T", " ")
    text = f"{len(index):,} records, {mailboxes} mailboxes, {first} .. {last} UTC"
    warnings = []
    if case.outages:
        warnings.append("known outage " + ", ".join(o.source.split()[-1] for o in case.outages))
    if case.throttled:
        warnings.append(f"{len(case.throttled)} throttled")
    truncated = [f for f in index.files if f.possibly_truncated]
    if truncated:
        warnings.append(f"{len(truncated)} possibly truncated file(s)")
    if warnings:
        # Its own line: at 80 columns a warning appended to the summary would be cut off.
        text += "\n! BLIND: " + "; ".join(warnings) + " (6 Findings)"
    return text


class CaseHeader(Static):
    def show(self, case: Case) -> None:
        self.update(Content(header_text(case)))
        self.set_class(bool(case.outages or case.throttled), "warning")
