"""The account of one evidence file: what it is, what was read, kept, duplicated, rejected."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..index.part import Rejection

# Collection caps (formats.md 5.1, 6.5): Search-UnifiedAuditLog pages at 5,000, the Purview
# Standard export stops at 50,000 rows and Premium at 1,000,000. A file with exactly that many
# data rows probably stopped at the cap, not at the end of the evidence.
COLLECTION_CAPS = (5_000, 50_000, 1_000_000)


@dataclass
class InputFile:
    path: str  # as given (joined for files found in folders), shown in every report
    size: int
    # Absolute location for re-reading a record in a detail view; never shown in reports,
    # where it would make the same evidence report differently from another folder.
    location: str = ""
    sha256: str = ""
    shape: str = ""  # Shape value, "" when refused
    label: str = ""  # the detected shape in words
    encoding: str = ""
    data_rows: int = 0
    records: int = 0  # unique records this file contributed first
    duplicates: int = 0  # rows whose record was already loaded (from this or another file)
    rejections: list[Rejection] = field(default_factory=list)
    refused: str = ""  # why the whole file was not read as an audit export
    notes: list[str] = field(default_factory=list)
    first_time: int | None = None
    last_time: int | None = None

    @property
    def possibly_truncated(self) -> bool:
        return self.data_rows in COLLECTION_CAPS

    @property
    def read(self) -> bool:
        return not self.refused
