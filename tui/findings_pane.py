"""Findings: the analyses' conclusions plus the investigator's marks and notes.

Space selects findings for the export (kept in the case file, so a reopened case remembers
the selection); `e` writes them to markdown with record ids and the inputs' SHA-256.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from ualscope import __version__
from ualscope.core.analysis.findings import Finding, Severity
from ualscope.core.case_file import case_key, mark_findings, set_exported
from ualscope.core.normalise.times import to_iso
from ualscope.core.report.export import ExportRefused, findings_export, write_findings_markdown

from .dialogs import TextDialog
from .line_list import LineList
from .pane import CasePane
from .target import Target
from .text import fit, safe

if TYPE_CHECKING:
    from ualscope.core.case import Case
    from ualscope.core.case_file import CaseFile

# Severity is spelled out in a column, and coloured as well: never colour alone.
SEVERITY_LABEL = {
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MED",
    Severity.LOW: "LOW",
    Severity.INFO: "info",
}
SEVERITY_STYLE = {
    Severity.HIGH: Style(color="red", bold=True),
    Severity.MEDIUM: Style(color="yellow"),
    Severity.LOW: Style(),
    Severity.INFO: Style(dim=True),
}
HEADER = f"{'Sev':<4} {'Kind':<26} {'Title':<60}"


class FindingsPane(CasePane):
    pane_title = "Findings"
    help_text = (
        "Space selects a finding for the export (+ in the first column); a selects all,\n"
        "e exports the selection to markdown (asks for a path; never beside the evidence).\n"
        "Findings come from the analyses; marks (m) and notes (n) in any pane add yours."
    )

    BINDINGS = [
        Binding("space", "select", "Select for export", id="findings.select"),
        Binding("a", "select_all", "Select all", id="findings.select_all"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case: Case | None = None
        self.case_file: CaseFile | None = None
        self.findings: list[Finding] = []

    def compose(self) -> ComposeResult:
        yield Static(id="findings-status", classes="pane-status")
        yield LineList(id="findings-list", selectable=True)
        yield Static(id="findings-detail")

    @property
    def list(self) -> LineList:
        return self.query_one("#findings-list", LineList)

    def show_case(self, case: Case, case_file: CaseFile) -> None:
        self.case, self.case_file = case, case_file
        self.findings = case.findings(extra=mark_findings(case_file, case.index))
        chosen = set(case_file.exported_findings)
        self.list.selected = {i for i, f in enumerate(self.findings) if f.id in chosen}
        self.list.set_lines(len(self.findings), self._line, HEADER, 92)
        self._status()
        self._detail()

    def _line(self, position: int) -> tuple[str, Style]:
        finding = self.findings[position]
        label = SEVERITY_LABEL[finding.severity]
        text = f"{label:<4} {fit(finding.kind, 26)} {fit(finding.title, 60)}"
        return text, SEVERITY_STYLE[finding.severity]

    def _status(self, message: str = "") -> None:
        counts = {s: sum(1 for f in self.findings if f.severity is s) for s in Severity}
        text = message or (
            f"{len(self.findings)} findings: {counts[Severity.HIGH]} high, "
            f"{counts[Severity.MEDIUM]} medium, {counts[Severity.LOW]} low, "
            f"{counts[Severity.INFO]} info; {len(self.list.selected)} selected for export (e)"
        )
        self.query_one("#findings-status", Static).update(Content(text))

    def _detail(self) -> None:
        if not self.findings:
            self.query_one("#findings-detail", Static).update(Content("No findings."))
            return
        finding = self.findings[min(self.list.cursor, len(self.findings) - 1)]
        span = ""
        if finding.start is not None:
            span = to_iso(finding.start)
            if finding.end is not None and finding.end != finding.start:
                span += " .. " + to_iso(finding.end)
        # Record ids are AuditData.Id, evidence like any other field: a forged export's id
        # carried an OSC 0 sequence straight to the terminal here before it passed safe().
        records = ", ".join(safe(record_id, limit=80) for record_id in finding.record_ids[:4])
        if len(finding.record_ids) > 4:
            records += f" (+{len(finding.record_ids) - 4} more)"
        lines = [
            f"{safe(finding.id, limit=40)}  {safe(finding.title, limit=120)}",
            safe(finding.explanation, limit=400),
            f"mailbox {safe(finding.mailbox, limit=60) or '-'}  time {span or '-'}",
            f"records {records or '-'}",
        ]
        self.query_one("#findings-detail", Static).update(Content("\n".join(lines)))

    def on_line_list_moved(self, message: LineList.Moved) -> None:
        if message.source is self.list:
            self._detail()

    def target(self) -> Target | None:
        if not self.findings:
            return None
        finding = self.findings[self.list.cursor]
        return Target("finding", finding.id, f"finding {finding.id}", (), finding.mailbox)

    def _remember_selection(self) -> None:
        app = self.app
        chosen = [self.findings[i].id for i in sorted(self.list.selected)]
        app.case_file = set_exported(app.case_file, chosen)  # type: ignore[attr-defined]
        app._save()  # type: ignore[attr-defined]

    def action_select(self) -> None:
        self.list.toggle_selected()
        self._remember_selection()

    def action_select_all(self) -> None:
        everything = set(range(len(self.findings)))
        self.list.selected = set() if self.list.selected == everything else everything
        self.list.redraw()
        self._remember_selection()

    def ask_export(self) -> None:
        if self.case is None:
            return
        if not self.list.selected:
            self._status("select findings first (space, or a for all), then e")
            return
        default = Path.cwd() / f"ualscope-findings-{case_key(self.case.index.files)[:8]}.md"
        self.app.push_screen(
            TextDialog("Export the selected findings to (markdown file):", str(default)),
            self._export_to,
        )

    def _export_to(self, path_text: str | None) -> None:
        if self.case is None or not path_text:
            return
        chosen = [self.findings[i] for i in sorted(self.list.selected)]
        export = findings_export(
            self.case.result,
            chosen,
            name="ualscope",
            version=__version__,
            command="ualscope (explorer export)",
        )
        path = Path(path_text).expanduser()
        try:
            write_findings_markdown(export, path, [f.location for f in self.case.index.files])
        except (ExportRefused, OSError) as error:
            self._status(f"not exported: {safe(str(error), limit=150)}")
            return
        self._status(f"exported {len(chosen)} findings to {safe(str(path), limit=100)}")
