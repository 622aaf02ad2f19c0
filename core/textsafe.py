r"""Show attacker-controlled audit text safely: in a terminal, in markdown case notes, in CSV.

Every string in a mailbox audit record (subject, folder, client string, user id) is chosen by
whoever sent the mail or drove the session. Textual 8.2.8 passes ESC, CSI, OSC and C1 from data
straight to the terminal (it strips only BEL, BS, VT, FF, CR), so a subject could retitle the
window (OSC 0), plant a hyperlink (OSC 8), fill the clipboard (OSC 52) or hide text behind a
bidi override. Markdown exports have the same problem one layer up.

Display scheme (display_text, display_block)
    Hidden characters become Python-style escapes with lower-case hex: ``\n`` ``\t`` ``\r``,
    ``\xHH`` up to U+00FF, then ``\uHHHH`` and ``\UHHHHHHHH``. Hidden means categories Cc, Cf,
    Cs, Co, Cn, Zl and Zp (everything ``str.isprintable`` rejects except spaces), plus a few
    printable characters that draw nothing (Hangul fillers, braille blank). Private-use and
    unassigned code points are escaped too: their glyph and cell width depend on the terminal
    font, so they can imitate or hide text. Nothing is ever dropped: the investigator must see
    that the attacker put something there.

    A backslash from the data is doubled only when the character after it in the output is one
    of ``\ x u U n t r``; every escape we emit starts with a backslash, so that covers a
    backslash before a hidden character too. Folder paths such as ``\Inbox`` and ``\Sent Items``
    therefore display unchanged, while the four characters ``\x1b`` display as ``\\x1b`` and
    cannot pass for an escaped ESC. Read left to right, ``\\`` is one data backslash, a
    backslash before ``x u U n t r`` starts an escape of fixed length, and any other backslash is
    itself: the mapping is injective (the tests decode it back). ``limit`` counts characters
    after escaping and never splits an escape; a cut display ends in U+2026 and is no longer
    injective, so a detail pane shows the value with ``limit=None``.

Markdown (md_code, md_cell, md_text), GitHub-flavoured
    A data value belongs in a code span (md_code): inside one nothing becomes a link, HTML, an
    image, emphasis or a mention, so e-mail addresses and UPNs stay as they are. md_cell also
    escapes ``|``, which splits a GFM table cell even inside a code span. md_text is for prose:
    every ASCII punctuation character is backslash-escaped (``< > &`` become entities), and
    ``@`` becomes ``[@]`` because GitHub links ``alice@fabrikam.example`` (extended autolink)
    and ``@name`` (a mention that notifies that account) in the rendered text, where a
    backslash escape no longer exists. All three defang what would still turn into a link
    after escaping, or after a paste into mail or chat: ``http`` becomes ``hxxp``, the dots of a
    ``scheme://`` host and of a ``www.`` name become ``[.]``, and javascript, vbscript, data,
    file, ftp, mailto and similar schemes get ``[:]``. Bare domains and IP addresses (a client
    IP is in every record) stay readable: GitHub does not link them.

CSV (csv_cell)
    A leading ``'`` stops a spreadsheet from running a value that starts with ``= + - @``, tab
    or CR as a formula. A value that already starts with ``'`` gets one too, so that ``=1`` and
    ``'=1`` still export differently.
"""

from __future__ import annotations

import re
import string
import unicodedata

__all__ = ["csv_cell", "display_block", "display_text", "md_cell", "md_code", "md_text"]

ELLIPSIS = "\u2026"
EMPTY_MARK = "\u2014"  # an empty code span is not valid markdown; a dash reads as "no value"

# Printable by category, yet drawn as blank: used for "empty" display names and look-alikes.
_BLANK_LOOKALIKES = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
# Nearly every field is plain printable text without a backslash; isprintable() and one regex
# search run in C, a few times faster than the per-character loop over a 300-character cell.
_NEEDS_SLOW_PATH = re.compile("[\\\\" + "".join(sorted(_BLANK_LOOKALIKES)) + "]")
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# What a reader (and the decoder in the tests) takes as the start of an escape after "\".
_ESCAPE_LEADS = frozenset("\\xuUntr")
_BACKTICK_RUN = re.compile("`+")

# Scheme URLs and www. names are what GFM autolinks; their host dots are defanged. No \b in
# front: GFM also links right after "_", "*" or "(", and "_" is a word character.
_URL_HOST = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.)[^\s/?#]*", re.IGNORECASE)
_HTTP = re.compile(r"(h)(tt)(ps?:)", re.IGNORECASE)
# Schemes a renderer, mail client or Windows shell would follow. The look-behind keeps
# "AuditData:" and "Metadata:" readable: a scheme starts at a word boundary.
_LINKABLE_SCHEME = re.compile(
    r"(?<![a-z0-9+.\-])"
    r"(javascript|vbscript|data|file|ftps?|sftp|mailto|xmpp|smb|search-ms|ms-[a-z0-9\-]+):",
    re.IGNORECASE,
)
# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it needs no
# knowledge of which extension (tables, strikethrough, footnotes, math) the reader renders.
_MD_PROSE = str.maketrans(
    {**{c: "\\" + c for c in string.punctuation}, "<": "&lt;", ">": "&gt;", "&": "&amp;"}
)
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "'")


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _is_hidden(ch: str) -> bool:
    if ch.isprintable():
        return ch in _BLANK_LOOKALIKES
    # isprintable() rejects every C* and Z* category except U+0020. Other spaces (Zs: NBSP,
    # ideographic space) show as blank and are ordinary in French and CJK subjects: keep them.
    return unicodedata.category(ch) != "Zs"


def _escape_char(ch: str) -> str:
    named = _NAMED_ESCAPES.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _pieces(text: str, *, keep_newline: bool) -> list[str]:
    """One output piece per input character, so a cut never splits an escape."""
    pieces: list[str] = []
    for i, ch in enumerate(text):
        if ch == "\\":
            after = text[i + 1 : i + 2]
            ambiguous = after != "" and (after in _ESCAPE_LEADS or _is_hidden(after))
            pieces.append("\\\\" if ambiguous else "\\")
        elif ch == "\n" and keep_newline:
            pieces.append(ch)
        else:
            pieces.append(_escape_char(ch) if _is_hidden(ch) else ch)
    return pieces


def _render(value: object, limit: int | None, *, keep_newline: bool) -> str:
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1 or None, got {limit}")
    text = _as_text(value)
    # A field can hold megabytes (the AuditData of a bulk operation). Each character displays as
    # at least one, so past limit + 1 (one character of look-ahead) everything is cut anyway.
    head = text if limit is None else text[: limit + 1]
    if head.isprintable() and _NEEDS_SLOW_PATH.search(head) is None:
        pieces: list[str] | str = head
    else:
        pieces = _pieces(head, keep_newline=keep_newline)
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    room = limit - 1  # the ellipsis takes one
    for piece in pieces:
        if len(piece) > room:
            break
        kept.append(piece)
        room -= len(piece)
    return "".join(kept) + ELLIPSIS


def display_text(value: object, *, limit: int | None = 300) -> str:
    """One line for a table cell or title: hidden characters escaped, cut to ``limit``.

    ``None`` shows as ``""``; other non-strings through ``str()``. Textual markup such as
    ``[bold]`` is not a control character and passes through: widgets must not parse markup.
    """
    return _render(value, limit, keep_newline=False)


def display_block(value: object, *, limit: int | None = None) -> str:
    """Like display_text, but a line feed stays a line break (a raw record in a detail pane).

    CR is still escaped, so a CRLF shows as ``\\r`` at the end of the line: CR alone would let
    one line overwrite another.
    """
    return _render(value, limit, keep_newline=True)


def _defang(text: str) -> str:
    text = _URL_HOST.sub(lambda m: m[0].replace(".", "[.]"), text)
    text = _HTTP.sub(lambda m: m[1] + ("XX" if m[2].isupper() else "xx") + m[3], text)
    return _LINKABLE_SCHEME.sub(r"\1[:]", text)


def md_code(value: object) -> str:
    """A markdown code span showing the value as display_text would, with URLs defanged."""
    text = _defang(display_text(value, limit=None))
    if not text:
        return EMPTY_MARK
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark: a fence touching a backtick in the value would lengthen the fence, and one
    # space is stripped from each end when both ends are spaces (unless all are spaces).
    both_spaces = text[0] == text[-1] == " " and text.strip(" ") != ""
    if text[0] == "`" or text[-1] == "`" or both_spaces:
        text = f" {text} "
    return f"{fence}{text}{fence}"


def md_cell(value: object) -> str:
    """md_code for a GFM table cell: ``|`` escaped, as the table splits on it before code spans.

    GFM tables treat a pipe after any backslash as escaped and drop that one backslash, so a
    data backslash before a pipe still shows.
    """
    return md_code(value).replace("|", "\\|")


def md_text(value: object) -> str:
    """Markdown prose that renders as the literal (defanged) text, on one line."""
    text = _defang(display_text(value, limit=None)).replace("@", "[@]").translate(_MD_PROSE)
    # Leading spaces can start an indented code block, trailing ones a hard line break; an
    # entity is the same space to the reader but not to the block parser.
    if text.startswith(" "):
        text = "&#32;" + text[1:]
    if text.endswith(" "):
        text = text[:-1] + "&#32;"
    return text


def csv_cell(value: object) -> str:
    """The value for a CSV field, with a leading ``'`` where a spreadsheet would see a formula.

    Only the first character is guarded; quoting is the csv writer's job. Controls are kept:
    a CSV export is evidence and must round-trip.
    """
    text = _as_text(value)
    return "'" + text if text.startswith(_FORMULA_LEADS) else text


def json_escape_hidden(text: str) -> str:
    """JSON text with every invisible or terminal-active character written as `\\uXXXX`.

    JSON encoders escape C0 controls only; DEL, C1 (U+009B is CSI to many terminals), bidi
    overrides, zero-width and other format characters then reach a terminal or an editor
    raw. Outside strings a JSON document holds none of them, so escaping them wherever
    they are keeps the document valid and every string equal once parsed.
    """
    if text.isascii() and _ASCII_VISIBLE.fullmatch(text):
        return text
    return "".join(
        ch
        if (ch.isascii() and ch.isprintable()) or ch in "\n\t" or not _is_hidden(ch)
        else _json_char(ch)
        for ch in text
    )


_ASCII_VISIBLE = re.compile(r"[\x20-\x7e\n\t]*")


def _json_char(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
