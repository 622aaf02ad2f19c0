"""`ualscope report`: byte-identical output, JSON contract, escaping, never beside evidence."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_CASE
from core.ingest.test_loader import write_purview
from factories import bind, send_as, sync

from ualscope.cli import main

HOSTILE = "Q1 | wire `x` <script>alert(1)</script> [x](javascript:alert(1)) \x1b]52;c;AAA\x07\n# h"


def report(tmp_path: Path, name: str, *args: str) -> str:
    out = tmp_path / name
    assert main(["report", *args, "--output", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def hostile_case(folder: Path) -> Path:
    folder.mkdir()
    records: list[dict[str, Any]] = [
        bind("2022-03-28T09:00:00", [("<a@x.example>", "\\Inbox | x")], ip="203.0.113.45"),
        sync("2022-03-28T09:05:00", "\\Inbox", ip="203.0.113.45"),
        send_as(
            "2022-03-28T10:00:00",
            user="adele.vance@fabrikam.example",
            send_as_smtp="megan.bowen@fabrikam.example",
            subject=HOSTILE,
            ip="203.0.113.45",
        ),
    ]
    write_purview(folder / "export.csv", records)
    return folder


def test_report_is_byte_identical_across_runs_and_input_order(tmp_path: Path) -> None:
    parts = sorted(str(p) for p in SAMPLE_CASE.iterdir())
    suspects = ["--suspect-ip", "203.0.113.45", "--suspect-ip", "203.0.113.77"]
    for fmt in ("json", "markdown"):
        first = report(tmp_path, f"a.{fmt}", *parts, *suspects, "--format", fmt)
        again = report(tmp_path, f"b.{fmt}", *parts, *suspects, "--format", fmt)
        reordered = report(
            tmp_path, f"c.{fmt}", *reversed(parts), *reversed(suspects[::-1]), "--format", fmt
        )
        assert first == again == reordered


def test_json_report_has_the_documented_shape(tmp_path: Path) -> None:
    case = hostile_case(tmp_path / "case")
    data = json.loads(report(tmp_path, "r.json", str(case), "--format", "json"))
    assert data["schema_version"] == 1
    assert data["scope"] is None
    assert data["tool"]["command"].startswith("ualscope report ")
    assert data["inputs"][0]["sha256"] and data["inputs"][0]["rejected"] == []
    assert data["send_as"][0]["classification"] == "delegate_send_as"
    assert data["send_as"][0]["subject"] == HOSTILE  # JSON keeps the value exactly
    with_scope = json.loads(
        report(tmp_path, "s.json", str(case), "--suspect-ip", "203.0.113.45", "--format", "json")
    )
    assert [m["internet_message_id"] for m in with_scope["scope"]["bound_messages"]] == [
        "<a@x.example>"
    ]
    assert [s["folder"] for s in with_scope["scope"]["synced_folders"]] == ["Inbox"]
    assert with_scope["scope"]["first_activity"] == "2022-03-28T09:00:00Z"


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ")]


def cells(row: str) -> int:
    # Split on pipes that are not backslash-escaped.
    count, escaped = 0, False
    for char in row.strip()[1:-1]:
        if char == "|" and not escaped:
            count += 1
        escaped = char == "\\" and not escaped
    return count + 1


def test_markdown_values_cannot_break_tables_or_become_links(tmp_path: Path) -> None:
    case = hostile_case(tmp_path / "case")
    text = report(tmp_path, "r.md", str(case), "--suspect-ip", "203.0.113.45")
    assert "\x1b" not in text and "\x07" not in text
    # Outside code spans (where markdown renders nothing), no HTML survives.
    outside = re.sub(r"(`+).*?\1", "", text)
    assert "<script>" in text and "<script>" not in outside
    assert "](javascript:" not in text
    for block in text.split("\n\n"):
        rows = table_rows(block)
        if rows:
            widths = {cells(row) for row in rows}
            assert len(widths) == 1, rows
    assert "\n# h" not in text


def test_output_beside_the_evidence_is_refused(tmp_path: Path) -> None:
    case = hostile_case(tmp_path / "case")
    assert main(["report", str(case), "--output", str(case / "report.md")]) == 2
    assert sorted(p.name for p in case.iterdir()) == ["export.csv"]


def test_nothing_readable_exits_non_zero(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    assert main(["report", str(junk)]) == 1


@pytest.mark.parametrize("window", [("--start", "2022-03-28T09:30:00")])
def test_the_window_limits_the_scope(tmp_path: Path, window: tuple[str, str]) -> None:
    case = hostile_case(tmp_path / "case")
    data = json.loads(
        report(
            tmp_path,
            "w.json",
            str(case),
            *window,
            "--suspect-ip",
            "203.0.113.45",
            "--format",
            "json",
        )
    )
    assert data["window"]["start"] == "2022-03-28T09:30:00Z"
    assert data["scope"]["bound_messages"] == []
