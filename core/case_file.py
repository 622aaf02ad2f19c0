"""The case file: the investigator's marks, notes and suspects, kept apart from the evidence.

Marks are keyed on what was marked (a record id, a context or session id, a finding id),
never on a row number: rows move when files are added, re-exported or loaded in another
order, ids do not (lnav keeps its marks the same way). The file lives in a per-user state
directory under a key derived from the evidence hashes, or wherever the investigator says,
but never in an evidence folder: writing there would alter what is being examined, and
evidence often sits on a read-only or write-blocked mount anyway.

Every operation is pure (a new CaseFile comes back), so the UI can keep the previous case for
undo and nothing half-applied is ever saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .analysis.findings import Finding, Severity, finding_id, make_finding
from .analysis.scope import Suspects
from .analysis.sessions import SESSION_KINDS, make_session_id
from .ingest.inputs import InputFile
from .normalise.times import from_iso, to_iso

if TYPE_CHECKING:
    from .index.audit_index import AuditIndex

SCHEMA_VERSION = 1

MarkKind = Literal["record", "context", "session", "finding"]
SuspectKind = Literal["client_ip", "session", "user", "app", "context", "record"]
Resolve = Callable[[str, str], tuple[str, ...]]  # (target_kind, target_id) -> record ids
Now = Callable[[], datetime]

MARK_FINDING = "investigator_mark"
NOTE_FINDING = "investigator_note"
_UNNOTED = "Marked by the investigator for review."

# A mark's own target stands in for the suspect it would be: the same ids on both sides.
_SUSPECT_KIND_OF_MARK: dict[str, str] = {
    "record": "record",
    "context": "context",
    "session": "session",
}


class CaseFileError(Exception):
    """A case file that cannot be read or written, with the file and a reason a user can act on."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"case file {path}: {reason}")
        self.path = Path(path)
        self.reason = reason


# -- the model -------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_iso(value: str | None) -> str | None:
    if value is not None:
        from_iso(value)  # ValueError becomes a ValidationError naming the field
    return value


class Evidence(_Model):
    path: str  # as loaded; informative only (the case follows the hashes, not the folder)
    sha256: str


class Mark(_Model):
    target_kind: MarkKind
    target_id: str = Field(min_length=1)
    created: str  # ISO 8601 UTC with Z
    note: str = ""
    mailbox: str = ""
    start: str | None = None  # ISO times of what was marked, so its finding shows a span
    end: str | None = None

    @field_validator("created", "start", "end")
    @classmethod
    def _is_iso_time(cls, value: str | None) -> str | None:
        return _check_iso(value)


class Suspect(_Model):
    kind: SuspectKind
    value: str = Field(min_length=1)


class CaseFile(_Model):
    schema_version: Literal[1] = 1
    evidence: tuple[Evidence, ...] = ()
    marks: tuple[Mark, ...] = ()
    suspects: tuple[Suspect, ...] = ()
    exported_findings: tuple[str, ...] = ()


def _canonical(case: CaseFile) -> CaseFile:
    """One order for everything, so equal cases are equal objects and identical bytes."""
    return case.model_copy(
        update={
            "evidence": tuple(sorted(set(case.evidence), key=lambda e: (e.path, e.sha256))),
            "marks": tuple(sorted(case.marks, key=lambda m: (m.target_kind, m.target_id))),
            "suspects": tuple(sorted(set(case.suspects), key=lambda s: (s.kind, s.value))),
            "exported_findings": tuple(sorted(set(case.exported_findings))),
        }
    )


# -- where a case lives ------------------------------------------------------------------------


def case_key(inputs: Iterable[InputFile]) -> str:
    """The case's name: hashes, not paths, so moving the evidence keeps the case and
    changing any file (or adding one) starts a new case."""
    digests = sorted({i.sha256.lower() for i in inputs})
    return hashlib.sha256("\n".join(digests).encode("ascii", "replace")).hexdigest()


def _state_homes() -> list[Path]:
    homes = []
    xdg = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    if xdg and Path(xdg).is_absolute():
        homes.append(Path(xdg))
    homes.append(Path.home() / ".local" / "state")
    return homes


def default_case_path(inputs: Sequence[InputFile]) -> Path:
    """`$XDG_STATE_HOME/ualscope/cases/<case_key>.json`, else `~/.local/state/...`.

    A state home that lies inside an evidence folder is skipped; if every candidate does,
    the investigator has to choose a location, and the error says so.
    """
    name = f"{case_key(inputs)}.json"
    evidence = [i.path for i in inputs]
    for home in _state_homes():
        candidate = home / "ualscope" / "cases" / name
        if _evidence_holding(candidate, evidence) is None:
            return candidate
    raise CaseFileError(
        _state_homes()[-1] / "ualscope" / "cases" / name,
        "every per-user state directory lies inside an evidence folder; "
        "choose a case file location outside the evidence",
    )


def _folder_of(evidence: Path) -> Path:
    return evidence if evidence.is_dir() else evidence.parent


def _evidence_holding(path: Path, evidence_paths: Iterable[str | os.PathLike[str]]) -> Path | None:
    """The evidence folder (or file) `path` would write into, after symlinks; None if none."""
    target = path.expanduser().resolve()
    for given in evidence_paths:
        evidence = Path(given).expanduser().resolve()
        folder = _folder_of(evidence)
        if target.is_relative_to(folder):  # the evidence file itself, or anything beside it
            return folder
    return None


# -- reading and writing -----------------------------------------------------------------------


def _validation_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "top level"
    more = error.error_count() - 1
    extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {first['msg']}{extra}"


def load_case(path: Path) -> CaseFile:
    """The case saved at `path`; an empty case when there is none yet."""
    path = path.expanduser()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CaseFile()
    except OSError as error:
        raise CaseFileError(path, f"cannot be read ({error.strerror or error})") from error
    try:
        # utf-8-sig: a case file touched up in Notepad gains a BOM and is still the same case.
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise CaseFileError(path, f"not UTF-8 text (byte {error.start})") from error
    except json.JSONDecodeError as error:
        reason = f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        raise CaseFileError(path, reason) from error
    if isinstance(data, dict) and data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        reason = (
            f"schema_version {data['schema_version']!r}; "
            f"this ualscope reads version {SCHEMA_VERSION}"
        )
        raise CaseFileError(path, reason)
    try:
        return _canonical(CaseFile.model_validate(data))
    except ValidationError as error:
        raise CaseFileError(path, _validation_reason(error)) from error


def case_bytes(case: CaseFile) -> bytes:
    """Deterministic JSON: sorted keys, two-space indent, canonical list order, final newline."""
    data = _canonical(case).model_dump(mode="json")
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def _make_private_dirs(folder: Path) -> None:
    # Path.mkdir(parents=True) gives missing parents the default mode, not `mode`; notes name
    # people and suspects, so every folder created here is owner-only.
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    # The temporary file sits in the same folder so os.replace is a rename on one file
    # system: a crash leaves the old case or the new one, never half of either.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_case(case: CaseFile, path: Path, evidence_paths: Iterable[str | os.PathLike[str]]) -> None:
    """Write the case to `path`, refusing any location inside an evidence folder."""
    path = path.expanduser()
    holder = _evidence_holding(path, evidence_paths)
    if holder is not None:
        raise CaseFileError(
            path,
            f"lies inside the evidence folder {holder}; "
            "a case file is never written beside the evidence",
        )
    try:
        _make_private_dirs(path.parent)
        _write_atomically(path, case_bytes(case))
    except OSError as error:
        raise CaseFileError(path, f"cannot be written ({error.strerror or error})") from error


# -- evidence --------------------------------------------------------------------------------


def with_evidence(case: CaseFile, inputs: Iterable[InputFile]) -> CaseFile:
    """The case recording which inputs it was made on."""
    evidence = tuple(Evidence(path=i.path, sha256=i.sha256) for i in inputs)
    return _canonical(case.model_copy(update={"evidence": evidence}))


def evidence_matches(case: CaseFile, inputs: Iterable[InputFile]) -> bool:
    """Whether the case was made on exactly these files (by hash); an empty case matches any."""
    if not case.evidence:
        return True
    recorded = {e.sha256.lower() for e in case.evidence}
    return recorded == {i.sha256.lower() for i in inputs}


# -- marks, notes, suspects, export selection --------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(now: Now) -> str:
    moment = now()
    if moment.tzinfo is None:
        raise ValueError("`now` must return a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mark_of(case: CaseFile, kind: MarkKind, target_id: str) -> Mark | None:
    """The mark on a target, so the UI can show it (or warn before a toggle drops a note)."""
    target_id = target_id.strip()
    for mark in case.marks:
        if mark.target_kind == kind and mark.target_id == target_id:
            return mark
    return None


def _new_mark(
    kind: MarkKind,
    target_id: str,
    note: str,
    now: Now,
    mailbox: str,
    start: int | None,
    end: int | None,
) -> Mark:
    return Mark(
        target_kind=kind,
        target_id=target_id,
        created=_stamp(now),
        note=note,
        mailbox=mailbox,
        start=None if start is None else to_iso(start),
        end=None if end is None else to_iso(end),
    )


def _with_marks(case: CaseFile, marks: Iterable[Mark]) -> CaseFile:
    return _canonical(case.model_copy(update={"marks": tuple(marks)}))


def toggle_mark(
    case: CaseFile,
    kind: MarkKind,
    target_id: str,
    *,
    now: Now = _utc_now,
    mailbox: str = "",
    start: int | None = None,
    end: int | None = None,
) -> CaseFile:
    """Mark the target, or unmark it (with its note) if it is marked. Times are epoch seconds."""
    target_id = target_id.strip()
    others = [m for m in case.marks if (m.target_kind, m.target_id) != (kind, target_id)]
    if len(others) < len(case.marks):
        return _with_marks(case, others)
    return _with_marks(case, [*others, _new_mark(kind, target_id, "", now, mailbox, start, end)])


def set_note(
    case: CaseFile,
    kind: MarkKind,
    target_id: str,
    text: str,
    *,
    now: Now = _utc_now,
    mailbox: str = "",
    start: int | None = None,
    end: int | None = None,
) -> CaseFile:
    """Attach (or replace) the note on a target, marking it first if it is not marked.

    An empty text clears the note and keeps the mark: unmarking is `toggle_mark`'s job.
    """
    target_id = target_id.strip()
    existing = mark_of(case, kind, target_id)
    others = [m for m in case.marks if m is not existing]
    if existing is None:
        updated = _new_mark(kind, target_id, text, now, mailbox, start, end)
    else:
        updated = existing.model_copy(update={"note": text})
    return _with_marks(case, [*others, updated])


def toggle_suspect(case: CaseFile, kind: SuspectKind, value: str) -> CaseFile:
    """Name a value as the attacker's, or take it back."""
    suspect = Suspect(kind=kind, value=value.strip())
    others = tuple(s for s in case.suspects if s != suspect)
    chosen = others if len(others) < len(case.suspects) else (*others, suspect)
    return _canonical(case.model_copy(update={"suspects": chosen}))


def set_exported(case: CaseFile, finding_ids: Iterable[str]) -> CaseFile:
    """The findings the investigator selected for export (replaces the previous selection)."""
    chosen = tuple(f.strip() for f in finding_ids if f.strip())
    return _canonical(case.model_copy(update={"exported_findings": chosen}))


def suspects_of(case: CaseFile) -> Suspects:
    """The case's suspects in the shape scope_of_compromise takes."""

    def values(kind: str) -> tuple[str, ...]:
        return tuple(s.value for s in case.suspects if s.kind == kind)

    return Suspects(
        client_ips=values("client_ip"),
        sessions=values("session"),
        users=values("user"),
        apps=values("app"),
        context_ids=values("context"),
        record_ids=values("record"),
    )


# -- marks as findings -------------------------------------------------------------------------


def _suspect_targets(case: CaseFile) -> set[tuple[str, str]]:
    """(mark kind, casefolded id) pairs that name a suspect."""
    targets: set[tuple[str, str]] = {
        (s.kind, s.value.casefold()) for s in case.suspects if s.kind != "session"
    }
    for suspect in case.suspects:
        if suspect.kind != "session":
            continue
        # A suspect session is a raw SessionId / AADSessionId / UniqueTokenId (what the index
        # matches on) or the S- id the sessions pane shows; a session mark carries the S- id.
        targets.add(("session", suspect.value.casefold()))
        for kind, _column in SESSION_KINDS:
            targets.add(("session", make_session_id(kind, suspect.value).casefold()))
    return targets


def _mark_finding_id(mark: Mark) -> str:
    # Keyed on the target alone: editing the note, resolving a context's records later or
    # recording a span must not change the id, or the finding would drop out of
    # exported_findings. make_finding's content id would also collide for two unresolved
    # context marks (same kind, no mailbox, no span, no records).
    return finding_id(MARK_FINDING, "", None, None, (f"{mark.target_kind}:{mark.target_id}",))


def _span(mark: Mark) -> tuple[int | None, int | None]:
    start = None if mark.start is None else from_iso(mark.start)
    end = None if mark.end is None else from_iso(mark.end)
    return start, (start if end is None else end)


def _mark_finding(mark: Mark, index: AuditIndex, suspect: bool, resolve: Resolve | None) -> Finding:
    noted = bool(mark.note.strip())
    mailbox = mark.mailbox
    start, end = _span(mark)
    record_ids: tuple[str, ...] = ()
    if mark.target_kind == "record":
        row = index.row_of(mark.target_id)
        record_ids = (mark.target_id if row is None else index.record_id(row),)
        if row is not None:
            # The record itself says where and when, if the mark did not.
            mailbox = mailbox or index.text("mailbox", row)
            start = int(index.time[row]) if start is None else start
            end = start if end is None else end
    elif resolve is not None:
        record_ids = resolve(mark.target_kind, mark.target_id)
    title = (
        f"Note on {mark.target_kind} {mark.target_id}"
        if noted
        else f"Marked {mark.target_kind} {mark.target_id}"
    )
    finding = make_finding(
        NOTE_FINDING if noted else MARK_FINDING,
        Severity.HIGH if suspect else Severity.INFO,
        title,
        mark.note if noted else _UNNOTED,
        mailbox=mailbox,
        start=start,
        end=end,
        record_ids=record_ids,
    )
    return replace(finding, id=_mark_finding_id(mark))


def mark_findings(
    case: CaseFile, index: AuditIndex, *, resolve: Resolve | None = None
) -> list[Finding]:
    """Each mark and note as a finding: INFO, or HIGH when the marked target is a suspect.

    `resolve(kind, id)` gives the record ids of a context, session or finding mark; without
    it those findings cite no records.
    """
    suspects = _suspect_targets(case)
    findings = []
    for mark in case.marks:
        suspect_kind = _SUSPECT_KIND_OF_MARK.get(mark.target_kind)
        suspect = (suspect_kind, mark.target_id.casefold()) in suspects
        findings.append(_mark_finding(mark, index, suspect, resolve))
    return findings


def stale_marks(
    case: CaseFile, index: AuditIndex, *, resolve: Resolve | None = None
) -> tuple[Mark, ...]:
    """Marks whose target is not in this evidence (it changed), to be shown, never dropped.

    Record marks are checked against the index; with `resolve`, a context or session mark
    that resolves to no record is stale too.
    """
    stale = []
    for mark in case.marks:
        if mark.target_kind == "record":
            missing = index.row_of(mark.target_id) is None
        elif resolve is not None and mark.target_kind in ("context", "session"):
            missing = not resolve(mark.target_kind, mark.target_id)
        else:
            missing = False
        if missing:
            stale.append(mark)
    return tuple(stale)
