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
from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class IdRows(NamedTuple):
    """Record ids that are all ASCII and of one width (GUIDs, in practice), as one row of
    bytes each, with the 64-bit key of each row lower-cased (`row_keys`).

    This is how a worker sends its part's ids: two flat byte strings (37 MB and 8 MB for
    1,000,000 GUIDs) instead of a list of strings, so neither side makes or pickles a Python
    object per id, and the keys the merge deduplicates by are computed in the workers.
    """

    width: int
    rows: bytes
    keys: bytes

    def texts(self) -> list[str]:
        text = self.rows.decode("ascii")
        return [text[at : at + self.width] for at in range(0, len(text), self.width)]


def id_rows_of(ids: list[str]) -> IdRows | None:
    """The ids as IdRows, or None when they are not all ASCII of one width."""
    width = len(ids[0]) if ids else 0
    if not width or set(map(len, ids)) != {width}:
        return None
    joined = "".join(ids)
    if not joined.isascii():
        return None
    rows = joined.encode("ascii")
    # bytes.lower() is ASCII lower case, one C pass (numpy's elementwise version took 7).
    lowered = np.frombuffer(rows.lower(), dtype=np.uint8).reshape(-1, width)
    return IdRows(width, rows, row_keys(lowered).tobytes())


def row_keys(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """A 64-bit mix of each row of bytes (rows of equal width); equal rows, equal keys."""
    count, width = rows.shape
    whole = width // 8
    # The row's 8-byte words read in place (no copy), then its last few bytes.
    words = np.ascontiguousarray(rows).view(
        np.dtype([("w", "<u8", (whole,)), ("t", "u1", (width - whole * 8,))])
    )
    keys = np.full(count, width, dtype=np.uint64)
    multiplier = np.uint64(0x9E3779B97F4A7C15)
    shift = np.uint64(29)

    def mix(word: npt.NDArray[np.uint64]) -> None:
        np.bitwise_xor(keys, word, out=keys)
        np.multiply(keys, multiplier, out=keys)  # wraps: a multiplicative mix, mod 2**64
        np.bitwise_xor(keys, keys >> shift, out=keys)

    for column in range(whole):
        mix(words["w"][:, 0, column])
    if width > whole * 8:
        tail = np.zeros(count, dtype=np.uint64)
        for position in range(width - whole * 8):
            tail |= words["t"][:, 0, position].astype(np.uint64) << np.uint64(8 * position)
        mix(tail)
    return keys


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
    def of_rows(cls, rows: npt.NDArray[np.uint8], order: npt.NDArray[np.int64]) -> RecordIds:
        """Ids of one width, as ASCII bytes a row each, taken in `order`: the blob is built
        by numpy, without a Python string per id (~0.2 s at 1,000,000 GUIDs)."""
        width = rows.shape[1]
        count = len(order)
        blob = np.empty(1 + count * (width + 1), dtype=np.uint8)
        blob[0] = ord("\n")
        lined = blob[1:].reshape(count, width + 1)
        # Each row gathered as one item of `width` bytes: a gather of a 2-D array of bytes
        # moves them one at a time.
        whole_rows = np.ascontiguousarray(rows).view(np.dtype((np.void, width))).reshape(-1)
        lined[:, :width] = whole_rows[order].view(np.uint8).reshape(count, width)
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
