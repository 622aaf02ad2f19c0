"""SendAs / SendOnBehalf classification: delegation versus the owner-logged-as-SendAs defect."""

from __future__ import annotations

from factories import OUTLOOK_IOS, REST, bind, build_index, send_as

from ualscope.core.analysis.findings import Severity
from ualscope.core.analysis.send_as import (
    SendKind,
    classify_sends,
    send_as_findings,
)
from ualscope.core.normalise.times import from_iso

MEGAN = "megan.bowen@fabrikam.example"
ALEX = "alex.wilber@fabrikam.example"
CEO = "ceo@fabrikam.example"


def test_owner_send_from_outlook_ios_with_mixed_case_addresses_is_a_logging_artefact() -> None:
    index = build_index(
        {
            "sends.csv": [
                send_as(
                    "2025-03-04T09:31:55",
                    user="Megan.Bowen@fabrikam.example",
                    owner=MEGAN,
                    send_as_smtp="MEGAN.BOWEN@fabrikam.example",
                    client=OUTLOOK_IOS,
                )
            ]
        }
    )
    (send,) = classify_sends(index)
    assert send.classification is SendKind.OWNER_LOGGED_AS_SEND_AS
    assert send.user_id == "Megan.Bowen@fabrikam.example"  # shown as recorded
    assert send.target_field == "SendAsUserSmtp"
    assert send.client_family == "Outlook mobile"
    assert send.equal_fields == (("UserId", "MailboxOwnerUPN", "SendAsUserSmtp"),)
    assert "not evidence of delegation" in send.reason
    assert "case-insensitively" in send.reason
    assert "Outlook mobile" in send.reason


def test_owner_logged_as_send_as_from_an_undocumented_client_asks_for_a_second_look() -> None:
    index = build_index(
        {"sends.csv": [send_as("2025-03-04T09:31:55", user=MEGAN, send_as_smtp=MEGAN)]}
    )
    (send,) = classify_sends(index)
    assert send.classification is SendKind.OWNER_LOGGED_AS_SEND_AS
    assert "OWA" in send.reason and "second look" in send.reason


def test_genuine_delegate_send_as() -> None:
    index = build_index(
        {
            "sends.csv": [
                send_as(
                    "2025-03-04T09:31:55",
                    user=ALEX,
                    send_as_smtp=CEO,
                    logon_type=2,
                    subject="Urgent wire",
                )
            ]
        }
    )
    (send,) = classify_sends(index)
    assert send.classification is SendKind.DELEGATE_SEND_AS
    assert (send.user_id, send.mailbox_owner_upn, send.target_smtp) == (ALEX, ALEX, CEO)
    assert send.equal_fields == (("UserId", "MailboxOwnerUPN"),)
    assert send.logon_type == 2
    assert send.subject == "Urgent wire"
    assert send.message_id.startswith("<")
    assert send.reason.startswith(f"{ALEX} sent as {CEO}")
    assert "MailboxOwnerUPN" not in send.reason  # the normal delegate shape needs no remark


def test_delegate_send_whose_owner_upn_is_the_represented_mailbox_says_so() -> None:
    index = build_index(
        {"sends.csv": [send_as("2025-03-04T09:31:55", user=ALEX, owner=CEO, send_as_smtp=CEO)]}
    )
    (send,) = classify_sends(index)
    assert send.classification is SendKind.DELEGATE_SEND_AS
    assert send.equal_fields == (("MailboxOwnerUPN", "SendAsUserSmtp"),)
    assert "MailboxOwnerUPN names the represented mailbox" in send.reason


def test_send_on_behalf() -> None:
    index = build_index(
        {"sends.csv": [send_as("2025-03-04T10:00:00", user=ALEX, on_behalf_of=CEO, client=REST)]}
    )
    (send,) = classify_sends(index)
    assert send.operation == "SendOnBehalf"
    assert send.classification is SendKind.SEND_ON_BEHALF
    assert (send.target_field, send.target_smtp) == ("SendOnBehalfOfUserSmtp", CEO)


def test_send_on_behalf_of_oneself_is_inconsistent() -> None:
    index = build_index(
        {"sends.csv": [send_as("2025-03-04T10:00:00", user=ALEX, on_behalf_of=ALEX.upper())]}
    )
    (send,) = classify_sends(index)
    assert send.classification is SendKind.INCONSISTENT
    assert "on behalf of oneself" in send.reason


def test_missing_and_empty_send_as_user_smtp_are_inconsistent() -> None:
    index = build_index(
        {
            "sends.csv": [
                send_as("2025-03-04T09:00:00", user=ALEX),  # no SendAsUserSmtp key at all
                send_as("2025-03-04T09:05:00", user=ALEX, send_as_smtp=""),
                send_as("2025-03-04T09:10:00", user=ALEX, send_as_smtp="   "),
            ]
        }
    )
    sends = classify_sends(index)
    assert [s.classification for s in sends] == [SendKind.INCONSISTENT] * 3
    assert all("SendAsUserSmtp is missing or empty" in s.reason for s in sends)


def test_missing_user_id_is_inconsistent() -> None:
    index = build_index(
        {"sends.csv": [send_as("2025-03-04T09:00:00", user="", owner=ALEX, send_as_smtp=CEO)]}
    )
    (send,) = classify_sends(index)
    assert send.classification is SendKind.INCONSISTENT
    assert "UserId is empty" in send.reason


def test_owner_upn_disagreeing_with_a_self_send_as_is_inconsistent() -> None:
    index = build_index(
        {"sends.csv": [send_as("2025-03-04T09:00:00", user=ALEX, owner=CEO, send_as_smtp=ALEX)]}
    )
    (send,) = classify_sends(index)
    assert send.classification is SendKind.INCONSISTENT


def test_sends_come_in_time_then_record_id_order_and_other_operations_are_ignored() -> None:
    index = build_index(
        {
            "a.csv": [
                send_as("2025-03-04T11:00:00", user=ALEX, send_as_smtp=CEO, record_id="b-2"),
                bind("2025-03-04T10:30:00", [("<m1@x>", "\\Inbox")]),
            ],
            "b.csv": [
                send_as("2025-03-04T11:00:00", user=ALEX, send_as_smtp=CEO, record_id="a-1"),
                send_as("2025-03-04T08:00:00", user=MEGAN, send_as_smtp=MEGAN, record_id="z-0"),
            ],
        }
    )
    assert [s.record_id for s in classify_sends(index)] == ["z-0", "a-1", "b-2"]


def test_mailbox_filter_matches_sender_owner_or_represented_mailbox_ignoring_case() -> None:
    index = build_index(
        {
            "sends.csv": [
                send_as("2025-03-04T09:00:00", user=ALEX, send_as_smtp=CEO),
                send_as("2025-03-04T09:10:00", user=MEGAN, on_behalf_of=ALEX),
                send_as("2025-03-04T09:20:00", user=MEGAN, send_as_smtp=MEGAN),
            ]
        }
    )
    assert len(classify_sends(index, mailbox="CEO@Fabrikam.example")) == 1
    assert len(classify_sends(index, mailbox=ALEX)) == 2
    assert len(classify_sends(index, mailbox="nobody@fabrikam.example")) == 0


def test_findings_group_artefacts_and_report_each_delegation_and_inconsistency() -> None:
    index = build_index(
        {
            "sends.csv": [
                send_as("2025-03-04T09:00:00", user=MEGAN, send_as_smtp=MEGAN, client=OUTLOOK_IOS),
                send_as("2025-03-05T09:00:00", user=MEGAN, send_as_smtp=MEGAN.upper()),
                send_as("2025-03-04T10:00:00", user=ALEX, send_as_smtp=CEO),
                send_as("2025-03-04T10:05:00", user=ALEX, on_behalf_of=CEO),
                send_as("2025-03-04T10:10:00", user=ALEX, send_as_smtp=""),
            ]
        }
    )
    findings = send_as_findings(classify_sends(index))
    by_kind = {f.kind: [g for g in findings if g.kind == f.kind] for f in findings}
    (artefact,) = by_kind["send_as_logging_artefact"]
    assert artefact.severity is Severity.INFO
    assert len(artefact.record_ids) == 2
    assert artefact.start == from_iso("2025-03-04T09:00:00")
    assert artefact.end == from_iso("2025-03-05T09:00:01")
    delegates = by_kind["delegate_send"]
    assert [f.severity for f in delegates] == [Severity.MEDIUM, Severity.MEDIUM]
    assert {f.mailbox for f in delegates} == {CEO}
    assert any("on behalf of" in f.title for f in delegates)
    (odd,) = by_kind["send_as_inconsistent"]
    assert odd.severity is Severity.LOW
    # Deterministic: the same evidence gives the same findings, in the same order.
    assert send_as_findings(classify_sends(index)) == findings
    assert findings[0].severity is Severity.MEDIUM and findings[-1].severity is Severity.INFO
