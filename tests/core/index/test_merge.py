"""Merging parts: one copy of each record, time order, shared dictionaries, postings."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ualscope.core.index import merge as merge_module
from ualscope.core.index import record_ids
from ualscope.core.index.merge import merge_parts
from ualscope.core.index.part import PartBuilder
from ualscope.core.index.record_ids import RecordIds, id_rows_of
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.normalise.record import FileNormaliser
from ualscope.core.normalise.times import from_iso


def record(
    rid: str, when: str, ip: str, items: list[tuple[str, str]], **extra: Any
) -> dict[str, Any]:
    folders: dict[str, list[dict[str, str]]] = {}
    for message, folder in items:
        folders.setdefault(folder, []).append({"InternetMessageId": message})
    return {
        "Id": rid,
        "CreationTime": when,
        "Operation": "MailItemsAccessed",
        "RecordType": 50,
        "UserId": "megan@fabrikam.example",
        "MailboxOwnerUPN": "megan@fabrikam.example",
        "ClientIPAddress": ip,
        "SessionId": "s-" + ip,
        "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"}],
        "Folders": [{"Path": f, "FolderItems": v} for f, v in folders.items()],
        **extra,
    }


def build(files: dict[str, list[dict[str, Any]]]) -> tuple[Any, list[InputFile]]:
    infos = [InputFile(path=name, size=0) for name in files]
    parts = []
    for index, rows in enumerate(files.values()):
        builder = PartBuilder(index)
        normaliser = FileNormaliser()
        for line, raw in enumerate(rows, start=2):
            builder.add(normaliser.normalise(raw, None), line, line * 100, 99)
        parts.append(builder.finish(len(rows)))
    return merge_parts(parts, infos), infos


def test_duplicates_across_files_are_kept_once_and_counted_against_the_later_file() -> None:
    a = record("AAA", "2022-03-28T10:00:00", "203.0.113.45", [("<m1@x>", "\\Inbox")])
    b = record("BBB", "2022-03-28T09:00:00", "198.51.100.14", [("<m2@x>", "\\Inbox")])
    index, infos = build({"one.csv": [a, b], "two.json": [dict(a, Id="aaa"), b]})
    assert len(index) == 2
    assert (infos[0].records, infos[0].duplicates) == (2, 0)
    assert (infos[1].records, infos[1].duplicates) == (0, 2)
    # Time order, whatever the load order was.
    assert [index.record_id(r) for r in range(len(index))] == ["BBB", "AAA"]
    assert index.row_of("aaa") == 1
    assert index.row_of("bbb") == 0
    assert index.row_of("ccc") is None


def test_each_file_keeps_its_own_time_range_duplicates_included() -> None:
    a = record("A", "2022-03-28T10:00:00", "203.0.113.45", [])
    b = record("B", "2022-03-27T09:00:00", "203.0.113.45", [])
    c = record("C", "2022-03-29T11:30:00", "203.0.113.45", [])
    _, infos = build({"one.csv": [a, b], "empty.csv": [], "two.json": [c, dict(b, Id="b")]})
    assert (infos[0].first_time, infos[0].last_time) == (
        from_iso("2022-03-27T09:00:00"),
        from_iso("2022-03-28T10:00:00"),
    )
    assert (infos[1].first_time, infos[1].last_time) == (None, None)
    # The duplicate of B is not kept from two.json, but it is in that file's time range.
    assert (infos[2].first_time, infos[2].last_time) == (
        from_iso("2022-03-27T09:00:00"),
        from_iso("2022-03-29T11:30:00"),
    )


def test_items_follow_their_record_through_the_sort() -> None:
    late = record(
        "L",
        "2022-03-28T12:00:00",
        "203.0.113.45",
        [("<a@x>", "\\Inbox"), ("<b@x>", "\\Sent Items")],
    )
    early = record("E", "2022-03-28T08:00:00", "198.51.100.14", [("<c@x>", "\\Archive")])
    index, _ = build({"f.csv": [late, early]})
    assert list(index.items(0)) == [("<c@x>", "\\Archive", -1)]
    assert list(index.items(1)) == [("<a@x>", "\\Inbox", -1), ("<b@x>", "\\Sent Items", -1)]
    assert index.item_count(1) == 2


def test_postings_answer_lookups_in_time_order() -> None:
    rows = [
        record(f"r{i}", f"2022-03-28T{10 + i % 5:02d}:00:0{i % 10}", ip, [(f"<m{i}@x>", "\\Inbox")])
        for i, ip in enumerate(["203.0.113.45", "198.51.100.14"] * 10)
    ]
    index, _ = build({"f.csv": rows})
    attacker = index.rows_with("client_ip", "203.0.113.45")
    assert len(attacker) == 10
    assert np.all(np.diff(index.time[attacker]) >= 0)
    assert all(index.text("client_ip", int(r)) == "203.0.113.45" for r in attacker)
    assert len(index.rows_with("client_ip", "192.0.2.1")) == 0
    assert len(index.rows_with_casefold("mailbox", "MEGAN@fabrikam.example")) == 20


def test_message_lookup_ignores_brackets_and_case() -> None:
    rows = [
        record("r1", "2022-03-28T10:00:00", "203.0.113.45", [("<Abc@X.example>", "\\Inbox")]),
        record("r2", "2022-03-28T11:00:00", "198.51.100.14", [("abc@x.example", "\\Inbox")]),
        record("r3", "2022-03-28T12:00:00", "198.51.100.14", [("<other@x>", "\\Inbox")]),
    ]
    index, _ = build({"f.csv": rows})
    found = index.rows_with_message("<ABC@x.example>")
    assert [index.record_id(int(r)) for r in found] == ["r1", "r2"]


def test_time_range_lookup_is_half_open() -> None:
    rows = [record(f"r{h}", f"2022-03-28T{h:02d}:00:00", "203.0.113.45", []) for h in range(10, 15)]
    index, _ = build({"f.csv": rows})
    lo, hi = index.rows_between(from_iso("2022-03-28T11:00:00"), from_iso("2022-03-28T13:00:00"))
    assert [index.record_id(r) for r in range(lo, hi)] == ["r11", "r12"]


# --- Record-id deduplication: the fixed-width path against the dict reference ---------------


def sent_as_parts(ids: list[str], pieces: int = 3) -> list[Any]:
    """The ids as workers send them: split over parts, as IdRows wherever a part can."""
    size = max(1, -(-len(ids) // pieces))
    parts = []
    for at in range(0, len(ids), size):
        chunk = ids[at : at + size]
        rows = id_rows_of(chunk)
        parts.append(SimpleNamespace(ids=chunk if rows is None else [], id_rows=rows))
    return parts


def first_copies(ids: list[str], pieces: int = 3) -> list[bool]:
    parts = sent_as_parts(ids, pieces)
    return merge_module._first_copies(parts, merge_module._joined_id_rows(parts)).tolist()


_GUID_CHARS = "0123456789abcdefABCDEF-"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(_GUID_CHARS, min_size=6, max_size=6), min_size=0, max_size=60),
    st.randoms(use_true_random=False),
)
def test_fixed_width_ids_keep_the_same_first_copies_as_the_dict(
    distinct: list[str], rng: Any
) -> None:
    # Duplicates in other casings, shuffled: the first copy in load order must win.
    ids = distinct + [rng.choice([value.upper(), value.lower(), value]) for value in distinct]
    rng.shuffle(ids)
    expected = merge_module._first_copies_by_dict(ids)
    assert first_copies(ids) == expected.tolist()


def test_ids_sharing_a_key_are_compared_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every row gets the same key: only the byte comparison can tell the ids apart.
    monkeypatch.setattr(record_ids, "row_keys", lambda rows: np.zeros(len(rows), dtype=np.uint64))
    ids = ["aaaa-1", "bbbb-2", "AAAA-1", "cccc-3", "bbbb-2", "cccc-4"]
    assert first_copies(ids) == [True, True, False, True, False, True]


def test_ids_of_mixed_widths_or_beyond_ascii_take_the_dict_path() -> None:
    # Widths mixed in one part, beyond ASCII, and parts each of one width but not the same.
    for ids, pieces in (
        (["a1", "A1", "b22", "a1"], 1),
        (["é1", "É1", "x2", "é1"], 2),
        (["a1", "A1", "b22", "a1"], 2),
    ):
        assert first_copies(ids, pieces) == [True, False, True, False]
    parts = sent_as_parts(["a1", "A1", "b22", "B22"], 2)
    assert all(part.id_rows is not None for part in parts)
    assert merge_module._joined_id_rows(parts) is None


def test_row_keys_differ_for_rows_that_differ_in_any_byte() -> None:
    rows = np.frombuffer(b"".join(bytes([i]) * 11 for i in range(200)), dtype=np.uint8)
    keys = record_ids.row_keys(rows.reshape(200, 11))
    assert len(set(keys.tolist())) == 200
    assert record_ids.row_keys(np.zeros((0, 11), dtype=np.uint8)).tolist() == []


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(_GUID_CHARS + "\n", min_size=5, max_size=5), min_size=1, max_size=30),
    st.randoms(use_true_random=False),
)
def test_record_ids_built_from_rows_equal_ids_built_from_strings(ids: list[str], rng: Any) -> None:
    sent = id_rows_of(ids)
    assert sent is not None
    assert sent.texts() == ids
    order = list(range(len(ids)))
    rng.shuffle(order)
    rows = np.frombuffer(sent.rows, dtype=np.uint8).reshape(len(ids), sent.width)
    from_rows = RecordIds.of_rows(rows, np.array(order, dtype=np.int64))
    ids = [ids[row] for row in order]
    from_strings = RecordIds(ids)
    assert len(from_rows) == len(from_strings) == len(ids)
    assert [from_rows[row] for row in range(len(ids))] == ids
    assert from_rows.nbytes == from_strings.nbytes
    for value in ids:
        assert from_rows.find(value.upper()) == from_strings.find(value.upper())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=40))
def test_distinct_codes_are_what_numpy_unique_gives(values: list[int]) -> None:
    array = np.array(values, dtype=np.uint64)
    keys, codes = merge_module.distinct_codes(array)
    expected_keys, expected_codes = np.unique(array, return_inverse=True)
    assert keys.tolist() == expected_keys.tolist()
    assert codes.tolist() == expected_codes.tolist()


def index_columns(index: Any) -> dict[str, list[Any]]:
    rows = range(len(index))
    columns = {name: getattr(index, name).tolist() for name in ("time", "offset", "line", "length")}
    columns["ids"] = [index.record_id(r) for r in rows]
    for field in ("client_ip", "session_id", "folder", "message_id", "operation"):
        columns[field] = [index.text(field, r) for r in rows]
    columns["items"] = [list(index.items(r)) for r in rows]
    return columns


def test_rows_already_in_time_order_merge_as_rows_that_must_be_sorted() -> None:
    # In time order with no duplicate, the merge takes the load order as it is; the same rows
    # out of order, or with a duplicate, go through the sort and the gathers.
    rows = [
        record(
            f"R{i:03d}",
            f"2022-03-28T10:{i // 60:02d}:{i % 60:02d}",
            f"203.0.113.{i % 7}",
            [(f"<m{i}-{k}@x>", f"\\Folder{k}") for k in range(i % 3)],
        )
        for i in range(120)
    ]
    in_order, _ = build({"a.csv": rows[:50], "b.csv": rows[50:]})
    shuffled = rows[:]
    random.Random(4).shuffle(shuffled)
    out_of_order, _ = build({"a.csv": shuffled[:50], "b.csv": shuffled[50:]})
    with_duplicate, _ = build({"a.csv": rows[:50], "b.csv": rows[50:] + [rows[0]]})
    expected = index_columns(in_order)
    assert expected["ids"] == [f"R{i:03d}" for i in range(120)]
    assert expected["items"][5] == [("<m5-0@x>", "\\Folder0", -1), ("<m5-1@x>", "\\Folder1", -1)]
    for other in (out_of_order, with_duplicate):
        columns = index_columns(other)
        for name in ("ids", "time", "client_ip", "session_id", "folder", "message_id", "items"):
            assert columns[name] == expected[name], name
