"""A whole headless session over a copy of the sample case leaves the evidence as it was.

Evidence often sits on a write-blocked mount, and anything written beside it (a cache, a
lock, a temporary file renamed into place) alters what is being examined. So every file and
folder of the evidence is fingerprinted before and after a session that does everything the
explorer does without a screen: load (in this process and through worker processes), every
analysis, records re-read from disk, the case report in both formats, the investigator's
marks and notes saved to the state directory, and the findings export. The fingerprint holds
the content hash and size of files, and for files and folders alike the inode, mode, link
count and modification time: a folder's mtime changes when an entry is created in it and
deleted again, and an inode changes when a file is rewritten by rename.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SAMPLE_CASE

from ualscope.core.analysis.scope import Suspects
from ualscope.core.case import Case
from ualscope.core.case_file import (
    CaseFile,
    CaseFileError,
    default_case_path,
    load_case,
    mark_findings,
    save_case,
    set_note,
    suspects_of,
    toggle_mark,
    toggle_suspect,
    with_evidence,
)
from ualscope.core.info import case_info, render_info
from ualscope.core.ingest import loader as loader_module
from ualscope.core.ingest import split
from ualscope.core.ingest.loader import load
from ualscope.core.report.build import ReportOptions, analyse, build_report
from ualscope.core.report.export import ExportRefused, findings_export, write_findings_markdown
from ualscope.core.report.markdown import render_markdown

ATTACKER_IPS = ("203.0.113.45", "203.0.113.77")
Fingerprint = dict[str, tuple[object, ...]]


def fingerprint(root: Path) -> Fingerprint:
    """Every entry under `root` (itself included), links not followed."""
    found: Fingerprint = {}
    for path in [root, *sorted(root.rglob("*"))]:
        status = path.lstat()
        common = (status.st_ino, status.st_mode, status.st_nlink, status.st_mtime_ns)
        if stat.S_ISREG(status.st_mode):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = (*common, status.st_size, digest)
        else:
            found[str(path.relative_to(root))] = common
    return found


def now() -> datetime:
    return datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_a_headless_session_leaves_every_evidence_file_and_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = tmp_path / "evidence"
    shutil.copytree(SAMPLE_CASE, evidence)
    state_home = tmp_path / "state"
    notes = tmp_path / "notes"
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    before = fingerprint(evidence)
    assert sum(1 for key in before if key.endswith((".csv", ".json", ".jsonl"))) >= 8

    result = load([evidence], workers=1)
    assert len(result.index) > 1000 and not result.skipped

    # Every analysis the panes show, with the sample case's attacker named.
    case = Case(result, Suspects(client_ips=ATTACKER_IPS))
    assert case.sessions and case.sends and case.contexts() and case.mailboxes
    assert case.coverage is not None and case.throttled
    assert case.contexts("megan.bowen@fabrikam.example")
    scope = case.scope()
    assert scope is not None and len(scope.bound_messages) > 0
    # Records and their bound messages re-read from the evidence by offset, as the detail
    # view does.
    for row in range(0, len(result.index), max(1, len(result.index) // 25)):
        assert case.original_record(row)
        list(result.index.items(row))

    # The report, both formats, written outside the evidence.
    options = ReportOptions(suspects=Suspects(client_ips=ATTACKER_IPS))
    analysis = analyse(result.index, options)
    report = build_report(
        result, analysis, options, name="ualscope", version="test", command="ualscope report"
    )
    notes.mkdir()
    (notes / "report.md").write_text(render_markdown(report), encoding="utf-8")
    (notes / "report.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    render_info(case_info(result, "ualscope"))

    # Triage: marks, a note and a suspect, saved where the explorer saves them, then read back.
    state = with_evidence(CaseFile(), result.files)
    first, last = result.index.record_id(0), result.index.record_id(len(result.index) - 1)
    state = toggle_mark(state, "record", first, now=now)
    state = set_note(state, "record", last, "seen from the attacker's address", now=now)
    for ip in ATTACKER_IPS:
        state = toggle_suspect(state, "client_ip", ip)
    saved_at = default_case_path(result.files)
    assert state_home in saved_at.parents
    save_case(state, saved_at, [evidence])
    assert load_case(saved_at) == state
    chosen = Case(result, suspects_of(state))
    findings = chosen.findings(extra=mark_findings(state, result.index))
    export = findings_export(result, findings, name="ualscope", version="test", command="x")
    write_findings_markdown(export, notes / "findings.md", [str(evidence)])

    # Both writers refuse the evidence folder, and must do so without leaving anything.
    with pytest.raises(CaseFileError):
        save_case(state, evidence / "purview" / "case.json", [evidence])
    with pytest.raises(ExportRefused):
        write_findings_markdown(export, evidence / "findings.md", [str(evidence)])

    # The same evidence through worker processes, every file cut into ranges.
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(loader_module, "SPLIT_MIN_BYTES", 1)
    shared = load([evidence], workers=2)
    assert [f.sha256 for f in shared.files] == [f.sha256 for f in result.files]

    after = fingerprint(evidence)
    assert sorted(after) == sorted(before), "an entry appeared in or vanished from the evidence"
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed
    # The hashes the session reported are the hashes of the evidence as it still is.
    for info in result.files:
        relative = str(Path(info.path).relative_to(evidence))
        assert before[relative][-1] == info.sha256
    assert os.listdir(notes) and saved_at.exists()
