"""Known Microsoft audit outages: windows in which some operations were never recorded.

A data table, each row citing its source, so that a report can say "blind for SendAs here,
and here is why". Absence of records inside these windows is not evidence of absence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..normalise.times import from_iso


@dataclass(frozen=True)
class KnownOutage:
    start: int  # epoch seconds UTC, inclusive
    end: int  # epoch seconds UTC, exclusive
    operations: tuple[str, ...]  # operations not recorded; () would mean every operation
    source: str  # where this is documented
    description: str


KNOWN_OUTAGES: tuple[KnownOutage, ...] = (
    KnownOutage(
        start=from_iso("2022-01-28T00:00:00"),
        # The notice gives 26 March 2022 as the last affected day: exclusive end is the 27th.
        end=from_iso("2022-03-27T00:00:00"),
        operations=("SendAs", "SendOnBehalf"),
        source="Microsoft 365 message center MC382148",
        description=(
            "No SendAs or SendOnBehalf audit records were generated from 2022-01-28 to "
            "2022-03-26; Microsoft states the data is unrecoverable."
        ),
    ),
)


def outages_overlapping(start: int, end: int) -> list[KnownOutage]:
    """Outages that overlap the half-open window [start, end)."""
    return [o for o in KNOWN_OUTAGES if o.start < end and start < o.end]
