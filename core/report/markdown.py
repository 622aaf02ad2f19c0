"""The case report as GitHub-flavoured markdown, for case notes; readable in a terminal too.

Every value that came from evidence goes through `md_cell` (a code span with pipes escaped
and URLs defanged) or `md_text`, so a subject cannot break a table, become a link, HTML or
formatting. Record ids come from evidence too (AuditData.Id: a forged export can put a
backtick, a pipe, an escape sequence or a newline in one) and are written with `md_cell` in
tables and `md_code` in lists. Values we compute (counts, times, the hashed ids of sessions,
contexts and findings) are written plainly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..textsafe import md_cell, md_code, md_text
from .schema import CaseReport, FindingOut

if TYPE_CHECKING:
    from .export import FindingsExport

# Long tables are cut in markdown (the JSON report has everything): case notes with 40,000
# session rows help nobody, and the cut is said in the table's place.
TABLE_LIMIT = 200
REJECTIONS_LIMIT = 50


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    total: int | None = None,
    limit: int | None = TABLE_LIMIT,
) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    shown = 0
    for row in rows:
        if shown == limit:
            break
        out.append("| " + " | ".join(row) + " |")
        shown += 1
    if total is not None and total > shown:
        out.append("")
        out.append(f"({total - shown:,} more rows in the JSON report: `--format json`)")
    out.append("")
    return out


def _cells(values: Iterable[str]) -> str:
    listed = [md_cell(v) for v in values if v]
    return ", ".join(listed) if listed else "—"


def _short(value: str, keep: int = 8) -> str:
    return value if len(value) <= keep + 1 else value[:keep] + "…"


def _header(report: CaseReport | FindingsExport) -> list[str]:
    tool = report.tool
    window = report.window
    lines = [
        "# ualscope case report",
        "",
        f"- Tool: {tool.name} {tool.version}",
        f"- Reproduce: {md_cell(tool.command)}",
        f"- Investigation window: {window.start} to {window.end} (UTC, end exclusive)",
        f"- Mailboxes: {_cells(window.mailboxes) if window.mailboxes else 'all'}",
        f"- Records: {report.records.unique:,} unique, {report.records.duplicates:,} duplicate "
        f"copies, {report.records.rejected:,} rejected rows",
        "",
    ]
    return lines


def _evidence(report: CaseReport | FindingsExport) -> list[str]:
    lines = ["## Evidence", ""]
    rows = [
        [
            md_cell(i.path),
            f"`{i.sha256}`" if i.sha256 else "—",
            md_cell(i.label) if i.refused is None else "refused: " + md_cell(i.refused),
            f"{i.data_rows:,}",
            f"{i.records:,}",
            f"{i.duplicates:,}",
            f"{len(i.rejected):,}",
        ]
        for i in report.inputs
    ]
    lines += _table(["File", "SHA-256", "Shape", "Rows", "Records", "Duplicates", "Rejected"], rows)
    for item in report.inputs:
        extra: list[str] = []
        if item.possibly_truncated:
            extra.append(
                f"- exactly {item.data_rows:,} data rows, a collection cap: probably truncated"
            )
        extra += [f"- {md_text(note)}" for note in item.notes]
        extra += [
            f"- rejected line {r.line}: {md_text(r.reason)}"
            for r in item.rejected[:REJECTIONS_LIMIT]
        ]
        if len(item.rejected) > REJECTIONS_LIMIT:
            extra.append(f"- … {len(item.rejected) - REJECTIONS_LIMIT:,} more rejected rows")
        if extra:
            lines += [f"{md_cell(item.path)}:", "", *extra, ""]
    for skipped in report.skipped:
        lines.append(f"- skipped {md_cell(skipped.path)}: {md_text(skipped.reason)}")
    if report.skipped:
        lines.append("")
    return lines


def _coverage(report: CaseReport) -> list[str]:
    lines = ["## Coverage and blind windows", ""]
    gaps = report.coverage.gaps
    if gaps:
        lines.append(
            "In these windows the audit trail cannot show what happened: treat everything in "
            "them, for the operations named, as assumed compromised."
        )
        lines.append("")
        rows = [
            [
                g.kind,
                g.start,
                g.end,
                _cells([g.mailbox]) if g.mailbox else "all",
                _cells(g.operations) if g.operations else "all",
                md_cell(g.source),
                md_text(g.detail),
            ]
            for g in gaps
        ]
        lines += _table(
            ["Kind", "Start", "End", "Mailbox", "Operations blinded", "Source", "Detail"],
            rows,
            len(gaps),
        )
    else:
        lines += ["No blind window found in the investigation window.", ""]
    lines += ["Time covered per mailbox:", ""]
    rows = [
        [_cells([r.value]) if r.value else "(no mailbox)", r.first, r.last, f"{r.records:,}"]
        for r in report.coverage.ranges_by_mailbox
    ]
    lines += _table(["Mailbox", "First", "Last", "Records"], rows, len(rows))
    lines += ["## Throttled windows", ""]
    if report.throttled_windows:
        rows = [
            [md_cell(w.mailbox), w.start, w.end, md_cell(w.record_id)]
            for w in report.throttled_windows
        ]
        lines += _table(["Mailbox", "Start", "End (24 h)", "IsThrottled record"], rows)
    else:
        lines += ["No MailItemsAccessed record with IsThrottled = True.", ""]
    return lines


def _scope(report: CaseReport) -> list[str]:
    scope = report.scope
    if scope is None:
        return []
    lines = ["## Scope of compromise", ""]
    lines += [f"- Suspect {s.kind}: {md_cell(s.value)}" for s in scope.suspects]
    lines += [
        f"- Attacker records: {scope.records:,} in {_cells(scope.mailboxes)}",
        f"- First attacker activity: {scope.first_activity or '—'}",
        f"- Last attacker activity: {scope.last_activity or '—'}",
        "",
        f"### Messages opened (bound): {len(scope.bound_messages):,}",
        "",
    ]
    rows = [
        [
            md_cell(m.internet_message_id),
            md_cell(m.folder),
            md_cell(m.mailbox),
            m.first_access,
            ", ".join(md_cell(r) for r in m.record_ids),
        ]
        for m in scope.bound_messages
    ]
    # The message list is the deliverable: never cut it.
    headers = ["InternetMessageId", "Folder", "Mailbox", "First access", "Records"]
    lines += _table(headers, rows, limit=None)
    lines += [f"### Folders synced: {len(scope.synced_folders):,}", ""]
    if scope.synced_folders:
        lines.append(
            "Every item in a synced folder must be assumed read, and the attacker could read "
            "it offline afterwards, where nothing is audited."
        )
        lines.append("")
        rows = [
            [md_cell(s.mailbox), md_cell(s.folder), s.time, md_cell(s.record_id)]
            for s in scope.synced_folders
        ]
        lines += _table(["Mailbox", "Folder", "Time", "Record"], rows)
    lines += ["### Blind windows during the attack", ""]
    blind = [
        f"- throttled {md_cell(w.mailbox)} {w.start} to {w.end} (record {md_code(w.record_id)}): "
        "Bind not audited, all mail assumed read"
        for w in scope.throttled_windows
    ] + [
        f"- {md_text(o.source)}: {o.start} to {o.end}, {_cells(o.operations)} not recorded"
        for o in scope.outages
    ]
    lines += (blind or ["None overlaps the attacker's activity."]) + [""]
    lines += [f"### Other attacker operations: {len(scope.other_operations):,}", ""]
    rows = [
        [
            op.time,
            md_cell(op.operation),
            md_cell(op.mailbox),
            md_cell(op.client_ip),
            md_cell(op.detail),
            md_cell(op.record_id),
        ]
        for op in scope.other_operations
    ]
    lines += _table(
        ["Time", "Operation", "Mailbox", "Client address", "Detail", "Record"], rows, len(rows)
    )
    return lines


def _sessions(report: CaseReport) -> list[str]:
    lines = [f"## Sessions: {len(report.sessions):,}", ""]
    rows = [
        [
            ("**suspect** " if s.suspect else "") + f"`{s.id}`",
            s.kind,
            md_cell(s.key),
            s.first,
            s.last,
            f"{s.records:,}",
            _cells(s.mailboxes),
            _cells(s.client_ips),
            _cells(s.clients),
            md_text("; ".join(s.hints)) if s.hints else "—",
        ]
        for s in report.sessions
    ]
    return lines + _table(
        [
            "Session",
            "Kind",
            "Key",
            "First",
            "Last",
            "Records",
            "Mailboxes",
            "Addresses",
            "Clients",
            "Hints",
        ],
        rows,
        len(rows),
    )


def _contexts(report: CaseReport) -> list[str]:
    lines = [f"## Access contexts (MailItemsAccessed): {len(report.contexts):,}", ""]
    rows = [
        [
            ("**suspect** " if c.suspect else "") + f"`{c.id}`",
            md_cell(c.mailbox),
            md_cell(c.user_id),
            md_cell(c.client_ip),
            md_cell(c.client_info),
            md_cell(c.session_id),
            str(c.logon_type),
            c.access_type or "—",
            md_cell(c.folder),
            f"{c.records:,}",
            f"{c.messages:,}",
            c.first,
            c.last,
        ]
        for c in report.contexts
    ]
    return lines + _table(
        [
            "Context",
            "Mailbox",
            "User",
            "Address",
            "Client",
            "Session",
            "Logon",
            "Access",
            "Folder",
            "Records",
            "Messages",
            "First",
            "Last",
        ],
        rows,
        len(rows),
    )


def _send_as(report: CaseReport) -> list[str]:
    lines = [f"## SendAs / SendOnBehalf consistency: {len(report.send_as):,}", ""]
    if not report.send_as:
        return lines + ["No SendAs or SendOnBehalf record in the investigation window.", ""]
    rows = [
        [
            s.time,
            s.operation,
            md_cell(s.user_id),
            md_cell(s.mailbox_owner_upn),
            md_cell(s.target_smtp),
            md_cell(s.client_family or s.client_info_string),
            str(s.logon_type),
            f"**{s.classification}**",
            md_cell(s.record_id),
        ]
        for s in report.send_as
    ]
    lines += _table(
        [
            "Time",
            "Operation",
            "UserId",
            "MailboxOwnerUPN",
            "Target",
            "Client",
            "Logon",
            "Classification",
            "Record",
        ],
        rows,
        len(rows),
    )
    reasons = sorted({(s.classification, s.reason) for s in report.send_as})
    lines += [f"- **{kind}**: {md_text(reason)}" for kind, reason in reasons] + [""]
    return lines


def render_findings(findings: Sequence[FindingOut]) -> list[str]:
    lines = [f"## Findings: {len(findings):,}", ""]
    for f in findings:
        span = ""
        if f.start:
            span = f.start if f.start == f.end or not f.end else f"{f.start} to {f.end}"
        lines += [
            f"### [{f.severity.upper()}] {md_text(f.title)} ({f.id})",
            "",
            md_text(f.explanation),
            "",
            f"- Kind: {f.kind}",
            f"- Mailbox: {md_cell(f.mailbox) if f.mailbox else '—'}",
            f"- Time: {span or '—'}",
            f"- Records ({len(f.record_ids):,}): "
            + (", ".join(md_code(r) for r in f.record_ids) or "—"),
            "",
        ]
    return lines


def render_markdown(report: CaseReport) -> str:
    lines = _header(report)
    lines += _evidence(report)
    lines += _coverage(report)
    lines += _scope(report)
    lines += _sessions(report)
    lines += _contexts(report)
    lines += _send_as(report)
    lines += render_findings(report.findings)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_findings_export(report: CaseReport | FindingsExport) -> str:
    """Selected findings for case notes: the header, the evidence hashes, the findings."""
    lines = _header(report)
    lines += _evidence(report)
    lines += render_findings(report.findings)
    return "\n".join(lines).rstrip("\n") + "\n"
