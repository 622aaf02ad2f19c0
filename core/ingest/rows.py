"""What a reader hands to the normaliser: one located row, either an AuditData object or a
reason it could not become one.

Readers know containers (CSV columns, JSON wrappers); they do not interpret records. The
location travels with every row so that any later complaint can name the file, the physical
line and, for CSV, the data row.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class WrapperFields(NamedTuple):
    """Values a container keeps beside AuditData; used only where AuditData lacks them."""

    record_id: str | None = None
    time_text: str | None = None
    # The column or key the time text came from, named in messages ("CreationDate").
    time_source: str = ""
    operation: str | None = None
    user_id: str | None = None
    record_type: str | None = None


class RowEvent(NamedTuple):
    """One data row (CSV) or element (JSON) of an evidence file."""

    line: int  # physical line, 1-based, where the row starts
    row: int  # data row (CSV, header excluded) or element number (JSON), 1-based
    offset: int  # byte offset of the row's first byte in the file
    length: int  # byte length of the row
    audit: dict[str, Any] | None  # the AuditData object; None when rejected
    wrapper: WrapperFields | None
    problem: str | None  # why the row was rejected, in words a responder understands


def rejected(line: int, row: int, offset: int, length: int, problem: str) -> RowEvent:
    return RowEvent(line, row, offset, length, None, None, problem)


class NotAnAuditExport(Exception):
    """A file that is not an audit export, refused whole with the reason."""


class FileProblem(Exception):
    """A file that looked like an export but could not be read past some point."""
