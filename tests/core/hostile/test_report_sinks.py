"""The case report and the findings export over hostile records: every evidence value inert.

The case is built from the hostile corpus with suspects set, so that every hostile field is
printed somewhere (scope, contexts, sessions, SendAs, findings, the evidence table), plus a
rejected line, a refused file and a dangling link whose texts quote the evidence. Markdown must
then hold no control, bidi or zero-width character, no HTML or link outside code spans, no live
`javascript:` and no bare `https://`, and every table row must keep its header's cell count;
the JSON report must give back every string exactly as the evidence holds it.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hostile_corpus as corpus
import pytest
from hostile_corpus import live_characters, outside_code_spans, table_cells

from ualscope.core.analysis.scope import Suspects
from ualscope.core.case import Case
from ualscope.core.case_file import CaseFile, mark_findings, set_note, suspects_of, toggle_suspect
from ualscope.core.ingest.loader import LoadResult, load
from ualscope.core.report.build import ReportOptions, analyse, build_report
from ualscope.core.report.export import findings_export, write_findings_markdown
from ualscope.core.report.markdown import render_markdown
from ualscope.core.report.schema import CaseReport
from ualscope.core.textsafe import md_cell

GARBAGE = f"x {corpus.OSC_TITLE} | {corpus.SCRIPT} {corpus.JS_LINK} {corpus.BARE_URL}"
REFUSED_HEADER = f"Name|{corpus.CSI_CLEAR},{corpus.SCRIPT},{corpus.BARE_URL}"
LINK_NAME = "link_" + corpus.OSC_TITLE + "|`x`"
NOTE = "pasted from the mail: " + corpus.T_SUBJECT + " " + corpus.H_SUBJECT
SUSPECTS = Suspects(
    client_ips=(corpus.ATTACKER_IP,),
    users=(corpus.T_USER, corpus.H_USER),
    record_ids=(corpus.HOSTILE_ID,),
)
# Values that must be printed (escaped) in the markdown: proof that the hostile fields reach
# the sinks, without which "no control character in the output" would prove nothing.
PRINTED = (
    corpus.T_USER,
    corpus.T_CLIENT,
    corpus.T_FOLDER_CSI,
    corpus.T_FOLDER_C1,
    corpus.T_MESSAGE,
    corpus.T_SUBJECT,
    corpus.M_CLIENT,
    corpus.M_USER,
    corpus.M_FOLDER_CLICK,
    corpus.H_FOLDER,
    corpus.H_MESSAGE,
    corpus.H_CLIENT,
    corpus.H_SUBJECT,
    corpus.H_USER,
    corpus.HOSTILE_ID,
    corpus.FORMULAS[0],
)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evidence")
    for case in (
        corpus.TERMINAL,
        corpus.MARKUP_BIDI,
        corpus.MARKDOWN_HTML,
        corpus.CSV_FORMULAS,
        corpus.HOSTILE_IDS,
        corpus.NAMES,
    ):
        case.build(root)
    good = corpus.jsonl(corpus.plain_records(201, 1))
    (root / "garbage.jsonl").write_bytes(good + GARBAGE.encode() + b"\n")
    (root / "refused.csv").write_text(REFUSED_HEADER + "\r\n1,2,3\r\n", encoding="utf-8")
    os.symlink(root / "nowhere", root / LINK_NAME)
    return root


@pytest.fixture(scope="module")
def loaded(evidence: Path) -> LoadResult:
    return load([evidence], workers=1)


@pytest.fixture(scope="module")
def report(loaded: LoadResult) -> CaseReport:
    options = ReportOptions(suspects=SUSPECTS)
    analysis = analyse(loaded.index, options)
    return build_report(
        loaded, analysis, options, name="ualscope", version="test", command="ualscope report x"
    )


def assert_inert(markdown: str, *, tables_at_least: int) -> None:
    live = live_characters(markdown)
    assert not live, sorted(live)
    for number, line in enumerate(markdown.splitlines(), start=1):
        rendered = outside_code_spans(line)
        # Evidence is only ever inside code spans or entity-escaped prose: nothing outside
        # them may open a tag or a link.
        assert "<" not in rendered, (number, line)
        assert "](" not in rendered, (number, line)
    assert not re.search(r"(?<![a-z0-9+.\-])javascript:", markdown, re.IGNORECASE)
    assert not re.search(r"https?://", markdown, re.IGNORECASE)
    assert "<script" not in outside_code_spans(markdown.replace("\n", " "))
    tables = 0
    for block in markdown.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            tables += 1
            widths = [table_cells(row) for row in rows]
            assert len(set(widths)) == 1, rows
            # A newline in a value would have ended the table early: every line of the
            # block is a row.
            assert len(rows) == len(block.strip("\n").splitlines()), block
    assert tables >= tables_at_least


def test_the_markdown_report_prints_every_hostile_field_inert(
    report: CaseReport, evidence: Path
) -> None:
    markdown = render_markdown(report)
    assert_inert(markdown, tables_at_least=8)
    for value in PRINTED:
        assert md_cell(value) in markdown or md_cell(value).replace("\\|", "|") in markdown, value
    # Texts written by the reader that quote the evidence: a rejected line, a refused header,
    # a skipped link.
    assert "text outside any JSON value on line 2" in markdown.replace("\\", "")
    assert "refused: " in markdown and "Name\\|\\x1b[2J" in markdown
    assert md_cell(str(evidence / LINK_NAME)) in markdown
    assert md_cell(str(evidence / "names" / corpus.HOSTILE_NAME)) in markdown


def test_the_findings_export_is_inert_too(
    loaded: LoadResult, evidence: Path, tmp_path: Path
) -> None:
    """The explorer's export: findings from the analyses, the scope, and the investigator's
    marks, one a note on the forged record quoting hostile text."""
    state = toggle_suspect(CaseFile(), "client_ip", corpus.ATTACKER_IP)
    state = set_note(
        state, "record", corpus.HOSTILE_ID, NOTE, now=lambda: datetime(2026, 1, 1, tzinfo=UTC)
    )
    case = Case(loaded, suspects_of(state))
    findings = case.findings(extra=mark_findings(state, loaded.index))
    export = findings_export(
        loaded, findings, name="ualscope", version="test", command="ualscope x"
    )
    path = tmp_path / "notes" / "findings.md"
    write_findings_markdown(export, path, [str(evidence)])
    markdown = path.read_text(encoding="utf-8")
    assert_inert(markdown, tables_at_least=1)
    assert md_cell(corpus.HOSTILE_ID).replace("\\|", "|") in markdown
    assert "pasted from the mail" in markdown


def by_id(items: list[dict[str, Any]], key: str = "record_id") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_the_json_report_gives_every_string_back_exactly(
    report: CaseReport, evidence: Path
) -> None:
    data = json.loads(report.model_dump_json(indent=2))
    sends = by_id(data["send_as"])
    rid = corpus.rid
    assert sends[rid(3)]["subject"] == corpus.T_SUBJECT
    assert sends[rid(3)]["user_id"] == corpus.T_USER
    assert sends[rid(3)]["client_info_string"] == corpus.T_CLIENT
    assert sends[rid(12)]["subject"] == corpus.M_SUBJECT
    assert sends[rid(12)]["user_id"] == corpus.M_SEND_USER
    assert sends[rid(22)]["subject"] == corpus.H_SUBJECT
    assert sends[rid(31)]["subject"] == corpus.FORMULAS[0]
    bound = {(m["internet_message_id"], m["folder"]): m for m in data["scope"]["bound_messages"]}
    assert (corpus.T_MESSAGE, corpus.T_FOLDER_C1) in bound
    assert (corpus.H_MESSAGE, corpus.H_FOLDER) in bound
    assert bound[("<id-1@fabrikam.example>", "\\Inbox")]["record_ids"] == [corpus.HOSTILE_ID]
    contexts = {(c["user_id"], c["client_info"], c["folder"]) for c in data["contexts"]}
    assert (corpus.T_USER, corpus.T_CLIENT, corpus.T_FOLDER_CSI) in contexts
    assert (corpus.M_USER, corpus.M_CLIENT, corpus.M_FOLDER) in contexts
    assert {s["value"] for s in data["scope"]["suspects"]} >= {corpus.T_USER, corpus.HOSTILE_ID}
    paths = {item["path"] for item in data["inputs"]}
    assert str(evidence / "names" / corpus.HOSTILE_NAME) in paths
    assert str(evidence / LINK_NAME) in {s["path"] for s in data["skipped"]}
    refused = by_id(data["inputs"], "path")[str(evidence / "refused.csv")]["refused"]
    assert corpus.CSI_CLEAR in refused  # the reason quotes the header as it is
