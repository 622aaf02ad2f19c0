"""Building one part of the index: the records of one file, or of one byte range of it.

A part is what a loader process sends back, so it is made of things that pickle as flat
bytes: `array` columns of dictionary codes and small lists of distinct strings. At 1,000,000
records that is tens of megabytes, not the gigabytes a list of dicts would cost
(engineering.md: 2,332 MiB for dicts, 32 MiB for columns).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

import numpy as np

from ..ingest.rows import RowEvent
from ..normalise.chunk import ChunkColumns, columns_of, normalise_chunk
from ..normalise.record import FileNormaliser, NormalisedRecord
from . import messages as message_table
from .messages import EMPTY_KEY, message_keys
from .record_ids import IdRows, id_rows_of

# String fields stored as dictionary codes. Fields that hold the same kind of value share one
# dictionary (a folder path is a folder path whether the record or one of its items names it).
STRING_FIELDS: dict[str, str] = {
    "operation": "operation",
    "workload": "workload",
    "result_status": "result_status",
    "user_id": "user",
    "mailbox": "user",
    "send_as_smtp": "user",
    "send_on_behalf_smtp": "user",
    "mailbox_guid": "guid",
    "send_as_guid": "guid",
    "send_on_behalf_guid": "guid",
    "client_ip": "client_ip",
    "client_info": "client_info",
    "session_id": "session",
    "aad_session_id": "session",
    "unique_token_id": "token",
    "app_id": "app",
    "client_app_id": "app",
    "folder": "folder",
    "subject": "subject",
    "message_id": "message",
    "object_id": "object",
}
# Message ids are not a dictionary of strings in a part: a part sends the 8-byte key of each
# item's and each record's message (see messages.py), and their texts only when few.
DICTIONARIES = tuple(sorted(set(STRING_FIELDS.values()) - {"message"}))

# What `_encode` marks a value not seen before with, until it is given its code.
NEW = -1

# Small integer fields and their array type codes (-1 means absent where signed).
INT_FIELDS: dict[str, str] = {
    "record_type": "i",
    "user_type": "b",
    "client_family": "B",
    "logon_type": "b",
    "access_type": "B",
    "throttled": "b",
    "operation_count": "i",
    "item_size": "q",
    "time_from_wrapper": "B",
}


@dataclass
class Rejection:
    """A row that could not become a record, with where it is and why."""

    line: int
    row: int
    reason: str


class MessageTexts(NamedTuple):
    items: list[str]  # each item's InternetMessageId, as `Part.item_message` keys it
    own: list[str]  # each record's own Item.InternetMessageId, as `Part.message_id` keys it


@dataclass
class Part:
    file_index: int
    values: dict[str, list[str]]  # dictionary name -> distinct values, code = position
    codes: dict[str, array[int]]  # string field -> codes (message_id excepted)
    ints: dict[str, array[int]]
    time: array[int]
    offset: array[int]
    length: array[int]
    line: array[int]
    ids: list[str]  # empty when `id_rows` holds them
    item_count: array[int]  # bound items per record
    item_message: array[int]  # message_key of each item's InternetMessageId
    item_folder: array[int]  # codes into the "folder" dictionary
    item_size: array[int]
    message_id: array[int]  # message_key of each record's own Item.InternetMessageId
    # The texts as recorded, when the part's messages are few enough to keep in memory once
    # merged; None otherwise (see `finish`).
    message_texts: MessageTexts | None = None
    # The record ids as rows of bytes, when they are all ASCII of one width (GUIDs).
    id_rows: IdRows | None = None
    rejections: list[Rejection] = field(default_factory=list)
    data_rows: int = 0
    # Where the first row read starts and the last ends: a range's end must be the next
    # range's start, or a row was cut at the seam.
    end_offset: int = 0
    start_offset: int = 0

    @property
    def size(self) -> int:
        return len(self.time)


def _extend_in_range(out: array[int], start: int, values: Iterable[int]) -> None:
    """Set `out[start:]` to `values`, storing as absent each one the column cannot hold.

    A forged or damaged record can carry a number no column fits (LogonType 99999 in an int8,
    OperationCount 2**40 in an int32, a 30-digit SizeInBytes), and array.extend then raises
    OverflowError part way through a chunk, which used to end the whole load. Such a value
    is read as absent (-1), as `as_int` reads text that is not a number; the detail view
    re-reads the record from the evidence and still shows what was written. Only a chunk
    that overflows comes here: the others pay one len() per column.
    """
    del out[start:]
    bits = 8 * out.itemsize
    if out.typecode.islower():  # b, i, q: signed, -1 is "absent"
        low, high, absent = -(1 << (bits - 1)), (1 << (bits - 1)) - 1, -1
    else:
        low, high, absent = 0, (1 << bits) - 1, 0
    out.extend(value if low <= value <= high else absent for value in map(int, values))


class PartBuilder:
    """Collects a part's rows and encodes them into columns, CHUNK rows at a time.

    Rows arrive as a reader's events holding AuditData (`add_event`, the load's path:
    normalised a chunk at a time by normalise/chunk.py) or as records already normalised
    (`add`, for tests and callers that build records themselves). Encoding runs column by
    column in C (`map`, `array.extend`).
    """

    # 512 rows: few enough that their orjson dicts stay close in the processor's caches
    # while each column is read from them (at 4,096 a range took 2.53 s instead of 2.11 s),
    # many enough that a column's fixed costs are spread: with the collector paused, as in
    # a load, 512 cost ~0.4 us a record less than 256.
    CHUNK = 512

    def __init__(
        self, file_index: int, normaliser: FileNormaliser | None = None, share: float = 1.0
    ) -> None:
        """`share`: the part's fraction of its file (a range's bytes over the file's), from
        which the file's distinct messages are estimated (see `finish`)."""
        self.file_index = file_index
        self.share = share
        self.normaliser = normaliser if normaliser is not None else FileNormaliser()
        self._dicts: dict[str, dict[str, int]] = {name: {"": 0} for name in DICTIONARIES}
        self._issued = dict.fromkeys(self._dicts, 1)  # codes handed out per dictionary ("" is 0)
        self._codes = {name: array("I") for name in STRING_FIELDS if name != "message_id"}
        self._ints = {name: array(code) for name, code in INT_FIELDS.items()}
        self._time = array("q")
        self._offset = array("q")
        self._length = array("I")
        self._line = array("I")
        self._ids: list[str] = []
        self._item_count = array("I")
        self._item_message = array("Q")
        self._item_folder = array("I")
        self._item_size = array("q")
        self._message_id = array("Q")
        # Texts of messages as recorded, kept until there are too many to send (`finish`).
        self._texts: MessageTexts | None = MessageTexts([], [])
        self.rejections: list[Rejection] = []
        self._pending: list[NormalisedRecord] = []
        self._events: list[RowEvent] = []  # rows with AuditData, not yet normalised

    def reject(self, line: int, row: int, reason: str) -> None:
        self.rejections.append(Rejection(line, row, reason))

    def add(self, record: NormalisedRecord, line: int, offset: int, length: int) -> None:
        """Add a record normalised by the caller."""
        if self._events:
            self._flush_rows()
        self._pending.append(record)
        self._line.append(line)
        self._offset.append(offset)
        self._length.append(length)
        if len(self._pending) >= self.CHUNK:
            self._flush()

    def add_event(self, event: RowEvent) -> None:
        """Add a reader's row that holds AuditData; normalised with the rest of its chunk,
        or rejected then with the normaliser's reason.

        The event is kept whole and taken apart a chunk at a time (`zip`, in C): a row's
        fields appended one by one to their own lists cost ~1 us a row.
        """
        if self._pending:
            self._flush()
        events = self._events
        events.append(event)
        if len(events) >= self.CHUNK:
            self._flush_rows()

    # array.extend over a generator or a tuple goes item by item (42-292 ns per value on
    # these machines, with `map(int, ...)` the worst); building an array from a list or a
    # tuple first and extending with it copies memory (16-24 ns). Over 30 columns of a
    # 1,000,000-record load that is seconds.

    def _encode(self, values: Sequence[str], dictionary: str, out: array[int]) -> None:
        """Append the codes of `values`, giving each value not seen before the next code.

        `setdefault` runs in C over the whole column and marks each value not seen before
        with NEW; only those are then numbered, in the order they came. Handing every value
        a fresh number instead allocated an int for each (~0.5 us a record over 21 columns)
        and left gaps to close. A column empty throughout the chunk (the SendAs fields of
        reads, AAD sessions in older exports) is one code repeated.
        """
        table = self._dicts[dictionary]
        if not any(values):
            out.frombytes(array(out.typecode, [table[""]]).tobytes() * len(values))
            return
        codes = list(map(table.setdefault, values, repeat(NEW)))
        if NEW in codes:
            issued = self._issued[dictionary]
            at = codes.index(NEW)
            while True:
                value = values[at]
                code = table[value]
                if code == NEW:  # its first time: the next code
                    table[value] = code = issued
                    issued += 1
                codes[at] = code
                try:
                    at = codes.index(NEW, at + 1)
                except ValueError:
                    break
            self._issued[dictionary] = issued
        out.fromlist(codes)

    def _flush(self) -> None:
        if not self._pending:
            return
        records, self._pending = self._pending, []
        self._encode_columns(columns_of(records))

    def _flush_rows(self) -> None:
        if not self._events:
            return
        events, self._events = self._events, []
        lines, rows, offsets, lengths, audits, wrappers, _ = zip(*events, strict=True)
        columns = normalise_chunk(self.normaliser, list(audits), list(wrappers))
        for position, reason in columns.rejected:
            self.reject(lines[position], rows[position], reason)
        if columns.rejected:
            kept = columns.kept
            lines = tuple(lines[i] for i in kept)
            offsets = tuple(offsets[i] for i in kept)
            lengths = tuple(lengths[i] for i in kept)
        if lines:
            self._line.extend(array("I", lines))
            self._offset.extend(array("q", offsets))
            self._length.extend(array("I", lengths))
        self._encode_columns(columns)

    def _encode_columns(self, columns: ChunkColumns) -> None:
        values = columns.values
        for name, codes in self._codes.items():
            self._encode(values[name], STRING_FIELDS[name], codes)
        # Messages are not dictionary-encoded: almost every one is new (2.1 million distinct
        # in 1,000,000 records), and a dict of them cost ~1.4 us a record before their keys
        # were even computed. Each item and record gets its message's key instead.
        own = values["message_id"]
        if any(own):
            self._message_id.frombytes(message_keys(own))
        else:
            self._message_id.fromlist([EMPTY_KEY] * len(own))
        for name, ints in self._ints.items():
            try:
                ints.extend(array(ints.typecode, values[name]))
            except OverflowError:
                _extend_in_range(ints, len(ints), values[name])
        self._time.extend(array("q", values["time"]))
        self._ids.extend(values["record_id"])
        self._item_count.fromlist(columns.item_count)
        self._keep_texts(columns.item_message, own)
        if columns.item_message:
            self._item_message.frombytes(message_keys(columns.item_message))
            self._encode(columns.item_folder, "folder", self._item_folder)
            try:
                self._item_size.extend(array("q", columns.item_size))
            except OverflowError:
                _extend_in_range(self._item_size, len(self._item_size), columns.item_size)

    def _keep_texts(self, items: list[str], own: list[str]) -> None:
        if self._texts is None:
            return
        self._texts.items.extend(items)
        self._texts.own.extend(own)
        if len(self._texts.items) > message_table.TEXTS_IN_MEMORY * self.share:
            # More items than this part's share of the texts the merged index keeps: they
            # will be re-read from the evidence (index/messages.py), and holding them would
            # only cost memory (~25 MB in each worker for a 128 MiB range, which then sent
            # none). An estimate that errs only costs that re-reading.
            self._texts = None

    def _distinct_messages(self) -> int:
        # A sort and a count: np.union1d took 40 times as long (0.15 s for a range).
        keys = np.concatenate(
            [
                np.frombuffer(self._item_message, dtype=np.uint64),
                np.frombuffer(self._message_id, dtype=np.uint64),
            ]
        )
        keys.sort()
        return int(np.count_nonzero(keys[1:] != keys[:-1])) + 1 if len(keys) else 0

    def flush(self) -> None:
        """Normalise and encode every row added so far."""
        self._flush()
        self._flush_rows()

    def finish(self, data_rows: int, end_offset: int = 0, start_offset: int = 0) -> Part:
        """The part."""
        self.flush()
        # Rows the normaliser refused are known a chunk late: sorted back into file order.
        self.rejections.sort(key=lambda rejection: (rejection.row, rejection.line))
        # A range of a large file whose messages will not fit in memory once merged sends
        # no texts: ranges of a 1,000,000-record case sent 2.2 million strings (45 % of what
        # they pickled) that the merge then dropped. An estimate that errs only costs
        # re-reading texts from the evidence, which gives the same texts (index/messages.py).
        few = (
            self._texts is not None
            and self._distinct_messages() <= message_table.TEXTS_IN_MEMORY * self.share
        )
        id_rows = id_rows_of(self._ids)
        return Part(
            file_index=self.file_index,
            values={name: list(table) for name, table in self._dicts.items()},
            codes=self._codes,
            ints=self._ints,
            time=self._time,
            offset=self._offset,
            length=self._length,
            line=self._line,
            ids=[] if id_rows is not None else self._ids,
            id_rows=id_rows,
            item_count=self._item_count,
            item_message=self._item_message,
            item_folder=self._item_folder,
            item_size=self._item_size,
            message_id=self._message_id,
            message_texts=self._texts if few else None,
            rejections=self.rejections,
            data_rows=data_rows,
            end_offset=end_offset,
            start_offset=start_offset,
        )
