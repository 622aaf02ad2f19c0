"""Record ids (AuditData.Id) held as one byte string, not a million Python strings.

A GUID as a `str` costs 85 bytes plus a list slot; 1,000,000 of them are ~90 MB. Joined
with newlines they are 37 MB, and looking one up is a `bytes.find` (milliseconds), which is
all that marks, findings and "go to record" need.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np
import numpy.typing as npt


class RecordIds:
    def __init__(self, ids: Sequence[str]) -> None:
        joined = "\n".join(ids)
        if joined.isascii():
            # One encode for the lot, and byte lengths are character lengths (GUIDs), where
            # encoding id by id cost ~1 s per 1,000,000.
            lengths = list(map(len, ids))
            self._blob = b"\n" + joined.encode("ascii") + b"\n"
        else:
            encoded = [value.encode("utf-8", "surrogatepass") for value in ids]
            lengths = list(map(len, encoded))
            self._blob = b"\n" + b"\n".join(encoded) + b"\n"
        del joined
        # Each id starts one byte (the separator) after the previous one ends.
        starts = array("q", accumulate((length + 1 for length in lengths), initial=1))
        starts.pop()  # the position after the last id
        self._starts = starts
        self._lower: bytes | None = None

    @classmethod
    def of_rows(cls, rows: npt.NDArray[np.uint8]) -> RecordIds:
        """Ids of one width, as ASCII bytes a row each (already in row order): the blob is
        built by numpy, without a Python string per id (~0.2 s at 1,000,000 GUIDs)."""
        count, width = rows.shape
        blob = np.empty(1 + count * (width + 1), dtype=np.uint8)
        blob[0] = ord("\n")
        lined = blob[1:].reshape(count, width + 1)
        lined[:, :width] = rows
        lined[:, width] = ord("\n")
        ids = cls.__new__(cls)
        ids._blob = blob.tobytes()
        ids._starts = array("q", (np.arange(count, dtype=np.int64) * (width + 1) + 1).tobytes())
        ids._lower = None
        return ids

    @property
    def nbytes(self) -> int:
        return len(self._blob) + self._starts.itemsize * len(self._starts)

    def __len__(self) -> int:
        return len(self._starts)

    def _end(self, row: int) -> int:
        # Where the next id starts, less its separator: not the next newline, because the Id
        # of a forged or damaged record can hold newlines of its own.
        following = row + 1
        return self._starts[following] - 1 if following < len(self._starts) else len(self._blob) - 1

    def __getitem__(self, row: int) -> str:
        return self._blob[self._starts[row] : self._end(row)].decode("utf-8", "surrogatepass")

    def find(self, record_id: str) -> int | None:
        """Row of a record id, case-insensitively (GUID case varies between exporters)."""
        if self._lower is None:
            self._lower = self._blob.lower()
        # bytes.lower(), as for the blob: ASCII only, so a non-ASCII id ("ÄB") still finds
        # itself (str.lower() would look for "äb", which the blob does not hold).
        needle = b"\n" + record_id.strip().encode("utf-8", "surrogatepass").lower() + b"\n"
        at = self._lower.find(needle)
        while at >= 0:
            row = bisect_right(self._starts, at + 1) - 1
            # Only a whole id counts: an id holding newlines ("x\n<another record's id>")
            # would otherwise answer for the id it contains.
            if self._starts[row] == at + 1 and self._end(row) == at + len(needle) - 1:
                return row
            at = self._lower.find(needle, at + 1)
        return None
