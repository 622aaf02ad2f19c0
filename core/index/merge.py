"""Merging parts into one index: shared dictionaries, one copy of each record, time order.

Parts arrive in load order (files sorted by path, ranges by offset), so "first seen" is the
same on every run and whatever order the files were named in. Duplicates (same AuditData.Id,
compared case-insensitively) are counted against the file whose copy was not kept. Rows are
then ordered by time with a stable sort, so records of the same second keep load order.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, count, filterfalse
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ..ingest.inputs import InputFile
from . import messages as message_table
from .audit_index import AuditIndex
from .messages import MessageTable
from .part import DICTIONARIES, INT_FIELDS, STRING_FIELDS, Part
from .record_ids import RecordIds

_INT_DTYPES = {"b": np.int8, "B": np.uint8, "i": np.int32, "q": np.int64}


def _narrow(codes: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    """The smallest unsigned type that holds every code of a dictionary of `size` values."""
    if size <= 0xFF:
        return codes.astype(np.uint8)
    if size <= 0xFFFF:
        return codes.astype(np.uint16)
    return codes.astype(np.uint32)


def _as_numpy(values: array[int], dtype: Any) -> npt.NDArray[Any]:
    return np.frombuffer(values, dtype=dtype) if len(values) else np.empty(0, dtype=dtype)


def merge_parts(parts: list[Part], files: list[InputFile]) -> AuditIndex:
    # The message keys' sort runs in numpy without the GIL: on a thread of its own it
    # overlaps everything up to the message columns (~0.4 s at 1,000,000 records). A second
    # thread builds the record-id blob (~0.1-0.2 s) while this one gathers the columns.
    with ThreadPoolExecutor(2) as helpers:
        merged_messages = helpers.submit(_merge_messages, parts)
        dictionaries: dict[str, dict[str, int]] = {name: {"": 0} for name in DICTIONARIES}
        translations: list[dict[str, npt.NDArray[np.uint32]]] = []
        for part in parts:
            per_dict: dict[str, npt.NDArray[np.uint32]] = {}
            for name in DICTIONARIES:
                per_dict[name] = _translation(dictionaries[name], part.values[name])
            translations.append(per_dict)
        return _merged(parts, files, dictionaries, translations, merged_messages, helpers)


def _translation(table: dict[str, int], values: list[str]) -> npt.NDArray[np.uint32]:
    """The merged code of each of a part's distinct values, adding the new ones to `table`.

    Three C loops (`filterfalse`, `dict.update`, `map`): a generator calling setdefault
    took ~0.25 s for the 1.7 million values 26 parts of a 1,000,000-record case send.
    """
    table.update(zip(filterfalse(table.__contains__, values), count(len(table))))
    return np.array(list(map(table.__getitem__, values)), dtype=np.uint32)


def _merged(
    parts: list[Part],
    files: list[InputFile],
    dictionaries: dict[str, dict[str, int]],
    translations: list[dict[str, npt.NDArray[np.uint32]]],
    merged_messages: Future[MergedMessages],
    helpers: ThreadPoolExecutor,
) -> AuditIndex:
    """The rest of the merge: `merged_messages` is waited for only where its codes go in."""

    def gather(get: Any, dtype: Any) -> npt.NDArray[Any]:
        pieces = [_as_numpy(get(part), dtype) for part in parts]
        return np.concatenate(pieces) if pieces else np.empty(0, dtype=dtype)

    id_rows = _joined_id_rows(parts)
    keep = _first_copies(parts, id_rows)

    time = gather(lambda p: p.time, np.int64)
    file_of_row = (
        np.concatenate([np.full(part.size, part.file_index, dtype=np.uint32) for part in parts])
        if parts
        else np.empty(0, dtype=np.uint32)
    )
    # Duplicates count against the file whose copy was not kept.
    rows_per_file = np.bincount(file_of_row, minlength=len(files))
    kept_per_file = np.bincount(file_of_row[keep], minlength=len(files))
    # Each file's time range in one pass over the rows (a pass per file cost seconds for a
    # folder of thousands of Management API blobs).
    first_times = np.full(len(files), np.iinfo(np.int64).max, dtype=np.int64)
    last_times = np.full(len(files), np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first_times, file_of_row, time)
    np.maximum.at(last_times, file_of_row, time)
    for index, info in enumerate(files):
        info.records += int(kept_per_file[index])
        info.duplicates += int(rows_per_file[index] - kept_per_file[index])
        if rows_per_file[index]:
            info.first_time, info.last_time = int(first_times[index]), int(last_times[index])

    kept = np.flatnonzero(keep)
    # Rows already in time order with no duplicate (one export sorted oldest first, or its
    # ranges): the order is the load order, and no column needs to be gathered again
    # (~0.4 s of a 1,000,000-record merge).
    in_load_order = len(kept) == len(time) and bool(np.all(time[1:] >= time[:-1]))
    order = kept if in_load_order else kept[np.argsort(time[kept], kind="stable")]

    def ordered(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return column if in_load_order else column[order]

    ids = helpers.submit(_ordered_record_ids, parts, id_rows, order)
    del id_rows

    codes = {
        field: ordered(_translated(parts, translations, dictionary, lambda p, f=field: p.codes[f]))
        for field, dictionary in STRING_FIELDS.items()
        if field != "message_id"
    }
    ints = {
        field: ordered(gather(lambda p, f=field: p.ints[f], _INT_DTYPES[code]))
        for field, code in INT_FIELDS.items()
    }

    # Items: each old row's items move with it to its new position.
    item_count = gather(lambda p: p.item_count, np.uint32).astype(np.int64)
    old_item_start = np.zeros(len(item_count) + 1, dtype=np.int64)
    np.cumsum(item_count, out=old_item_start[1:])
    new_counts = ordered(item_count)
    item_start = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(new_counts, out=item_start[1:])
    total = int(item_start[-1])
    if in_load_order:
        take = np.arange(total, dtype=np.int64)
    else:
        # Vectorised: the items of the row now at `new` are old_item_start[old] + 0, 1, ...
        # count - 1: each item's place, less its new place, is that row's offset.
        take = np.repeat(old_item_start[:-1][order] - item_start[:-1], new_counts)
        take += np.arange(total, dtype=np.int64)

    def items_ordered(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return column if in_load_order else column[take]

    item_folder = items_ordered(_translated(parts, translations, "folder", lambda p: p.item_folder))
    item_size = items_ordered(gather(lambda p: p.item_size, np.int64))
    final_dicts: dict[str, Sequence[str]] = {
        name: list(table) for name, table in dictionaries.items()
    }

    messages = merged_messages.result()  # the columns above were made while it ran
    codes["message_id"] = ordered(messages.own_codes)
    item_message = items_ordered(messages.item_codes)
    final_dicts["message"] = MessageTable(
        messages.keys,
        _first_spellings(parts, len(messages.keys), item_message, take, codes["message_id"], order),
    )
    narrowed = {  # in STRING_FIELDS order, as before message_id was made last
        field: _narrow(codes[field], len(final_dicts[dictionary]))
        for field, dictionary in STRING_FIELDS.items()
    }
    return AuditIndex(
        time=ordered(time),
        file=ordered(file_of_row).astype(np.uint16 if len(files) < 0xFFFF else np.uint32),
        offset=ordered(gather(lambda p: p.offset, np.int64)),
        length=ordered(gather(lambda p: p.length, np.uint32)),
        line=ordered(gather(lambda p: p.line, np.uint32)),
        ids=ids.result(),
        dictionaries=final_dicts,
        codes=narrowed,
        ints=ints,
        item_start=item_start,
        item_message=_narrow(item_message, len(final_dicts["message"])),
        item_folder=_narrow(item_folder, len(final_dicts["folder"])),
        item_size=item_size,
        files=files,
    )


def empty_index() -> AuditIndex:
    """An index of no records: what a cancelled load leaves to show."""
    return merge_parts([], [])


class JoinedIdRows(NamedTuple):
    rows: npt.NDArray[np.uint8]  # one row of bytes per record, in load order
    keys: npt.NDArray[np.uint64]  # row_keys of each row lower-cased


def _joined_id_rows(parts: list[Part]) -> JoinedIdRows | None:
    """Every part's ids as one array of rows, when every part sent IdRows of one width."""
    sent = [part.id_rows for part in parts if part.id_rows is not None]
    widths = {one.width for one in sent}
    if not parts or len(sent) != len(parts) or len(widths) != 1:
        return None
    rows = np.frombuffer(b"".join(one.rows for one in sent), dtype=np.uint8)
    keys = np.frombuffer(b"".join(one.keys for one in sent), dtype=np.uint64)
    return JoinedIdRows(rows.reshape(-1, widths.pop()), keys)


def _part_ids(part: Part) -> list[str]:
    """A part's record ids as strings, however it sent them."""
    return part.ids if part.id_rows is None else part.id_rows.texts()


def _ordered_record_ids(
    parts: list[Part], joined: JoinedIdRows | None, order: npt.NDArray[np.int64]
) -> RecordIds:
    """The kept records' ids in time order (`order`); `joined` is `_joined_id_rows`."""
    if joined is not None:
        return RecordIds.of_rows(joined.rows, order)
    return RecordIds(_in_order(list(chain.from_iterable(map(_part_ids, parts))), order))


def _first_copies(parts: list[Part], joined: JoinedIdRows | None) -> npt.NDArray[np.bool_]:
    """Which rows hold the first copy of their record id (case-insensitively), in load order;
    `joined` is the parts' `_joined_id_rows`."""
    if joined is None:
        return _first_copies_by_dict(list(chain.from_iterable(map(_part_ids, parts))))
    return _first_of_rows(joined.rows, joined.keys)


def _first_copies_by_dict(ids: list[str]) -> npt.NDArray[np.bool_]:
    """The general case. A dict built from the last rows to the first keeps, per id, its
    earliest row: C loops (`map`, `dict`), ~0.5 s at 1,000,000 records."""
    lowered = list(map(str.lower, ids))
    first_row = dict(zip(reversed(lowered), range(len(ids) - 1, -1, -1), strict=True))
    keep = np.zeros(len(ids), dtype=bool)
    keep[np.fromiter(first_row.values(), dtype=np.int64, count=len(first_row))] = True
    return keep


def _first_of_rows(
    rows: npt.NDArray[np.uint8], keys: npt.NDArray[np.uint64]
) -> npt.NDArray[np.bool_]:
    """`_first_copies` for ids given as rows of ASCII bytes of one width, with the key of each
    row lower-cased (record_ids.row_keys, computed by the workers).

    Rows are grouped by key with one sort (~0.1 s at 1,000,000 GUIDs against ~0.5 s for the
    dict). Equal keys are not trusted: rows sharing a key (the duplicates, and any
    collision) are compared byte for byte, lower-cased, in load order.
    """
    order = np.argsort(keys)
    sorted_keys = keys[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    keep = np.zeros(len(order), dtype=bool)
    keep[order[starts]] = True  # right for every key held by one row; the rest below
    if starts.all():
        return keep
    first_of_group = np.flatnonzero(starts)
    group_ends = np.append(first_of_group[1:], len(order))
    shared = (group_ends - first_of_group) > 1
    for start, end in zip(
        first_of_group[shared].tolist(), group_ends[shared].tolist(), strict=True
    ):
        seen: set[bytes] = set()
        for row in sorted(order[start:end].tolist()):  # the sort is not stable: load order
            text = rows[row].tobytes().lower()
            keep[row] = text not in seen
            seen.add(text)
    return keep


def _in_order(values: list[str], order: npt.NDArray[np.int64]) -> Sequence[str]:
    """values[order], gathered in C (a list comprehension costs ~50 ns a row more)."""
    rows = order.tolist()
    if len(rows) < 2:
        return [values[row] for row in rows]
    result: tuple[str, ...] = itemgetter(*rows)(values)
    return result


class MergedMessages(NamedTuple):
    keys: npt.NDArray[np.uint64]  # every distinct message key, sorted: code = position
    item_codes: npt.NDArray[np.uint32]  # each item's message code, in load order
    own_codes: npt.NDArray[np.uint32]  # each record's own Item message code, in load order


def _merge_messages(parts: list[Part]) -> MergedMessages:
    """One code per distinct message key over all parts' items and records.

    Sorting the keys (np.unique) replaces a Python dict of millions of strings: ~3 million
    keys sort in ~0.3 s. The empty id has key 0, so it is code 0 as in every dictionary.
    """
    items = [np.frombuffer(part.item_message, dtype=np.uint64) for part in parts]
    owns = np.concatenate(
        [np.frombuffer(part.message_id, dtype=np.uint64) for part in parts]
        or [np.empty(0, dtype=np.uint64)]
    )
    # Most records have no Item of their own (a read, not a send): only the ids of those
    # that do are sorted with the items' (~2.2 million keys instead of ~3.1 million).
    named = np.flatnonzero(owns)
    item_total = sum(len(piece) for piece in items)
    every = np.concatenate([*items, owns[named], np.zeros(1, dtype=np.uint64)])  # "" always
    keys, codes = distinct_codes(every)
    own_codes = np.zeros(len(owns), dtype=np.uint32)  # key 0, the empty id, is code 0
    own_codes[named] = codes[item_total : item_total + len(named)]
    return MergedMessages(keys, codes[:item_total], own_codes)


def distinct_codes(
    values: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
    """The distinct values, sorted, and each value's position among them: what
    np.unique(values, return_inverse=True) gives, in half its time (0.22 s against 0.49 s
    for 2.85 million keys)."""
    order = np.argsort(values)
    ordered = values[order]
    new = np.empty(len(ordered), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    codes = np.empty(len(values), dtype=np.uint32)
    codes[order] = np.cumsum(new, dtype=np.uint32) - 1
    return ordered[new], codes


def _first_spellings(
    parts: list[Part],
    size: int,
    item_message: npt.NDArray[Any],
    take: npt.NDArray[np.int64],
    own_message: npt.NDArray[Any],
    order: npt.NDArray[np.int64],
) -> list[str] | None:
    """Each message's text as the earliest record recorded it, when there are few messages.

    "Earliest" is the rule the index uses when it re-reads texts from the evidence instead
    (AuditIndex._reread_message_texts): the first bound item in time order, else the first
    record whose own Item names it. Both ways give the same text, so a report does not
    change with the size of the case.
    """
    sent = [part.message_texts for part in parts]
    if size > message_table.TEXTS_IN_MEMORY or None in sent:
        return None
    item_texts = [text for texts in sent if texts is not None for text in texts.items]
    own_texts = [text for texts in sent if texts is not None for text in texts.own]
    found = [""] * size
    named = np.zeros(size, dtype=bool)
    named[0] = True
    # `take` and `order` give, for each item and record in time order, where it was in load
    # order: where its text is in the parts' lists.
    for codes, texts, places in ((item_message, item_texts, take), (own_message, own_texts, order)):
        distinct, first = np.unique(codes, return_index=True)
        for code, place in zip(distinct.tolist(), places[first].tolist(), strict=True):
            if not named[code]:
                found[code] = texts[place]
                named[code] = True
    return found


def _translated(
    parts: list[Part],
    translations: list[dict[str, npt.NDArray[np.uint32]]],
    dictionary: str,
    get: Any,
) -> npt.NDArray[np.uint32]:
    pieces = [
        translation[dictionary][_as_numpy(get(part), np.uint32)]
        for part, translation in zip(parts, translations, strict=True)
    ]
    return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint32)
