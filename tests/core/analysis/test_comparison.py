"""Comparing records and contexts side by side: equal properties, and who touched which mail."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from factories import MAPI, OWA, REST, bind, build_index, send_as, sync

from ualscope.core.analysis.comparison import compare
from ualscope.core.analysis.contexts import access_contexts
from ualscope.core.index.audit_index import AuditIndex
from ualscope.core.index.merge import merge_parts
from ualscope.core.index.part import PartBuilder
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.normalise.record import FileNormaliser
from ualscope.core.normalise.times import from_iso

IP_1 = "203.0.113.1"
IP_2 = "203.0.113.2"
SESSION_2 = "22222222-0000-4000-8000-000000000002"
SESSION_3 = "33333333-0000-4000-8000-000000000003"


def message(letter: str) -> tuple[str, str]:
    return (f"<{letter}@fabrikam.example>", "\\Inbox")


def domain_example() -> AuditIndex:
    """domain.md's three records: two addresses share session 2, address 1 also has session 3."""
    return build_index(
        {
            "purview.csv": [
                bind(
                    "2024-03-04T09:00:00",
                    [message("A"), message("D"), message("E"), message("F")],
                    ip=IP_1,
                    session=SESSION_2,
                    record_id="record-1",
                ),
                bind(
                    "2024-03-04T09:01:00",
                    [message("A"), message("C")],
                    ip=IP_2,
                    session=SESSION_2,
                    record_id="record-2",
                ),
                bind(
                    "2024-03-04T09:02:00",
                    [message("B")],
                    ip=IP_1,
                    session=SESSION_3,
                    record_id="record-3",
                ),
            ]
        }
    )


def test_domain_three_record_example_properties() -> None:
    comparison = compare(domain_example(), [0, 1, 2])

    assert comparison.columns == ("record 1 record-1", "record 2 record-2", "record 3 record-3")
    address = comparison.field("ClientIPAddress")
    assert address.values == (IP_1, IP_2, IP_1)
    assert not address.equal
    assert not address.equal_between(0, 1)
    assert address.equal_between(0, 2)
    session = comparison.field("SessionId")
    assert session.values == (SESSION_2, SESSION_2, SESSION_3)
    assert session.equal_between(0, 1)
    assert not session.equal_between(0, 2)
    assert not session.equal
    # Everything else in the context is the same for all three.
    equal = [f.name for f in comparison.fields if f.equal]
    assert equal == [
        "ClientInfoString",
        "ParentFolder",
        "LogonType",
        "MailAccessType",
        "MailboxUPN",
        "UserId",
        "Client family",
        "AADSessionId",
        "AppId",
    ]
    assert comparison.field("Time span").values == (
        "2024-03-04T09:00:00Z",
        "2024-03-04T09:01:00Z",
        "2024-03-04T09:02:00Z",
    )


def test_domain_three_record_example_messages() -> None:
    comparison = compare(domain_example(), [0, 1, 2])

    table = {m.message_id: m.touched for m in comparison.messages}
    assert table == {
        "a@fabrikam.example": (True, True, False),
        "d@fabrikam.example": (True, False, False),
        "e@fabrikam.example": (True, False, False),
        "f@fabrikam.example": (True, False, False),
        "c@fabrikam.example": (False, True, False),
        "b@fabrikam.example": (False, False, True),
    }
    # First access time, then id: A, D, E, F at 09:00, C at 09:01, B at 09:02.
    assert [m.shown for m in comparison.messages] == [
        "<A@fabrikam.example>",
        "<D@fabrikam.example>",
        "<E@fabrikam.example>",
        "<F@fabrikam.example>",
        "<C@fabrikam.example>",
        "<B@fabrikam.example>",
    ]
    assert comparison.messages[-1].first == from_iso("2024-03-04T09:02:00")
    assert comparison.common == ()
    assert comparison.only == (
        ("d@fabrikam.example", "e@fabrikam.example", "f@fabrikam.example"),
        ("c@fabrikam.example",),
        ("b@fabrikam.example",),
    )
    assert comparison.overlap == {
        (0, 1): ("a@fabrikam.example",),
        (0, 2): (),
        (1, 2): (),
    }


def test_two_records_sharing_a_message_have_it_in_common() -> None:
    comparison = compare(domain_example(), [0, 1])

    assert comparison.common == ("a@fabrikam.example",)
    assert comparison.overlap == {(0, 1): ("a@fabrikam.example",)}
    assert comparison.only[1] == ("c@fabrikam.example",)
    assert comparison.field("SessionId").equal


def test_owner_and_attacker_contexts_differ_in_address_and_session_only() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [message("inbox-1"), message("invoice")]),
                bind(
                    "2024-03-04T09:00:20",
                    [message("invoice"), message("payroll")],
                    ip=IP_2,
                    session=SESSION_3,
                ),
                bind("2024-03-04T09:30:00", [message("inbox-2")]),
            ]
        }
    )
    owner, attacker = access_contexts(index)

    comparison = compare(index, [owner, attacker])

    assert comparison.columns == (f"context 1 {owner.id}", f"context 2 {attacker.id}")
    assert [f.name for f in comparison.fields if not f.equal] == [
        "ClientIPAddress",
        "SessionId",
        "Time span",
    ]
    assert comparison.field("Time span").values[0] == "2024-03-04T09:00:00Z – 2024-03-04T09:30:00Z"
    assert comparison.field("LogonType").values == ("0 (Owner)", "0 (Owner)")
    assert comparison.common == ("invoice@fabrikam.example",)
    assert comparison.only == (
        ("inbox-1@fabrikam.example", "inbox-2@fabrikam.example"),
        ("payroll@fabrikam.example",),
    )


def test_a_record_and_a_context_compare_together() -> None:
    index = build_index(
        {
            "purview.csv": [
                sync("2024-03-04T08:59:00", "Inbox"),
                bind("2024-03-04T09:00:00", [message("A")], client=MAPI),
            ]
        }
    )
    synced = next(c for c in access_contexts(index) if c.access_type == "Sync")

    comparison = compare(index, [1, synced])

    assert comparison.columns == ("record 1 " + index.record_id(1), f"context 2 {synced.id}")
    assert comparison.field("MailAccessType").values == ("Bind", "Sync")
    # The Sync names its folder `Inbox` where the Bind says `\Inbox`: shown as recorded.
    assert comparison.field("ParentFolder").values == ("\\Inbox", "Inbox")
    assert comparison.field("Client family").equal
    # A Sync lists no messages: the whole folder is exposed, not a message list.
    assert comparison.only == (("a@fabrikam.example",), ())


def test_message_shows_its_first_recorded_spelling_and_matches_any_spelling() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<Quote-7@Contoso.example>", "\\Inbox")]),
                bind("2024-03-04T09:05:00", [("quote-7@contoso.EXAMPLE", "\\Inbox")], ip=IP_2),
            ]
        }
    )

    (compared,) = compare(index, [1, 0]).messages

    assert compared.message_id == "quote-7@contoso.example"
    assert compared.shown == "<Quote-7@Contoso.example>"
    assert compared.first == from_iso("2024-03-04T09:00:00")
    assert compared.touched == (True, True)


def test_guids_and_upns_compare_in_any_case_but_client_strings_exactly() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [message("A")], session=SESSION_2.upper()),
                bind(
                    "2024-03-04T09:00:00",
                    [message("A")],
                    session=SESSION_2,
                    user="Megan.Bowen@fabrikam.example",
                    client=OWA.lower(),
                ),
            ]
        }
    )

    comparison = compare(index, [0, 1])

    assert comparison.field("SessionId").equal
    assert comparison.field("UserId").equal
    assert not comparison.field("ClientInfoString").equal


def test_fields_that_vary_inside_a_context_are_listed() -> None:
    def rest_bind(when: str, aad: str, app: str) -> dict[str, Any]:
        return bind(
            when,
            [message(when[-2:])],
            client=REST,
            session=None,
            AppId=app,
            AppAccessContext={"AADSessionId": aad},
        )

    index = build_index(
        {
            "graph.json": [
                rest_bind("2024-03-04T09:00:10", "aad-2", "app-b"),
                rest_bind("2024-03-04T09:00:20", "aad-1", "app-a"),
                bind("2024-03-04T09:00:30", [message("owa")]),
            ]
        }
    )
    rest = next(c for c in access_contexts(index) if c.client_family == "REST")

    comparison = compare(index, [rest, 2])

    assert comparison.field("AADSessionId").values == ("aad-1, aad-2", "")
    assert comparison.field("AppId").values == ("app-a, app-b", "")
    assert comparison.field("SessionId").values == ("", "11111111-aaaa-4000-8000-000000000001")


def test_non_mailitemsaccessed_records_compare_by_their_own_item() -> None:
    index = build_index(
        {
            "purview.csv": [
                send_as(
                    "2024-03-04T09:00:00",
                    user="adele.vance@fabrikam.example",
                    send_as_smtp="megan.bowen@fabrikam.example",
                ),
                bind("2024-03-04T09:01:00", [message("A")]),
            ]
        }
    )

    comparison = compare(index, [0, 1])

    assert comparison.field("MailAccessType").values == ("", "Bind")
    sent = comparison.messages[0]
    assert sent.touched == (True, False)
    assert sent.shown.endswith("@fabrikam.example>")


@pytest.mark.parametrize("selections", [[], [0]])
def test_fewer_than_two_selections_is_an_error(selections: list[Any]) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        compare(domain_example(), selections)


@pytest.mark.parametrize("row", [3, -1])
def test_a_row_outside_the_case_is_an_error(row: int) -> None:
    with pytest.raises(ValueError, match="not a record row"):
        compare(domain_example(), [0, row])


def test_comparing_large_contexts_of_a_generated_50000_record_case() -> None:
    normaliser = FileNormaliser()
    owner = normaliser.normalise(bind("2024-03-04T09:00:00", [message("t")]), None)
    attacker = normaliser.normalise(
        bind("2024-03-04T09:00:00", [message("t")], ip=IP_2, session=SESSION_3), None
    )
    builder = PartBuilder(0)
    start = from_iso("2024-03-01T00:00:00")
    for i in range(50_000):
        template = attacker if i % 10 == 0 else owner
        # The owner reads m0..m996 over and over; every 10th record is the attacker reading
        # m0, m10, ..., m4990: 100 of those (m0..m990) the owner read too, 400 only the attacker.
        number = i % 5000 if template is attacker else i % 997
        item = template.items[0]._replace(message_id=f"<m{number}@f>")
        record = template._replace(
            record_id=f"00000000-0000-4000-9000-{i:012d}", time=start + i, items=(item,)
        )
        builder.add(record, i + 2, i * 1000, 999)
    index = merge_parts([builder.finish(50_000)], [InputFile(path="generated.csv", size=0)])
    attacker_context, owner_context = access_contexts(index)  # record 0 is the attacker's

    comparison = compare(index, [owner_context, attacker_context, 0])

    assert (owner_context.records, attacker_context.records) == (45_000, 5_000)
    assert len(comparison.messages) == 997 + 400
    assert len(comparison.overlap[(0, 1)]) == 100
    assert len(comparison.only[0]) == 897
    assert len(comparison.only[1]) == 400
    assert comparison.only[2] == ()
    # Record 0 is the attacker's first read, of m0, which the owner read as well.
    assert comparison.common == ("m0@f",)
    assert comparison.overlap[(1, 2)] == ("m0@f",)
    firsts = [(m.first, m.message_id) for m in comparison.messages]
    assert firsts == sorted(firsts)
    assert np.all(np.diff(attacker_context.rows) > 0)
