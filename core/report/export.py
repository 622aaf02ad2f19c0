"""Exporting the investigator's selected findings to markdown for the case notes.

Same renderer as `ualscope report`: the header (tool, window, record counts), the evidence
table with every input's SHA-256, then the findings with the record ids they rest on.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..analysis.findings import Finding
from ..ingest.evidence import evidence_holding
from ..ingest.loader import LoadResult
from ..normalise.times import to_iso
from .build import finding_out
from .inputs_schema import InputSummary, RecordsSummary, SkippedPath, input_summary, records_summary
from .schema import SCHEMA_VERSION, FindingOut, Tool, Window


class FindingsExport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int
    tool: Tool
    inputs: list[InputSummary]
    skipped: list[SkippedPath]
    records: RecordsSummary
    window: Window
    findings: list[FindingOut]


class ExportRefused(Exception):
    """The export path is not acceptable (beside the evidence); the message says why."""


def findings_export(
    result: LoadResult, findings: list[Finding], *, name: str, version: str, command: str
) -> FindingsExport:
    index = result.index
    return FindingsExport(
        schema_version=SCHEMA_VERSION,
        tool=Tool(name=name, version=version, command=command),
        inputs=[input_summary(info) for info in result.files],
        skipped=[SkippedPath(path=p, reason=r) for p, r in result.skipped],
        records=records_summary(result),
        window=Window(
            start=None if index.first_time is None else to_iso(index.first_time),
            end=None if index.last_time is None else to_iso(index.last_time + 1),
            mailboxes=[],
        ),
        findings=[finding_out(f) for f in findings],
    )


def write_findings_markdown(export: FindingsExport, path: Path, evidence: list[str]) -> None:
    """Write the export; refuses a path beside the evidence, never overwrites evidence."""
    from .markdown import render_findings_export

    clash = evidence_holding(path, evidence)
    if clash is not None:
        raise ExportRefused(
            f"refusing to write {path} beside the evidence ({clash}): evidence folders are "
            "never written to"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_findings_export(export), encoding="utf-8")
