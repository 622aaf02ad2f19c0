"""Record ids (AuditData.Id) held as one byte string, not a million Python strings.

A GUID as a `str` costs 85 bytes plus a list slot; 1,000,000 of them are ~90 MB. Joined
with newlines they are 37 MB, and looking one up is a `bytes.find` (milliseconds), which is
all that marks, findings and "go to record" need.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence


class RecordIds:
    def __init__(self, ids: Sequence[str]) -> None:
        encoded = [value.encode("utf-8", "surrogatepass") for value in ids]
        self._blob = b"\n" + b"\n".join(encoded) + b"\n"
        starts = array("q")
        position = 1
        for value in encoded:
            starts.append(position)
            position += len(value) + 1
        self._starts = starts
        self._lower: bytes | None = None

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, row: int) -> str:
        start = self._starts[row]
        end = self._blob.index(b"\n", start)
        return self._blob[start:end].decode("utf-8", "surrogatepass")

    def find(self, record_id: str) -> int | None:
        """Row of a record id, case-insensitively (GUID case varies between exporters)."""
        if self._lower is None:
            self._lower = self._blob.lower()
        needle = b"\n" + record_id.strip().lower().encode("utf-8", "surrogatepass") + b"\n"
        at = self._lower.find(needle)
        if at < 0:
            return None
        return bisect_right(self._starts, at + 1) - 1
