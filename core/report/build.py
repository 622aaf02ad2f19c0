"""Assembling the case report from the analyses: the one place their results meet.

The TUI shows the same analyses; this module only runs them over the investigation window
(and mailboxes) and turns their results into the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..analysis.contexts import AccessContext, access_contexts
from ..analysis.coverage import Coverage, coverage, coverage_findings
from ..analysis.findings import Finding, sort_findings
from ..analysis.scope import Scope, Suspects, scope_findings, scope_of_compromise
from ..analysis.send_as import SendClassification, classify_sends, send_as_findings
from ..analysis.sessions import Session, session_findings, sessions
from ..analysis.throttling import ThrottledWindow, throttled_windows, throttling_findings
from ..index.audit_index import AuditIndex, sorted_unique
from ..ingest.loader import LoadResult
from ..normalise.times import to_iso
from . import schema
from .inputs_schema import Count, SkippedPath, input_summary, records_summary

Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ReportOptions:
    mailboxes: tuple[str, ...] = ()
    start: int | None = None
    end: int | None = None
    suspects: Suspects = field(default_factory=Suspects)


@dataclass(frozen=True)
class CaseAnalysis:
    """Every analysis over one investigation window: what the report and the TUI show."""

    window: tuple[int, int]
    rows: Rows
    contexts: list[AccessContext]
    sessions: list[Session]
    sends: list[SendClassification]
    throttled: list[ThrottledWindow]
    coverage: list[Coverage]
    scope: Scope | None
    findings: list[Finding]


def investigation_window(index: AuditIndex, options: ReportOptions) -> tuple[int, int]:
    start = options.start if options.start is not None else index.first_time or 0
    end = options.end if options.end is not None else (index.last_time or 0) + 1
    return start, end


def window_rows(index: AuditIndex, window: tuple[int, int], mailboxes: tuple[str, ...]) -> Rows:
    lo, hi = index.rows_between(*window)
    rows = np.arange(lo, hi, dtype=np.int64)
    if mailboxes:
        wanted = sorted_unique(
            np.concatenate([index.rows_with_casefold("mailbox", m) for m in mailboxes])
        )
        rows = np.intersect1d(rows, wanted).astype(np.int64)
    return rows


def _in_mailboxes(mailbox: str, mailboxes: tuple[str, ...]) -> bool:
    return not mailboxes or mailbox.casefold() in {m.casefold() for m in mailboxes}


def analyse(index: AuditIndex, options: ReportOptions) -> CaseAnalysis:
    window = investigation_window(index, options)
    rows = window_rows(index, window, options.mailboxes)
    contexts = access_contexts(index, rows=rows)
    found_sessions = sessions(index, rows=rows)
    in_window = set(rows.tolist())
    sends = [
        s
        for s in classify_sends(index)
        if s.row in in_window and _in_mailboxes(s.mailbox_owner_upn, options.mailboxes)
    ]
    throttled = [
        w
        for w in throttled_windows(index)
        if w.start < window[1] and window[0] < w.end and _in_mailboxes(w.mailbox, options.mailboxes)
    ]
    coverages = [coverage(index, window=window, mailbox=m) for m in options.mailboxes] or [
        coverage(index, window=window)
    ]
    scope = (
        scope_of_compromise(index, options.suspects, window=window) if options.suspects else None
    )
    findings = throttling_findings(throttled) + send_as_findings(sends)
    findings += session_findings(index, found_sessions)
    for cov in coverages:
        findings += coverage_findings(cov)
    if scope is not None:
        findings += scope_findings(scope)
    unique = {f.id: f for f in findings}
    return CaseAnalysis(
        window=window,
        rows=rows,
        contexts=contexts,
        sessions=found_sessions,
        sends=sends,
        throttled=throttled,
        coverage=coverages,
        scope=scope,
        findings=sort_findings(list(unique.values())),
    )


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else to_iso(epoch)


def _throttled_out(window: ThrottledWindow) -> schema.ThrottledWindowOut:
    return schema.ThrottledWindowOut(
        mailbox=window.mailbox,
        start=to_iso(window.start),
        end=to_iso(window.end),
        record_id=window.record_id,
        extends_past_data=window.extends_past_data,
    )


def _coverage_out(coverages: list[Coverage]) -> schema.CoverageSection:
    by_mailbox: dict[str, schema.TimeRange] = {}
    by_operation: dict[str, schema.TimeRange] = {}
    gaps: dict[tuple[str, int, int, str, str, str], schema.Gap] = {}
    for cov in coverages:
        for name, span in cov.ranges_by_mailbox.items():
            by_mailbox[name] = schema.TimeRange(
                value=name, first=to_iso(span.first), last=to_iso(span.last), records=span.records
            )
        for name, span in cov.ranges_by_operation.items():
            by_operation.setdefault(
                name,
                schema.TimeRange(
                    value=name,
                    first=to_iso(span.first),
                    last=to_iso(span.last),
                    records=span.records,
                ),
            )
        for gap in cov.gaps:
            key = (
                gap.kind.value,
                gap.start,
                gap.end,
                gap.mailbox.casefold(),
                gap.source,
                gap.detail,
            )
            gaps[key] = schema.Gap(
                kind=gap.kind.value,
                start=to_iso(gap.start),
                end=to_iso(gap.end),
                operations=list(gap.operations),
                mailbox=gap.mailbox,
                source=gap.source,
                detail=gap.detail,
                record_ids=list(gap.record_ids),
            )
    return schema.CoverageSection(
        ranges_by_mailbox=[by_mailbox[k] for k in sorted(by_mailbox)],
        ranges_by_operation=[by_operation[k] for k in sorted(by_operation)],
        gaps=[gaps[k] for k in sorted(gaps, key=lambda k: (k[1], k[2], k[0], k[3], k[4], k[5]))],
    )


def _suspect_rows(analysis: CaseAnalysis) -> set[int]:
    return set() if analysis.scope is None else set(analysis.scope.rows.tolist())


def _sessions_out(analysis: CaseAnalysis) -> list[schema.SessionOut]:
    suspect = _suspect_rows(analysis)
    return [
        schema.SessionOut(
            id=s.id,
            kind=s.kind,
            key=s.key,
            first=to_iso(s.first),
            last=to_iso(s.last),
            records=s.records,
            mailboxes=list(s.mailboxes),
            users=list(s.users),
            client_ips=list(s.client_ips),
            clients=list(s.clients),
            apps=list(s.apps),
            operations=[Count(value=op, count=n) for op, n in s.operations],
            aad_session_ids=list(s.aad_session_ids),
            hints=list(s.hints),
            suspect=bool(suspect.intersection(s.rows.tolist())),
        )
        for s in analysis.sessions
    ]


def _contexts_out(analysis: CaseAnalysis) -> list[schema.ContextOut]:
    suspect = _suspect_rows(analysis)
    return [
        schema.ContextOut(
            id=c.id,
            mailbox=c.mailbox,
            user_id=c.user_id,
            client_ip=c.client_ip,
            client_info=c.client_info,
            client_family=c.client_family,
            session_id=c.session_id,
            logon_type=c.logon_type,
            access_type=c.access_type,
            folder=c.folder,
            records=c.records,
            binds=c.binds,
            syncs=c.syncs,
            messages=c.message_count,
            first=to_iso(c.first),
            last=to_iso(c.last),
            suspect=bool(suspect.intersection(c.rows.tolist())),
        )
        for c in analysis.contexts
    ]


def _scope_out(scope: Scope) -> schema.ScopeSection:
    return schema.ScopeSection(
        suspects=[schema.Suspect(kind=k, value=v) for k, v in scope.suspects.described()],
        records=len(scope.rows),
        mailboxes=list(scope.mailboxes),
        first_activity=_iso(scope.first_activity),
        last_activity=_iso(scope.last_activity),
        bound_messages=[
            schema.BoundMessageOut(
                internet_message_id=m.internet_message_id,
                folder=m.folder,
                mailbox=m.mailbox,
                record_ids=list(m.record_ids),
                first_access=to_iso(m.first_access),
            )
            for m in scope.bound_messages
        ],
        synced_folders=[
            schema.SyncedFolderOut(
                mailbox=s.mailbox, folder=s.folder, record_id=s.record_id, time=to_iso(s.time)
            )
            for s in scope.synced_folders
        ],
        throttled_windows=[_throttled_out(w) for w in scope.throttled_windows],
        outages=[
            schema.OutageOut(
                start=to_iso(o.start),
                end=to_iso(o.end),
                operations=list(o.operations),
                source=o.source,
                description=o.description,
            )
            for o in scope.outages
        ],
        other_operations=[
            schema.AttackerOperationOut(
                time=to_iso(op.time),
                operation=op.operation,
                mailbox=op.mailbox,
                client_ip=op.client_ip,
                detail=op.detail,
                record_id=op.record_id,
            )
            for op in scope.other_operations
        ],
    )


def _send_out(send: SendClassification) -> schema.SendAsOut:
    return schema.SendAsOut(
        record_id=send.record_id,
        time=to_iso(send.time),
        operation=send.operation,
        user_id=send.user_id,
        mailbox_owner_upn=send.mailbox_owner_upn,
        target_smtp=send.target_smtp,
        client_info_string=send.client_info_string,
        client_family=send.client_family,
        logon_type=send.logon_type,
        subject=send.subject,
        classification=send.classification.value,
        reason=send.reason,
    )


def finding_out(finding: Finding) -> schema.FindingOut:
    return schema.FindingOut(
        id=finding.id,
        kind=finding.kind,
        severity=finding.severity.value,
        title=finding.title,
        explanation=finding.explanation,
        mailbox=finding.mailbox,
        start=_iso(finding.start),
        end=_iso(finding.end),
        record_ids=list(finding.record_ids),
    )


def build_report(
    result: LoadResult,
    analysis: CaseAnalysis,
    options: ReportOptions,
    *,
    name: str,
    version: str,
    command: str,
    findings: list[Finding] | None = None,
) -> schema.CaseReport:
    """The report; `findings` replaces the analysis's findings (a TUI export of a selection)."""
    chosen = analysis.findings if findings is None else findings
    return schema.CaseReport(
        schema_version=schema.SCHEMA_VERSION,
        tool=schema.Tool(name=name, version=version, command=command),
        inputs=[input_summary(info) for info in result.files],
        skipped=[SkippedPath(path=p, reason=r) for p, r in result.skipped],
        records=records_summary(result),
        window=schema.Window(
            start=to_iso(analysis.window[0]),
            end=to_iso(analysis.window[1]),
            mailboxes=sorted(options.mailboxes, key=str.casefold),
        ),
        coverage=_coverage_out(analysis.coverage),
        throttled_windows=[_throttled_out(w) for w in analysis.throttled],
        sessions=_sessions_out(analysis),
        contexts=_contexts_out(analysis),
        scope=None if analysis.scope is None else _scope_out(analysis.scope),
        send_as=[_send_out(s) for s in analysis.sends],
        findings=[finding_out(f) for f in chosen],
    )
