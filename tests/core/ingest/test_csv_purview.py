"""Purview portal exports (new 8-column and classic 4-column) and the row-level failures every
AuditData-column CSV shares: positions, rejections, byte ranges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ualscope.core.ingest.csv_exports import reparse_csv_row
from ualscope.core.ingest.detect import Detection, Shape, detect
from ualscope.core.ingest.evidence import EvidenceReader
from ualscope.core.ingest.readers import ByteRange, RowReader, open_rows
from ualscope.core.ingest.rows import RowEvent

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples-public"
HEADER = (
    "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,"
    "AssociatedAdminUnits,AssociatedAdminUnitsNames\r\n"
)


def bind_record(n: int, folder_items: int = 2) -> dict[str, Any]:
    """A MailItemsAccessed bind shaped like formats.md section 3.2 (values invented)."""
    return {
        "CreationTime": f"2025-03-04T09:15:{n % 60:02d}",
        "Id": f"8c1e0000-0000-4000-8000-{n:012d}",
        "Operation": "MailItemsAccessed",
        "OrganizationId": "0f4e5a3c-1111-4a2b-9c3d-222233334444",
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "UserKey": "10032001A1B2C3D4",
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": "alice@contoso.com",
        "ClientIPAddress": "203.0.113.7",
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "LogonType": 0,
        "MailboxOwnerUPN": "alice@contoso.com",
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        "OriginatingServer": "AM0PR07MB5763 (15.20.4200.000)\r\n",
        "SessionId": "dcdad6b2-0000-4000-8000-000000000001",
        "Folders": [
            {
                "FolderItems": [
                    {
                        # 2024+ items carry store ids of about 150 characters.
                        "Id": f"RgAAAAD{k:08d}" + "A" * 140,
                        "InternetMessageId": f"<m{n}.{k}@mail.example.com>",
                        "SizeInBytes": 48213,
                    }
                    for k in range(folder_items)
                ],
                "Id": "LgAAAAB",
                "Path": "\\Inbox",
            }
        ],
        "OperationCount": folder_items,
    }


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def audit_cell(record: dict[str, Any]) -> str:
    return quoted(json.dumps(record, separators=(",", ":"), ensure_ascii=False))


def purview_line(record: dict[str, Any], date: str = '"2025-03-04T09:15:02.0000000Z "') -> str:
    """A new-Purview row: minimal quoting, the ISO date quoted with its trailing space, empty
    admin-unit columns (`,,`)."""
    return (
        f"{record['Id']},{date},{record['RecordType']},{record['Operation']},"
        f"{record['UserId']},{audit_cell(record)},,\r\n"
    )


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def load(path: Path, span: ByteRange | None = None) -> tuple[Detection, RowReader, list[RowEvent]]:
    with EvidenceReader(path) as evidence:
        detection = detect(evidence.sniff())
        reader = open_rows(evidence, detection, span)
        events = list(reader)
    return detection, reader, events


def assert_reparse(path: Path, detection: Detection, events: list[RowEvent]) -> None:
    """Reading `length` bytes at `offset` gives back the same AuditData."""
    data = path.read_bytes()
    for event in events:
        if event.audit is not None:
            raw = data[event.offset : event.offset + event.length]
            assert reparse_csv_row(detection, raw) == event.audit


def test_new_purview_export_with_iso_dates_and_trailing_space(tmp_path: Path) -> None:
    records = [bind_record(1), bind_record(2)]
    path = write(tmp_path / "AuditLog.csv", HEADER + "".join(map(purview_line, records)))
    detection, reader, events = load(path)

    assert detection.shape is Shape.PURVIEW_CSV
    assert [e.audit for e in events] == records
    assert [(e.line, e.row, e.problem) for e in events] == [(2, 1, None), (3, 2, None)]
    wrapper = events[0].wrapper
    assert wrapper is not None
    assert wrapper.record_id == records[0]["Id"]
    assert wrapper.time_text == "2025-03-04T09:15:02.0000000Z "  # untouched: not parsed here
    assert wrapper.time_source == "CreationDate"
    assert (wrapper.operation, wrapper.user_id, wrapper.record_type) == (
        "MailItemsAccessed",
        "alice@contoso.com",
        "50",
    )
    assert reader.data_rows == 2
    assert reader.label.startswith("Purview portal audit export CSV (new")
    assert "UTF-8, no BOM" in reader.label
    assert_reparse(path, detection, events)


def test_2023_purview_export_us_dates_and_admin_unit_names_spelling(tmp_path: Path) -> None:
    header = HEADER.replace("AssociatedAdminUnitsNames", "AssociatedAdminUnitNames")
    record = bind_record(7)
    path = write(tmp_path / "a.csv", header + purview_line(record, date="9/20/2023 4:05:03 AM"))
    _, reader, events = load(path)

    assert events[0].audit == record
    assert events[0].wrapper is not None
    assert events[0].wrapper.time_text == "9/20/2023 4:05:03 AM"
    assert "AssociatedAdminUnitNames spelling" in reader.label


def test_classic_purview_export(tmp_path: Path) -> None:
    record = bind_record(3)
    text = (
        "CreationDate,UserIds,Operations,AuditData\r\n"
        f"2025-03-04T09:15:03.0000000Z,alice@contoso.com,MailItemsAccessed,{audit_cell(record)}\r\n"
    )
    path = write(tmp_path / "classic.csv", text)
    detection, _, events = load(path)

    assert detection.shape is Shape.PURVIEW_CLASSIC_CSV
    assert events[0].audit == record
    wrapper = events[0].wrapper
    assert wrapper is not None
    assert wrapper.record_id is None  # no RecordId column: AuditData.Id is the key
    assert wrapper.time_text == "2025-03-04T09:15:03.0000000Z"
    assert (wrapper.operation, wrapper.user_id) == ("MailItemsAccessed", "alice@contoso.com")


def test_offsets_give_back_each_row(tmp_path: Path) -> None:
    records = [bind_record(n, folder_items=n) for n in range(1, 8)]
    path = write(tmp_path / "a.csv", HEADER + "".join(map(purview_line, records)))
    detection, _, events = load(path)

    data = path.read_bytes()
    assert events[0].offset == len(HEADER)
    for event, record in zip(events, records, strict=True):
        raw = data[event.offset : event.offset + event.length]
        assert raw.endswith(b",,\r\n") and raw.startswith(record["Id"].encode())
        assert reparse_csv_row(detection, raw) == record
    assert events[-1].offset + events[-1].length == len(data)


def test_unicode_line_separators_inside_a_cell_are_not_line_ends(tmp_path: Path) -> None:
    # U+2028, NEL and form feed end a line for str.splitlines, never for the CSV reader; the
    # UserId cell is unquoted (minimal quoting), where a wrong cut would split the row.
    record = bind_record(8)
    record["UserId"] = "alice\u2028\x85\x0c@contoso.com"
    record["Item"] = {"Subject": "a\u2028b\x85c\x0cd"}
    path = write(tmp_path / "a.csv", HEADER + purview_line(record) + purview_line(bind_record(9)))
    detection, _, events = load(path)

    assert [e.audit for e in events] == [record, bind_record(9)]
    assert [e.line for e in events] == [2, 3]
    assert_reparse(path, detection, events)


def test_auditdata_cell_over_200_kib(tmp_path: Path) -> None:
    # A bind aggregating 1,000 messages: beyond csv's default 131,072-character field limit.
    big = bind_record(9, folder_items=1000)
    small = bind_record(10)
    path = write(tmp_path / "a.csv", HEADER + purview_line(big) + purview_line(small))
    detection, _, events = load(path)

    assert len(audit_cell(big)) > 200 * 1024
    assert [e.audit for e in events] == [big, small]
    assert [e.line for e in events] == [2, 3]
    assert_reparse(path, detection, events)


def test_cell_cut_by_excel_is_rejected_and_named(tmp_path: Path) -> None:
    big = bind_record(11, folder_items=200)
    cut = json.dumps(big, separators=(",", ":"))[:32_767]
    line = f"{big['Id']},9/20/2023 4:05:03 AM,50,MailItemsAccessed,alice@contoso.com,"
    path = write(
        tmp_path / "a.csv", HEADER + line + quoted(cut) + ",,\r\n" + purview_line(bind_record(12))
    )
    _, reader, events = load(path)

    bad, good = events
    assert bad.audit is None and bad.wrapper is None
    assert bad.problem is not None
    assert bad.problem.startswith("AuditData is not valid JSON (")
    assert "32,767" in bad.problem and "Excel" in bad.problem
    assert (bad.line, bad.row) == (2, 1)
    assert good.audit == bind_record(12) and (good.line, good.row) == (3, 2)
    assert reader.data_rows == 2


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('"{""CreationTime"":""2025-03-04T09:15:02"","', "AuditData is not valid JSON (unexpected"),
        ('"[{""Id"":""x""}]"', "AuditData is JSON an array, not an object"),
        ('"""just text"""', "AuditData is JSON a string, not an object"),
        ("", "AuditData is empty"),
        ('"' + "[" * 1100 + "]" * 1100 + '"', "nested more than 1,024 levels deep"),
        ('"{""Id"":""a\x00b""}"', "NUL bytes"),
    ],
    ids=["cut-json", "array", "string", "empty", "too-deep", "nul-byte"],
)
def test_bad_auditdata_is_rejected_with_reason(tmp_path: Path, cell: str, expected: str) -> None:
    # Three good rows first: detection refuses NUL bytes in the first 4 KiB as binary.
    text = (
        HEADER
        + "".join(purview_line(bind_record(n)) for n in range(3))
        + f"id-1,9/20/2023 4:05:03 AM,50,MailItemsAccessed,alice@contoso.com,{cell},,\r\n"
        + purview_line(bind_record(13))
    )
    _, _, events = load(write(tmp_path / "a.csv", text))

    assert [e.row for e in events] == [1, 2, 3, 4, 5]
    bad = events[3]
    assert bad.audit is None and bad.line == 5
    assert bad.problem is not None and expected in bad.problem
    assert events[4].audit == bind_record(13)


def test_short_row_is_rejected(tmp_path: Path) -> None:
    text = HEADER + "id-1,9/20/2023 4:05:03 AM,50,Send\r\n" + purview_line(bind_record(14))
    _, reader, events = load(write(tmp_path / "a.csv", text))

    assert events[0].problem == "row has 4 fields, header has 8"
    assert events[0].offset == len(HEADER) and events[0].length == len(
        "id-1,9/20/2023 4:05:03 AM,50,Send\r\n"
    )
    assert events[1].audit == bind_record(14)
    assert reader.data_rows == 2


def test_wide_row_loads_and_is_noted(tmp_path: Path) -> None:
    record = bind_record(15)
    path = write(tmp_path / "a.csv", HEADER + purview_line(record).replace(",,\r\n", ",,,x\r\n"))
    _, reader, events = load(path)

    assert events[0].audit == record
    assert reader.notes == [
        "1 rows have more fields than the header's 8 (first on line 2); the extra fields were "
        "ignored"
    ]


def test_blank_lines_are_skipped_not_rejected(tmp_path: Path) -> None:
    text = (
        HEADER + "\r\n" + purview_line(bind_record(1)) + "\r\n\r\n" + purview_line(bind_record(2))
    )
    _, reader, events = load(write(tmp_path / "a.csv", text + "\r\n"))

    assert [(e.line, e.row, e.problem) for e in events] == [(3, 1, None), (6, 2, None)]
    assert reader.data_rows == 2


def test_csv_error_mid_file_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    # A lone carriage return in an unquoted field: the csv module raises on it.
    text = (
        HEADER
        + purview_line(bind_record(1))
        + 'id-2,9/20/2023\r4:05:03 AM,50,Send,bob@contoso.com,"{}",,\r\n'
        + purview_line(bind_record(3))
    )
    _, _, events = load(write(tmp_path / "a.csv", text))

    assert [e.row for e in events] == [1, 2, 3]
    bad = events[1]
    assert bad.audit is None and bad.line == 3
    assert bad.problem is not None
    assert bad.problem.startswith("the CSV reader failed on line 3 (a carriage return (CR)")
    assert events[2].audit == bind_record(3) and events[2].line == 4


def test_stray_quote_merging_lines_is_reported_on_the_line_where_it_starts(
    tmp_path: Path,
) -> None:
    # The UserId cell opens a quote that never closes: csv reads on into the next line until a
    # later quote happens to close it, merging two physical rows into one.
    stray = 'id-2,9/20/2023 4:05:03 AM,50,Send,"bob@contoso.com,{},,\r\n'
    text = HEADER + purview_line(bind_record(1)) + stray + purview_line(bind_record(3))
    text += purview_line(bind_record(4))
    _, reader, events = load(write(tmp_path / "a.csv", text))

    assert events[0].audit == bind_record(1)
    bad = events[1]
    assert (bad.line, bad.row, bad.audit) == (3, 2, None)
    assert bad.problem is not None
    assert bad.problem.startswith("lines 3-4 were read as one row, so a quote character is stray")
    assert events[2].audit == bind_record(4) and events[2].line == 5
    assert reader.data_rows == 3


def test_file_cut_inside_the_last_auditdata(tmp_path: Path) -> None:
    # A download or copy that stopped part-way: the last quoted AuditData never closes.
    whole = HEADER + purview_line(bind_record(1)) + purview_line(bind_record(2))
    _, _, events = load(write(tmp_path / "a.csv", whole[:-200]))

    assert events[0].audit == bind_record(1)
    assert events[1].problem is not None
    assert events[1].problem.startswith("a quoted field opened on line 3 is never closed")


def test_quote_left_open_after_a_good_auditdata_is_noted(tmp_path: Path) -> None:
    record = bind_record(1)
    cut = purview_line(record).replace(",,\r\n", ',,"Admin unit\r\nthat never closes\r\n')
    _, reader, events = load(write(tmp_path / "a.csv", HEADER + cut))

    assert events[0].audit == record
    assert reader.notes == [
        "a quoted field opened on line 2 is never closed: everything from there to the end of "
        "the file (line 3) was read as one field; the file is cut short or has a stray quote "
        "character; that row's AuditData was read"
    ]


def test_invalid_utf8_is_counted_and_the_row_still_loads(tmp_path: Path) -> None:
    record = bind_record(1)
    record["Item"] = {"Subject": "Caf\u00e9"}
    data = (HEADER + purview_line(record)).encode().replace("Caf\u00e9".encode(), b"Caf\xe9")
    path = tmp_path / "a.csv"
    path.write_bytes(data)
    _, reader, events = load(path)

    assert events[0].audit is not None
    assert events[0].audit["Item"]["Subject"] == "Caf\ufffd"
    assert reader.decode_error_count == 1 and reader.decode_error_lines == [2]


def test_byte_ranges_read_the_same_rows_as_the_whole_file(tmp_path: Path) -> None:
    records = [bind_record(n) for n in range(1, 7)]
    text = HEADER + purview_line(records[0]) + "\r\n" + "".join(map(purview_line, records[1:]))
    path = write(tmp_path / "a.csv", text)
    _, whole_reader, whole = load(path)
    cut = whole[3]  # a row boundary: the fourth data row starts there

    first_range = ByteRange(whole[0].offset, cut.offset, whole[0].line, 1)
    second_range = ByteRange(cut.offset, None, cut.line, cut.row)
    _, first_reader, first = load(path, first_range)
    _, second_reader, second = load(path, second_range)

    assert first + second == whole
    assert [e.row for e in first] == [1, 2, 3] and [e.line for e in second] == [6, 7, 8]
    assert first_reader.data_rows + second_reader.data_rows == whole_reader.data_rows == 6
    # A range from the top of the file covers the header and is read like the whole file.
    _, _, from_top = load(path, ByteRange(0, cut.offset, 1, 1))
    assert from_top == first


def sekoia_messages() -> list[str]:
    folder = SAMPLES / "sekoia-intake-formats" / "office365-o365-tests"
    return [json.loads(p.read_text())["input"]["message"] for p in sorted(folder.glob("*.json"))]


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared public samples not present")
def test_real_records_carried_in_a_purview_export(tmp_path: Path) -> None:
    """Real AuditData strings (SEKOIA fixtures, read in place, never copied) in a Purview CSV."""
    messages = sekoia_messages()
    rows = []
    for message in messages:
        record = json.loads(message)
        rows.append(
            f'{record["Id"]},"2025-01-01T00:00:00.0000000Z ",{record["RecordType"]},'
            f"{record['Operation']},{record['UserId']},{quoted(message)},,\r\n"
        )
    path = write(tmp_path / "a.csv", HEADER + "".join(rows))
    detection, _, events = load(path)

    assert len(events) == len(messages) >= 9
    assert [e.audit for e in events] == [json.loads(m) for m in messages]
    assert_reparse(path, detection, events)


def test_reparse_refuses_bytes_that_are_not_one_good_row(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", HEADER + purview_line(bind_record(1)))
    detection, _, _ = load(path)

    with pytest.raises(ValueError, match="row has 2 fields, header has 8"):
        reparse_csv_row(detection, b"a,b\r\n")
    with pytest.raises(ValueError, match="expected one CSV row, found 2"):
        reparse_csv_row(detection, (purview_line(bind_record(1)) * 2).encode())
    bad = b'x,y,50,Send,u,"{""a"":",,\r\n'
    with pytest.raises(ValueError, match="AuditData is not valid JSON"):
        reparse_csv_row(detection, bad)
