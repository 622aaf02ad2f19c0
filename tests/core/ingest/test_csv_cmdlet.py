"""Search-UnifiedAuditLog results saved with Export-Csv, as Windows PowerShell 5.1 and 7 write
them (formats.md section 6.3), and the real exports in tests/data/ingest/csv/blueteam0ps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from factories import CMDLET_COLUMNS

from ualscope.core.ingest.csv_exports import reparse_csv_row
from ualscope.core.ingest.detect import Detection, Shape, detect
from ualscope.core.ingest.evidence import EvidenceReader
from ualscope.core.ingest.readers import ByteRange, RowReader, open_rows
from ualscope.core.ingest.rows import RowEvent

REAL = Path(__file__).resolve().parents[2] / "data" / "ingest" / "csv" / "blueteam0ps"
TYPE_LINE = (
    "#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.UnifiedAuditLogEvent"
)
COLUMNS = CMDLET_COLUMNS
RUNSPACE = "6b7c8d9e-0000-4000-8000-00000000abcd"


def send_as_record(n: int) -> dict[str, Any]:
    """A SendAs shaped like formats.md section 4.2 (values invented)."""
    return {
        "CreationTime": f"2025-03-04T09:31:{n:02d}",
        "Id": f"5e0d0000-0000-4000-8000-{n:012d}",
        "Operation": "SendAs",
        "RecordType": 2,
        "UserId": "mallory@contoso.com",
        "ClientInfoString": "Client=OutlookService;Outlook-iOS/2.0;",
        "LogonType": 2,
        "MailboxOwnerUPN": "mallory@contoso.com",
        "Item": {
            "Id": "Unknown",
            "InternetMessageId": f"<DB9PR04MB8462{n}@DB9PR04MB8462.eurprd04.prod.outlook.com>",
            "ParentFolder": {"Id": "LgAAAA", "Path": "\\Drafts"},
            "Subject": "Überweisung dringend",
        },
        "SendAsUserSmtp": "ceo@contoso.com",
    }


def cmdlet_line(
    record: dict[str, Any],
    index: int,
    *,
    date: str = "3/4/2025 9:31:00 AM",
    delimiter: str = ",",
    columns: tuple[str, ...] = COLUMNS,
    formatted: bool = False,
) -> str:
    """One Export-Csv row: every field quoted, `""` doubling; -Formatted pretty-prints
    AuditData over CRLF lines inside the quoted cell."""
    if formatted:
        audit = json.dumps(record, indent=2, ensure_ascii=False).replace("\n", "\r\n")
    else:
        audit = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    values = {
        "RunspaceId": RUNSPACE,
        "RecordType": "ExchangeItem",
        "CreationDate": date,
        "UserIds": record["UserId"],
        "Operations": record["Operation"],
        "AuditData": audit,
        "ResultIndex": str(index),
        "ResultCount": "3",
        "Identity": record["Id"],
        "IsValid": "True",
        "ObjectState": "Unchanged",
    }
    cells = ['"' + values.get(c, "").replace('"', '""') + '"' for c in columns]
    return delimiter.join(cells) + "\r\n"


def header_line(columns: tuple[str, ...] = COLUMNS, delimiter: str = ",") -> str:
    return delimiter.join(f'"{c}"' for c in columns) + "\r\n"


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
    data = path.read_bytes()
    for event in events:
        assert event.audit is not None, event.problem
        raw = data[event.offset : event.offset + event.length]
        assert reparse_csv_row(detection, raw) == event.audit


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        (
            "t1098.002_Mail_account_delegation-SendAs_permission.csv",
            ["c1b9ac08-49c3-4757-1702-08db603a8b4a"],
        ),
        (
            "t1098.002_Mail_Account_Delegation_full_access_permissions.csv",
            ["158ad9da-ad36-4762-e5d7-08db5f647901"],
        ),
        (
            "t1114.002_Enable_POP_IMAP_OWA.csv",
            ["a5148ab2-3910-4e5c-2f40-08db64d43c24", "8f78843b-3079-44de-eda5-08db64d44753"],
        ),
        (
            "t1110.003_o365spray_reporting.csv",
            [
                "1ebc1d1a-bd6b-4e50-820d-10a096423200",
                "a582d51f-f239-4aa1-bcf9-aecd68512d00",
                "5ba11053-dad4-4190-a4e1-ed26d4cc2e00",
                "f3874e9b-10ae-429f-8237-03aab6d63600",
                "b2558c41-ac0d-45c8-8f15-1fb0cd333600",
                "6995c3be-a43f-4d70-8457-5cad75d33100",
                "ccf90af7-02d0-4530-9f2b-2a8364e33d00",
                "fcf2c939-700e-4ec5-ac65-5efbadc74400",
                "0e4cbb8e-f204-46ed-8e3b-3ef121d23500",
            ],
        ),
    ],
)
def test_real_search_unifiedauditlog_exports(name: str, ids: list[str]) -> None:
    path = REAL / name
    detection, reader, events = load(path)

    assert detection.shape is Shape.UAL_CMDLET_CSV
    assert reader.label == "Search-UnifiedAuditLog saved with Export-Csv (UTF-8, no BOM)"
    assert reader.data_rows == len(ids) and reader.notes == []
    assert [e.audit["Id"] for e in events if e.audit] == ids
    assert [e.wrapper.record_id for e in events if e.wrapper] == ids  # Identity = AuditData.Id
    assert [(e.line, e.row) for e in events] == [(n + 2, n + 1) for n in range(len(ids))]
    assert_reparse(path, detection, events)


def test_real_export_wrapper_keeps_culture_date_and_record_type_name() -> None:
    _, _, events = load(REAL / "t1098.002_Mail_account_delegation-SendAs_permission.csv")
    wrapper = events[0].wrapper
    assert wrapper is not None
    assert wrapper.time_text == "5/29/2023 11:47:56 AM"
    assert wrapper.time_source == "CreationDate"
    assert wrapper.record_type == "ExchangeAdmin"
    assert wrapper.operation == "Add-RecipientPermission"
    assert events[0].audit is not None
    assert events[0].audit["Parameters"][2] == {"Name": "AccessRights", "Value": "SendAs"}


@pytest.mark.parametrize(
    ("encoding", "bom", "words"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16LE with BOM"),
        ("utf-16-be", b"\xfe\xff", "UTF-16BE with BOM"),
    ],
)
def test_windows_powershell_type_line_utf16_and_crlf(
    tmp_path: Path, encoding: str, bom: bytes, words: str
) -> None:
    records = [send_as_record(1), send_as_record(2), send_as_record(3)]
    text = (
        TYPE_LINE
        + "\r\n"
        + header_line()
        + cmdlet_line(records[0], 1)
        + cmdlet_line(records[1], 2, formatted=True)
        + cmdlet_line(records[2], 3)
    )
    path = tmp_path / "UAL.csv"
    path.write_bytes(bom + text.encode(encoding))
    detection, reader, events = load(path)

    assert detection.shape is Shape.UAL_CMDLET_CSV
    assert detection.header_line == 2
    assert [e.audit for e in events] == records
    formatted_lines = json.dumps(records[1], indent=2).count("\n") + 1
    assert [e.line for e in events] == [3, 4, 4 + formatted_lines]
    assert [e.row for e in events] == [1, 2, 3]
    assert reader.label == (
        "Search-UnifiedAuditLog saved with Export-Csv (Windows PowerShell 5.1: #TYPE line, "
        f"{words}, RunspaceId column (remote PowerShell session))"
    )
    assert_reparse(path, detection, events)
    # Offsets are bytes of the UTF-16 file, rows back to back after the header.
    assert events[0].offset == len(bom) + len((TYPE_LINE + "\r\n" + header_line()).encode(encoding))
    assert events[1].offset == events[0].offset + events[0].length


def test_utf8_bom_semicolon_and_german_dates(tmp_path: Path) -> None:
    # Windows PowerShell 5.1 `Export-Csv -UseCulture -Encoding UTF8 -NoTypeInformation` on de-DE.
    columns = COLUMNS[1:]
    records = [send_as_record(4), send_as_record(5)]
    text = (
        header_line(columns, ";")
        + cmdlet_line(records[0], 1, date="04.03.2025 09:31:04", delimiter=";", columns=columns)
        + cmdlet_line(records[1], 2, date="04.03.2025 09:31:05", delimiter=";", columns=columns)
    )
    path = tmp_path / "UAL.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    detection, reader, events = load(path)

    assert detection.delimiter == ";"
    assert [e.audit for e in events] == records
    assert [e.wrapper.time_text for e in events if e.wrapper] == [
        "04.03.2025 09:31:04",
        "04.03.2025 09:31:05",
    ]
    assert events[0].offset == 3 + len(header_line(columns, ";").encode())
    assert "UTF-8 with BOM" in reader.label and "';' delimiter" in reader.label
    assert "RunspaceId" not in reader.label
    assert_reparse(path, detection, events)


def test_formatted_auditdata_line_numbers_after_a_type_line(tmp_path: Path) -> None:
    records = [send_as_record(n) for n in range(6, 10)]
    text = TYPE_LINE + "\r\n" + header_line()
    text += "".join(cmdlet_line(r, i, formatted=True) for i, r in enumerate(records, 1))
    path = write(tmp_path / "UAL.csv", text)
    detection, reader, events = load(path)

    height = json.dumps(records[0], indent=2).count("\n") + 1
    assert height > 10
    assert [e.line for e in events] == [3 + i * height for i in range(4)]
    physical = path.read_bytes().split(b"\n")
    for event, record in zip(events, records, strict=True):
        assert physical[event.line - 1].startswith(f'"{RUNSPACE}"'.encode())
        assert event.audit == record
    assert reader.notes == [
        "4 rows span several lines (AuditData pretty-printed, as Search-UnifiedAuditLog "
        "-Formatted writes it)"
    ]
    assert_reparse(path, detection, events)


def test_formatted_export_cut_short_is_reported_where_the_quote_opens(tmp_path: Path) -> None:
    records = [send_as_record(n) for n in (10, 11)]
    text = header_line() + "".join(cmdlet_line(r, i, formatted=True) for i, r in enumerate(records))
    height = json.dumps(records[0], indent=2).count("\n") + 1

    # Cut inside the last pretty-printed AuditData: its quote never closes.
    cut = text[: len(text) - 200]
    _, reader, events = load(write(tmp_path / "a.csv", cut))
    assert events[0].audit == records[0]
    assert events[1].audit is None and events[1].line == 2 + height
    assert events[1].problem is not None
    assert events[1].problem.startswith(
        f"a quoted field opened on line {2 + height} is never closed: everything from there to "
        f"the end of the file (line {len(cut.splitlines())})"
    )
    assert reader.data_rows == 2

    # Cut between two cells: a short last row, with a word on why.
    _, _, events = load(write(tmp_path / "b.csv", text[: text.rindex(',"3",')]))
    assert events[1].problem == (
        "row has 7 fields, header has 11; it is the last row of the file, which may have been "
        "cut short"
    )


def test_extra_columns_are_tolerated_and_named(tmp_path: Path) -> None:
    columns = (*COLUMNS, "AuditSearchRequestMetadata")
    record = send_as_record(12)
    path = write(
        tmp_path / "UAL.csv", header_line(columns) + cmdlet_line(record, 1, columns=columns)
    )
    _, reader, events = load(path)

    assert events[0].audit == record
    assert "extra columns: AuditSearchRequestMetadata" in reader.label


def test_range_from_the_top_skips_type_line_and_header(tmp_path: Path) -> None:
    records = [send_as_record(n) for n in (13, 14, 15)]
    text = TYPE_LINE + "\r\n" + header_line()
    text += "".join(cmdlet_line(r, i) for i, r in enumerate(records, 1))
    path = write(tmp_path / "UAL.csv", text)
    _, _, whole = load(path)

    _, _, head = load(path, ByteRange(0, whole[2].offset, 1, 1))
    _, _, tail = load(path, ByteRange(whole[2].offset, None, whole[2].line, whole[2].row))
    assert head + tail == whole
    assert [e.line for e in whole] == [3, 4, 5]
