"""Opening evidence files: read-only, hashed while they are read, never written.

Every byte a reader consumes passes through one SHA-256 in file order, so the hash in the
case report is the hash of exactly what was parsed, computed without a second pass over a
1.6 GB export. Bytes a reader never asks for (it stopped early on a refused file) are hashed
by `finish()`, so the digest always covers the whole file.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

# A sniff reads this much to decide encoding and shape: enough for a BOM, a `#TYPE` line and
# a CSV header followed by one 128 KiB AuditData cell is not needed, the header alone decides.
SNIFF_BYTES = 64 * 1024
READ_CHUNK = 1024 * 1024


class _HashingRaw(io.RawIOBase):
    """A raw read-only file whose reads feed a running SHA-256 in file order."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
        self._fd = os.open(path, flags)
        self._pos = 0
        self.hashed_upto = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = os.readv(self._fd, [view])
        if n:
            self._feed(self._pos, view[:n])
            self._pos += n
        return n

    def _feed(self, pos: int, data: memoryview) -> None:
        # Re-reads of already hashed bytes (the sniff, then the parse from offset 0) are
        # skipped; a forward seek past unhashed bytes is caught up in `finish()`.
        end = pos + len(data)
        if pos <= self.hashed_upto < end:
            self.digest.update(data[self.hashed_upto - pos :])
            self.hashed_upto = end

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = os.lseek(self._fd, offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()

    def finish(self) -> str:
        """Hash whatever was not read yet and return the hex digest of the whole file."""
        os.lseek(self._fd, self.hashed_upto, io.SEEK_SET)
        while True:
            chunk = os.read(self._fd, READ_CHUNK)
            if not chunk:
                break
            self.digest.update(chunk)
            self.hashed_upto += len(chunk)
        os.lseek(self._fd, self._pos, io.SEEK_SET)
        return self.digest.hexdigest()


class EvidenceReader:
    """One evidence file opened for reading: a buffered binary stream plus its running hash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw = _HashingRaw(path)
        self.stream = io.BufferedReader(self._raw, buffer_size=READ_CHUNK)

    def sniff(self, n: int = SNIFF_BYTES) -> bytes:
        """The first `n` bytes, leaving the stream at offset 0."""
        self.stream.seek(0)
        head = self.stream.read(n)
        self.stream.seek(0)
        return head

    def read_range(self, offset: int, length: int) -> bytes:
        self.stream.seek(offset)
        return self.stream.read(length)

    def finish(self) -> str:
        return self._raw.finish()

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> EvidenceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_span(path: Path, offset: int, length: int) -> bytes:
    """Read one record's bytes for a detail view (no hashing: the load already hashed it)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    """Hash a whole file; used to prove evidence is unchanged after a session."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def evidence_holding(target: Path, evidence_paths: list[str]) -> str | None:
    """The evidence path that `target` would sit inside or on, or None.

    Evidence folders are never written to: an output beside an evidence file, inside an
    evidence folder, or on the evidence itself is refused. Links are resolved first, so a
    link pointing into the evidence does not get around the rule.
    """
    resolved = target.resolve()
    for raw in evidence_paths:
        source = Path(raw).resolve()
        folder = source if source.is_dir() else source.parent
        if resolved == source or folder == resolved.parent or folder in resolved.parents:
            return raw
    return None
