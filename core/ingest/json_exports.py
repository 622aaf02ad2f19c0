"""Reading JSON evidence files as a stream of located elements (formats.md sections 6.4, 8-13).

One reader serves every JSON container: a Management Activity API blob (one compact array), JSON
Lines, arrays appended one after another (`]\\n[` or `][`), a single object, ConvertTo-Json
arrays from Windows PowerShell 5.1 or PowerShell 7, Graph pages (`{"value":[...]}`) and any mix
of them. `json_elements` then says what each element is and pulls out its AuditData.

Framing works on bytes, never on decoded text, so that every element's byte offset is exact
and a detail view can re-read just its bytes (`reparse_json_row`). The file is read in 16 MiB
windows; UTF-16 files (PowerShell `Out-File`) are re-encoded to UTF-8 window by window and
each position mapped back to its UTF-16 offset. To find where an element ends without a
Python-level scan of its bytes, the framer guesses the end from how the previous element ended
(the next line; or the next occurrence of this element's opening bytes, such as
`{"CreationTime":`) and lets orjson check the guess: a guess that parses is exactly the element,
because a JSON object ends at its one matching brace. When no guess holds, orjson is run on a
bounded slice and its "unexpected content after document" position gives the end.

Measured with callgrind (instructions, which a loaded machine does not blur) on a compact array
of 5,000 MailItemsAccessed records of 2.7 KB: one `orjson.loads` of the whole array costs 53k
instructions a record; `json.JSONDecoder.raw_decode` over decoded text, with byte offsets,
144k; this framer 89k, and 117k with every element located and its AuditData extracted. The
stdlib scanner also recurses, so deep nesting would end in RecursionError; orjson stops at
1,024 levels. On 100,000 records the whole reader ran at 16,000-19,500 records/s of CPU time
(45-53 MB/s) on a busy 2-core machine.

Malformed input never ends the read. A structural scanner (an iterative bracket counter, so no
recursion limit) measures broken, undecodable or absurdly nested elements; garbage between
elements is rejected with its line and reading resumes at the next line that starts an element;
a file cut short yields every complete element and then one rejection naming where the cut
value started.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO, NamedTuple

import orjson

from .csv_exports import JSON_DEPTH_LIMIT, encoding_words
from .detect import Detection
from .evidence import EvidenceReader
from .json_elements import ElementReader, Kind, KindTally, Refused, loads_lenient
from .lines import MAX_DECODE_ERRORS_LISTED
from .readers import ByteRange
from .rows import FileProblem, NotAnAuditExport, RowEvent, rejected

# Bytes read per window. 16 MiB holds thousands of records, so the per-window costs (a read,
# one copy of the unfinished element's bytes) vanish, while memory stays far below the size
# of a multi-gigabyte export.
WINDOW_BYTES = 16 * 1024 * 1024
# The first orjson probe of an element reads this much; then twice the previous element's
# size, growing fourfold until the element fits (a 300-message bind record is ~150 KB).
_PROBE_MIN = 4096
# How far ahead a guess may look for the next element: far enough for one large record.
_GUESS_MIN = 64 * 1024
# An element is held whole in memory while it is framed and parsed. The largest real records,
# binds aggregating a thousand messages, are about 0.5 MB; a value a hundred times larger is
# a file that is not an export (a whole Elasticsearch dump in one object, say), and reading
# it whole would cost gigabytes of parsed objects, so reading stops there instead.
MAX_ELEMENT_BYTES = 64 * 1024 * 1024
# Elements held back before deciding that a file is not an audit export at all.
_RECOGNISE_WITHIN = 10

_OPEN_OBJECT, _OPEN_ARRAY, _CLOSE_ARRAY, _COMMA = 0x7B, 0x5B, 0x5D, 0x2C
_WS = b" \t\r\n"
_WS_OR_COMMA = b" \t\r\n,"
_SKIP = {_WS: re.compile(rb"[ \t\r\n]*"), _WS_OR_COMMA: re.compile(rb"[ \t\r\n,]*")}

# orjson's messages for a value followed by more text, and for text that stops too early.
_TRAILING = "unexpected content after document"
_CUT = "unexpected end of data"

# The opening bytes of an element up to its first key's colon, the part every sibling shares
# in both compact (`{"CreationTime":`) and PowerShell (`{\r\n        "RecordType":`) output.
_FIRST_KEY = re.compile(rb'\{[ \t\r\n]*"([^"\\]{1,64})"[ \t\r\n]*:')
# A member key of a page object.
_KEY = re.compile(rb'"((?:[^"\\\n]|\\[^\n]){0,256})"[ \t\r\n]*:')
# Structure only: runs of opening or closing brackets and whole strings (which may hold
# brackets). A string may not hold a raw newline; a lone quote means a string that is cut
# or never closed.
_TOKEN = re.compile(rb'[\[{]+|[\]}]+|"(?:[^"\\\n]++|\\[^\n])*+"|"')
# A JSON value that is not an object or array, and the bytes it may start with.
_SCALAR = re.compile(rb'"(?:[^"\\\n]++|\\[^\n])*+"|-?[0-9][0-9.eE+-]*|true|false|null')
_SCALAR_FIRST = frozenset(b'"-0123456789tfn')
# A lone UTF-16 surrogate, as decoding a UTF-16 file with `surrogatepass` leaves it.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Where reading resumes after garbage: the next line that starts with a bracket.
_RESYNC = re.compile(rb"\n[ \t\r]*[\[{\]]")

# Object keys that make a top-level object a page of records rather than a record: Graph
# (`value`, `@odata.*`) and Azure Event Hubs / diagnostic-log blobs (`records`).
_PAGE_KEYS = frozenset({"value", "records"})
_PAGE_FIRST_KEYS = _PAGE_KEYS | {"@odata.context", "@odata.nextLink", "@odata.count"}


class _Piece(NamedTuple):
    """One element, or one stretch of the file that could not be an element."""

    start: int  # position in the UTF-8 stream (the file minus its BOM, re-encoded if UTF-16)
    end: int
    value: Any
    problem: str | None
    truncated: bool = False


class _Window:
    """The part of the file being framed, as UTF-8 bytes addressed by absolute position.

    Also the locator: `locate(pos)` turns a stream position into a file offset and a line
    number, walking forward from the previous call, so positions must be asked in order.
    Bytes are dropped on refill only before both `keep` and the locator's cursor.
    """

    def __init__(self, stream: BinaryIO, encoding: str, bom: int) -> None:
        self._stream = stream
        stream.seek(bom)
        self._codec = "utf-16-be" if encoding == "utf-16-be" else "utf-16-le"
        self.utf16 = encoding.startswith("utf-16")
        self._decoder = codecs.getincrementaldecoder(self._codec)("surrogatepass")
        self.buf = b""
        self.view = memoryview(self.buf)
        self.base = 0
        self.eof = False
        self.keep = 0
        self.dangling_byte = False  # a UTF-16 file with an odd byte count
        self._at = 0
        self._at_offset = bom
        self._at_line = 1

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    def fill(self) -> bool:
        """Append the next chunk; False once the file has nothing more."""
        if self.eof:
            return False
        drop = max(0, min(self.keep, self._at) - self.base)
        # At least as much again as is held, so that one huge element costs O(n), not O(n^2).
        chunk = self._stream.read(max(WINDOW_BYTES, len(self.buf) - drop))
        if not chunk:
            self.eof = True
        data = self._decode(chunk) if self.utf16 else chunk
        self.buf = self.buf[drop:] + data
        self.view = memoryview(self.buf)
        self.base += drop
        return bool(data) or not self.eof

    def _decode(self, chunk: bytes) -> bytes:
        try:
            text = self._decoder.decode(chunk, not chunk)
        except UnicodeDecodeError:
            self.dangling_byte = True  # only raised at the end: one byte of a code unit
            text = ""
        return text.encode("utf-8", "surrogatepass")

    def ensure(self, pos: int, count: int) -> None:
        """Read until `count` bytes from `pos` are held, or the file ends."""
        while self.end < pos + count and self.fill():
            pass

    @property
    def cursor(self) -> int:
        """The last position located."""
        return self._at

    def byte(self, pos: int) -> int:
        return self.buf[pos - self.base]

    def _newlines(self, lo: int, hi: int) -> int:
        # bytes.count walks byte by byte; find is memchr, so a compact element (no newline)
        # is passed over several times faster.
        first = self.buf.find(b"\n", lo, hi)
        return 0 if first < 0 else self.buf.count(b"\n", first, hi)

    def line_at(self, pos: int) -> int:
        """The line of a position at or after the locator's cursor, without moving it."""
        return self._at_line + self._newlines(self._at - self.base, pos - self.base)

    def locate(self, pos: int) -> tuple[int, int]:
        """(file offset, line) of a stream position; advances the cursor to it."""
        lo, hi = self._at - self.base, pos - self.base
        self._at_line += self._newlines(lo, hi)
        if self.utf16:
            segment = self.buf[lo:hi]
            if segment.isascii():
                self._at_offset += 2 * len(segment)
            else:
                text = segment.decode("utf-8", "surrogatepass")
                self._at_offset += len(text.encode(self._codec, "surrogatepass"))
        else:
            self._at_offset += hi - lo
        self._at = pos
        return self._at_offset, self._at_line


class _Framer:
    """Turns the window's bytes into pieces: elements with spans, or spans with problems."""

    def __init__(self, window: _Window) -> None:
        self.w = window
        self.arrays = 0  # top-level arrays
        self.objects = 0  # top-level objects that are elements
        self.pages = 0  # top-level objects holding a `value`/`records` array
        self.page_key = "value"
        self.multiline_objects = 0  # top-level element objects spread over several lines
        self.shared_lines = 0  # top-level objects starting on the line the previous one ended
        self.next_link = False  # the last page named a next page
        self.missing_comma_line = 0
        self.decode_error_count = 0
        self.decode_error_lines: list[int] = []
        self.repaired_surrogates = 0  # elements read after replacing unpaired \udXXX escapes
        self._last_len = 0
        self._lines_first = True  # which guess worked last: the next line, or the next prefix
        self._previous_end = -1

    # --- the grammar of containers -----------------------------------------------------------

    def pieces(self) -> Iterator[_Piece]:
        w = self.w
        w.fill()
        pos = 0
        while True:
            pos = self._skip(pos, _WS_OR_COMMA)
            if pos < 0:
                return
            w.keep = pos
            first = w.byte(pos)
            if first == _OPEN_ARRAY:
                self.arrays += 1
                end = yield from self._array(pos, pages_inside=True)
            elif first == _OPEN_OBJECT:
                end = yield from self._top_object(pos)
            else:
                piece = self._element(pos)
                yield piece
                end = -1 if piece.truncated else piece.end
            if end < 0:
                return
            pos = end

    def _array(self, open_pos: int, pages_inside: bool = False) -> Generator[_Piece, None, int]:
        """Yield an array's elements; return the position after `]`, or -1 at end of file.

        With `pages_inside`, an element that is a page is read as one (PowerShell collecting
        Graph responses into one array); only at the top, so nesting cannot recurse.
        """
        open_line = self.w.line_at(open_pos)
        pos = open_pos + 1
        separated = True
        while True:
            after = pos
            pos = self._skip(pos, _WS)
            if pos < 0:
                yield self._truncated(after, open_line)
                return -1
            byte = self.w.byte(pos)
            if byte == _CLOSE_ARRAY:
                return pos + 1
            if byte == _COMMA:
                pos, separated = pos + 1, True
                continue
            if not separated and not self.missing_comma_line:
                self.missing_comma_line = self.w.line_at(pos)
            piece = self._element(pos)
            if pages_inside and piece.problem is None and _is_page(piece.value):
                end = yield from self._page(pos)
                if end < 0:
                    return -1
                pos, separated = end, False
                continue
            yield piece
            if piece.truncated:
                return -1
            pos, separated = piece.end, piece.problem is not None

    def _top_object(self, pos: int) -> Generator[_Piece, None, int]:
        if self._first_key(pos) in _PAGE_FIRST_KEYS:
            return (yield from self._page(pos))
        piece = self._element(pos)
        if piece.problem is None and _is_page(piece.value):
            return (yield from self._page(pos))
        if piece.problem is None:
            self._count_top_object(piece)
        yield piece
        return -1 if piece.truncated else piece.end

    def _count_top_object(self, piece: _Piece) -> None:
        buf, base = self.w.buf, self.w.base
        self.objects += 1
        if buf.find(b"\n", piece.start - base, piece.end - base) >= 0:
            self.multiline_objects += 1
        previous = self._previous_end
        if previous >= base and buf.find(b"\n", previous - base, piece.start - base) < 0:
            self.shared_lines += 1
        self._previous_end = piece.end

    def _page(self, open_pos: int) -> Generator[_Piece, None, int]:
        """Yield the records of a page's `value` (or `records`) array; skip its other keys."""
        self.pages += 1
        self.next_link = False
        open_line = self.w.line_at(open_pos)
        pos = open_pos + 1
        while True:
            after = pos
            pos = self._skip(pos, _WS_OR_COMMA)
            if pos < 0:
                yield self._truncated(after, open_line)
                return -1
            if self.w.byte(pos) == 0x7D:
                return pos + 1
            key, value_pos = self._key(pos)
            if key is None or value_pos < 0:
                piece = self._garbage(pos) if value_pos >= 0 else self._truncated(pos, open_line)
                yield piece
                if piece.truncated:
                    return -1
                pos = piece.end
            elif key in _PAGE_KEYS and self.w.byte(value_pos) == _OPEN_ARRAY:
                self.page_key = key
                pos = yield from self._array(value_pos)
                if pos < 0:
                    return -1
            else:
                piece = self._element(value_pos)
                if piece.problem is not None:
                    yield piece
                if piece.truncated:
                    return -1
                if key == "@odata.nextLink":
                    self.next_link = bool(piece.value)
                pos = piece.end

    def _key(self, pos: int) -> tuple[str | None, int]:
        """A member key at `pos` and where its value starts: (None, pos) when there is no
        key there, (key, -1) when the file ends first."""
        w = self.w
        w.ensure(pos, 1024)
        match = _KEY.match(w.buf, pos - w.base)
        if match is None:
            return None, pos
        value_pos = self._skip(w.base + match.end(), _WS)
        return match.group(1).decode("utf-8", "replace"), value_pos

    def _first_key(self, pos: int) -> str | None:
        w = self.w
        w.ensure(pos, 1024)
        match = _FIRST_KEY.match(w.buf, pos - w.base)
        return None if match is None else match.group(1).decode("utf-8", "replace")

    def _skip(self, pos: int, chars: bytes) -> int:
        """The first position from `pos` not in `chars`; -1 at end of file."""
        w = self.w
        skip = _SKIP[chars].match
        i = pos - w.base
        if i < len(w.buf) and w.buf[i] not in chars:
            return pos  # the usual case: an element follows its comma directly
        while True:
            # Both patterns match the empty string: there is always a match.
            i = skip(w.buf, pos - w.base).end()  # type: ignore[union-attr]
            if i < len(w.buf):
                return w.base + i
            pos = w.keep = w.base + i
            w.locate(pos)  # so that a long run of blanks is not kept in memory
            if not w.fill():
                return -1

    # --- one element ------------------------------------------------------------------------

    def _element(self, pos: int) -> _Piece:
        w = self.w
        w.keep = pos
        first = w.byte(pos)
        if first in (_OPEN_OBJECT, _OPEN_ARRAY):
            return self._composite(pos)
        if first not in _SCALAR_FIRST:
            return self._garbage(pos)
        return self._scalar(pos)

    def _scalar(self, pos: int) -> _Piece:
        """A string, number or literal element (never a record, but it has a span)."""
        w = self.w
        while True:
            match = _SCALAR.match(w.buf, pos - w.base)
            if match is not None and (match.end() < len(w.buf) or w.eof):
                return self._exact(pos, w.base + match.end())
            if match is None and w.buf.find(b"\n", pos - w.base) >= 0:
                return self._garbage(pos)  # a string left open at the end of its line
            if w.end - pos >= MAX_ELEMENT_BYTES:
                raise self._too_large(pos)
            if not w.fill():
                return self._garbage(pos) if match is None else self._exact(pos, w.end)

    def _composite(self, pos: int) -> _Piece:
        end, value = self._guess(pos)
        if end < 0:
            return self._probe(pos)
        self._last_len = end - pos
        return _Piece(pos, end, value, None)

    def _guess(self, pos: int) -> tuple[int, Any]:
        """Check the likely ends of the element at `pos`: (end, value), or (-1, None)."""
        w = self.w
        if w.end < pos + 2 * self._last_len + _GUESS_MIN:
            w.ensure(pos, 2 * self._last_len + _GUESS_MIN)
        buf, base = w.buf, w.base
        i = pos - base
        reach = min(MAX_ELEMENT_BYTES, max(_GUESS_MIN, 4 * self._last_len))
        bound = min(len(buf), i + reach)
        closer = 0x7D if buf[i] == _OPEN_OBJECT else _CLOSE_ARRAY
        strategies = (True, False) if self._lines_first else (False, True)
        for by_line in strategies:
            cand = _line_end(buf, i, bound) if by_line else _sibling_end(buf, i, bound)
            if cand <= i or buf[cand - 1] != closer:
                continue
            try:
                value = orjson.loads(w.view[i:cand])
            except orjson.JSONDecodeError as exc:
                if exc.msg.startswith(_TRAILING):
                    piece = self._exact(pos, pos + self._byte_index(i, cand, exc.pos))
                    if piece.problem is None:
                        return piece.end, piece.value
                continue
            self._lines_first = by_line
            return base + cand, value
        return -1, None

    def _probe(self, pos: int) -> _Piece:
        """Parse growing slices from `pos` until orjson sees the element end."""
        w = self.w
        size = max(_PROBE_MIN, 2 * self._last_len)
        while True:
            w.ensure(pos, size)
            i = pos - w.base
            stop = _char_boundary(w.buf, i, min(len(w.buf), i + size))
            try:
                value = orjson.loads(w.view[i:stop])
            except orjson.JSONDecodeError as exc:
                if exc.msg.startswith(_TRAILING):
                    end = pos + self._byte_index(i, stop, exc.pos)
                    return self._measured(self._exact(pos, end))
                if not exc.msg.startswith(_CUT):
                    return self._scan(pos)
                if stop >= len(w.buf) and w.eof:
                    return self._truncated(pos)
                if stop - i >= MAX_ELEMENT_BYTES:
                    raise self._too_large(pos) from None
                size *= 4
                continue
            return self._measured(_Piece(pos, w.base + _rstrip(w.buf, i, stop), value, None))

    def _measured(self, piece: _Piece) -> _Piece:
        self._last_len = piece.end - piece.start
        return piece

    def _byte_index(self, i: int, stop: int, char_pos: int) -> int:
        """The byte index in buf[i:stop] of orjson's character position, before whitespace."""
        raw = self.w.buf[i:stop]
        if not raw.isascii():
            char_pos = len(raw.decode("utf-8", "surrogatepass")[:char_pos].encode("utf-8"))
        return _rstrip(raw, 0, char_pos)

    def _scan(self, pos: int) -> _Piece:
        """Measure the element at `pos` by its brackets alone, then say what is wrong in it."""
        w = self.w
        depth = deepest = 0
        at = pos
        while True:
            match = _TOKEN.search(w.buf, at - w.base)
            if match is None or (match.end() - match.start() == 1 and match.group() == b'"'):
                resume = at if match is None else w.base + match.start()
                newline = -1 if match is None else w.buf.find(b"\n", match.start())
                if newline >= 0:
                    return self._broken_string(pos, w.base + newline)
                if w.end - pos >= MAX_ELEMENT_BYTES:
                    raise self._too_large(pos)
                if not w.fill():
                    return self._truncated(pos)
                at = resume
                continue
            token = match.group()
            at = w.base + match.end()
            if token[0] == 0x22:
                continue
            if token[0] in b"[{":
                depth += len(token)
                deepest = max(deepest, depth)
            elif depth <= len(token):
                return self._exact(pos, w.base + match.start() + depth, deepest)
            else:
                depth -= len(token)

    def _exact(self, pos: int, end: int, deepest: int = 0) -> _Piece:
        """Parse exactly the bytes of one element."""
        w = self.w
        raw = w.view[pos - w.base : end - w.base]
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._unparsable(pos, end, bytes(raw), exc, deepest)
        return _Piece(pos, end, value, None)

    def _unparsable(
        self, pos: int, end: int, raw: bytes, exc: orjson.JSONDecodeError, deepest: int
    ) -> _Piece:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return self._undecodable(pos, end, raw, bad.start)
        if exc.msg.startswith("depth limit"):
            deep = f" ({deepest:,} levels)" if deepest else ""
            problem = (
                f"JSON nested deeper than {JSON_DEPTH_LIMIT:,} levels{deep}, which the parser "
                "refuses: a malformed or hostile element"
            )
            return _Piece(pos, end, None, problem)
        try:
            value, repaired = loads_lenient(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            self.repaired_surrogates += repaired
            return _Piece(pos, end, value, None)
        line = self.w.line_at(pos) + exc.lineno - 1
        return _Piece(pos, end, None, f"not valid JSON: {exc.msg} (line {line})")

    def _undecodable(self, pos: int, end: int, raw: bytes, bad: int) -> _Piece:
        """An element with bytes that are not UTF-8: read with U+FFFD in their place."""
        self.decode_error_count += 1
        if len(self.decode_error_lines) < MAX_DECODE_ERRORS_LISTED:
            self.decode_error_lines.append(self.w.line_at(pos + bad))
        if self.w.utf16:
            # Lone UTF-16 code units were carried through as surrogates: one U+FFFD each,
            # as decoding the file's own bytes (`reparse_json_row`) gives.
            text = _SURROGATE.sub("\ufffd", raw.decode("utf-8", "surrogatepass"))
        else:
            text = raw.decode("utf-8", "replace")
        try:
            value, repaired = loads_lenient(text)
            self.repaired_surrogates += repaired
        except orjson.JSONDecodeError as exc:
            line = self.w.line_at(pos) + exc.lineno - 1
            return _Piece(pos, end, None, f"not valid JSON: {exc.msg} (line {line})")
        return _Piece(pos, end, value, None)

    # --- what is not an element -------------------------------------------------------------

    def _too_large(self, pos: int) -> FileProblem:
        return FileProblem(
            f"the JSON value starting at line {self.w.line_at(pos)} is larger than "
            f"{MAX_ELEMENT_BYTES >> 20} MiB, far more than any audit record: reading stopped there"
        )

    def _truncated(self, pos: int, line: int = 0) -> _Piece:
        """From `pos` to the end of the file, which stops inside a value opened on `line`
        (by default the value starting at `pos`)."""
        w = self.w
        while w.fill():
            pass
        line = line or w.line_at(pos)
        pos = max(pos, w.cursor)
        problem = f"file ends inside a JSON value that starts at line {line} (truncated?)"
        return _Piece(pos, w.base + _rstrip(w.buf, pos - w.base, len(w.buf)), None, problem, True)

    def _broken_string(self, pos: int, newline: int) -> _Piece:
        w = self.w
        end = w.base + _rstrip(w.buf, pos - w.base, newline - w.base)
        line = w.line_at(newline)
        problem = (
            f"not valid JSON: a string is still open at the end of line {line} (a line cut "
            "short, or two records joined?)"
        )
        return _Piece(pos, end, None, problem)

    def _garbage(self, pos: int) -> _Piece:
        """Text where an element should start: up to the next line that starts one."""
        w = self.w
        while True:
            match = _RESYNC.search(w.buf, pos - w.base)
            if match is not None:
                break
            if w.end - pos >= MAX_ELEMENT_BYTES:
                raise self._too_large(pos)
            if not w.fill():
                break
        stop = len(w.buf) if match is None else match.start()
        i = pos - w.base
        shown = w.buf[i : min(stop, i + 60)].decode("utf-8", "replace").strip()
        problem = f"text outside any JSON value on line {w.line_at(pos)}: {shown!r}"
        return _Piece(pos, w.base + _rstrip(w.buf, i, stop), None, problem)


def _is_page(value: object) -> bool:
    if type(value) is not dict or not ("value" in value or "records" in value):
        return False
    return any(isinstance(value.get(key), list) for key in _PAGE_KEYS) and not any(
        key in value for key in ("CreationTime", "AuditData", "auditData", "RawEventData")
    )


def _rstrip(buf: bytes, lo: int, hi: int) -> int:
    """`hi` moved back over JSON whitespace, not before `lo`."""
    while hi > lo and buf[hi - 1] in _WS:
        hi -= 1
    return hi


def _char_boundary(buf: bytes, lo: int, hi: int) -> int:
    """`hi`, or earlier so that buf[lo:hi] does not end inside a UTF-8 character."""
    if hi < len(buf):
        for _ in range(3):
            if hi > lo and buf[hi] & 0xC0 == 0x80:
                hi -= 1
    return hi


def _line_end(buf: bytes, i: int, bound: int) -> int:
    """Guess for JSON Lines and one-element-per-line arrays: the end of the line, before
    whitespace and a separating comma."""
    newline = buf.find(b"\n", i, bound)
    if newline < 0:
        return -1
    end = _rstrip(buf, i, newline)
    if end > i and buf[end - 1] == _COMMA:
        end = _rstrip(buf, i, end - 1)
    return end


def _sibling_end(buf: bytes, i: int, bound: int) -> int:
    """Guess for arrays: just before the next element that opens with the same bytes."""
    match = _FIRST_KEY.match(buf, i, bound)
    if match is None:
        return -1
    following = buf.find(match.group(), match.end(), bound)
    if following < 0:
        return -1
    end = _rstrip(buf, i, following)
    if end > i and buf[end - 1] == _COMMA:
        end = _rstrip(buf, i, end - 1)
    return end


# --- the reader ------------------------------------------------------------------------------


class JsonRows:
    """The elements of one JSON evidence file, each located and holding AuditData or a problem.

    JSON is always read whole from the top (`readers.splittable` is False for it): `span` is
    accepted for the common reader signature and ignored.
    """

    def __init__(
        self, evidence: EvidenceReader, detection: Detection, span: ByteRange | None = None
    ) -> None:
        self._evidence = evidence
        self._detection = detection
        self.label = f"{detection.label} ({encoding_words(detection)})"
        self.notes: list[str] = []
        self.data_rows = 0
        self.decode_error_count = 0
        self.decode_error_lines: list[int] = []

    def __iter__(self) -> Iterator[RowEvent]:
        return self._rows()

    def _rows(self) -> Iterator[RowEvent]:
        detection = self._detection
        layout = _layout(self._evidence.sniff(), detection)
        window = _Window(self._evidence.stream, detection.encoding, detection.bom_length)
        framer = _Framer(window)
        reader = ElementReader()
        kinds = KindTally()
        # Held back until one element is recognised, so that a file that is not an audit
        # export is refused before any of it is loaded.
        held: list[RowEvent] | None = []
        row = 0
        try:
            for piece in framer.pieces():
                row += 1
                event = self._event(piece, row, window, reader, kinds)
                if held is None:
                    yield event
                    continue
                held.append(event)
                if kinds.recognised:
                    yield from held
                    held = None
                elif kinds.unrecognised and len(held) >= _RECOGNISE_WITHIN:
                    raise _refusal(kinds)
            if held and kinds.unrecognised and not kinds.recognised:
                raise _refusal(kinds)
            if held:
                yield from held
        except FileProblem:
            # Reading stops (a value over MAX_ELEMENT_BYTES): the elements held back so far
            # are rows of the file and are counted, so they are handed on before the stop.
            if held:
                yield from held
            raise
        finally:
            self._finish(framer, window, reader, kinds, layout, row)

    @staticmethod
    def _event(
        piece: _Piece, row: int, window: _Window, reader: ElementReader, kinds: KindTally
    ) -> RowEvent:
        offset, line = window.locate(piece.start)
        length = window.locate(piece.end)[0] - offset
        if piece.problem is not None:
            return rejected(line, row, offset, length, piece.problem)
        result = reader.extract(piece.value, line)
        if isinstance(result, Refused):
            kinds.refuse(result, piece.value)
            return rejected(line, row, offset, length, result.problem)
        kinds.add(result)
        return RowEvent(line, row, offset, length, result.audit, result.wrapper, None)

    def _finish(
        self,
        framer: _Framer,
        window: _Window,
        reader: ElementReader,
        kinds: KindTally,
        layout: str,
        rows: int,
    ) -> None:
        self.data_rows = rows
        self.decode_error_count = framer.decode_error_count
        self.decode_error_lines = list(framer.decode_error_lines)
        if window.dangling_byte:
            self.decode_error_count += 1
        self.label = f"{describe(framer, kinds, layout)} ({encoding_words(self._detection)})"
        reader.note_surrogates(framer.repaired_surrogates)
        self.notes = [*reader.notebook.render(), *_framing_notes(framer, kinds, rows)]


def _refusal(kinds: KindTally) -> NotAnAuditExport:
    return NotAnAuditExport(
        "not an audit export: no AuditData column and no CreationTime key "
        f"({kinds.first_unrecognised})"
    )


def _framing_notes(framer: _Framer, kinds: KindTally, rows: int) -> list[str]:
    notes = []
    documents = framer.arrays + framer.objects + framer.pages
    if documents > 1 and framer.arrays + framer.pages > 1:
        notes.append(
            f"{documents} JSON documents follow one another in this file (pages appended by "
            "a collector); the file as a whole is not valid JSON, each document was read"
        )
    if framer.missing_comma_line:
        notes.append(
            f"array elements are not separated by commas (first at line "
            f"{framer.missing_comma_line}); each element was read"
        )
    if framer.pages and framer.next_link:
        notes.append(
            "the last page has an @odata.nextLink: the query had more records than this "
            "file holds (collection stopped before the last page?)"
        )
    if documents and not rows:
        notes.append("the file holds no elements (an empty array or page)")
    if len(kinds.kinds) > 1:
        mixed = ", ".join(f"{kind} ({count:,})" for kind, count in kinds.kinds.most_common())
        notes.append(f"elements of several kinds: {mixed}")
    return notes


# Windows PowerShell 5.1 ConvertTo-Json aligns values after `"Key":` with two spaces and writes
# dates as `\/Date(ms)\/`; PowerShell 7 indents by two spaces with one space after the colon.
_PS51 = re.compile(r'"[^"\n]*":  \S|\\/Date\(')
# The first indented line: `  {` of an array's element or `  "Key"` of a single object.
_INDENTED = re.compile(r'^( +)[{"]', re.MULTILINE)


def _layout(head: bytes, detection: Detection) -> str:
    """`ps51`, `indent2`, `indented` or `compact`, from the first 64 KiB."""
    body = head[detection.bom_length :]
    if detection.encoding.startswith("utf-16") and len(body) % 2:
        body = body[:-1]
    text = body.decode(detection.encoding, "replace")
    if _PS51.search(text):
        return "ps51"
    indent = _INDENTED.search(text)
    if indent is None:
        return "compact"
    return "indent2" if len(indent.group(1)) == 2 else "indented"


def describe(framer: _Framer, kinds: KindTally, layout: str) -> str:
    """The file in words, from how its documents were framed and what its elements were."""
    elements = kinds.phrase()
    top = kinds.kinds.most_common(1)[0][0] if kinds.kinds else None
    writer = _writer(layout, top)
    if framer.pages:
        key, pages = framer.page_key, framer.pages
        if top is Kind.GRAPH and key == "value" and pages == 1:
            return "Microsoft Graph auditLogRecord page (value[])"
        count = "" if pages == 1 else f"{pages} documents, "
        return f"JSON page{'s' if pages > 1 else ''} ({count}{key}[]) of {elements}"
    if framer.arrays and framer.objects:
        documents = framer.arrays + framer.objects
        return f"JSON documents ({documents} arrays and objects) of {elements}"
    if framer.arrays > 1:
        return f"concatenated JSON arrays ({framer.arrays} documents) of {elements}"
    if framer.arrays:
        return _array_words(writer, top, layout, kinds, elements)
    if framer.objects == 1:
        if writer:
            return f"{writer} of {elements} (a single object, not an array)"
        return f"single JSON object of {elements}"
    if framer.objects and not framer.multiline_objects and not framer.shared_lines:
        return f"JSON Lines of {elements}"
    if framer.objects:
        return f"concatenated JSON objects ({framer.objects} documents) of {elements}"
    return f"JSON of {elements}"


def _writer(layout: str, top: Kind | None) -> str:
    if layout == "ps51":
        return "ConvertTo-Json (Windows PowerShell 5.1)"
    if layout == "indent2" and top is Kind.CMDLET:
        return "ConvertTo-Json (PowerShell 7)"
    return ""


def _array_words(
    writer: str, top: Kind | None, layout: str, kinds: KindTally, elements: str
) -> str:
    if writer:
        return f"{writer} of {elements}"
    if kinds.carriers:
        return f"JSON array of {elements}"
    if top is Kind.AUDIT_DATA and layout == "compact":
        return "Management Activity API JSON array of AuditData"
    if top is Kind.SENTINEL:
        return f"{elements} (JSON)"
    if top is Kind.DEFENDER:
        return elements
    return f"JSON array of {elements}"


def reparse_json_row(detection: Detection, raw: bytes) -> dict[str, Any]:
    """The AuditData object of one element's bytes (a detail view); raises ValueError."""
    codec = detection.encoding if detection.encoding.startswith("utf-16") else "utf-8"
    text = raw.decode(codec, "replace").lstrip("\ufeff")
    try:
        value, _ = loads_lenient(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg}") from exc
    result = ElementReader().extract(value)
    if isinstance(result, Refused):
        raise ValueError(result.problem)
    return result.audit
