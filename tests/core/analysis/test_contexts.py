"""Access contexts: one per combination of the eight properties Exchange deduplicates on."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from factories import MAPI, OWA, REST, bind, build_index, mailbox_record, send_as, sync

from ualscope.core.analysis.contexts import (
    access_contexts,
    context_by_id,
    logon_type_text,
    make_context_id,
    normalise_folder,
)
from ualscope.core.index.merge import merge_parts
from ualscope.core.index.part import PartBuilder
from ualscope.core.ingest.inputs import InputFile
from ualscope.core.normalise.record import FileNormaliser, NormalisedRecord
from ualscope.core.normalise.times import from_iso

MEGAN = "megan.bowen@fabrikam.example"
ADELE = "adele.vance@fabrikam.example"
OWNER_IP = "198.51.100.14"
ATTACKER_IP = "203.0.113.45"
OWNER_SESSION = "11111111-aaaa-4000-8000-000000000001"
ATTACKER_SESSION = "22222222-bbbb-4000-8000-000000000002"


def sync_variant_b(when: str, folder: str, **kwargs: Any) -> dict[str, Any]:
    """A Sync written as Folders[] without FolderItems (formats.md 3.3, Variant B)."""
    kwargs.setdefault("client", MAPI)
    return mailbox_record(
        "MailItemsAccessed",
        when,
        record_type=50,
        OperationProperties=[{"Name": "MailAccessType", "Value": "Sync"}],
        Folders=[{"Id": "LgAAAA", "Path": folder}],
        **kwargs,
    )


def test_owner_and_attacker_reading_at_the_same_time_are_two_contexts() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<owner-1@fabrikam.example>", "\\Inbox")]),
                bind(
                    "2024-03-04T09:00:30",
                    [("<payroll@fabrikam.example>", "\\Inbox")],
                    ip=ATTACKER_IP,
                    session=ATTACKER_SESSION,
                ),
                bind("2024-03-04T09:01:00", [("<owner-2@fabrikam.example>", "\\Inbox")]),
            ]
        }
    )

    owner, attacker = access_contexts(index)

    assert (owner.client_ip, owner.session_id) == (OWNER_IP, OWNER_SESSION)
    assert owner.rows.tolist() == [0, 2]
    assert owner.messages == {"owner-1@fabrikam.example", "owner-2@fabrikam.example"}
    assert (attacker.client_ip, attacker.session_id) == (ATTACKER_IP, ATTACKER_SESSION)
    assert attacker.rows.tolist() == [1]
    assert attacker.messages == {"payroll@fabrikam.example"}
    # Same mailbox, user, client, folder, logon and access type: only two properties differ.
    assert owner.key_values().keys() == attacker.key_values().keys()
    differing = [
        name for name, value in owner.key_values().items() if attacker.key_values()[name] != value
    ]
    assert differing == ["ClientIPAddress", "SessionId"]
    # Value equality and hashing leave the row array out, so contexts work as keys and in sets.
    assert len({owner, attacker, access_contexts(index)[0]}) == 2


def test_one_context_collects_its_records_counts_and_message_spellings() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind(
                    "2024-03-04T09:00:00",
                    [("<A@fabrikam.example>", "\\Inbox"), ("<B@fabrikam.example>", "\\Inbox")],
                ),
                # The same message again, spelled in another case and without brackets.
                bind("2024-03-04T10:30:00", [("a@FABRIKAM.example", "\\Inbox")]),
                bind("2024-03-04T11:45:00", [("<C@fabrikam.example>", "\\Inbox")]),
            ]
        }
    )

    (context,) = access_contexts(index)

    assert context.records == 3
    assert (context.binds, context.syncs) == (3, 0)
    assert context.items == 4  # bound items, the repeated read of A included
    assert context.messages == {"a@fabrikam.example", "b@fabrikam.example", "c@fabrikam.example"}
    assert context.first == from_iso("2024-03-04T09:00:00")
    assert context.last == from_iso("2024-03-04T11:45:00")
    assert context.client_family == "OWA"
    assert context.access_type == "Bind"
    assert context.logon_type == 0
    assert context.folder == "\\Inbox"


def test_a_record_spanning_two_folders_is_one_context_keyed_by_its_first_folder() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind(
                    "2024-03-04T09:00:00",
                    [
                        ("<in@fabrikam.example>", "\\Inbox"),
                        ("<sent@fabrikam.example>", "\\Sent Items"),
                    ],
                ),
                bind("2024-03-04T09:05:00", [("<sent-2@fabrikam.example>", "\\Sent Items")]),
            ]
        }
    )

    spanning, sent_only = access_contexts(index)

    assert spanning.folder == "\\Inbox"
    assert spanning.records == 1
    # Both folders' messages belong to the one record, so to its one context.
    assert spanning.messages == {"in@fabrikam.example", "sent@fabrikam.example"}
    assert spanning.items == 2
    assert sent_only.folder == "\\Sent Items"
    assert sent_only.messages == {"sent-2@fabrikam.example"}


BASE: dict[str, Any] = {"ip": OWNER_IP, "client": OWA, "session": OWNER_SESSION}


@pytest.mark.parametrize(
    ("changed", "second"),
    [
        (
            "ClientIPAddress",
            lambda: bind("2024-03-04T09:00:01", [("<x@f>", "\\Inbox")], ip=ATTACKER_IP),
        ),
        (
            "ClientInfoString",
            lambda: bind("2024-03-04T09:00:01", [("<x@f>", "\\Inbox")], client=REST),
        ),
        ("ParentFolder", lambda: bind("2024-03-04T09:00:01", [("<x@f>", "\\Archive")])),
        ("LogonType", lambda: bind("2024-03-04T09:00:01", [("<x@f>", "\\Inbox")], logon_type=2)),
        ("MailAccessType", lambda: sync_variant_b("2024-03-04T09:00:01", "\\Inbox", client=OWA)),
        ("MailboxUPN", lambda: bind("2024-03-04T09:00:01", [("<x@f>", "\\Inbox")], mailbox=ADELE)),
        (
            "UserId",
            lambda: bind("2024-03-04T09:00:01", [("<x@f>", "\\Inbox")], user=ADELE, mailbox=MEGAN),
        ),
        (
            "SessionId",
            lambda: bind("2024-03-04T09:00:01", [("<x@f>", "\\Inbox")], session=ATTACKER_SESSION),
        ),
    ],
)
def test_each_of_the_eight_properties_alone_separates_contexts(changed: str, second: Any) -> None:
    index = build_index(
        {"purview.csv": [bind("2024-03-04T09:00:00", [("<x@f>", "\\Inbox")]), second()]}
    )

    first, other = access_contexts(index)

    differing = [n for n, v in first.key_values().items() if other.key_values()[n] != v]
    assert differing == [changed]
    assert first.id != other.id


def test_sync_folder_is_recorded_as_written_and_matches_the_bind_folder_normalised() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<x@fabrikam.example>", "\\Inbox")], client=MAPI),
                sync("2024-03-04T09:02:00", "\\Inbox"),
            ]
        }
    )

    bound, synced = access_contexts(index)

    assert (bound.folder, synced.folder) == ("\\Inbox", "Inbox")
    assert normalise_folder(bound.folder) == normalise_folder(synced.folder) == "inbox"
    assert (synced.binds, synced.syncs, synced.items) == (0, 1, 0)
    assert synced.messages == frozenset()
    assert synced.client_family == "MAPI"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("\\Inbox", "inbox"),
        ("Inbox", "inbox"),
        ("  \\\\Sent Items ", "sent items"),
        ("Boite de reception", "boite de reception"),  # anonymised data without the backslash
        ("\\Inbox\\Invoices", "inbox\\invoices"),  # only leading backslashes go
        ("", ""),
    ],
)
def test_normalise_folder(path: str, expected: str) -> None:
    assert normalise_folder(path) == expected


def test_mailbox_filter_ignores_case() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<m@f>", "\\Inbox")]),
                bind("2024-03-04T09:01:00", [("<a@f>", "\\Inbox")], user=ADELE),
            ]
        }
    )

    (megan,) = access_contexts(index, mailbox="Megan.BOWEN@Fabrikam.example")

    assert megan.mailbox == MEGAN
    assert megan.messages == {"m@f"}
    assert access_contexts(index, mailbox="nobody@fabrikam.example") == []


def test_rows_filter_keeps_only_the_given_records() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<one@f>", "\\Inbox")]),
                bind("2024-03-04T09:01:00", [("<two@f>", "\\Inbox")]),
                bind("2024-03-04T09:02:00", [("<three@f>", "\\Inbox")]),
            ]
        }
    )

    (context,) = access_contexts(index, rows=np.array([2, 0, 2]))

    assert context.rows.tolist() == [0, 2]
    assert context.messages == {"one@f", "three@f"}


def test_only_mailitemsaccessed_records_have_contexts() -> None:
    index = build_index(
        {
            "purview.csv": [
                send_as("2024-03-04T09:00:00", user=MEGAN),
                mailbox_record("UpdateInboxRules", "2024-03-04T09:01:00"),
                bind("2024-03-04T09:02:00", [("<m@f>", "\\Inbox")]),
            ]
        }
    )

    (context,) = access_contexts(index)

    assert context.rows.tolist() == [2]
    assert access_contexts(build_index({"empty.csv": []})) == []


def test_rest_context_has_no_session_but_lists_entra_sessions_and_apps() -> None:
    index = build_index(
        {
            "graph.json": [
                bind(
                    "2024-03-04T09:00:00",
                    [("<m1@f>", "\\Inbox")],
                    client=REST,
                    ip="2001:db8:1026:c09::5",
                    session=None,
                    AppId="00000003-0000-0000-c000-000000000000",
                    ClientAppId="13937bba-652e-4c46-b222-3003f4d1ff97",
                    AppAccessContext={"AADSessionId": "0b0c-aad-2", "UniqueTokenId": "tokB"},
                ),
                bind(
                    "2024-03-04T09:00:40",
                    [("<m2@f>", "\\Inbox")],
                    client=REST,
                    ip="2001:db8:1026:c09::5",
                    session=None,
                    AppId="00000003-0000-0000-c000-000000000000",
                    ClientAppId="",
                    AppAccessContext={"AADSessionId": "0a0c-aad-1", "UniqueTokenId": "tokA"},
                ),
            ]
        }
    )

    (context,) = access_contexts(index)

    assert context.session_id == ""
    assert context.client_family == "REST"
    assert context.aad_session_ids == ("0a0c-aad-1", "0b0c-aad-2")
    assert context.app_ids == (
        "00000003-0000-0000-c000-000000000000",
        "13937bba-652e-4c46-b222-3003f4d1ff97",
    )


def test_context_ids_survive_reloads_in_another_file_order() -> None:
    owner = bind("2024-03-04T09:00:00", [("<m@f>", "\\Inbox")])
    attacker = bind("2024-03-04T09:00:00", [("<p@f>", "\\Inbox")], ip=ATTACKER_IP)
    first = build_index({"a.csv": [owner], "b.csv": [attacker]})
    second = build_index(
        {"b.csv": [attacker], "a.csv": [owner], "c.csv": [sync("2024-03-04T08:00:00", "Inbox")]}
    )

    ids = {c.client_ip: c.id for c in access_contexts(first)}
    reloaded = {c.client_ip: c.id for c in access_contexts(second) if c.access_type == "Bind"}

    assert ids == reloaded
    assert all(re.fullmatch(r"C-[0-9a-f]{10}", value) for value in ids.values())
    for context in access_contexts(first):
        assert make_context_id(tuple(context.key_values().values())) == context.id
    found = context_by_id(second, ids[ATTACKER_IP].upper())
    assert found is not None
    assert found.messages == {"p@f"}
    assert context_by_id(second, "C-0000000000") is None


def test_contexts_are_ordered_by_first_time_then_id() -> None:
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", [("<m@f>", "\\Inbox")], ip="192.0.2.9"),
                bind("2024-03-04T09:00:00", [("<m@f>", "\\Inbox")], ip="192.0.2.1"),
                bind("2024-03-04T08:00:00", [("<m@f>", "\\Inbox")], ip="192.0.2.5"),
            ]
        }
    )

    found = access_contexts(index)

    assert found[0].client_ip == "192.0.2.5"
    assert [c.id for c in found[1:]] == sorted(c.id for c in found[1:])


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0 (Owner)"), (2, "2 (Delegate)"), (-1, ""), (9, "9")]
)
def test_logon_type_text(value: int, text: str) -> None:
    assert logon_type_text(value) == text


def generated_index(size: int) -> Any:
    """`size` records cycling real-shaped templates: 20 mailboxes, owners, syncs, an attacker."""
    normaliser = FileNormaliser()
    templates: list[NormalisedRecord] = [
        normaliser.normalise(raw, None)
        for raw in (
            bind("2024-03-04T09:00:00", [("<t@f>", "\\Inbox")]),
            bind(
                "2024-03-04T09:00:00",
                [("<t@f>", "\\Inbox")],
                ip=ATTACKER_IP,
                session=ATTACKER_SESSION,
            ),
            sync("2024-03-04T09:00:00", "Inbox"),
            send_as("2024-03-04T09:00:00", user=MEGAN),
        )
    ]
    builder = PartBuilder(0)
    start = from_iso("2024-03-01T00:00:00")
    for i in range(size):
        template = templates[i % len(templates)]
        mailbox = f"user{(i // 4) % 20:02d}@fabrikam.example"
        items = tuple(item._replace(message_id=f"<m{i % 9000}@f>") for item in template.items)
        record = template._replace(
            record_id=f"00000000-0000-4000-9000-{i:012d}",
            time=start + i * 7,
            mailbox=mailbox,
            user_id=mailbox,
            items=items,
        )
        builder.add(record, i + 2, i * 1000, 999)
    return merge_parts([builder.finish(size)], [InputFile(path="generated.csv", size=0)])


def test_generated_50000_record_case_gives_well_formed_contexts() -> None:
    index = generated_index(50_000)

    found = access_contexts(index)

    # 20 mailboxes x (owner bind, attacker bind, owner sync) = 60 contexts.
    assert len(found) == 60
    assert sum(c.records for c in found) == 37_500  # 3 of every 4 records are MailItemsAccessed
    assert [(c.first, c.id) for c in found] == sorted((c.first, c.id) for c in found)
    assert len({c.id for c in found}) == 60
    for context in found:
        assert np.all(np.diff(context.rows) > 0)
        assert context.first == index.time[context.rows[0]]
        assert context.records == context.binds + context.syncs
    attacker = [c for c in found if c.client_ip == ATTACKER_IP]
    assert len(attacker) == 20
    assert all(c.session_id == ATTACKER_SESSION and c.binds == c.records for c in attacker)
    assert context_by_id(index, found[-1].id) == found[-1]
