"""The case report's schema (JSON `schema_version` 1), documented in docs/report.md.

Every time is ISO 8601 UTC with `Z`. Lists are ordered deterministically (time, then ids),
so identical inputs and options give byte-identical output. A test checks that every field
here is described in docs/report.md and nothing there is missing here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .inputs_schema import Count, InputSummary, RecordsSummary, SkippedPath

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tool(_Model):
    name: str
    version: str
    command: str  # the command line that reproduces this report


class Window(_Model):
    start: str | None  # the investigation window, inclusive
    end: str | None  # exclusive
    mailboxes: list[str]  # the mailboxes asked about; empty means all


class TimeRange(_Model):
    value: str  # the mailbox or the operation
    first: str
    last: str
    records: int


class Gap(_Model):
    kind: str  # known_outage, throttled, truncated_file, bind_without_items, silence
    start: str
    end: str  # exclusive
    operations: list[str]  # operations the gap blinds; empty means every operation
    mailbox: str  # "" when the gap concerns every mailbox
    source: str
    detail: str
    record_ids: list[str]


class CoverageSection(_Model):
    ranges_by_mailbox: list[TimeRange]
    ranges_by_operation: list[TimeRange]
    gaps: list[Gap]


class ThrottledWindowOut(_Model):
    mailbox: str
    start: str
    end: str
    record_id: str
    extends_past_data: bool


class SessionOut(_Model):
    id: str
    kind: str  # SessionId, AADSessionId or UniqueTokenId
    key: str
    first: str
    last: str
    records: int
    mailboxes: list[str]
    users: list[str]
    client_ips: list[str]
    clients: list[str]
    apps: list[str]
    operations: list[Count]
    aad_session_ids: list[str]
    hints: list[str]
    suspect: bool


class ContextOut(_Model):
    id: str
    mailbox: str
    user_id: str
    client_ip: str
    client_info: str
    client_family: str
    session_id: str
    logon_type: int
    access_type: str
    folder: str
    records: int
    binds: int
    syncs: int
    messages: int
    first: str
    last: str
    suspect: bool


class Suspect(_Model):
    kind: str
    value: str


class BoundMessageOut(_Model):
    internet_message_id: str
    folder: str
    mailbox: str
    record_ids: list[str]
    first_access: str


class SyncedFolderOut(_Model):
    mailbox: str
    folder: str
    record_id: str
    time: str


class AttackerOperationOut(_Model):
    time: str
    operation: str
    mailbox: str
    client_ip: str
    detail: str
    record_id: str


class OutageOut(_Model):
    start: str
    end: str
    operations: list[str]
    source: str
    description: str


class ScopeSection(_Model):
    suspects: list[Suspect]
    records: int
    mailboxes: list[str]
    first_activity: str | None
    last_activity: str | None
    bound_messages: list[BoundMessageOut]
    synced_folders: list[SyncedFolderOut]
    throttled_windows: list[ThrottledWindowOut]
    outages: list[OutageOut]
    other_operations: list[AttackerOperationOut]


class SendAsOut(_Model):
    record_id: str
    time: str
    operation: str
    user_id: str
    mailbox_owner_upn: str
    target_smtp: str
    client_info_string: str
    client_family: str
    logon_type: int
    subject: str
    classification: str
    reason: str


class FindingOut(_Model):
    id: str
    kind: str
    severity: str
    title: str
    explanation: str
    mailbox: str
    start: str | None
    end: str | None
    record_ids: list[str]


class CaseReport(_Model):
    schema_version: int
    tool: Tool
    inputs: list[InputSummary]
    skipped: list[SkippedPath]
    records: RecordsSummary
    window: Window
    coverage: CoverageSection
    throttled_windows: list[ThrottledWindowOut]
    sessions: list[SessionOut]
    contexts: list[ContextOut]
    scope: ScopeSection | None
    send_as: list[SendAsOut]
    findings: list[FindingOut]
