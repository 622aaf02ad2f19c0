"""Decoded lines of an evidence file, each with its byte offset and physical line number.

CSV rows may span lines (quoted newlines) and the index keeps every record's byte span so a
detail view can re-read it lazily; both need the position of every line. UTF-8 (with or
without BOM) is read as bytes and decoded line by line: the fast path for the million-row
Purview export. UTF-16 (Windows PowerShell `Out-File` and `-Encoding Unicode`) is decoded
incrementally, and each line's byte length is recovered by encoding it back, which is exact
for UTF-16 and only costs time on the small files PowerShell writes that way.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

from .evidence import READ_CHUNK, EvidenceReader

# Lines with bytes that are not valid in the file's encoding: the first few are named in the
# load report, the rest counted; U+FFFD stands in for the bad bytes so nothing else is lost.
MAX_DECODE_ERRORS_LISTED = 20


class LineSource:
    """Iterate decoded lines; after each yield, `offset`, `end` and `line_no` describe it."""

    def __init__(
        self,
        reader: EvidenceReader,
        encoding: str,
        start: int,
        end: int | None = None,
        first_line_no: int = 1,
    ) -> None:
        self._reader = reader
        self.encoding = encoding
        self.start = start
        self.stop = end
        self.offset = start
        self.end = start
        self.line_no = first_line_no - 1
        self.decode_error_lines: list[int] = []
        self.decode_error_count = 0

    def _bad_line(self) -> None:
        self.decode_error_count += 1
        if len(self.decode_error_lines) < MAX_DECODE_ERRORS_LISTED:
            self.decode_error_lines.append(self.line_no)

    def __iter__(self) -> Iterator[str]:
        if self.encoding.startswith("utf-16"):
            return self._utf16_lines()
        return self._utf8_lines()

    def _utf8_lines(self) -> Iterator[str]:
        stream = self._reader.stream
        stream.seek(self.start)
        pos = self.start
        stop = self.stop
        for raw in stream:
            if stop is not None and pos >= stop:
                break
            self.offset = pos
            pos += len(raw)
            self.end = pos
            self.line_no += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_line()
                text = raw.decode("utf-8", "replace")
            yield text

    def _utf16_lines(self) -> Iterator[str]:
        codec = "utf-16-be" if self.encoding == "utf-16-be" else "utf-16-le"
        decoder = codecs.getincrementaldecoder(codec)("replace")
        stream = self._reader.stream
        stream.seek(self.start)
        pos = self.start
        pending = ""
        while True:
            chunk = stream.read(READ_CHUNK)
            final = not chunk
            pending += decoder.decode(chunk, final)
            *complete, pending = pending.split("\n")
            texts = [piece + "\n" for piece in complete]
            if final and pending:
                texts.append(pending)
            for text in texts:
                self.offset = pos
                pos += len(text.encode(codec, "surrogatepass"))
                self.end = pos
                self.line_no += 1
                if "\ufffd" in text:
                    self._bad_line()
                yield text
            if final:
                break
