"""Building one part of the index: the records of one file, or of one byte range of it.

A part is what a loader process sends back, so it is made of things that pickle as flat
bytes: `array` columns of dictionary codes and small lists of distinct strings. At 1,000,000
records that is tens of megabytes, not the gigabytes a list of dicts would cost
(engineering.md: 2,332 MiB for dicts, 32 MiB for columns).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

from ..normalise.record import NormalisedRecord
from . import messages as message_table
from .messages import message_key

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
# Message ids are not a dictionary of strings in a part: a part sends one 8-byte key per
# distinct message (see messages.py), and their texts only when there are few.
DICTIONARIES = tuple(sorted(set(STRING_FIELDS.values()) - {"message"}))

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


@dataclass
class Part:
    file_index: int
    values: dict[str, list[str]]  # dictionary name -> distinct values, code = position
    message_keys: array[int]  # per local message code: message_key of its text
    message_texts: list[str] | None  # per local message code, when few enough to send
    codes: dict[str, array[int]]  # string field -> codes
    ints: dict[str, array[int]]
    time: array[int]
    offset: array[int]
    length: array[int]
    line: array[int]
    ids: list[str]
    item_count: array[int]  # bound items per record
    item_message: array[int]  # codes into the "message" dictionary
    item_folder: array[int]  # codes into the "folder" dictionary
    item_size: array[int]
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
    """Collects normalised records and encodes them into columns, 4,096 at a time.

    Encoding a chunk column by column runs in C (`zip`, `map`, `array.extend`); only the
    distinct values of a chunk pass through a Python loop. Measured on 50,000 Purview
    records this costs about a third of appending field by field per record.
    """

    CHUNK = 4096

    def __init__(self, file_index: int) -> None:
        self.file_index = file_index
        self._dicts: dict[str, dict[str, int]] = {
            name: {"": 0} for name in (*DICTIONARIES, "message")
        }
        self._codes = {name: array("I") for name in STRING_FIELDS}
        self._ints = {name: array(code) for name, code in INT_FIELDS.items()}
        self._time = array("q")
        self._offset = array("q")
        self._length = array("I")
        self._line = array("I")
        self._ids: list[str] = []
        self._item_count = array("I")
        self._item_message = array("I")
        self._item_folder = array("I")
        self._item_size = array("q")
        self.rejections: list[Rejection] = []
        self._pending: list[NormalisedRecord] = []
        self._fields = NormalisedRecord._fields
        self._string_columns = [
            (self._fields.index(name), self._dicts[kind], self._codes[name])
            for name, kind in STRING_FIELDS.items()
        ]
        self._int_columns = [(self._fields.index(name), self._ints[name]) for name in INT_FIELDS]
        self._time_at = self._fields.index("time")
        self._id_at = self._fields.index("record_id")
        self._items_at = self._fields.index("items")

    def reject(self, line: int, row: int, reason: str) -> None:
        self.rejections.append(Rejection(line, row, reason))

    def add(self, record: NormalisedRecord, line: int, offset: int, length: int) -> None:
        self._pending.append(record)
        self._line.append(line)
        self._offset.append(offset)
        self._length.append(length)
        if len(self._pending) >= self.CHUNK:
            self._flush()

    # array.extend over a generator or a tuple goes item by item (42-292 ns per value on
    # these machines, with `map(int, ...)` the worst); building an array from a list or a
    # tuple first and extending with it copies memory (16-24 ns). Over 30 columns of a
    # 1,000,000-record load that is seconds.

    @staticmethod
    def _encode(values: tuple[str, ...], table: dict[str, int], out: array[int]) -> None:
        for value in dict.fromkeys(values):
            if value not in table:
                table[value] = len(table)
        out.fromlist(list(map(table.__getitem__, values)))

    def _flush(self) -> None:
        if not self._pending:
            return
        columns = list(zip(*self._pending, strict=True))
        self._pending = []
        for position, table, out in self._string_columns:
            self._encode(columns[position], table, out)
        for position, ints in self._int_columns:
            try:
                ints.extend(array(ints.typecode, columns[position]))
            except OverflowError:
                _extend_in_range(ints, len(ints), columns[position])
        self._time.extend(array("q", columns[self._time_at]))
        self._ids.extend(columns[self._id_at])
        item_lists = columns[self._items_at]
        self._item_count.fromlist(list(map(len, item_lists)))
        items = list(chain.from_iterable(item_lists))
        if items:
            messages, folders, sizes = zip(*items, strict=True)
            self._encode(messages, self._dicts["message"], self._item_message)
            self._encode(folders, self._dicts["folder"], self._item_folder)
            try:
                self._item_size.extend(array("q", sizes))
            except OverflowError:
                _extend_in_range(self._item_size, len(self._item_size), sizes)

    def finish(self, data_rows: int, end_offset: int = 0, start_offset: int = 0) -> Part:
        self._flush()
        messages = self._dicts.pop("message")
        few = len(messages) <= message_table.TEXTS_IN_MEMORY
        return Part(
            file_index=self.file_index,
            values={name: list(table) for name, table in self._dicts.items()},
            message_keys=array("Q", map(message_key, messages)),
            message_texts=list(messages) if few else None,
            codes=self._codes,
            ints=self._ints,
            time=self._time,
            offset=self._offset,
            length=self._length,
            line=self._line,
            ids=self._ids,
            item_count=self._item_count,
            item_message=self._item_message,
            item_folder=self._item_folder,
            item_size=self._item_size,
            rejections=self.rejections,
            data_rows=data_rows,
            end_offset=end_offset,
            start_offset=start_offset,
        )
