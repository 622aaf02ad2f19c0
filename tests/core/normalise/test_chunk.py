"""The column-at-a-time normaliser gives exactly what the record-at-a-time one gives.

`normalise_chunk` is the load's hot path; `FileNormaliser.normalise` is the reference it
must match value for value, refusal for refusal. Both are run here over the same records:
every file of the sample case, the hostile corpus, and records whose read keys hold any JSON
value hypothesis makes up (in any casing, with any wrapper columns beside them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hostile_corpus as corpus
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ualscope.core.index.part import Part, PartBuilder
from ualscope.core.ingest.detect import detect
from ualscope.core.ingest.evidence import EvidenceReader
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.ingest.loader import discover, read_part
from ualscope.core.ingest.readers import open_rows
from ualscope.core.ingest.rows import NotAnAuditExport, WrapperFields
from ualscope.core.normalise.chunk import ChunkColumns, normalise_chunk, one_by_one
from ualscope.core.normalise.record import (
    _READ_KEYS,
    FileNormaliser,
    Unusable,
    _item_value,
    append_bound_items,
    as_int,
    as_text,
    folder_path,
    item_fields,
    mail_access,
    mail_access_of,
    operation_properties,
)

SAMPLE_CASE = Path(__file__).resolve().parents[3] / "samples" / "case"


def reference(
    audits: list[dict[str, Any]], wrappers: list[WrapperFields | None], learned: bool
) -> tuple[ChunkColumns, FileNormaliser]:
    normaliser = FileNormaliser()
    if learned:
        normaliser._learn_budget = 0
    return one_by_one(normaliser, audits, wrappers), normaliser


def assert_same(
    audits: list[dict[str, Any]], wrappers: list[WrapperFields | None], learned: bool = True
) -> ChunkColumns:
    expected, by_record = reference(audits, wrappers, learned)
    normaliser = FileNormaliser()
    if learned:
        normaliser._learn_budget = 0  # past the first rows: the column path proper
    got = normalise_chunk(normaliser, audits, wrappers)
    assert got.rejected == expected.rejected
    assert got.kept == expected.kept
    for name, column in expected.values.items():
        assert got.values[name] == column, name
    assert (got.item_count, got.item_message, got.item_folder, got.item_size) == (
        expected.item_count,
        expected.item_message,
        expected.item_folder,
        expected.item_size,
    )
    assert (normaliser.wrapper_timed, normaliser.day_first) == (
        by_record.wrapper_timed,
        by_record.day_first,
    )
    return got


def rows_of(path: Path) -> tuple[list[dict[str, Any]], list[WrapperFields | None]]:
    audits: list[dict[str, Any]] = []
    wrappers: list[WrapperFields | None] = []
    with EvidenceReader(path) as evidence:
        try:
            for event in open_rows(evidence, detect(evidence.sniff())):
                if event.audit is not None:
                    audits.append(event.audit)
                    wrappers.append(event.wrapper)
        except NotAnAuditExport:
            pass
    return audits, wrappers


SAMPLE_FILES = [path for path, _ in discover([SAMPLE_CASE])[0]]


def test_the_sample_case_has_every_shape() -> None:
    assert len(SAMPLE_FILES) >= 9


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
@pytest.mark.parametrize("learned", [True, False], ids=["column-path", "learning"])
def test_sample_files_normalise_the_same_both_ways(path: Path, learned: bool) -> None:
    audits, wrappers = rows_of(path)
    assert audits
    got = assert_same(audits, wrappers, learned)
    assert got.values["record_id"]


def reference_part(path: Path) -> Part:
    """A part built record by record: the loader's path before chunks."""
    normaliser = FileNormaliser()
    builder = PartBuilder(0, normaliser)
    rows = end = 0
    with EvidenceReader(path) as evidence:
        reader = open_rows(evidence, detect(evidence.sniff()))
        for event in reader:
            end = event.offset + event.length
            if event.audit is None:
                builder.reject(event.line, event.row, event.problem or "unreadable row")
                continue
            try:
                record = normaliser.normalise(event.audit, event.wrapper)
            except Unusable as problem:
                builder.reject(event.line, event.row, str(problem))
            else:
                builder.add(record, event.line, event.offset, event.length)
        rows = reader.data_rows
    return builder.finish(rows, end)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_the_loaders_parts_equal_record_by_record_parts(path: Path) -> None:
    """Same dictionaries, codes, columns, items and rejections, in the same order."""
    expected = reference_part(path)
    got = read_part(path, InputFile(path=str(path), size=path.stat().st_size), 0)
    assert got.size == expected.size > 0
    assert got == expected


@pytest.mark.parametrize(
    "records",
    [
        corpus.terminal_records(),
        corpus.markup_records(),
        corpus.html_records(),
        corpus.formula_records(),
        corpus.plain_records(1, 300),
    ],
    ids=["terminal", "markup", "html", "formula", "plain"],
)
def test_hostile_records_normalise_the_same_both_ways(records: list[dict[str, Any]]) -> None:
    assert_same(records, [None] * len(records))


def test_refused_records_leave_the_rest_in_place() -> None:
    records = corpus.plain_records(1, 6)
    del records[1]["Id"]
    records[4]["CreationTime"] = "not a time"
    got = assert_same(records, [None] * len(records))
    assert [position for position, _ in got.rejected] == [1, 4]
    assert got.kept == [0, 2, 3, 5]
    assert len(got.values["time"]) == 4


# Whatever JSON allows, under the keys the normaliser reads, in any casing.
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(
        ["", " ", "True", "false", "Bind", " sync ", "2022-03-28T09:00:00", "7", "1e400", "::1"]
    ),
)
_NESTED = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["Path", "Name", "FolderItems", "InternetMessageId", "SizeInBytes", "Value"]
                + ["ParentFolder", "Subject", "AADSessionId", "UniqueTokenId", "path"]
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)
_KEY = st.sampled_from(_READ_KEYS).flatmap(
    lambda key: st.sampled_from([key, key.lower(), key.upper()])
)
_WRAPPER = st.one_of(
    st.none(),
    st.builds(
        WrapperFields,
        record_id=st.one_of(st.none(), st.text(max_size=6)),
        time_text=st.one_of(st.none(), st.sampled_from(["3/12/2025 7:31:34 AM", "x", ""])),
        time_source=st.just("CreationDate"),
        operation=st.one_of(st.none(), st.text(max_size=6)),
        user_id=st.one_of(st.none(), st.text(max_size=6)),
        record_type=st.one_of(st.none(), st.sampled_from(["50", "ExchangeItem", "x"])),
    ),
)
_ROWS = st.lists(
    st.tuples(st.dictionaries(_KEY, _NESTED, max_size=6), _WRAPPER),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_ROWS, learned=st.booleans())
def test_any_values_normalise_the_same_both_ways(
    rows: list[tuple[dict[str, Any], WrapperFields | None]], learned: bool
) -> None:
    base = corpus.plain_records(1, len(rows))
    audits = [{**plain, **odd} for plain, (odd, _) in zip(base, rows, strict=True)]
    assert_same(audits, [wrapper for _, wrapper in rows], learned)


# Near the usual shapes, where the column path reads them in place: the two
# OperationProperties entries of a MailItemsAccessed record, and a folder's Path.
_VALUES: list[Any] = [
    " Bind ",
    "Bind",
    "Sync",
    "SYNC",
    "True",
    "False",
    "true",
    "x",
    "",
    True,
    None,
    1,
]


@pytest.mark.parametrize("first_name", ["MailAccessType", "mailaccesstype", "IsThrottled"])
@pytest.mark.parametrize("second_name", ["IsThrottled", "isthrottled", "MailAccessType"])
def test_operation_properties_read_in_place_as_the_reference_reads_them(
    first_name: str, second_name: str
) -> None:
    pairs = [(access, flag) for access in _VALUES for flag in _VALUES]
    audits = corpus.plain_records(1, len(pairs) + 2)
    for audit, (access, flag) in zip(audits, pairs, strict=False):
        audit["OperationProperties"] = [
            {"Name": first_name, "Value": access},
            {"Name": second_name, "Value": flag},
        ]
    # A lower-cased duplicate key, which the reference reads only when the exact one is null.
    audits[-2]["OperationProperties"] = [
        {"Name": first_name, "Value": None, "value": "Sync"},
        {"Name": second_name, "Value": "False", "name": "Other"},
    ]
    audits[-1]["OperationProperties"] = [{"Name": first_name, "Value": "Bind"}, "not an entry"]
    assert_same(audits, [None] * len(audits))


def test_the_usual_properties_read_in_place_as_operation_properties_reads_them() -> None:
    names = ["MailAccessType", "mailaccesstype", "IsThrottled", "isthrottled", "Other"]
    for first_name in names:
        for second_name in names:
            for access in _VALUES:
                for flag in _VALUES:
                    listed = [
                        {"Name": first_name, "Value": access},
                        {"Name": second_name, "Value": flag},
                    ]
                    expected = mail_access_of(operation_properties(listed))
                    assert mail_access(listed) == expected, listed


@pytest.mark.parametrize(
    ("folder", "path"),
    [
        ({"Path": "\\Inbox"}, "\\Inbox"),
        ({"Path": " \\Inbox\t"}, "\\Inbox"),
        ({"Path": "Not Available", "Name": "Inbox"}, "Inbox"),
        ({"Path": " Not Available ", "Name": " Inbox"}, "Inbox"),
        ({"Path": "Not Available"}, "Not Available"),
        ({"Path": "", "Name": "Inbox"}, "Inbox"),
        ({"Path": " ", "Name": ""}, ""),
        ({"Path": None, "path": "\\Other", "Name": "Inbox"}, "Inbox"),  # null wins over casing
        ({"Path": 5}, "5"),
        ({"path": "\\Inbox"}, "\\Inbox"),
        ({"Name": "Inbox"}, "Inbox"),
    ],
)
def test_a_folders_path_reads_its_path_then_its_name(folder: dict[str, Any], path: str) -> None:
    assert folder_path(folder) == path
    # A bound item keeps the folder it was bound in, read the same way.
    folders: list[str] = []
    audit = {"Folders": [{**folder, "FolderItems": [{"InternetMessageId": "<m@example.com>"}]}]}
    append_bound_items(audit, lambda _: None, folders.append, lambda _: None)
    assert folders == [path]


@pytest.mark.parametrize(
    "parent",
    [{"Path": "\\Sent Items"}, {"Path": " Not Available", "Name": "Sent"}, {"path": "x"}, None, 7],
)
def test_an_items_own_fields_read_in_place_as_the_reference_reads_them(parent: Any) -> None:
    variants: list[dict[str, Any]] = [
        {"Subject": "Invoice", "InternetMessageId": "<a@example.com>", "SizeInBytes": 2048},
        {"Subject": None, "subject": "lower", "InternetMessageId": 5, "SizeInBytes": "2048"},
        {"Subject": True, "InternetMessageId": None, "SizeInBytes": True},
        {"subject": "only lower", "internetmessageid": "<b@example.com>", "sizeinbytes": 1},
        {"SizeInBytes": 2**70},
    ]
    audits = corpus.plain_records(1, len(variants))
    for audit, item in zip(audits, variants, strict=True):
        audit["Item"] = {**item, "ParentFolder": parent} if parent is not None else item
    assert_same(audits, [None] * len(audits))


@pytest.mark.parametrize(
    "item",
    [
        {"Subject": "Invoice", "InternetMessageId": "<a@example.com>", "SizeInBytes": 2048},
        {"Subject": None, "subject": "lower", "InternetMessageId": 5, "SizeInBytes": "2048"},
        {"Subject": True, "InternetMessageId": None, "SizeInBytes": True},
        {"subject": "only lower", "internetmessageid": "<b@example.com>", "sizeinbytes": 1},
        {"SizeInBytes": 2**70, "ParentFolder": {"Path": " \\Sent Items "}},
        {"ParentFolder": {"Path": "Not Available", "Name": "Sent"}, "Subject": ""},
        {"parentfolder": {"path": "\\Drafts"}},
        {"ParentFolder": 7},
    ],
)
def test_an_items_fields_read_as_the_readers_read_them(item: dict[str, Any]) -> None:
    assert item_fields(item) == (
        folder_path(_item_value(item, "ParentFolder")),
        as_text(_item_value(item, "Subject")),
        as_text(_item_value(item, "InternetMessageId")),
        as_int(_item_value(item, "SizeInBytes")),
    )
