"""Property tests: whatever a file holds, `load` returns, and every row is accounted for.

For every export shape the loader reads, hypothesis damages a valid, real-shaped file (flipped
bytes, a cut, lines deleted or doubled, stray quotes, brackets, NULs, bad bytes) or replaces
it with noise, and the load must:

- return, never raise (one bad file must not stop a case from loading);
- account for each file: refused with a reason, or records kept + duplicates + rejected rows
  == data rows, every rejection with a line and a reason;
- invent nothing: every record id in the index is written somewhere in the file's text.

Example counts stay modest (these run in the ordinary suite, on a shared 2-core machine);
hypothesis keeps the failures it finds in .hypothesis/ and replays them first.
"""

from __future__ import annotations

import json
from pathlib import Path

import hostile_corpus as corpus
import pytest
from hostile_corpus import SHAPES, live_characters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ualscope.core.analysis.scope import Suspects
from ualscope.core.ingest.detect import detect
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.ingest.json_elements import repair_surrogates
from ualscope.core.ingest.loader import LoadResult, load
from ualscope.core.ingest.rows import NotAnAuditExport
from ualscope.core.normalise.record import _READ_KEYS as NORMALISER_READS
from ualscope.core.report.build import ReportOptions, analyse, build_report
from ualscope.core.report.markdown import render_markdown

# Real-shaped records with hostile values in them: binds with items, syncs, SendAs.
RECORDS = [
    *corpus.terminal_records(),
    *corpus.markup_records()[:2],
    *corpus.plain_records(301, 2),
]
VALID = {name: write(RECORDS) for name, write in SHAPES.items()}

# A function-scoped tmp_path is shared by every example of a test, which is what is wanted
# here: each example overwrites the one file before loading it.
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Bytes that matter to some parser: CSV and JSON punctuation, line ends, a BOM, a NUL, ESC,
# bytes that are never UTF-8, and half of a UTF-16 code unit.
SPLICES = [
    b'"',
    b'""',
    b",",
    b";",
    b"\n",
    b"\r",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b"][",
    b"\\",
    b"\\u",
    b"\\ud83d",
    b"\x00",
    b"\x1b",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\xd8",
]
POSITION = st.integers(min_value=0, max_value=2**32)
MUTATION = st.one_of(
    st.tuples(st.just("flip"), POSITION, st.integers(0, 255)),
    st.tuples(st.just("cut"), POSITION),
    st.tuples(st.just("delete line"), POSITION),
    st.tuples(st.just("double line"), POSITION),
    st.tuples(st.just("insert"), POSITION, st.sampled_from(SPLICES)),
)
# Noise that looks like the containers: structure characters more often than chance gives.
STRUCTURED_NOISE = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('[]{}",:;\\\n\r tfnul0123456789-.#TYPE\x00\x1b\ufeff\ud800')),
        st.characters(),
    ),
    max_size=600,
).map(lambda text: text.encode("utf-8", "surrogatepass"))


def mutate(data: bytes, mutation: tuple[object, ...]) -> bytes:
    kind, where = mutation[0], int(mutation[1])  # type: ignore[call-overload]
    if not data:
        return data
    at = where % len(data)
    if kind == "flip":
        return data[:at] + bytes([int(mutation[2])]) + data[at + 1 :]  # type: ignore[call-overload]
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        splice = mutation[2]
        assert isinstance(splice, bytes)
        return data[:at] + splice + data[at:]
    lines = data.splitlines(keepends=True)
    line = where % len(lines)
    if kind == "delete line":
        del lines[line]
    else:
        lines.insert(line, lines[line])
    return b"".join(lines)


def file_text(data: bytes) -> str:
    """The file as the readers decode it (bad bytes as U+FFFD), to look ids up in."""
    try:
        encoding = detect(data[: 64 * 1024]).encoding
    except NotAnAuditExport:
        encoding = "utf-8"
    if encoding.startswith("utf-16"):
        body = data[2:] if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data
        return body.decode(encoding, "replace")
    return data.decode("utf-8", "replace")


def written_forms(record_id: str) -> set[str]:
    """How an id can appear in a file: as is, JSON-escaped, and each with CSV quote doubling."""
    forms = {
        record_id,
        json.dumps(record_id)[1:-1],
        json.dumps(record_id, ensure_ascii=False)[1:-1],
    }
    return forms | {form.replace('"', '""') for form in forms}


def written_in(record_id: str, data: bytes) -> bool:
    """Whether an id of the index is written in the file (the index invents no record)."""
    text = file_text(data)
    # Also as the readers see the text after repairing unpaired `\\udXXX` escapes.
    texts = (text, repair_surrogates(text))
    forms = written_forms(record_id)
    if any(form in haystack for form in forms for haystack in texts):
        return True
    # Outside strict mode csv drops a quote that opens a field in the middle of a value
    # (`"4"057...` reads as `4057...`), so compare without quote characters too.
    bare = [haystack.replace('"', "") for haystack in texts]
    return any(form.replace('"', "") in haystack for form in forms for haystack in bare)


def assert_accounted(info: InputFile) -> None:
    if info.refused:
        assert info.refused.strip(), info
        assert info.data_rows == info.records == info.duplicates == 0, info
        assert not info.rejections, info
        return
    assert info.records + info.duplicates + len(info.rejections) == info.data_rows, info
    for rejection in info.rejections:
        assert rejection.line >= 1, rejection
        assert rejection.row >= 1, rejection
        assert rejection.reason.strip(), rejection


def load_bytes(path: Path, data: bytes) -> LoadResult:
    path.write_bytes(data)
    result = load([path], workers=1)  # the property: this returns
    (info,) = result.files
    assert info.sha256, "every file read or refused is hashed"
    assert_accounted(info)
    assert len(result.index) == info.records
    for row in range(len(result.index)):
        assert written_in(result.index.record_id(row), data), result.index.record_id(row)
    return result


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_starts_valid(tmp_path: Path, shape: str) -> None:
    """The files the mutations start from load whole, so a damaged copy is a real test."""
    result = load_bytes(tmp_path / "evidence", VALID[shape])
    (info,) = result.files
    assert info.records == len(RECORDS), (info.label, info.rejections, info.notes)
    assert not info.rejections


@pytest.mark.parametrize("shape", sorted(SHAPES))
@PROPERTY
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_damaged_files_load_and_account_for_every_row(
    tmp_path: Path, shape: str, mutations: list[tuple[object, ...]]
) -> None:
    data = VALID[shape]
    for mutation in mutations:
        data = mutate(data, mutation)
    load_bytes(tmp_path / "evidence", data)


@pytest.mark.parametrize("shape", sorted(SHAPES))
@settings(PROPERTY, max_examples=25)
@given(keep=POSITION, tail=st.one_of(st.binary(max_size=1024), STRUCTURED_NOISE))
def test_a_real_start_then_anything(tmp_path: Path, shape: str, keep: int, tail: bytes) -> None:
    """The head of a real export (so detection passes and a reader starts), then noise."""
    valid = VALID[shape]
    load_bytes(tmp_path / "evidence", valid[: keep % (len(valid) + 1)] + tail)


@settings(PROPERTY, max_examples=100)
@given(data=st.one_of(st.binary(max_size=2048), STRUCTURED_NOISE))
def test_arbitrary_bytes_load_or_are_refused(tmp_path: Path, data: bytes) -> None:
    load_bytes(tmp_path / "evidence", data)


# --- records whose every field holds whatever JSON allows ------------------------------------

_SUBKEYS = [
    "Path",
    "Name",
    "FolderItems",
    "InternetMessageId",
    "SizeInBytes",
    "ParentFolder",
    "Subject",
    "AADSessionId",
    "UniqueTokenId",
    "Value",
    "Id",
]
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", " ", "True", "Bind", "Sync", "2022-03-28T09:00:00", "\\Inbox", "1e400"]),
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(st.sampled_from(_SUBKEYS), st.text(max_size=6)), inner, max_size=3
        ),
    ),
    max_leaves=8,
)
# The keys the normaliser reads (normalise/record.py), the record key aside: an Id that is not
# text or a number is named by its Python rendering, which no file spells out.
READ_KEYS = [key for key in NORMALISER_READS if key != "Id"]
ODD_RECORDS = st.lists(
    st.dictionaries(st.sampled_from(READ_KEYS), JSON_VALUE, max_size=8),
    min_size=1,
    max_size=4,
).map(
    lambda overrides: [
        {**base, **odd}
        for base, odd in zip(corpus.plain_records(401, len(overrides)), overrides, strict=True)
    ]
)
# Writers that pass any value through (the Search-MailboxAuditLog writer needs real shapes).
GENERIC_SHAPES = sorted(set(SHAPES) - {"mailbox-audit-csv"})


@pytest.mark.parametrize("shape", GENERIC_SHAPES)
@settings(PROPERTY, max_examples=20)
@given(records=ODD_RECORDS)
def test_records_with_any_values_load_and_account(
    tmp_path: Path, shape: str, records: list[dict[str, object]]
) -> None:
    load_bytes(tmp_path / "evidence", SHAPES[shape](records))


@settings(PROPERTY, max_examples=40)
@given(records=ODD_RECORDS, suspect=st.integers(min_value=0, max_value=3))
def test_the_report_over_any_values_renders_inert(
    tmp_path: Path, records: list[dict[str, object]], suspect: int
) -> None:
    """Analyses, the report and its markdown take whatever the records hold."""
    result = load_bytes(tmp_path / "evidence", corpus.jsonl(records))
    index = result.index
    if not len(index):
        return
    row = suspect % len(index)
    suspects = Suspects(
        client_ips=(index.text("client_ip", row),) if index.text("client_ip", row) else (),
        users=(index.text("user_id", row),) if index.text("user_id", row) else (),
        record_ids=(index.record_id(row),),
    )
    options = ReportOptions(suspects=suspects)
    report = build_report(
        result, analyse(index, options), options, name="ualscope", version="t", command="x"
    )
    markdown = render_markdown(report)
    assert not live_characters(markdown), sorted(live_characters(markdown))
    json.loads(report.model_dump_json())
