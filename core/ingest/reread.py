"""Re-reading one record from the evidence by byte offset: the index keeps no record whole.

The detail view shows the original record, and message ids too many to keep in memory are
recovered from the records that hold them (index/messages.py). Both read the same way: the
file's shape is detected again from its first bytes (once per file), then one row's bytes
are read with pread and parsed. Nothing is written and no handle stays open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..index.audit_index import AuditIndex
from .detect import Detection, detect
from .evidence import SNIFF_BYTES, read_span
from .inputs import InputFile
from .readers import reparse_row
from .rows import NotAnAuditExport


class EvidenceRereader:
    def __init__(self, files: list[InputFile]) -> None:
        self._files = files
        self._detections: dict[int, Detection] = {}

    def audit(self, file_index: int, offset: int, length: int) -> dict[str, Any]:
        """The AuditData object of the row at `offset`; raises OSError or ValueError."""
        path = Path(self._files[file_index].location or self._files[file_index].path)
        detection = self._detections.get(file_index)
        if detection is None:
            with open(path, "rb") as handle:
                head = handle.read(SNIFF_BYTES)
            try:
                detection = detect(head)
            except NotAnAuditExport as refusal:  # the file changed since it was loaded
                raise ValueError(str(refusal)) from refusal
            self._detections[file_index] = detection
        return reparse_row(detection, read_span(path, offset, length))


def attach_evidence(index: AuditIndex, files: list[InputFile]) -> None:
    """Let `index` re-read its rows from the files they were loaded from."""
    rereader = EvidenceRereader(files)

    def reread(row: int) -> dict[str, Any]:
        return rereader.audit(int(index.file[row]), int(index.offset[row]), int(index.length[row]))

    index.reread = reread


def detach_evidence(index: AuditIndex) -> None:
    """Forget how to re-read (a function over open paths): for sending `index` to another
    process, which attaches its own."""
    index.reread = None
