"""Building one part of the index: the records of one file, or of one byte range of it.

A part is what a loader process sends back, so it is made of things that pickle as flat
bytes: `array` columns of dictionary codes and small lists of distinct strings. At 1,000,000
records that is tens of megabytes, not the gigabytes a list of dicts would cost
(engineering.md: 2,332 MiB for dicts, 32 MiB for columns).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from ..normalise.record import NormalisedRecord

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
DICTIONARIES = tuple(sorted(set(STRING_FIELDS.values())))

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

    @property
    def size(self) -> int:
        return len(self.time)


class PartBuilder:
    """Appends normalised records to columns; `finish()` yields the picklable Part."""

    def __init__(self, file_index: int) -> None:
        self.file_index = file_index
        self._dicts: dict[str, dict[str, int]] = {name: {"": 0} for name in DICTIONARIES}
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
        # Bound, per field, once: the hot loop below then does no attribute lookups.
        self._string_slots = [
            (STRING_FIELDS[name], self._dicts[STRING_FIELDS[name]], self._codes[name].append)
            for name in STRING_FIELDS
        ]
        self._string_positions = [NormalisedRecord._fields.index(n) for n in STRING_FIELDS]
        self._int_slots = [
            (NormalisedRecord._fields.index(name), self._ints[name].append) for name in INT_FIELDS
        ]

    def reject(self, line: int, row: int, reason: str) -> None:
        self.rejections.append(Rejection(line, row, reason))

    def add(self, record: NormalisedRecord, line: int, offset: int, length: int) -> None:
        for position, (_, table, append) in zip(
            self._string_positions, self._string_slots, strict=True
        ):
            value = record[position]
            code = table.get(value)
            if code is None:
                code = table[value] = len(table)
            append(code)
        for position, append in self._int_slots:
            append(int(record[position]))
        self._time.append(record.time)
        self._offset.append(offset)
        self._length.append(length)
        self._line.append(line)
        self._ids.append(record.record_id)
        items = record.items
        self._item_count.append(len(items))
        if items:
            messages = self._dicts["message"]
            folders = self._dicts["folder"]
            for item in items:
                code = messages.get(item.message_id)
                if code is None:
                    code = messages[item.message_id] = len(messages)
                self._item_message.append(code)
                code = folders.get(item.folder)
                if code is None:
                    code = folders[item.folder] = len(folders)
                self._item_folder.append(code)
                self._item_size.append(item.size)

    def finish(self, data_rows: int) -> Part:
        return Part(
            file_index=self.file_index,
            values={name: list(table) for name, table in self._dicts.items()},
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
        )
