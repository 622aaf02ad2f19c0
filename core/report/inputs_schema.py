"""The account of the inputs, shared by `ualscope info` and the case report.

pydantic belongs at this boundary (engineering.md): a few hundred objects per report, never
one per record. Times are ISO 8601 UTC with `Z`.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..index.audit_index import AuditIndex
from ..ingest.inputs import InputFile
from ..ingest.loader import LoadResult
from ..normalise.times import to_iso


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RejectedRow(_Model):
    line: int  # the physical line where the bad row starts
    row: int  # data row (CSV, header excluded) or element number (JSON)
    reason: str


class InputSummary(_Model):
    path: str
    sha256: str
    format: str  # the detected shape's identifier ("" when refused)
    label: str  # the detected shape in words
    encoding: str
    size: int
    data_rows: int
    records: int  # unique records first seen in this file
    duplicates: int
    rejected: list[RejectedRow]
    refused: str | None
    possibly_truncated: bool
    notes: list[str]
    first_time: str | None
    last_time: str | None


class Count(_Model):
    value: str
    count: int


class RecordsSummary(_Model):
    unique: int
    duplicates: int
    rejected: int
    by_operation: list[Count]
    by_mailbox: list[Count]


class SkippedPath(_Model):
    path: str
    reason: str


def input_summary(info: InputFile) -> InputSummary:
    return InputSummary(
        path=info.path,
        sha256=info.sha256,
        format=info.shape,
        label=info.label,
        encoding=info.encoding,
        size=info.size,
        data_rows=info.data_rows,
        records=info.records,
        duplicates=info.duplicates,
        rejected=[RejectedRow(line=r.line, row=r.row, reason=r.reason) for r in info.rejections],
        refused=info.refused or None,
        possibly_truncated=info.possibly_truncated,
        notes=list(info.notes),
        first_time=None if info.first_time is None else to_iso(info.first_time),
        last_time=None if info.last_time is None else to_iso(info.last_time),
    )


def counts_by(index: AuditIndex, field: str, *, casefold: bool = False) -> list[Count]:
    """Records per value of a string field, most first, then by value (deterministic)."""
    values = index.values(field)
    tally = np.bincount(index.codes[field], minlength=len(values))
    merged: dict[str, int] = {}
    for code in np.flatnonzero(tally).tolist():
        key = values[code].casefold() if casefold else values[code]
        merged[key] = merged.get(key, 0) + int(tally[code])
    return [Count(value=v, count=c) for v, c in sorted(merged.items(), key=lambda p: (-p[1], p[0]))]


def records_summary(result: LoadResult) -> RecordsSummary:
    return RecordsSummary(
        unique=len(result.index),
        duplicates=result.duplicates,
        rejected=result.rejected,
        by_operation=counts_by(result.index, "operation"),
        by_mailbox=counts_by(result.index, "mailbox", casefold=True),
    )
