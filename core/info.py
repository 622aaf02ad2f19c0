"""`ualscope info`: what was read, from which file, and what could not be."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .ingest.loader import LoadResult
from .normalise.times import to_iso
from .report.inputs_schema import (
    InputSummary,
    RecordsSummary,
    SkippedPath,
    input_summary,
    records_summary,
)
from .textsafe import display_text

# Rejections listed per file in the text output; the JSON output lists them all.
REJECTIONS_SHOWN = 20


class CaseInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = 1
    tool: str
    inputs: list[InputSummary]
    skipped: list[SkippedPath]
    records: RecordsSummary
    first_time: str | None
    last_time: str | None


def case_info(result: LoadResult, tool: str) -> CaseInfo:
    index = result.index
    return CaseInfo(
        tool=tool,
        inputs=[input_summary(info) for info in result.files],
        skipped=[SkippedPath(path=p, reason=r) for p, r in result.skipped],
        records=records_summary(result),
        first_time=None if index.first_time is None else to_iso(index.first_time),
        last_time=None if index.last_time is None else to_iso(index.last_time),
    )


def render_info(info: CaseInfo) -> str:
    """Plain text for a terminal; every value from the evidence passes the sanitiser."""
    out: list[str] = []
    read = [i for i in info.inputs if i.refused is None]
    out.append(f"{info.tool}: {len(info.inputs)} files, {len(read)} read as audit exports")
    for item in info.inputs:
        out.append("")
        out.append(display_text(item.path, limit=None))
        if item.refused is not None:
            out.append(f"  refused   {display_text(item.refused, limit=None)}")
            out.append(f"  sha256    {item.sha256}")
            continue
        out.append(f"  shape     {display_text(item.label, limit=None)} [{item.format}]")
        out.append(f"  encoding  {item.encoding}")
        out.append(f"  sha256    {item.sha256}")
        out.append(
            f"  rows      {item.data_rows:,} data rows: {item.records:,} records kept, "
            f"{item.duplicates:,} duplicates, {len(item.rejected):,} rejected"
        )
        if item.first_time:
            out.append(f"  time      {item.first_time} .. {item.last_time}")
        if item.possibly_truncated:
            out.append(
                f"  WARNING   exactly {item.data_rows:,} rows, a collection cap: "
                "the export was probably cut short"
            )
        for note in item.notes:
            out.append(f"  note      {display_text(note, limit=None)}")
        for rejected in item.rejected[:REJECTIONS_SHOWN]:
            where = f"line {rejected.line}"
            out.append(f"  rejected  {where}: {display_text(rejected.reason, limit=200)}")
        if len(item.rejected) > REJECTIONS_SHOWN:
            more = len(item.rejected) - REJECTIONS_SHOWN
            out.append(f"  rejected  ... and {more:,} more (see --json)")
    for skipped in info.skipped:
        out.append("")
        out.append(f"{display_text(skipped.path, limit=None)}")
        out.append(f"  skipped   {display_text(skipped.reason, limit=None)}")
    records = info.records
    out.append("")
    span = f", {info.first_time} .. {info.last_time}" if info.first_time else ""
    out.append(
        f"total: {records.unique:,} unique records, {records.duplicates:,} duplicates, "
        f"{records.rejected:,} rejected rows{span}"
    )
    out.append("")
    out.append("by operation:")
    width = max((len(c.value) for c in records.by_operation), default=0)
    for count in records.by_operation:
        out.append(f"  {display_text(count.value, limit=60):<{min(width, 60)}}  {count.count:>9,}")
    out.append("")
    out.append("by mailbox (MailboxOwnerUPN, case-insensitive):")
    for count in records.by_mailbox:
        name = display_text(count.value, limit=60) or "(none: not a mailbox record)"
        out.append(f"  {name:<{min(width, 60)}}  {count.count:>9,}")
    return "\n".join(out) + "\n"
