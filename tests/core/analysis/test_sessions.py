"""Sessions: every record grouped by SessionId, else AADSessionId, else UniqueTokenId."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from factories import MAPI, REST, bind, build_index, mailbox_record, send_as, sync

from ualscope.core.analysis.findings import Severity
from ualscope.core.analysis.sessions import (
    records_without_session,
    session_findings,
    session_timeline,
    sessions,
)
from ualscope.core.index.merge import merge_parts
from ualscope.core.index.part import PartBuilder
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.normalise.record import FileNormaliser
from ualscope.core.normalise.times import from_iso

MEGAN = "megan.bowen@fabrikam.example"
ADELE = "adele.vance@fabrikam.example"
OWNER_IP = "198.51.100.14"
ATTACKER_IP = "203.0.113.45"
SESSION = "11111111-aaaa-4000-8000-000000000001"
OTHER_SESSION = "22222222-bbbb-4000-8000-000000000002"
GRAPH = "00000003-0000-0000-c000-000000000000"


def rest_bind(when: str, message: str, **kwargs: Any) -> dict[str, Any]:
    """A Graph read: no SessionId, Microsoft-side IPv6 address, app ids (formats.md 3.2)."""
    kwargs.setdefault("ip", "2001:db8:1026:c09::5")
    return bind(when, [(message, "\\Inbox")], client=REST, session=None, AppId=GRAPH, **kwargs)


def test_same_session_from_two_addresses_is_flagged_with_where_each_first_appears() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<a@f>", "\\Inbox")], record_id="owner-read"),
                bind(
                    "2024-03-04T09:10:00",
                    [("<b@f>", "\\Inbox")],
                    ip=ATTACKER_IP,
                    record_id="replay",
                ),
                bind("2024-03-04T09:20:00", [("<c@f>", "\\Inbox")], record_id="owner-again"),
                mailbox_record(
                    "New-InboxRule", "2024-03-04T09:25:00", ip=ATTACKER_IP, record_id="rule"
                ),
            ]
        }
    )

    (session,) = sessions(index)

    assert (session.kind, session.key) == ("SessionId", SESSION)
    assert session.client_ips == (OWNER_IP, ATTACKER_IP)
    assert session.multi_address
    assert session.hints == (
        f"seen from 2 client addresses: {OWNER_IP}, {ATTACKER_IP} (token or session replay?)",
    )
    (finding,) = session_findings(index, [session])
    assert finding.kind == "session_many_addresses"
    assert finding.severity is Severity.MEDIUM
    assert finding.record_ids == ("owner-read", "replay")
    assert finding.mailbox == MEGAN
    assert (finding.start, finding.end) == (
        from_iso("2024-03-04T09:00:00"),
        from_iso("2024-03-04T09:25:00"),
    )
    assert SESSION in finding.title and "2 client addresses" in finding.title
    assert f"{ATTACKER_IP} first in record replay at 2024-03-04T09:10:00Z" in finding.explanation
    assert "replayed" in finding.explanation


def test_one_address_with_two_sessions_is_two_ordinary_sessions() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<a@f>", "\\Inbox")]),
                bind("2024-03-04T09:05:00", [("<b@f>", "\\Inbox")], session=OTHER_SESSION),
                bind("2024-03-04T09:10:00", [("<c@f>", "\\Inbox")]),
            ]
        }
    )

    first, second = sessions(index)

    assert (first.key, first.rows.tolist()) == (SESSION, [0, 2])
    assert (second.key, second.rows.tolist()) == (OTHER_SESSION, [1])
    assert first.client_ips == second.client_ips == (OWNER_IP,)
    assert not first.multi_address and first.hints == ()
    assert session_findings(index, [first, second]) == []


def test_rest_records_without_session_id_fall_back_to_the_entra_session() -> None:
    index = build_index(
        {
            "graph.json": [
                rest_bind(
                    "2024-03-04T09:00:00",
                    "<a@f>",
                    ClientAppId="13937bba-652e-4c46-b222-3003f4d1ff97",
                    AppAccessContext={"AADSessionId": "aad-0001", "UniqueTokenId": "tokA"},
                ),
                rest_bind(
                    "2024-03-04T09:03:00",
                    "<b@f>",
                    AppAccessContext={"AADSessionId": "aad-0001", "UniqueTokenId": "tokB"},
                ),
            ]
        }
    )

    (session,) = sessions(index)

    assert session.kind == "AADSessionId"
    assert session.key == "aad-0001"
    assert session.records == 2
    assert session.apps == (GRAPH, "13937bba-652e-4c46-b222-3003f4d1ff97")
    assert session.client_families == ("REST",)
    assert re.fullmatch(r"S-[0-9a-f]{10}", session.id)


def test_a_record_with_only_a_token_is_keyed_by_it_and_tokens_keep_their_case() -> None:
    index = build_index(
        {
            "graph.json": [
                rest_bind(
                    "2024-03-04T09:00:00", "<a@f>", AppAccessContext={"UniqueTokenId": "LqVz"}
                ),
                rest_bind(
                    "2024-03-04T09:01:00", "<b@f>", AppAccessContext={"UniqueTokenId": "lqvz"}
                ),
            ]
        }
    )

    found = sessions(index)

    assert [(s.kind, s.key) for s in found] == [
        ("UniqueTokenId", "LqVz"),
        ("UniqueTokenId", "lqvz"),
    ]
    assert found[0].id != found[1].id


def test_session_id_guids_match_in_any_case_and_keep_the_first_spelling() -> None:
    upper = SESSION.upper()
    index = build_index(
        {
            "graph.json": [bind("2024-03-04T09:00:00", [("<a@f>", "\\Inbox")], session=upper)],
            "purview.csv": [bind("2024-03-04T09:01:00", [("<b@f>", "\\Inbox")])],
        }
    )
    reloaded = build_index({"purview.csv": [bind("2024-03-04T09:01:00", [("<b@f>", "\\Inbox")])]})

    (session,) = sessions(index)
    (alone,) = sessions(reloaded)

    assert session.key == upper
    assert session.records == 2
    # The id ignores the case of a GUID, so the session keeps its id whichever spelling came first.
    assert session.id == alone.id


def test_the_same_value_as_session_id_and_as_aad_session_id_are_two_sessions() -> None:
    index = build_index(
        {
            "mixed.json": [
                bind("2024-03-04T09:00:00", [("<a@f>", "\\Inbox")]),
                rest_bind(
                    "2024-03-04T09:01:00", "<b@f>", AppAccessContext={"AADSessionId": SESSION}
                ),
            ]
        }
    )

    found = sessions(index)

    assert [(s.kind, s.key) for s in found] == [("SessionId", SESSION), ("AADSessionId", SESSION)]


def test_records_with_no_session_at_all_are_counted_not_grouped() -> None:
    index = build_index(
        {
            "purview.csv": [
                mailbox_record("Set-Mailbox", "2024-03-04T09:00:00", session=None, record_type=1),
                bind("2024-03-04T09:01:00", [("<a@f>", "\\Inbox")]),
                mailbox_record("UpdateInboxRules", "2024-03-04T09:02:00", session=None),
            ]
        }
    )

    (session,) = sessions(index)

    assert session.rows.tolist() == [1]
    assert records_without_session(index) == 2
    assert records_without_session(index, rows=np.array([0, 1])) == 1


def test_a_session_spans_every_operation_and_lists_what_it_saw() -> None:
    aad = {"AADSessionId": "aad-7", "UniqueTokenId": "tok"}
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<a@f>", "\\Inbox")], AppAccessContext=aad),
                bind("2024-03-04T09:01:00", [("<b@f>", "\\Inbox")], mailbox=ADELE, logon_type=2),
                sync("2024-03-04T09:02:00", "Inbox", session=SESSION),
                mailbox_record("UpdateInboxRules", "2024-03-04T09:03:00"),
                send_as(
                    "2024-03-04T09:04:00",
                    user=MEGAN,
                    owner=MEGAN,
                    send_as_smtp=ADELE,
                    session=SESSION,
                ),
                mailbox_record("MoveToDeletedItems", "2024-03-04T09:05:00"),
            ]
        }
    )

    (session,) = sessions(index)

    assert session.operations == (
        ("MailItemsAccessed", 3),
        ("MoveToDeletedItems", 1),
        ("SendAs", 1),
        ("UpdateInboxRules", 1),
    )
    assert session.mailboxes == (MEGAN, ADELE)
    assert session.users == (MEGAN,)
    assert session.clients == ("Client=OWA;Action=ViaProxy", MAPI)
    assert session.client_families == ("OWA", "MAPI")
    assert session.aad_session_ids == ("aad-7",)  # the link to the Entra sign-in logs
    assert session.hints == ("seen from 2 client families: OWA, MAPI",)
    assert not session.multi_address
    (finding,) = session_findings(index, [session])
    assert "2 client families" in finding.title
    assert "MAPI first in record" in finding.explanation
    assert finding.record_ids == tuple(sorted((index.record_id(0), index.record_id(2))))
    assert session_timeline(index, session) == [0, 1, 2, 3, 4, 5]


def test_mailbox_filter_ignores_case_and_keeps_only_that_mailboxs_records() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<a@f>", "\\Inbox")]),
                bind(
                    "2024-03-04T09:01:00", [("<b@f>", "\\Inbox")], user=ADELE, session=OTHER_SESSION
                ),
                bind("2024-03-04T09:02:00", [("<c@f>", "\\Inbox")], mailbox=ADELE, ip=ATTACKER_IP),
            ]
        }
    )

    found = sessions(index, mailbox="ADELE.Vance@FABRIKAM.example")

    assert [(s.key, s.rows.tolist()) for s in found] == [(OTHER_SESSION, [1]), (SESSION, [2])]
    # Seen only through Adele's mailbox, Megan's session has one address: no replay hint.
    assert not found[1].multi_address
    assert sessions(index)[0].multi_address


def test_sessions_are_ordered_by_first_time_then_id() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<a@f>", "\\Inbox")], session="c-session"),
                bind("2024-03-04T09:00:00", [("<b@f>", "\\Inbox")], session="a-session"),
                bind("2024-03-04T08:00:00", [("<c@f>", "\\Inbox")], session="b-session"),
            ]
        }
    )

    found = sessions(index)

    assert found[0].key == "b-session"
    assert [s.id for s in found[1:]] == sorted(s.id for s in found[1:])
    assert sessions(build_index({"empty.csv": []})) == []


def test_generated_50000_record_case_gives_well_formed_sessions() -> None:
    normaliser = FileNormaliser()
    templates = [
        normaliser.normalise(raw, None)
        for raw in (
            bind("2024-03-04T09:00:00", [("<t@f>", "\\Inbox")]),
            sync("2024-03-04T09:00:00", "Inbox"),
            rest_bind("2024-03-04T09:00:00", "<t@f>", AppAccessContext={"AADSessionId": "aad"}),
            mailbox_record("UpdateInboxRules", "2024-03-04T09:00:00", session=None),
            bind("2024-03-04T09:00:00", [("<t@f>", "\\Inbox")], ip=ATTACKER_IP),
        )
    ]
    builder = PartBuilder(0)
    start = from_iso("2024-03-01T00:00:00")
    for i in range(50_000):
        template = templates[i % 5]
        mailbox = f"user{(i // 5) % 100:03d}@fabrikam.example"
        # One SessionId per mailbox; the fifth template replays it from the attacker's address.
        record = template._replace(
            record_id=f"00000000-0000-4000-9000-{i:012d}",
            time=start + i,
            mailbox=mailbox,
            user_id=mailbox,
            session_id=f"session-{mailbox}" if template.session_id else "",
            aad_session_id=f"aad-{mailbox}" if template.aad_session_id else "",
        )
        builder.add(record, i + 2, i * 1000, 999)
    index = merge_parts([builder.finish(50_000)], [InputFile(path="generated.csv", size=0)])

    found = sessions(index)

    kinds = sorted({(s.kind, len(s.client_ips)) for s in found})
    assert kinds == [("AADSessionId", 1), ("SessionId", 2)]
    assert len(found) == 200  # 100 mailboxes x (SessionId, AADSessionId)
    assert sum(s.records for s in found) == 40_000
    assert records_without_session(index) == 10_000
    assert [(s.first, s.id) for s in found] == sorted((s.first, s.id) for s in found)
    findings = session_findings(index, found)
    assert len(findings) == 100
    assert {f.kind for f in findings} == {"session_many_addresses"}
    for session in found:
        timeline = session_timeline(index, session)
        assert timeline == sorted(timeline)
        assert len(timeline) == session.records
