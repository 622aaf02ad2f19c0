"""InternetMessageIds of a case: one code per message, held as 8-byte keys, text on demand.

A generated 1,000,000-record case binds about 2.1 million distinct messages. As Python
strings (84 characters on average) they cost ~290 MB, more than the whole rest of the index;
as one 8-byte key each they cost 17 MB. So the index keeps, per message code, the key of
the normalised id (brackets and case ignored: `<ABC@x>` and `abc@x` are one message), and
finds the text as recorded when something is shown: from memory when the case is small,
otherwise by re-reading one record that holds the message (the evidence stays on disk and
is read by byte offset, as the detail view does).

Keys are the first 8 bytes of BLAKE2b of the normalised id. Two different ids share a key
with probability about n^2 / 2^65: 1 in 10 million for 2 million messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# Up to this many distinct messages, the recorded texts stay in memory (~140 bytes each:
# 35 MB at the limit); above it they are re-read from the evidence when shown.
TEXTS_IN_MEMORY = 250_000

EMPTY_KEY = 0  # the key of "": a folder named without items, a record with no Item


def normalise_message_id(value: str) -> str:
    """Message ids match without angle brackets and case (`<ABC@x>` is `abc@x`)."""
    return value.strip().strip("<>").strip().lower()


def message_key(recorded: str) -> int:
    """The 8-byte key of a message id as recorded; 0 for an empty one."""
    text = normalise_message_id(recorded)
    if not text:
        return EMPTY_KEY
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1  # 0 is kept for the empty id


# Copied for each id: making a new BLAKE2b object parses its arguments again each time, and
# with the call to `message_key` and int.from_bytes that came to ~780 ns an id; a load keys
# ~3 ids a record (its items and its own Item).
_BLAKE2B_8 = hashlib.blake2b(digest_size=8)
_EMPTY_DIGEST = bytes(8)
_ONE_DIGEST = (1).to_bytes(8, "little")


def message_keys(recorded: Sequence[str]) -> bytes:
    """`message_key` of each id, as 8 little-endian bytes each (`array("Q").frombytes`):
    ~520 ns an id against ~780."""
    new_digest = _BLAKE2B_8.copy
    digests: list[bytes] = []
    add = digests.append
    empty = 0
    for value in recorded:
        # normalise_message_id, inlined; most records have no Item, so "" is tested first.
        text = value and value.strip().strip("<>").strip().lower()
        if text:
            digest = new_digest()
            digest.update(text.encode("utf-8", "surrogatepass"))
            add(digest.digest())
        else:
            add(_EMPTY_DIGEST)
            empty += 1
    if digests.count(_EMPTY_DIGEST) != empty:
        # A non-empty id whose digest is all zeros (odds of 2**-64): 1, as message_key.
        digests = [
            _ONE_DIGEST if digest == _EMPTY_DIGEST and normalise_message_id(value) else digest
            for value, digest in zip(recorded, digests, strict=True)
        ]
    return b"".join(digests)


# Given message codes, their texts as recorded (re-read from the evidence).
Resolver = Callable[[npt.NDArray[np.int64]], dict[int, str]]


class MessageTable(Sequence[str]):
    """Message codes 0..n-1 (code 0 is the empty id): keys sorted, so code = position."""

    def __init__(self, keys: npt.NDArray[np.uint64], texts: list[str] | None) -> None:
        self.keys = keys
        self._texts = texts
        self._cache: dict[int, str] = {}
        self._resolver: Resolver | None = None

    @property
    def in_memory(self) -> bool:
        return self._texts is not None

    def attach(self, resolver: Resolver) -> None:
        """How to find texts that are not in memory (set by the index that owns the table)."""
        self._resolver = resolver

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[str]:
        # Iterating would re-read millions of records: every caller wants codes, not texts.
        raise TypeError("message ids are looked up by code; iterate over codes instead")

    def __getitem__(self, code: int) -> str:  # type: ignore[override]
        return self.texts([code])[0]

    def texts(self, codes: list[int] | npt.NDArray[Any]) -> list[str]:
        """The recorded text of each code, in the order asked (one re-read per record)."""
        wanted = [int(code) for code in codes]
        if self._texts is not None:
            return [self._texts[code] for code in wanted]
        missing = sorted({c for c in wanted if c not in self._cache and c != 0})
        if missing:
            if self._resolver is None:
                raise LookupError("message texts are not in memory and no evidence is attached")
            self._cache.update(self._resolver(np.array(missing, dtype=np.int64)))
        return ["" if code == 0 else self._cache.get(code, "") for code in wanted]

    def remember(self, code: int, text: str) -> None:
        """Keep a text already re-read for another reason (a record's detail, its items)."""
        if self._texts is None and code:
            self._cache.setdefault(code, text)

    def code_of(self, message_id: str) -> int | None:
        """The code of a message id, brackets and case ignored; None when no record has it."""
        key = np.uint64(message_key(message_id))
        at = int(np.searchsorted(self.keys, key))
        if at < len(self.keys) and self.keys[at] == key:
            return at
        return None

    @property
    def nbytes(self) -> int:
        total = int(self.keys.nbytes)
        if self._texts is not None:
            total += sum(len(text) + 49 for text in self._texts) + 8 * len(self._texts)
        return total + sum(len(text) + 49 + 8 for text in self._cache.values())
