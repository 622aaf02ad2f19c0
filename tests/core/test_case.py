"""The open case: analyses computed once, and ahead of the screen when asked."""

from __future__ import annotations

from conftest import SAMPLE_CASE
from factories import bind, build_index

from ualscope.core.analysis.scope import Suspects
from ualscope.core.case import Case
from ualscope.core.ingest.loader import LoadResult, load


def test_prepare_computes_what_the_panes_show_first_and_nothing_changes() -> None:
    result = load([SAMPLE_CASE], workers=1)
    prepared, lazy = Case(result), Case(result)
    prepared.prepare()
    # Cached properties live in the instance dict once computed: that is what the screen's
    # thread then reads instead of computing.
    for name in ("window", "coverage", "sessions", "sends", "mailboxes", "analysis_findings"):
        assert name in vars(prepared), name
        assert name not in vars(lazy), name
    assert prepared.findings() == lazy.findings()
    assert [s.id for s in prepared.sessions] == [s.id for s in lazy.sessions]
    assert [c.id for c in prepared.contexts()] == [c.id for c in lazy.contexts()]


def test_the_default_mailbox_is_the_suspects_else_the_busiest() -> None:
    owner, shared = "megan.bowen@fabrikam.example", "finance@fabrikam.example"
    inbox = [("<c@fabrikam.example>", "\\Inbox")]
    index = build_index(
        {
            "purview.csv": [
                bind("2024-03-04T09:00:00", inbox, mailbox=owner),
                bind("2024-03-04T10:00:00", inbox, mailbox=owner, ip="198.51.100.15"),
                bind("2024-03-04T11:00:00", inbox, mailbox=shared, ip="203.0.113.9"),
            ]
        }
    )
    case = Case(LoadResult(index, index.files))
    assert case.default_mailbox() == owner
    assert case.mailbox_counts() == {owner: (2, 2), shared: (1, 1)}
    case.suspects = Suspects(client_ips=("203.0.113.9",))
    assert case.default_mailbox() == shared
