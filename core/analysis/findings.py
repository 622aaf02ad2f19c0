"""Findings: what an analysis or the investigator concluded, citing the records it rests on.

A finding's id is derived from its content (kind, mailbox, span, record ids), so the same
evidence gives the same id on every reload and on every machine: marks, notes and exports can
refer to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


SEVERITY_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2, Severity.INFO: 3}


@dataclass(frozen=True)
class Finding:
    id: str
    kind: str  # e.g. throttled_window, sync_in_attacker_context, send_as_logging_artefact
    severity: Severity
    title: str
    explanation: str  # plain language: what it means for the investigation
    mailbox: str
    start: int | None  # epoch seconds UTC
    end: int | None
    record_ids: tuple[str, ...]


def finding_id(
    kind: str, mailbox: str, start: int | None, end: int | None, record_ids: tuple[str, ...]
) -> str:
    key = "|".join(
        [kind, mailbox.casefold(), str(start), str(end), *sorted(r.lower() for r in record_ids)]
    )
    return "F-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def make_finding(
    kind: str,
    severity: Severity,
    title: str,
    explanation: str,
    *,
    mailbox: str = "",
    start: int | None = None,
    end: int | None = None,
    record_ids: tuple[str, ...] = (),
) -> Finding:
    ordered = tuple(sorted(set(record_ids)))
    return Finding(
        id=finding_id(kind, mailbox, start, end, ordered),
        kind=kind,
        severity=severity,
        title=title,
        explanation=explanation,
        mailbox=mailbox,
        start=start,
        end=end,
        record_ids=ordered,
    )


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by time, kind and id: the same order on every run."""
    return sorted(
        findings,
        key=lambda f: (
            SEVERITY_RANK[f.severity],
            f.start if f.start is not None else -1,
            f.kind,
            f.id,
        ),
    )
