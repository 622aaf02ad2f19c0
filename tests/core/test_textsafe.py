"""Tests for ualscope.core.textsafe: hostile audit strings made visible, inert and unambiguous."""

from __future__ import annotations

import functools
import html
import re
import string
import subprocess
import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ualscope.core.textsafe import (
    csv_cell,
    display_block,
    display_text,
    json_escape_hidden,
    md_cell,
    md_code,
    md_text,
)

HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}

# Arbitrary text, surrogates included, biased towards what makes escaping ambiguous:
# backslashes, the letters that follow one in an escape, hex digits and hidden characters.
TRICKY = st.sampled_from(list("\\xuUntr0b1e\x1b\x9b\x00\n\r\t\u202e\u200d\u2028 `|@"))
ANY_TEXT = st.text(st.one_of(TRICKY, st.characters(exclude_categories=())), max_size=40)

# Properties, not timings: the first markdown-it render builds its rule chains, and a shared
# CI machine can stall a 0.04 ms example past hypothesis's 200 ms default deadline.
NO_DEADLINE = settings(deadline=None)

_ESCAPE_WIDTH = {"x": 2, "u": 4, "U": 8}
_NAMED = {"n": "\n", "t": "\t", "r": "\r"}


def undisplay(shown: str) -> str:
    """Decode the scheme documented in textsafe: possible only because the scheme is injective."""
    out: list[str] = []
    i = 0
    while i < len(shown):
        lead, after = shown[i], shown[i + 1 : i + 2]
        if lead != "\\" or after == "" or after not in "\\xuUntr":
            out.append(lead)
            i += 1
        elif after == "\\":
            out.append("\\")
            i += 2
        elif after in _NAMED:
            out.append(_NAMED[after])
            i += 2
        else:
            width = _ESCAPE_WIDTH[after]
            out.append(chr(int(shown[i + 2 : i + 2 + width], 16)))
            i += 2 + width
    return "".join(out)


def hidden_chars(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) in HIDDEN_CATEGORIES]


@functools.cache
def gfm() -> Any:
    """markdown-it-py in its GFM preset (tables, linkify) as a stand-in for GitHub's renderer."""
    pytest.importorskip("linkify_it")
    return pytest.importorskip("markdown_it").MarkdownIt("gfm-like")


# --- display_text: terminal control sequences -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", r"\x1b[31mred\x1b[0m"),
        ("\x1b[2J\x1b[H", r"\x1b[2J\x1b[H"),
        ("\x1b]0;pwned\x07Subject", r"\x1b]0;pwned\x07Subject"),
        # OSC 8 hyperlink; ST is ESC + backslash, so that backslash precedes a hidden character
        # or ends the string.
        (
            "\x1b]8;;http://evil.example\x1b\\Invoice\x1b]8;;\x1b\\",
            "\\x1b]8;;http://evil.example\\x1b\\Invoice\\x1b]8;;\\x1b\\",
        ),
        ("\x1b]52;c;Y3VybCBldmlsfHNo\x07", r"\x1b]52;c;Y3VybCBldmlsfHNo\x07"),
        ("\x9b31mC1 CSI", r"\x9b31mC1 CSI"),
        ("\x85NEL", r"\x85NEL"),
        ("NUL\x00byte", r"NUL\x00byte"),
        ("del\x7f", r"del\x7f"),
        ("bel\x07bs\x08vt\x0bff\x0c", r"bel\x07bs\x08vt\x0bff\x0c"),
        ("tab\tcr\rlf\n", r"tab\tcr\rlf\n"),
    ],
)
def test_display_text_makes_terminal_controls_visible(raw: str, shown: str) -> None:
    assert display_text(raw) == shown
    assert "\x1b" not in display_text(raw)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("invoice\u202egnp.exe", r"invoice\u202egnp.exe"),
        ("\u2066admin\u2069", r"\u2066admin\u2069"),
        ("paypa\u200bl\u200c\u200d", r"paypa\u200bl\u200c\u200d"),
        ("\ufeffBOM\u2060", r"\ufeffBOM\u2060"),
        ("soft\xadhyphen", r"soft\xadhyphen"),
        ("lrm\u200erlm\u200falm\u061c", r"lrm\u200erlm\u200falm\u061c"),
        ("line\u2028para\u2029", r"line\u2028para\u2029"),
        ("lone \ud800 surrogate", r"lone \ud800 surrogate"),
        ("tag\U000e0041", r"tag\U000e0041"),
        ("private\ue000", r"private\ue000"),
        ("\u3164\u2800", r"\u3164\u2800"),  # printable, yet drawn blank: fake empty names
    ],
)
def test_display_text_makes_invisible_characters_visible(raw: str, shown: str) -> None:
    assert display_text(raw) == shown


@pytest.mark.parametrize("markup", ["[bold]x[/bold]", "[/]", "[@click=app.quit]pay[/]", "[red]"])
def test_display_text_leaves_textual_markup_as_text(markup: str) -> None:
    # Not control characters: the TUI must never parse markup, and this layer must not hide it.
    assert display_text(markup) == markup


@pytest.mark.parametrize(
    "folder",
    [r"\Inbox", r"\Sent Items", r"\Deleted Items\Phish", r"\Recoverable Items\Purges", "a\\"],
)
def test_display_text_keeps_folder_paths_readable(folder: str) -> None:
    assert display_text(folder) == folder


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\\x1b", r"\\x1b"),  # four literal characters
        ("\\\x1b", r"\\\x1b"),  # backslash, then a real ESC
        ("C:\\temp\\new", r"C:\\temp\\new"),
        ("\\\\server", r"\\\server"),
        ("\\Unread", r"\\Unread"),
    ],
)
def test_display_text_doubles_backslash_only_before_escape_letters(raw: str, shown: str) -> None:
    assert display_text(raw) == shown
    assert undisplay(shown) == raw


def test_literal_escape_text_and_real_control_display_differently() -> None:
    assert display_text("\\x1b") != display_text("\x1b")
    assert display_text("\\x1b") != display_text("\\\x1b")
    assert display_text("\\u202e") != display_text("\u202e")


@pytest.mark.parametrize(("value", "shown"), [(None, ""), (42, "42"), (b"\x1b", r"b'\\x1b'")])
def test_display_text_converts_non_strings(value: object, shown: str) -> None:
    assert display_text(value) == shown


def test_display_text_cuts_to_limit_with_ellipsis() -> None:
    assert display_text("a" * 301) == "a" * 299 + "\u2026"
    assert display_text("a" * 300) == "a" * 300
    assert display_text("abcdef", limit=4) == "abc\u2026"
    assert display_text("a" * 5000, limit=None) == "a" * 5000


def test_display_text_limit_counts_escapes_and_never_splits_one() -> None:
    assert display_text("aaaaa" + "\x1b" * 10, limit=8) == "aaaaa\u2026"
    assert display_text("ab\x1b", limit=6) == r"ab\x1b"
    assert display_text("ab\x1bc", limit=6) == "ab\u2026"


def test_display_text_on_huge_field_only_renders_the_head() -> None:
    huge = "\x1b" + "x" * 10_000_000
    assert display_text(huge) == r"\x1b" + "x" * 295 + "\u2026"


def test_display_text_rejects_limit_below_one() -> None:
    with pytest.raises(ValueError, match="limit"):
        display_text("x", limit=0)


@NO_DEADLINE
@given(ANY_TEXT, st.one_of(st.none(), st.integers(min_value=1, max_value=30)))
def test_display_text_is_one_visible_line_within_limit(text: str, limit: int | None) -> None:
    shown = display_text(text, limit=limit)
    assert hidden_chars(shown) == []
    assert len(shown.splitlines()) <= 1
    if limit is not None:
        assert len(shown) <= limit


@NO_DEADLINE
@given(ANY_TEXT)
def test_display_text_is_injective(text: str) -> None:
    assert undisplay(display_text(text, limit=None)) == text


# --- display_block ----------------------------------------------------------------------------


def test_display_block_keeps_line_feeds_and_escapes_the_rest() -> None:
    record = '{\r\n  "Subject": "\x1b]0;x\x07",\n\t"Folder": "\\Inbox"\n}'
    shown = '{\\r\n  "Subject": "\\x1b]0;x\\x07",\n\\t"Folder": "\\Inbox"\n}'
    assert display_block(record) == shown


def test_display_block_cuts_to_limit() -> None:
    assert display_block("ab\ncd\nef", limit=5) == "ab\nc\u2026"


@NO_DEADLINE
@given(ANY_TEXT)
def test_display_block_only_line_feeds_break_lines(text: str) -> None:
    shown = display_block(text)
    assert shown.count("\n") == text.count("\n")
    assert hidden_chars(shown.replace("\n", "")) == []
    assert undisplay(shown) == text


# --- md_code ----------------------------------------------------------------------------------


def render_inline(markdown: str) -> str:
    return str(gfm().renderInline(markdown))


@pytest.mark.parametrize("run", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("template", ["a{0}b", "{0}start", "end{0}", "{0}", "{0} spaced {0}"])
def test_md_code_fence_outlasts_backtick_runs(run: int, template: str) -> None:
    value = template.format("`" * run)
    span = md_code(value)
    assert span.startswith("`" * (run + 1)) and not span.startswith("`" * (run + 2))
    assert render_inline(span) == f"<code>{html.escape(value, quote=False)}</code>"


@pytest.mark.parametrize("value", [" lead", "trail ", " both ", "   ", "a"])
def test_md_code_keeps_spaces_as_commonmark_strips_them(value: str) -> None:
    assert render_inline(md_code(value)) == f"<code>{value}</code>"


@pytest.mark.parametrize("value", [None, ""])
def test_md_code_shows_empty_as_a_dash(value: object) -> None:
    assert md_code(value) == "\u2014"
    assert md_code("\u2014") != md_code("")


def test_md_code_keeps_email_addresses_readable() -> None:
    assert md_code("alice@fabrikam.example") == "`alice@fabrikam.example`"
    assert "<a" not in render_inline(md_code("alice@fabrikam.example"))


def test_md_code_shows_newlines_and_controls() -> None:
    assert md_code("line1\nline2\x1b[2J") == r"`line1\nline2\x1b[2J`"


@pytest.mark.parametrize(
    ("raw", "defanged"),
    [
        ("http://evil.example/a.png", "hxxp://evil[.]example/a.png"),
        ("HTTPS://Login.Evil.Example/x.y", "HXXPS://Login[.]Evil[.]Example/x.y"),
        ("see www.evil.example/login", "see www[.]evil[.]example/login"),
        ("_https://a.example_", "_hxxps://a[.]example_"),
        ("javascript:alert(1)", "javascript[:]alert(1)"),
        ("JavaScript:alert(1)", "JavaScript[:]alert(1)"),
        ("data:text/html;base64,PHNjcmlwdD4=", "data[:]text/html;base64,PHNjcmlwdD4="),
        ("vbscript:x file:///C:/x", "vbscript[:]x file[:]///C:/x"),
        ("ftp://files.evil.example", "ftp[:]//files[.]evil[.]example"),
        ("mailto:ceo@fabrikam.example", "mailto[:]ceo@fabrikam.example"),
        ("ms-msdt:/id PCWDiagnostic", "ms-msdt[:]/id PCWDiagnostic"),
        ("AuditData: 10.0.0.1 bob@fabrikam.example", "AuditData: 10.0.0.1 bob@fabrikam.example"),
    ],
)
def test_md_code_defangs_links(raw: str, defanged: str) -> None:
    assert md_code(raw) == f"`{defanged}`"


@NO_DEADLINE
@given(ANY_TEXT)
def test_md_code_renders_as_one_code_span(text: str) -> None:
    rendered = render_inline(md_code(text))
    assert rendered == "\u2014" or re.fullmatch(r"<code>[^<]*</code>", rendered)


@NO_DEADLINE
@given(st.text(st.one_of(TRICKY, st.sampled_from(list(string.punctuation + " 9")))))
def test_md_code_shows_exactly_the_display_text(text: str) -> None:
    # No letters that could spell a scheme, so nothing is defanged; but a control shows as
    # an escape with letters (ESC as `\x1b`), and `\x1b.://` reads as a scheme: defanged,
    # as it should be (test_md_code_defangs_links).
    assume("://" not in text)
    rendered = render_inline(md_code(text))
    if text:
        assert html.unescape(rendered) == f"<code>{display_text(text, limit=None)}</code>"


# --- md_cell ----------------------------------------------------------------------------------

HOSTILE_ROWS = [
    ("x|y", "``` | ``", "<script>alert(1)</script>"),
    ("[x](javascript:alert(1))", "![img](http://evil.example/a.png)", "a\n| injected | row |"),
    ("https://evil.example/login", "www.evil.example", "a\\|b\\"),
    ("|", "\\", "\r\n|\u2028|"),
    ("**bold**", "# heading", None),
]


def outside_code_spans(markdown: str) -> str:
    """The markdown with every code span (matching backtick fences) cut out."""
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)


def split_cells(row: str) -> list[str]:
    """GFM splits a row on every pipe not directly preceded by a backslash."""
    return re.split(r"(?<!\\)\|", row)


@pytest.mark.parametrize("values", HOSTILE_ROWS)
def test_md_cell_row_keeps_three_cells(values: tuple[object, object, object]) -> None:
    row = "| " + " | ".join(md_cell(v) for v in values) + " |"
    parts = split_cells(row)
    assert len(parts) == 5 and parts[0] == "" and parts[-1] == ""
    assert "\n" not in row and "\r" not in row
    assert "http://" not in row and "https://" not in row
    # "<" and "](" from the data survive only inside code spans, where CommonMark shows them
    # as text: there is no escape inside a code span, so removing them would alter evidence.
    outside = outside_code_spans(row)
    assert "<" not in outside and "](" not in outside and "`" not in outside

    table = gfm().render("| a | b | c |\n|---|---|---|\n" + row + "\n")
    assert table.count("<td") == 3 and table.count("<tr") == 2
    for tag in ("<a ", "<img", "<script", "<strong", "<h1"):
        assert tag not in table


def test_md_cell_shows_pipes_and_backslashes_as_data() -> None:
    table = gfm().render("| a |\n|---|\n| " + md_cell("a\\|b|c") + " |\n")
    assert "<td><code>a\\|b|c</code></td>" in table


@NO_DEADLINE
@given(ANY_TEXT)
def test_md_cell_has_no_bare_pipe_or_line_break(text: str) -> None:
    cell = md_cell(text)
    assert len(split_cells(cell)) == 1
    assert "\n" not in cell and "\r" not in cell


@NO_DEADLINE
@given(ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_md_cell_row_renders_three_code_cells(a: str, b: str, c: str) -> None:
    row = "| " + " | ".join(md_cell(v) for v in (a, b, c)) + " |"
    table = gfm().render("| a | b | c |\n|---|---|---|\n" + row + "\n")
    cells = re.findall(r"<td>(.*?)</td>", table)
    assert len(cells) == 3
    assert all(cell == "\u2014" or re.fullmatch(r"<code>[^<]*</code>", cell) for cell in cells)


# --- md_text ----------------------------------------------------------------------------------


def render_block(markdown: str) -> str:
    return str(gfm().render(markdown))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("[x](javascript:alert(1))", "[x](javascript[:]alert(1))"),
        ("![img](http://evil.example/a.png)", "![img](hxxp://evil[.]example/a.png)"),
        ("go to https://evil.example/x", "go to hxxps://evil[.]example/x"),
        ("www.evil.example", "www[.]evil[.]example"),
        ("**bold** _em_ ~~gone~~ `code`", "**bold** _em_ ~~gone~~ `code`"),
        ("# heading", "# heading"),
        ("> quote", "> quote"),
        ("1. item", "1. item"),
        ("- item", "- item"),
        ("    indented", "    indented"),
        ("&amp; &#60;", "&amp; &#60;"),
        ("a | b", "a | b"),
        ("alice@fabrikam.example cc @mallory", "alice[@]fabrikam.example cc [@]mallory"),
        ("two\nlines", "two\\nlines"),
        ("trailing  ", "trailing  "),
    ],
)
def test_md_text_renders_as_literal_text(raw: str, shown: str) -> None:
    rendered = render_block(md_text(raw) + "\n\nnext paragraph\n")
    assert rendered.startswith("<p>") and rendered.count("<p>") == 2
    first = rendered.split("</p>")[0].removeprefix("<p>")
    assert "<" not in first
    assert html.unescape(first) == shown


@NO_DEADLINE
@given(st.text(st.sampled_from(list(string.punctuation + " ab1\n\x1b\\")), min_size=1))
def test_md_text_never_formats(text: str) -> None:
    # Letters "a b" cannot spell a scheme or www, so the only rewrite is @ -> [@].
    expected = display_text(text, limit=None).replace("@", "[@]")
    rendered = render_block(md_text(text))
    if expected.strip(" "):
        assert rendered == f"<p>{html.escape(expected, quote=False)}</p>\n".replace('"', "&quot;")


# --- csv_cell ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),
        ("alice@fabrikam.example", "alice@fabrikam.example"),
        ("\\Inbox", "\\Inbox"),
        (None, ""),
        (3, "3"),
    ],
)
def test_csv_cell_guards_formulas(raw: object, cell: str) -> None:
    assert csv_cell(raw) == cell


@NO_DEADLINE
@given(ANY_TEXT)
def test_csv_cell_is_reversible(text: str) -> None:
    cell = csv_cell(text)
    guarded = cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r", "'")
    assert (cell[1:] if guarded else cell) == text


# --- the headless boundary ----------------------------------------------------------------------


def test_textsafe_imports_neither_textual_nor_rich() -> None:
    probe = "import sys, ualscope.core.textsafe; print(sorted({'textual','rich'} & {*sys.modules}))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@NO_DEADLINE
@given(st.text())
def test_json_output_keeps_its_strings_and_shows_nothing_hidden(value: str) -> None:
    import json

    document = json.dumps({"subject": value}, ensure_ascii=False, indent=2)
    shown = json_escape_hidden(document)
    assert json.loads(shown) == {"subject": value}
    for ch in shown:
        assert ch in "\n\t" or ch.isprintable() or unicodedata.category(ch) == "Zs", repr(ch)
    assert not any(0x80 <= ord(ch) <= 0x9F or ord(ch) == 0x7F for ch in shown)


def test_json_output_escapes_c1_bidi_and_zero_width() -> None:
    document = '{"s": "a\x9b2J\u202etxt\u200b\x7f"}'
    assert json_escape_hidden(document) == '{"s": "a\\u009b2J\\u202etxt\\u200b\\u007f"}'
