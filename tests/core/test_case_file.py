"""The case file: marks, notes and suspects saved away from the evidence and restored on reload."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import MAPI, bind, build_index, mailbox_record, sync

from ualscope.core.analysis.findings import Severity
from ualscope.core.analysis.scope import Suspects
from ualscope.core.analysis.sessions import make_session_id
from ualscope.core.case_file import (
    CaseFile,
    CaseFileError,
    SuspectKind,
    case_bytes,
    case_key,
    default_case_path,
    evidence_matches,
    load_case,
    mark_findings,
    mark_of,
    save_case,
    set_exported,
    set_note,
    stale_marks,
    suspects_of,
    toggle_mark,
    toggle_suspect,
    with_evidence,
)
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.normalise.times import from_iso

MEGAN = "megan.bowen@fabrikam.example"
ATTACKER_IP = "203.0.113.45"
ATTACKER_SESSION = "33333333-cccc-4000-8000-000000000003"
OPENED = "00000000-0000-4000-8000-00000000a001"
SYNCED = "00000000-0000-4000-8000-00000000a002"
OWNER_READ = "00000000-0000-4000-8000-00000000a003"
CONTEXT = "C-0123456789"
SESSION = make_session_id("SessionId", ATTACKER_SESSION)


def at(text: str) -> Callable[[], datetime]:
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return lambda: moment


MARKED_AT = at("2025-03-10T14:02:00")


def attacker_file() -> list[dict[str, Any]]:
    return [
        bind(
            "2025-03-04T09:15:02",
            [("<CAK1@mail.fabrikam.example>", "\\Inbox")],
            ip=ATTACKER_IP,
            session=ATTACKER_SESSION,
            record_id=OPENED,
        ),
        sync("2025-03-04T09:15:02", "\\Inbox", ip=ATTACKER_IP, record_id=SYNCED),
    ]


def owner_file() -> list[dict[str, Any]]:
    # Same second as the attacker's records: their rows depend on which file loads first.
    return [
        mailbox_record("MailboxLogin", "2025-03-04T09:15:02", client=MAPI, record_id=OWNER_READ)
    ]


def evidence_inputs(folder: Path, *names: str) -> list[InputFile]:
    inputs = []
    for name in names:
        path = folder / name
        path.write_text(f"export {name}\n", encoding="utf-8")
        inputs.append(InputFile(path=str(path), size=path.stat().st_size, sha256=name * 64))
    return inputs


def marked_case() -> CaseFile:
    case = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)
    case = set_note(case, "session", SESSION, "Replayed token from 203.0.113.45", now=MARKED_AT)
    case = toggle_mark(
        case,
        "context",
        CONTEXT,
        now=MARKED_AT,
        mailbox=MEGAN,
        start=from_iso("2025-03-04T09:00:00"),
        end=from_iso("2025-03-04T10:00:00"),
    )
    case = toggle_suspect(case, "client_ip", ATTACKER_IP)
    return set_exported(case, ["F-aaaaaaaaaaaa"])


# -- saving and loading ------------------------------------------------------------------------


def test_round_trip_restores_marks_notes_and_suspects_exactly(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    inputs = evidence_inputs(evidence, "a")
    case = with_evidence(marked_case(), inputs)
    path = tmp_path / "state" / "case.json"

    save_case(case, path, [i.path for i in inputs])
    restored = load_case(path)

    assert restored == case
    session = mark_of(restored, "session", SESSION)
    assert session is not None
    assert session.note == "Replayed token from 203.0.113.45"
    context = mark_of(restored, "context", CONTEXT)
    assert context is not None
    assert (context.created, context.start, context.end, context.mailbox) == (
        "2025-03-10T14:02:00Z",
        "2025-03-04T09:00:00Z",
        "2025-03-04T10:00:00Z",
        MEGAN,
    )
    assert restored.evidence[0].sha256 == "a" * 64


def test_a_missing_case_file_is_an_empty_case(tmp_path: Path) -> None:
    assert load_case(tmp_path / "none.json") == CaseFile()


def test_marks_survive_a_reload_of_the_same_evidence_in_another_file_order() -> None:
    first = build_index({"attacker.csv": attacker_file(), "owner.csv": owner_file()})
    second = build_index({"owner.csv": owner_file(), "attacker.csv": attacker_file()})
    # The point of the test: the marked record is on another row after the reload.
    assert first.row_of(OPENED) != second.row_of(OPENED)
    case = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)

    assert mark_findings(case, first) == mark_findings(case, second)
    assert mark_findings(case, second)[0].record_ids == (OPENED,)
    assert stale_marks(case, second) == ()


def test_saving_twice_and_in_any_order_gives_identical_bytes(tmp_path: Path) -> None:
    one = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)
    one = toggle_mark(one, "record", SYNCED, now=MARKED_AT)
    one = toggle_suspect(toggle_suspect(one, "user", MEGAN), "client_ip", ATTACKER_IP)
    other = toggle_mark(CaseFile(), "record", SYNCED, now=MARKED_AT)
    other = toggle_mark(other, "record", OPENED, now=MARKED_AT)
    other = toggle_suspect(toggle_suspect(other, "client_ip", ATTACKER_IP), "user", MEGAN)

    save_case(one, tmp_path / "one.json", [])
    save_case(other, tmp_path / "other.json", [])
    save_case(one, tmp_path / "again.json", [])

    written = (tmp_path / "one.json").read_bytes()
    assert written == (tmp_path / "other.json").read_bytes()
    assert written == (tmp_path / "again.json").read_bytes() == case_bytes(one)
    data = json.loads(written)
    assert [m["target_id"] for m in data["marks"]] == [OPENED, SYNCED]
    assert list(data) == sorted(data)
    assert written.endswith(b"}\n") and b'\n  "evidence"' in written


def test_the_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "cases" / "case.json"
    save_case(CaseFile(), path, [])
    save_case(marked_case(), path, [])

    assert sorted(p.name for p in path.parent.iterdir()) == ["case.json"]
    assert load_case(path) == marked_case()


def test_a_failed_write_keeps_the_old_case_and_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "case.json"
    save_case(marked_case(), path, [])

    def refuse(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(CaseFileError, match="No space left on device"):
        save_case(CaseFile(), path, [])

    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.json"]
    assert load_case(path) == marked_case()


def test_created_folders_are_private_to_the_user(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ualscope" / "cases" / "case.json"
    save_case(CaseFile(), path, [])

    for folder in (tmp_path / "state", path.parent.parent, path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- never beside the evidence -----------------------------------------------------------------


@pytest.fixture
def evidence_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "audit.csv").write_text("export\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "relative",
    ["case.json", "notes/case.json", "audit.csv", "."],
    ids=["beside-the-file", "in-a-subfolder", "the-evidence-file", "the-folder-itself"],
)
def test_saving_inside_an_evidence_folder_is_refused(evidence_folder: Path, relative: str) -> None:
    target = evidence_folder / relative
    with pytest.raises(CaseFileError, match="inside the evidence folder") as raised:
        save_case(marked_case(), target, [evidence_folder / "audit.csv"])

    assert raised.value.path == target
    assert (evidence_folder / "audit.csv").read_text(encoding="utf-8") == "export\n"
    assert sorted(p.name for p in evidence_folder.iterdir()) == ["audit.csv"]


def test_a_symlink_that_resolves_into_the_evidence_folder_is_refused(
    tmp_path: Path, evidence_folder: Path
) -> None:
    link = tmp_path / "cases"
    link.symlink_to(evidence_folder, target_is_directory=True)

    with pytest.raises(CaseFileError, match="inside the evidence folder"):
        save_case(marked_case(), link / "case.json", [str(evidence_folder / "audit.csv")])
    assert sorted(p.name for p in evidence_folder.iterdir()) == ["audit.csv"]


def test_an_evidence_folder_given_as_a_folder_is_refused_too(evidence_folder: Path) -> None:
    with pytest.raises(CaseFileError):
        save_case(CaseFile(), evidence_folder / "case.json", [evidence_folder])


def test_a_sibling_folder_of_the_evidence_is_allowed(tmp_path: Path, evidence_folder: Path) -> None:
    path = tmp_path / "evidence-notes" / "case.json"
    save_case(marked_case(), path, [evidence_folder / "audit.csv"])
    assert load_case(path) == marked_case()


# -- where a case lives ------------------------------------------------------------------------


def test_the_case_key_follows_the_hashes_not_the_paths_or_their_order(tmp_path: Path) -> None:
    inputs = evidence_inputs(tmp_path, "a", "b")
    moved = [InputFile(path=f"/mnt/moved/{i}", size=1, sha256=i.sha256) for i in reversed(inputs)]
    changed = [inputs[0], InputFile(path=inputs[1].path, size=1, sha256="c" * 64)]

    assert case_key(inputs) == case_key(moved)
    assert case_key(inputs) != case_key(changed)
    assert case_key(inputs) != case_key(inputs[:1])
    assert len(case_key(inputs)) == 64


def test_the_default_path_is_in_the_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    inputs = evidence_inputs(evidence, "a")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    path = default_case_path(inputs)

    assert path == tmp_path / "xdg" / "ualscope" / "cases" / f"{case_key(inputs)}.json"


def test_without_xdg_state_home_the_default_path_is_under_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    inputs = evidence_inputs(evidence, "a")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    path = default_case_path(inputs)

    expected = tmp_path / "home" / ".local" / "state" / "ualscope" / "cases"
    assert path == expected / f"{case_key(inputs)}.json"


def test_a_state_home_inside_the_evidence_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    inputs = evidence_inputs(evidence, "a")
    monkeypatch.setenv("XDG_STATE_HOME", str(evidence / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    path = default_case_path(inputs)

    assert path.is_relative_to(tmp_path / "home")
    save_case(marked_case(), path, [i.path for i in inputs])
    assert load_case(path) == marked_case()


def test_evidence_is_recorded_and_checked_by_hash(tmp_path: Path) -> None:
    inputs = evidence_inputs(tmp_path, "a", "b")
    case = with_evidence(CaseFile(), inputs)

    assert [e.sha256 for e in case.evidence] == ["a" * 64, "b" * 64]
    assert evidence_matches(case, list(reversed(inputs)))
    assert not evidence_matches(case, inputs[:1])
    assert evidence_matches(CaseFile(), inputs)


# -- unreadable case files ---------------------------------------------------------------------


def test_corrupt_json_names_the_file_and_where_it_broke(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"schema_version": 1,\n "marks": [', encoding="utf-8")

    with pytest.raises(CaseFileError) as raised:
        load_case(path)

    assert raised.value.path == path
    assert str(path) in str(raised.value)
    assert "line 2" in raised.value.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            '{"schema_version": 1, "marks": [{"target_kind": "row", "target_id": "7", '
            '"created": "2025-03-10T14:02:00Z"}]}',
            "marks.0.target_kind",
        ),
        (
            '{"schema_version": 1, "marks": [{"target_kind": "record", "target_id": "x", '
            '"created": "yesterday"}]}',
            "marks.0.created",
        ),
        ('{"schema_version": 2}', "schema_version 2"),
        ('{"schema_version": 1, "colour": "red"}', "colour"),
        ("[]", "top level"),
    ],
    ids=["unknown-target-kind", "bad-time", "newer-schema", "unknown-field", "not-an-object"],
)
def test_an_invalid_case_file_says_which_field(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "case.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(CaseFileError, match=reason) as raised:
        load_case(path)
    assert raised.value.path == path


def test_a_case_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_bytes(b"\xff\xfe{\x00")
    with pytest.raises(CaseFileError, match="not UTF-8"):
        load_case(path)


# -- marks, notes, suspects --------------------------------------------------------------------


def test_toggling_a_mark_twice_removes_it() -> None:
    once = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)
    twice = toggle_mark(once, "record", OPENED, now=MARKED_AT)

    assert mark_of(once, "record", OPENED) is not None
    assert twice == CaseFile()


def test_a_mark_is_keyed_on_kind_and_id() -> None:
    case = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)
    case = toggle_mark(case, "finding", OPENED, now=MARKED_AT)
    assert [(m.target_kind, m.target_id) for m in case.marks] == [
        ("finding", OPENED),
        ("record", OPENED),
    ]


def test_a_note_on_an_unmarked_record_creates_the_mark() -> None:
    case = set_note(CaseFile(), "record", OPENED, "Owner says she never opened this", now=MARKED_AT)

    mark = mark_of(case, "record", OPENED)
    assert mark is not None
    assert (mark.note, mark.created) == ("Owner says she never opened this", "2025-03-10T14:02:00Z")


def test_editing_a_note_keeps_the_mark_and_when_it_was_made() -> None:
    case = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)
    case = set_note(case, "record", OPENED, "first", now=at("2025-03-11T08:00:00"))
    case = set_note(case, "record", OPENED, "second", now=at("2025-03-12T08:00:00"))
    cleared = set_note(case, "record", OPENED, "")

    assert len(case.marks) == 1
    assert (case.marks[0].note, case.marks[0].created) == ("second", "2025-03-10T14:02:00Z")
    assert cleared.marks[0].note == ""


def test_operations_leave_the_case_they_were_given_alone() -> None:
    empty = CaseFile()
    toggle_mark(empty, "record", OPENED, now=MARKED_AT)
    toggle_suspect(empty, "user", MEGAN)
    assert empty == CaseFile()


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        toggle_mark(CaseFile(), "record", OPENED, now=lambda: datetime(2025, 3, 10))  # noqa: DTZ001


def test_suspects_of_gives_the_scope_suspects() -> None:
    case = CaseFile()
    named: list[tuple[SuspectKind, str]] = [
        ("client_ip", ATTACKER_IP),
        ("session", ATTACKER_SESSION),
        ("user", MEGAN),
        ("app", "00000003-0000-0000-c000-000000000000"),
        ("context", CONTEXT),
        ("record", OPENED),
        ("client_ip", "198.51.100.99"),
    ]
    for kind, value in named:
        case = toggle_suspect(case, kind, value)
    case = toggle_suspect(case, "client_ip", "198.51.100.99")  # taken back

    assert suspects_of(case) == Suspects(
        client_ips=(ATTACKER_IP,),
        sessions=(ATTACKER_SESSION,),
        users=(MEGAN,),
        apps=("00000003-0000-0000-c000-000000000000",),
        context_ids=(CONTEXT,),
        record_ids=(OPENED,),
    )
    assert not suspects_of(CaseFile())


def test_the_export_selection_is_kept_sorted_and_once() -> None:
    case = set_exported(CaseFile(), ["F-bbbbbbbbbbbb", "F-aaaaaaaaaaaa", "F-bbbbbbbbbbbb", " "])
    assert case.exported_findings == ("F-aaaaaaaaaaaa", "F-bbbbbbbbbbbb")
    assert set_exported(case, []).exported_findings == ()


# -- marks as findings -------------------------------------------------------------------------


def test_mark_findings_cite_the_record_and_say_what_was_marked() -> None:
    index = build_index({"attacker.csv": attacker_file()})
    case = toggle_mark(CaseFile(), "record", SYNCED.upper(), now=MARKED_AT)
    case = set_note(case, "record", OPENED, "Opened from the attacker's address", now=MARKED_AT)

    found = {f.title: f for f in mark_findings(case, index)}

    note = found[f"Note on record {OPENED}"]
    assert (note.kind, note.severity) == ("investigator_note", Severity.INFO)
    assert note.explanation == "Opened from the attacker's address"
    assert note.record_ids == (OPENED,)
    assert (note.mailbox, note.start) == (MEGAN, from_iso("2025-03-04T09:15:02"))
    mark = found[f"Marked record {SYNCED.upper()}"]
    assert mark.kind == "investigator_mark"
    assert mark.record_ids == (SYNCED,)  # as the evidence spells it


def test_mark_finding_ids_are_stable_across_runs_and_note_edits(tmp_path: Path) -> None:
    case = marked_case()
    save_case(case, tmp_path / "case.json", [])
    first = mark_findings(case, build_index({"attacker.csv": attacker_file()}))
    again = mark_findings(load_case(tmp_path / "case.json"), build_index({"a": attacker_file()}))
    edited = set_note(case, "session", SESSION, "Token replay confirmed with sign-in logs")

    assert [f.id for f in first] == [f.id for f in again]
    assert [f.id for f in mark_findings(edited, build_index({"a": attacker_file()}))] == [
        f.id for f in first
    ]
    assert len({f.id for f in first}) == len(first) == 3
    assert all(f.id.startswith("F-") for f in first)


def test_unresolved_context_marks_do_not_share_an_id() -> None:
    index = build_index({"attacker.csv": attacker_file()})
    case = toggle_mark(CaseFile(), "context", "C-0000000001", now=MARKED_AT)
    case = toggle_mark(case, "context", "C-0000000002", now=MARKED_AT)

    findings = mark_findings(case, index)

    assert len({f.id for f in findings}) == 2
    assert all(f.record_ids == () for f in findings)


def test_resolve_gives_a_context_mark_its_records() -> None:
    index = build_index({"attacker.csv": attacker_file()})
    case = toggle_mark(CaseFile(), "context", CONTEXT, now=MARKED_AT)

    def resolve(kind: str, target: str) -> tuple[str, ...]:
        assert (kind, target) == ("context", CONTEXT)
        return (SYNCED, OPENED)

    (finding,) = mark_findings(case, index, resolve=resolve)
    assert finding.record_ids == tuple(sorted((SYNCED, OPENED)))
    assert finding.title == f"Marked context {CONTEXT}"


def test_a_marked_suspect_is_high_severity() -> None:
    index = build_index({"attacker.csv": attacker_file(), "owner.csv": owner_file()})
    case = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)
    case = toggle_mark(case, "record", OWNER_READ, now=MARKED_AT)
    case = toggle_mark(case, "session", SESSION, now=MARKED_AT)
    case = toggle_suspect(case, "record", OPENED)
    # The raw SessionId is what scope matches on; the session mark carries the S- id.
    case = toggle_suspect(case, "session", ATTACKER_SESSION)

    severity = {f.title: f.severity for f in mark_findings(case, index)}

    assert severity == {
        f"Marked record {OPENED}": Severity.HIGH,
        f"Marked record {OWNER_READ}": Severity.INFO,
        f"Marked session {SESSION}": Severity.HIGH,
    }


def test_marks_on_records_no_longer_in_the_evidence_are_reported_stale() -> None:
    gone = "00000000-0000-4000-8000-00000000dead"
    index = build_index({"attacker.csv": attacker_file()})
    case = toggle_mark(CaseFile(), "record", OPENED, now=MARKED_AT)
    case = set_note(case, "record", gone, "From the first export", now=MARKED_AT)
    case = toggle_mark(case, "context", CONTEXT, now=MARKED_AT)
    case = toggle_mark(case, "session", SESSION, now=MARKED_AT)

    assert [m.target_id for m in stale_marks(case, index)] == [gone]
    assert len(mark_findings(case, index)) == 4  # a stale mark still shows, never silently lost

    def resolve(kind: str, target: str) -> tuple[str, ...]:
        return (OPENED,) if kind == "session" else ()

    assert [m.target_id for m in stale_marks(case, index, resolve=resolve)] == [CONTEXT, gone]
