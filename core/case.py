"""An open case: the loaded evidence, its analyses, and what the investigator has said.

The explorer holds one Case and renders what it returns; every number and verdict on screen
comes from here or from the analyses it calls. Analyses run on first use and are cached;
naming a suspect recomputes only the scope and the findings that depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from .analysis.contexts import AccessContext, access_contexts
from .analysis.coverage import Coverage, coverage, coverage_findings
from .analysis.findings import Finding, sort_findings
from .analysis.outages import KnownOutage, outages_overlapping
from .analysis.scope import Scope, Suspects, scope_findings, scope_of_compromise
from .analysis.send_as import SendClassification, classify_sends, send_as_findings
from .analysis.sessions import Session, session_findings, sessions
from .analysis.throttling import ThrottledWindow, throttled_windows, throttling_findings
from .index.audit_index import AuditIndex
from .ingest.loader import LoadResult

Rows = npt.NDArray[np.int64]


@dataclass
class Case:
    result: LoadResult
    suspects: Suspects = field(default_factory=Suspects)

    @property
    def index(self) -> AuditIndex:
        return self.result.index

    @cached_property
    def window(self) -> tuple[int, int]:
        first = self.index.first_time or 0
        last = self.index.last_time or 0
        return first, last + 1

    @cached_property
    def throttled(self) -> list[ThrottledWindow]:
        return throttled_windows(self.index)

    @cached_property
    def outages(self) -> list[KnownOutage]:
        return outages_overlapping(*self.window) if len(self.index) else []

    @cached_property
    def coverage(self) -> Coverage:
        return coverage(self.index, window=self.window)

    @cached_property
    def sessions(self) -> list[Session]:
        return sessions(self.index)

    @cached_property
    def sends(self) -> list[SendClassification]:
        return classify_sends(self.index)

    def contexts(self, mailbox: str | None = None) -> list[AccessContext]:
        return self._contexts_cache(mailbox.casefold() if mailbox else "")

    def _contexts_cache(self, key: str) -> list[AccessContext]:
        cache: dict[str, list[AccessContext]] = self.__dict__.setdefault("_contexts", {})
        if key not in cache:
            cache[key] = access_contexts(self.index, mailbox=key or None)
        return cache[key]

    def prepare(self) -> None:
        """Compute now what the explorer's panes show first, so drawing only reads results.

        On a 1,000,000-record case the sessions alone take ~3 s and the findings need every
        analysis: done on the thread that draws the screen, that froze keys for seconds
        when the load ended. The explorer calls this on its loading thread instead.
        """
        for name in ("window", "throttled", "outages", "coverage", "sessions", "sends"):
            getattr(self, name)
        _ = self.mailboxes, self.analysis_findings
        self.contexts()

    @cached_property
    def mailboxes(self) -> list[tuple[str, int]]:
        """(mailbox, records) of every mailbox, most records first."""
        values = self.index.values("mailbox")
        tally = np.bincount(self.index.codes["mailbox"], minlength=len(values))
        merged: dict[str, list[Any]] = {}
        for code in np.flatnonzero(tally).tolist():
            name = values[code]
            if not name:
                continue
            entry = merged.setdefault(name.casefold(), [name, 0])
            entry[1] += int(tally[code])
        return sorted(((n, c) for n, c in merged.values()), key=lambda p: (-p[1], p[0]))

    def mailbox_counts(self) -> dict[str, tuple[int, int]]:
        """(MailItemsAccessed records, contexts) per casefolded mailbox, from the contexts."""
        counts: dict[str, tuple[int, int]] = {}
        for context in self.contexts():
            records, contexts = counts.get(context.mailbox.casefold(), (0, 0))
            counts[context.mailbox.casefold()] = (records + context.records, contexts + 1)
        return counts

    def default_mailbox(self) -> str | None:
        """The mailbox to look at first: the first suspect record's, else the one with most
        MailItemsAccessed records (ties: more records overall, as `mailboxes` orders them)."""
        for row in self.suspect_rows()[:1000].tolist():
            name = self.index.text("mailbox", row)
            if name:
                return name
        if not self.mailboxes:
            return None
        counts = self.mailbox_counts()
        return max(self.mailboxes, key=lambda p: counts.get(p[0].casefold(), (0, 0))[0])[0]

    @cached_property
    def analysis_findings(self) -> list[Finding]:
        found = throttling_findings(self.throttled) + send_as_findings(self.sends)
        found += session_findings(self.index, self.sessions)
        found += coverage_findings(self.coverage)
        return found

    def scope(self) -> Scope | None:
        if not self.suspects:
            return None
        key = self.suspects
        cached: tuple[Suspects, Scope] | None = self.__dict__.get("_scope")
        if cached is None or cached[0] != key:
            cached = (key, scope_of_compromise(self.index, key))
            self.__dict__["_scope"] = cached
        return cached[1]

    def findings(self, extra: list[Finding] | None = None) -> list[Finding]:
        """Analysis findings, the scope's, and `extra` (the investigator's marks and notes)."""
        found = list(self.analysis_findings)
        scope = self.scope()
        if scope is not None:
            found += scope_findings(scope)
        found += extra or []
        unique = {f.id: f for f in found}
        return sort_findings(list(unique.values()))

    def suspect_rows(self) -> Rows:
        scope = self.scope()
        return scope.rows if scope is not None else np.empty(0, dtype=np.int64)

    def original_record(self, row: int) -> dict[str, Any]:
        """The record as the evidence file holds it, re-read by byte offset (never cached)."""
        if self.index.reread is None:
            raise ValueError("this case has no evidence files to re-read")
        return self.index.reread(row)
