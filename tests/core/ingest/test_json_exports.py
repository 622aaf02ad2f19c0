"""Framing JSON evidence: every container shape, exact byte spans and lines, damaged files.

Every test re-reads each element's bytes from the file at the reported offset and checks that
`reparse_json_row` gives back the same AuditData, and that the reported line is the physical
line of the element's first byte: the detail view and every complaint depend on both.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import bind, send_as
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ualscope.core.ingest import json_exports
from ualscope.core.ingest.detect import Detection, detect
from ualscope.core.ingest.evidence import EvidenceReader
from ualscope.core.ingest.json_exports import JsonRows, reparse_json_row
from ualscope.core.ingest.rows import FileProblem, NotAnAuditExport, RowEvent

FRENCH_INBOX = "\\Boîte de réception"


def records(count: int) -> list[dict[str, Any]]:
    """MailItemsAccessed binds and sends with non-ASCII folders, subjects and an emoji."""
    out: list[dict[str, Any]] = []
    for n in range(count):
        when = f"2025-03-04T09:{n // 60 % 60:02d}:{n % 60:02d}"
        if n % 3 == 2:
            subject = f"Facture 💶 été n°{n}"
            out.append(send_as(when, user="mallory@fabrikam.example", subject=subject))
        else:
            messages = [(f"<m{n}.{k}@mail.example.com>", FRENCH_INBOX) for k in range(n % 4 + 1)]
            out.append(bind(when, messages))
    return out


def write(path: Path, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    data = text.encode(encoding)
    if bom:
        data = ("\ufeff".encode(encoding)) + data
    path.write_bytes(data)
    return path


def load(path: Path) -> tuple[list[RowEvent], JsonRows, Detection]:
    with EvidenceReader(path) as evidence:
        detection = detect(evidence.sniff())
        rows = JsonRows(evidence, detection)
        events = list(rows)
    return events, rows, detection


def line_of(data: bytes, offset: int, detection: Detection) -> int:
    if detection.encoding.startswith("utf-16"):
        text = data[detection.bom_length : offset].decode(detection.encoding, "surrogatepass")
        return text.count("\n") + 1
    return data[:offset].count(b"\n") + 1


def check_spans(path: Path, events: list[RowEvent], detection: Detection) -> None:
    """Each element's bytes re-read from its offset give its AuditData; lines are physical."""
    data = path.read_bytes()
    for event in events:
        assert event.line == line_of(data, event.offset, detection), event
        if event.audit is not None:
            raw = data[event.offset : event.offset + event.length]
            assert reparse_json_row(detection, raw) == event.audit, event


def good(events: list[RowEvent]) -> list[dict[str, Any]]:
    return [event.audit for event in events if event.audit is not None]


def problems(events: list[RowEvent]) -> list[tuple[int, str]]:
    return [(event.line, event.problem) for event in events if event.problem is not None]


@pytest.fixture(params=[16 * 1024 * 1024, 64, 7], ids=["16MiB", "64B", "7B"])
def window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a test with the real window and with windows that cut every element."""
    size: int = request.param
    small_windows(monkeypatch, size)
    return size


def small_windows(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Read `size` bytes at a time and look no further ahead, so elements straddle reads."""
    monkeypatch.setattr(json_exports, "WINDOW_BYTES", size)
    monkeypatch.setattr(json_exports, "_GUESS_MIN", min(size, json_exports._GUESS_MIN))
    monkeypatch.setattr(json_exports, "_PROBE_MIN", min(size, json_exports._PROBE_MIN))


# --- containers -------------------------------------------------------------------------------


def test_management_api_blob_is_one_compact_array(tmp_path: Path, window: int) -> None:
    recs = records(7)
    path = write(
        tmp_path / "blob.json", json.dumps(recs, separators=(",", ":"), ensure_ascii=False)
    )
    events, rows, detection = load(path)
    assert good(events) == recs
    assert [event.row for event in events] == list(range(1, 8))
    assert all(event.line == 1 and event.wrapper is None for event in events)
    assert rows.label == "Management Activity API JSON array of AuditData (UTF-8, no BOM)"
    assert rows.data_rows == 7
    check_spans(path, events, detection)


def test_goose_jsonl_with_spaced_separators_crlf_and_bom(tmp_path: Path, window: int) -> None:
    recs = records(5)
    # Untitled Goose Tool writes Python json.dumps: `", "` and `": "`, non-ASCII escaped.
    text = "".join(json.dumps(record) + "\r\n" for record in recs)
    path = write(tmp_path / "ual_2025.json", text, bom=True)
    events, rows, detection = load(path)
    assert good(events) == recs
    assert [event.line for event in events] == [1, 2, 3, 4, 5]
    assert events[0].offset == 3  # after the BOM
    assert rows.label == "JSON Lines of AuditData (UTF-8 with BOM)"
    check_spans(path, events, detection)


def test_jsonl_skips_blank_lines_and_keeps_line_numbers(tmp_path: Path, window: int) -> None:
    recs = records(3)
    lines = [orjson.dumps(r).decode() for r in recs]
    path = write(tmp_path / "sof-elk.json", f"{lines[0]}\n\n   \n{lines[1]}\n\n{lines[2]}")
    events, rows, detection = load(path)
    assert [event.line for event in events] == [1, 4, 6]
    assert good(events) == recs
    assert rows.label.startswith("JSON Lines of AuditData")
    check_spans(path, events, detection)


def test_extractor_suite_jsonl_wrappers_with_auditdata_as_text(tmp_path: Path, window: int) -> None:
    recs = records(3)
    wrappers = [
        {
            "RecordType": "ExchangeItemAggregated",
            "CreationDate": "2025-03-04T09:15:02",
            "UserIds": "megan.bowen@fabrikam.example",
            "Operations": r["Operation"],
            "AuditData": json.dumps(r, separators=(",", ":")),
            "ResultIndex": n + 1,
            "ResultCount": 3,
            "Identity": r["Id"],
            "IsValid": True,
            "ObjectState": "Unchanged",
        }
        for n, r in enumerate(recs)
    ]
    text = "\n".join(json.dumps(w, separators=(",", ":")) for w in wrappers) + "\n"
    path = write(tmp_path / "UAL-20250304.jsonl", text)
    events, rows, detection = load(path)
    assert good(events) == recs
    assert [event.wrapper.record_id for event in events if event.wrapper] == [r["Id"] for r in recs]
    assert events[0].wrapper is not None
    assert events[0].wrapper.time_text == "2025-03-04T09:15:02"
    assert events[0].wrapper.time_source == "CreationDate"
    assert events[0].wrapper.record_type == "ExchangeItemAggregated"
    assert rows.label == (
        "JSON Lines of Search-UnifiedAuditLog objects, AuditData as JSON text (UTF-8, no BOM)"
    )
    check_spans(path, events, detection)


def ps51_cmdlet_json(recs: list[dict[str, Any]], *, audit_as_text: bool) -> str:
    """Windows PowerShell 5.1 ConvertTo-Json of Search-UnifiedAuditLog objects: CRLF, leading
    spaces before `[`, 4-space indent, two spaces after each colon, `\\/Date(ms)\\/`."""
    parts = []
    for n, record in enumerate(recs):
        if audit_as_text:
            # PS 5.1 escapes <, >, ' and & in strings as \\u003c and so on.
            inner = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
            inner = inner.replace("<", "\\u003c").replace(">", "\\u003e")
            audit = json.dumps(inner, ensure_ascii=False)
        else:
            audit = json.dumps(record, indent=26, ensure_ascii=False).replace('": ', '":  ')
        parts.append(
            "{\r\n"
            '        "RecordType":  "ExchangeItemAggregated",\r\n'
            f'        "CreationDate":  "\\/Date({1741079702000 + n})\\/",\r\n'
            f'        "UserIds":  "{record["UserId"]}",\r\n'
            f'        "Operations":  "{record["Operation"]}",\r\n'
            f'        "AuditData":  {audit},\r\n'
            f'        "ResultIndex":  {n + 1},\r\n'
            f'        "Identity":  "{record["Id"]}",\r\n'
            '        "IsValid":  true,\r\n'
            '        "ObjectState":  "Unchanged"\r\n'
            "    }"
        )
    return "    [" + ",\r\n    ".join(parts) + "\r\n    ]"


@pytest.mark.parametrize("audit_as_text", [False, True])
def test_windows_powershell_51_convertto_json_utf16le_bom(
    tmp_path: Path, window: int, audit_as_text: bool
) -> None:
    recs = records(4)
    # Out-File in Windows PowerShell 5.1 writes UTF-16LE with a BOM by default.
    text = ps51_cmdlet_json(recs, audit_as_text=audit_as_text)
    path = write(tmp_path / "UAL.json", text, encoding="utf-16-le", bom=True)
    events, rows, detection = load(path)
    assert good(events) == recs
    assert events[0].wrapper is not None
    # The wrapper date is handed on untouched; the normaliser reads `/Date(ms)/`.
    assert events[0].wrapper.time_text == "/Date(1741079702000)/"
    assert events[0].offset == 2 + 2 * len("    [")
    form = "JSON text" if audit_as_text else "object"
    assert rows.label == (
        "ConvertTo-Json (Windows PowerShell 5.1) of Search-UnifiedAuditLog objects, "
        f"AuditData as {form} (UTF-16LE with BOM)"
    )
    check_spans(path, events, detection)


def test_powershell_7_convertto_json_two_space_indent_iso_dates(
    tmp_path: Path, window: int
) -> None:
    recs = records(3)
    objects = [
        {
            "RecordType": "ExchangeItemAggregated",
            "CreationDate": "2025-03-04T09:15:02",
            "UserIds": r["UserId"],
            "Operations": r["Operation"],
            "AuditData": r,
            "Identity": r["Id"],
        }
        for r in recs
    ]
    path = write(tmp_path / "UAL.json", json.dumps(objects, indent=2, ensure_ascii=False) + "\n")
    events, rows, detection = load(path)
    assert good(events) == recs
    assert rows.label.startswith(
        "ConvertTo-Json (PowerShell 7) of Search-UnifiedAuditLog objects, AuditData as object"
    )
    check_spans(path, events, detection)


def test_array_of_auditdata_json_texts(tmp_path: Path, window: int) -> None:
    recs = records(3)
    # `$results.AuditData | ConvertTo-Json`: the raw AuditData strings, each JSON-quoted.
    texts = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in recs]
    path = write(tmp_path / "auditdata.json", json.dumps(texts, indent=4) + "\r\n")
    events, rows, detection = load(path)
    assert good(events) == recs
    assert rows.label == "JSON array of AuditData as JSON text (UTF-8, no BOM)"
    check_spans(path, events, detection)


def test_single_object_not_an_array(tmp_path: Path, window: int) -> None:
    record = records(1)[0]
    path = write(tmp_path / "one.json", "  " + json.dumps(record, indent=4) + "\r\n")
    events, rows, detection = load(path)
    assert good(events) == [record]
    assert events[0].offset == 2
    assert rows.label == "single JSON object of AuditData (UTF-8, no BOM)"
    check_spans(path, events, detection)


@pytest.mark.parametrize("joint", ["\n", "", "\r\n\r\n", ","])
def test_concatenated_arrays(tmp_path: Path, window: int, joint: str) -> None:
    recs = records(5)
    first = json.dumps(recs[:3], indent=2, ensure_ascii=False)
    second = json.dumps(recs[3:], indent=2, ensure_ascii=False)
    path = write(tmp_path / "UnifiedAuditLogPurview.json", first + joint + second + "\n")
    events, rows, detection = load(path)
    assert good(events) == recs
    assert [event.row for event in events] == [1, 2, 3, 4, 5]
    assert rows.label == "concatenated JSON arrays (2 documents) of AuditData (UTF-8, no BOM)"
    assert any("2 JSON documents follow one another" in note for note in rows.notes)
    check_spans(path, events, detection)


def graph_record(record: dict[str, Any]) -> dict[str, Any]:
    audit = {"@odata.type": "#microsoft.graph.security.exchangeAggregatedMailboxAuditRecord"}
    audit.update(record)
    return {
        "id": record["Id"],
        "createdDateTime": record["CreationTime"] + "Z",
        "auditLogRecordType": "exchangeItemAggregated",
        "operation": record["Operation"],
        "organizationId": record["OrganizationId"],
        "userType": "regular",
        "userId": "1e8a1d35-0000-4000-8000-000000000001",
        "service": "Exchange",
        "objectId": "",
        "userPrincipalName": record["UserId"],
        "clientIp": record["ClientIPAddress"],
        "administrativeUnits": [],
        "auditData": audit,
    }


def test_graph_page_strips_odata_type(tmp_path: Path, window: int) -> None:
    recs = records(3)
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/auditLog/"
        "queries('168ec429')/records",
        "value": [graph_record(r) for r in recs],
    }
    path = write(tmp_path / "records.json", json.dumps(page, ensure_ascii=False))
    events, rows, detection = load(path)
    assert good(events) == recs
    assert all("@odata.type" not in audit for audit in good(events))
    wrapper = events[0].wrapper
    assert wrapper is not None
    assert wrapper.record_id == recs[0]["Id"]
    assert wrapper.time_text == recs[0]["CreationTime"] + "Z"
    assert wrapper.time_source == "createdDateTime"
    assert wrapper.user_id == recs[0]["UserId"]
    assert wrapper.record_type == "exchangeItemAggregated"
    assert rows.label == "Microsoft Graph auditLogRecord page (value[]) (UTF-8, no BOM)"
    assert not any("nextLink" in note for note in rows.notes)
    check_spans(path, events, detection)


def test_graph_pages_with_next_link_last_and_value_first(tmp_path: Path, window: int) -> None:
    recs = records(4)
    # Invoke-MgGraphRequest | ConvertTo-Json reorders keys: value before the annotations.
    pages = [
        {"value": [graph_record(r) for r in recs[:2]], "@odata.nextLink": "https://x/?$skip=2"},
        {"value": [graph_record(r) for r in recs[2:]], "@odata.nextLink": "https://x/?$skip=4"},
    ]
    text = "\n".join(json.dumps(page, indent=2, ensure_ascii=False) for page in pages)
    path = write(tmp_path / "pages.json", text)
    events, rows, detection = load(path)
    assert good(events) == recs
    assert rows.label.startswith("JSON pages (2 documents, value[]) of Microsoft Graph")
    assert any("@odata.nextLink" in note for note in rows.notes)
    check_spans(path, events, detection)


def test_array_of_graph_pages(tmp_path: Path, window: int) -> None:
    recs = records(3)
    pages = [{"value": [graph_record(r) for r in recs[:2]]}, {"value": [graph_record(recs[2])]}]
    path = write(tmp_path / "pages.json", json.dumps(pages, indent=2, ensure_ascii=False))
    events, rows, detection = load(path)
    assert good(events) == recs
    assert rows.label.startswith("JSON pages (2 documents, value[]) of Microsoft Graph")
    check_spans(path, events, detection)


def test_pages_nested_in_pages_are_not_followed(tmp_path: Path) -> None:
    record = records(1)[0]
    path = write(tmp_path / "x.json", json.dumps({"value": [{"value": [record]}, record]}))
    events, _, _ = load(path)
    assert good(events) == [record]
    assert problems(events) == [(1, "no CreationTime key and no AuditData (keys: value)")]


def test_bare_array_of_graph_records(tmp_path: Path, window: int) -> None:
    recs = records(2)
    path = write(tmp_path / "ual-graph.json", json.dumps([graph_record(r) for r in recs]))
    events, rows, _ = load(path)
    assert good(events) == recs
    assert rows.label.startswith(
        "JSON array of Microsoft Graph auditLogRecord, AuditData as object"
    )


def test_sentinel_officeactivity_rows(tmp_path: Path, window: int) -> None:
    row = {
        "TenantId": "5f4d0000-0000-4000-8000-000000000000",
        "SourceSystem": "OfficeActivityManager",
        "TimeGenerated": "2025-03-04T09:15:02.413Z",
        "RecordType": "ExchangeItemAggregated",
        "Operation": "MailItemsAccessed",
        "OfficeWorkload": "Exchange",
        "OfficeId": "8c1e0000-0000-4000-8000-000000000001",
        "UserId": "megan.bowen@fabrikam.example",
        "Client_IPAddress": "198.51.100.14",
        "Logon_Type": "0",
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"}],
        "Folders": '[{"FolderItems":[{"InternetMessageId":"<a@b>"}],"Path":"\\\\Inbox"}]',
        "ItemName": "",
        "Type": "OfficeActivity",
        "_ResourceId": "",
    }
    path = write(tmp_path / "officeactivity.json", json.dumps([row, row], indent=2))
    events, rows, detection = load(path)
    audit = events[0].audit
    assert audit is not None
    assert audit["Id"] == "8c1e0000-0000-4000-8000-000000000001"
    assert audit["ClientIPAddress"] == "198.51.100.14"
    assert audit["LogonType"] == 0
    assert audit["Workload"] == "Exchange"
    assert audit["Folders"][0]["FolderItems"][0]["InternetMessageId"] == "<a@b>"
    assert audit["OperationProperties"] == [{"Name": "MailAccessType", "Value": "Bind"}]
    assert not {"TenantId", "Type", "_ResourceId", "ItemName"} & set(audit)
    assert events[0].wrapper is not None
    assert events[0].wrapper.time_source == "TimeGenerated"
    assert events[0].wrapper.record_id == "8c1e0000-0000-4000-8000-000000000001"
    assert rows.label == "Sentinel OfficeActivity rows (JSON) (UTF-8, no BOM)"
    check_spans(path, events, detection)


def test_defender_cloudappevents_streaming_records_blob(tmp_path: Path, window: int) -> None:
    record = bind("2024-10-03T11:23:17Z", [("<1@x>", FRENCH_INBOX)])
    event = {
        "time": "2024-10-03T11:29:06.6566759Z",
        "operationName": "Publish",
        "category": "AdvancedHunting-CloudAppEvents",
        "properties": {
            "ActionType": "MailItemsAccessed",
            "RawEventData": record,
            "Timestamp": "2024-10-03T11:23:17Z",
        },
    }
    # Event Hubs / storage blobs wrap streamed events in {"records": [...]}.
    path = write(tmp_path / "PT1H.json", json.dumps({"records": [event]}, ensure_ascii=False))
    events, rows, detection = load(path)
    assert good(events) == [record]
    assert events[0].wrapper is not None
    assert events[0].wrapper.time_source == "Timestamp"
    assert rows.label == (
        "JSON page (records[]) of Defender CloudAppEvents (RawEventData) (UTF-8, no BOM)"
    )
    check_spans(path, events, detection)


# --- damaged files ----------------------------------------------------------------------------


def test_truncated_array_keeps_complete_elements(tmp_path: Path, window: int) -> None:
    recs = records(4)
    text = json.dumps(recs, indent=2, ensure_ascii=False)
    cut = text.index(recs[3]["Id"])  # inside the fourth record
    path = write(tmp_path / "cut.json", text[:cut])
    events, _, detection = load(path)
    assert good(events) == recs[:3]
    start_line = text[: text.rindex("{", 0, cut)].count("\n") + 1
    assert problems(events) == [
        (start_line, f"file ends inside a JSON value that starts at line {start_line} (truncated?)")
    ]
    assert events[-1].offset + events[-1].length == len(path.read_bytes())
    check_spans(path, events, detection)


def test_array_cut_between_elements_names_the_array(tmp_path: Path, window: int) -> None:
    recs = records(2)
    path = write(tmp_path / "cut.json", "\n[" + ",".join(json.dumps(r) for r in recs) + ",\n")
    events, _, detection = load(path)
    assert good(events) == recs
    assert [problem for _, problem in problems(events)] == [
        "file ends inside a JSON value that starts at line 2 (truncated?)"
    ]
    check_spans(path, events, detection)


def test_bad_jsonl_lines_are_rejected_alone(tmp_path: Path, window: int) -> None:
    recs = records(4)
    lines = [orjson.dumps(r).decode() for r in recs]
    broken = lines[1][: len(lines[1]) // 2]  # a line cut short, newline kept
    syntax = '{"CreationTime": "2025-03-04T09:00:00", "Id": }'
    text = "\n".join([lines[0], broken, syntax, lines[2], lines[3]]) + "\n"
    path = write(tmp_path / "lines.json", text)
    events, _, detection = load(path)
    assert good(events) == [recs[0], recs[2], recs[3]]
    assert [event.line for event in events] == [1, 2, 3, 4, 5]
    (line2, cut), (line3, invalid) = problems(events)
    assert (line2, line3) == (2, 3)
    assert "string is still open at the end of line 2" in cut
    assert invalid.startswith("not valid JSON:") and "(line 3)" in invalid
    check_spans(path, events, detection)


def test_garbage_between_elements_resyncs_at_next_element(tmp_path: Path, window: int) -> None:
    recs = records(3)
    lines = [orjson.dumps(r).decode() for r in recs]
    text = f"{lines[0]}\n--- page 2 of 7 ---\n{lines[1]}\nWARNING: throttled]\n{lines[2]}\n"
    path = write(tmp_path / "log.json", text)
    events, _, detection = load(path)
    assert good(events) == recs
    assert problems(events) == [
        (2, "text outside any JSON value on line 2: '--- page 2 of 7 ---'"),
        (4, "text outside any JSON value on line 4: 'WARNING: throttled]'"),
    ]
    check_spans(path, events, detection)


def test_garbage_inside_a_pretty_array(tmp_path: Path, window: int) -> None:
    recs = records(2)
    a, b = (json.dumps(r, indent=4) for r in recs)
    path = write(tmp_path / "x.json", f"[\n{a},\n#comment\n{b}\n]\n")
    events, _, detection = load(path)
    assert good(events) == recs
    line = a.count("\n") + 3
    assert problems(events) == [(line, f"text outside any JSON value on line {line}: '#comment'")]
    check_spans(path, events, detection)


@pytest.mark.parametrize("container", ["jsonl", "array"])
def test_nesting_100000_levels_is_a_clean_rejection(
    tmp_path: Path, window: int, container: str
) -> None:
    recs = records(2)
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    a, b = (orjson.dumps(r).decode() for r in recs)
    text = f"{a}\n{deep}\n{b}\n" if container == "jsonl" else f"[{a},\n{deep},\n{b}]"
    path = write(tmp_path / "deep.json", text)
    events, _, detection = load(path)
    assert good(events) == recs
    [(line, problem)] = problems(events)
    assert line == 2
    assert problem.startswith("JSON nested deeper than 1,024 levels (100,000 levels)")
    check_spans(path, events, detection)


def test_deep_nesting_cut_by_end_of_file(tmp_path: Path, window: int) -> None:
    record = records(1)[0]
    path = write(tmp_path / "deep.json", "[" + orjson.dumps(record).decode() + "," + "[" * 100_000)
    events, _, _ = load(path)
    assert good(events) == [record]
    assert [p for _, p in problems(events)] == [
        "file ends inside a JSON value that starts at line 1 (truncated?)"
    ]


@pytest.mark.parametrize("shape", ["object", "garbage", "unclosed"])
def test_a_value_too_large_for_any_record_stops_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    monkeypatch.setattr(json_exports, "MAX_ELEMENT_BYTES", 4096)
    monkeypatch.setattr(json_exports, "WINDOW_BYTES", 1024)
    record = orjson.dumps(records(1)[0]).decode()
    huge = {
        "object": json.dumps({"hits": {"hits": ["x" * 100] * 100}}),
        "garbage": "x" * 1_000_000,  # beyond what the first read brings in
        "unclosed": '{"a": "' + "y" * 100_000,
    }[shape]
    path = write(tmp_path / "dump.json", f"{record}\n{record}\n{huge}\n{record}\n")
    with EvidenceReader(path) as evidence:
        rows = iter(JsonRows(evidence, detect(evidence.sniff())))
        assert [event.line for event in itertools.islice(rows, 2)] == [1, 2]
        with pytest.raises(FileProblem, match="value starting at line 3 is larger than 0 MiB"):
            next(rows)


def test_invalid_utf8_is_replaced_and_counted(tmp_path: Path, window: int) -> None:
    recs = records(3)
    lines = [orjson.dumps(r) for r in recs]
    lines[1] = lines[1].replace(b'"Version":1', b'"Bad":"\xff\xfe","Version":1')
    path = tmp_path / "bad.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    events, rows, _ = load(path)
    audits = good(events)
    assert len(audits) == 3
    assert audits[1]["Bad"] == "\ufffd\ufffd"
    assert (rows.decode_error_count, rows.decode_error_lines) == (1, [2])


def test_utf16_lone_surrogate_and_odd_last_byte_are_counted(tmp_path: Path) -> None:
    recs = records(2)
    text = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\r\n"
    data = "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
    # A lone high surrogate code unit in the second record's UserKey, and a stray last byte.
    data = data.replace("10032001A1B2C3D4".encode("utf-16-le"), b"\x00\xd8" + b"1\x00", 1)
    data = data[: len(data) // 2 * 2] + b"\x00"
    path = tmp_path / "x.json"
    path.write_bytes(data)
    events, rows, detection = load(path)
    audits = good(events)
    assert [audit["Id"] for audit in audits] == [r["Id"] for r in recs]
    assert audits[0]["UserKey"] == "\ufffd1"
    assert rows.decode_error_count == 2  # the surrogate, and the odd byte at the end
    assert rows.decode_error_lines == [1]
    check_spans(path, events, detection)


def test_pretty_objects_one_after_another(tmp_path: Path) -> None:
    recs = records(3)
    path = write(tmp_path / "x.json", "\n".join(json.dumps(r, indent=2) for r in recs))
    events, rows, detection = load(path)
    assert good(events) == recs
    assert rows.label.startswith("concatenated JSON objects (3 documents) of AuditData")
    check_spans(path, events, detection)


def test_unpaired_surrogate_escape_is_read_as_replacement(tmp_path: Path) -> None:
    record = records(1)[0]
    text = orjson.dumps(record).decode().replace('"Version":1', '"Subject":"cut \\ud83d"')
    path = write(tmp_path / "x.json", text + "\n")
    events, rows, detection = load(path)
    [audit] = good(events)
    assert audit["Subject"] == "cut \ufffd"
    assert any("unpaired UTF-16 surrogate" in note for note in rows.notes)
    check_spans(path, events, detection)


def test_missing_commas_between_elements_are_noted(tmp_path: Path) -> None:
    recs = records(2)
    path = write(tmp_path / "x.json", "[\n" + "\n".join(json.dumps(r) for r in recs) + "\n]")
    events, rows, _ = load(path)
    assert good(events) == recs
    assert "array elements are not separated by commas (first at line 3)" in rows.notes[0]


def test_empty_array_has_no_rows_and_says_so(tmp_path: Path) -> None:
    events, rows, _ = load(write(tmp_path / "empty.json", "[]\r\n"))
    assert events == []
    assert rows.data_rows == 0
    assert "the file holds no elements (an empty array or page)" in rows.notes


# --- whole-file refusal -----------------------------------------------------------------------


def test_a_json_file_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "package.json", '{"name": "ualscope", "version": "0.1.0"}')
    with pytest.raises(NotAnAuditExport) as refusal:
        load(path)
    assert str(refusal.value) == (
        "not an audit export: no AuditData column and no CreationTime key "
        "(first element's keys: name, version)"
    )


def test_refused_after_ten_unrecognised_elements_before_yielding(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", json.dumps([{"n": n} for n in range(12)] + records(1)))
    with EvidenceReader(path) as evidence:
        rows = iter(JsonRows(evidence, detect(evidence.sniff())))
        with pytest.raises(NotAnAuditExport):
            next(rows)


def test_a_few_unrecognised_elements_then_records_are_kept_in_order(tmp_path: Path) -> None:
    recs = records(2)
    path = write(tmp_path / "x.json", json.dumps([{"n": 1}, "text", *recs]))
    events, _, _ = load(path)
    assert [event.row for event in events] == [1, 2, 3, 4]
    assert problems(events) == [
        (1, "no CreationTime key and no AuditData (keys: n)"),
        (1, "element is not a JSON object but a string"),
    ]
    assert good(events) == recs


# --- exact spans whatever the layout ----------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_record = st.fixed_dictionaries(
    {"CreationTime": st.just("2025-03-04T09:15:02"), "Id": _text},
    optional={"Subject": _text, "Folders": st.lists(st.dictionaries(_text, _text), max_size=3)},
)


def _render(recs: list[dict[str, Any]], layout: str) -> str:
    if layout == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    if layout == "crlf-pretty":
        return json.dumps(recs, indent=4, ensure_ascii=False).replace("\n", "\r\n")
    if layout == "pages":
        half = len(recs) // 2
        # `][`: Windows PowerShell appending one page's array after another's.
        return json.dumps(recs[:half]) + json.dumps(recs[half:], ensure_ascii=False)
    return json.dumps(recs, separators=(",", ":"), ensure_ascii=False)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    recs=st.lists(_record, min_size=1, max_size=6),
    layout=st.sampled_from(["compact", "jsonl", "crlf-pretty", "pages"]),
    encoding=st.sampled_from(["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be"]),
    window_bytes=st.sampled_from([5, 33, 4096]),
)
def test_spans_are_exact_for_any_text(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    recs: list[dict[str, Any]],
    layout: str,
    encoding: str,
    window_bytes: int,
) -> None:
    small_windows(monkeypatch, window_bytes)
    codec = "utf-8" if encoding.startswith("utf-8") else encoding
    path = write(
        tmp_path / "p.json", _render(recs, layout), encoding=codec, bom=encoding != "utf-8"
    )
    events, _, detection = load(path)
    assert good(events) == recs
    check_spans(path, events, detection)


_mutation = st.tuples(
    st.floats(0, 1), st.integers(0, 3), st.binary(max_size=3) | st.sampled_from([b'"', b"{", b"]"])
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    layout=st.sampled_from(["compact", "jsonl", "crlf-pretty", "pages"]),
    mutations=st.lists(_mutation, min_size=1, max_size=4),
    window_bytes=st.sampled_from([5, 33, 4096]),
)
def test_damaged_files_never_break_the_reader(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
    mutations: list[tuple[float, int, bytes]],
    window_bytes: int,
) -> None:
    """Bytes cut, inserted or replaced anywhere: every row is located inside the file, rows
    do not overlap, and nothing but a refusal of the whole file is raised."""
    small_windows(monkeypatch, window_bytes)
    data = bytearray(_render(records(4), layout).encode())
    for where, cut, insert in mutations:
        at = int(where * len(data))
        data[at : at + cut] = insert
    path = tmp_path / "damaged.json"
    path.write_bytes(bytes(data))
    try:
        events, _, _ = load(path)
    except NotAnAuditExport:
        return  # by detect(), when the damage is at the start, or by the reader
    previous_end = 0
    for number, event in enumerate(events, start=1):
        assert event.row == number
        assert previous_end <= event.offset and event.length >= 0
        assert event.offset + event.length <= len(data)
        assert (event.audit is None) == (event.problem is not None)
        previous_end = event.offset + event.length
