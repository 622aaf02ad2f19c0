"""The analyses on the bundled sample case, against the generator's ground truth.

samples/make_case.py knows what the fictional attacker did and writes it to
samples/case-expected.json; the analyses here work only from the exported files, in nine
shapes, with duplicates and malformed rows. Agreement is the proof that loading and
analysis together answer the case's questions.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from conftest import ROOT, SAMPLE_CASE

from ualscope.core.analysis.coverage import GapKind, coverage
from ualscope.core.analysis.scope import Suspects, scope_of_compromise
from ualscope.core.analysis.send_as import classify_sends
from ualscope.core.analysis.sessions import sessions
from ualscope.core.analysis.throttling import throttled_windows
from ualscope.core.index.audit_index import normalise_message_id
from ualscope.core.ingest.loader import LoadResult, load
from ualscope.core.normalise.times import to_iso


@cache
def loaded() -> LoadResult:
    return load([SAMPLE_CASE], workers=1)


@cache
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "samples" / "case-expected.json").read_text())
    return data


def attacker_suspects() -> Suspects:
    attacker = expected()["attacker"]
    return Suspects(
        client_ips=tuple(attacker["client_addresses"]),
        sessions=tuple(attacker["session_ids"]),
        apps=(attacker["app_id"],),
    )


def test_every_record_is_kept_once_and_every_malformed_row_is_reported() -> None:
    result = loaded()
    truth = expected()["records"]
    # "unique" already leaves out the two records broken beyond recovery.
    assert len(result.index) == truth["unique"]
    assert truth["generated"] - len(expected()["unrecoverable_record_ids"]) == truth["unique"]
    rows_read = sum(f.data_rows for f in result.files)
    kept_or_duplicate = len(result.index) + result.duplicates
    assert rows_read == kept_or_duplicate + result.rejected
    broken = {(m["file"], m["line"]) for m in expected()["malformed_rows"] if not m["recoverable"]}
    reported = {
        (info.path.split("case/", 1)[1], r.line) for info in result.files for r in info.rejections
    }
    assert reported == broken


def test_the_attackers_scope_matches_the_ground_truth() -> None:
    scope = scope_of_compromise(loaded().index, attacker_suspects())
    attacker = expected()["attacker"]
    assert to_iso(scope.first_activity or 0) == attacker["first_activity"]
    assert to_iso(scope.last_activity or 0) == attacker["last_activity"]
    truth = {
        (normalise_message_id(m["InternetMessageId"]), m["Folder"])
        for m in expected()["attacker_bound_messages"]
    }
    found = {(normalise_message_id(m.internet_message_id), m.folder) for m in scope.bound_messages}
    assert found == truth
    assert len(found) == expected()["attacker_bound_message_count"]
    synced = [(s.record_id, s.folder) for s in scope.synced_folders]
    assert synced == [
        (s["record_id"], s["folder_name"]) for s in expected()["attacker_synced_folders"]
    ]
    operations = {op.record_id for op in scope.other_operations}
    rule = expected()["inbox_rule"]
    sent = expected()["attacker_sent_message"]
    assert {
        rule["new_inbox_rule_record_id"],
        sent["send_record_id"],
        sent["hard_delete_record_id"],
    } <= operations


def test_the_throttled_window_is_found_and_overlaps_the_attack() -> None:
    truth = expected()["throttling"]
    windows = throttled_windows(loaded().index)
    assert [(w.record_id, to_iso(w.start), to_iso(w.end)) for w in windows] == [
        (truth["record_id"], truth["time"], truth["assume_compromised_until"])
    ]
    scope = scope_of_compromise(loaded().index, attacker_suspects())
    assert [w.record_id for w in scope.throttled_windows] == [truth["record_id"]]


def test_send_as_classes_match() -> None:
    by_class: dict[str, list[str]] = {}
    for send in classify_sends(loaded().index):
        by_class.setdefault(send.classification.value, []).append(send.record_id)
    truth = expected()["send_as"]
    assert {k: sorted(v) for k, v in by_class.items()} == {k: sorted(v) for k, v in truth.items()}


def test_the_outage_blinds_the_start_of_the_case_for_sends() -> None:
    gaps = [g for g in coverage(loaded().index).gaps if g.kind is GapKind.KNOWN_OUTAGE]
    assert len(gaps) == 1
    gap = gaps[0]
    assert set(gap.operations) == {"SendAs", "SendOnBehalf"}
    assert to_iso(gap.start) == to_iso(loaded().index.first_time or 0)
    assert to_iso(gap.end) == "2022-03-27T00:00:00Z"
    assert gap.record_ids == ()  # no send record can exist inside the outage


@pytest.mark.parametrize("hint", ["2 client addresses"])
def test_the_replayed_session_is_flagged(hint: str) -> None:
    replay = expected()["attacker"]["token_replay"]
    found = [s for s in sessions(loaded().index) if s.key == replay["SessionId"]]
    assert len(found) == 1
    assert found[0].multi_address
    assert sorted(found[0].client_ips) == sorted(replay["addresses"])
    assert any(hint in h for h in found[0].hints)
