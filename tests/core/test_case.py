"""The open case: analyses computed once, and ahead of the screen when asked."""

from __future__ import annotations

from conftest import SAMPLE_CASE

from ualscope.core.case import Case
from ualscope.core.ingest.loader import load


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
