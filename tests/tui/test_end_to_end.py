"""End to end, as a person would: the installed `ualscope` in tmux at 80x24.

Open the sample case, find the attacker's replayed session through its second address, mark
the session as the attacker's, read the scope, select every finding and export markdown;
then check the exported file. Skips where tmux is absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE_CASE
from terminals import TMUX, UALSCOPE, Tmux, app_environment

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Tmux]:
    # The export is written to the working directory, tmp_path; case files to the state dir.
    env = app_environment(tmp_path / "state")
    term = Tmux([str(UALSCOPE), str(SAMPLE_CASE)], env, cwd=tmp_path)
    yield term
    term.close()


def test_find_the_attacker_mark_the_session_read_the_scope_export(
    terminal: Tmux, tmp_path: Path
) -> None:
    expected = json.loads((ROOT / "samples" / "case-expected.json").read_text())
    replay = expected["attacker"]["token_replay"]
    terminal.wait_for(lambda s: "2,471 records" in s, "the case to load")

    # The replayed session's second address leads to it.
    terminal.keys("f")
    terminal.wait_for(lambda s: "filter (op:" in s, "the filter bar")
    terminal.keys("ip:203.0.113.77", literal=True)
    terminal.wait_for(lambda s: "ip:203.0.113.77" in s, "the typed filter")
    terminal.keys("Enter")
    terminal.wait_for(lambda s: "filter: ip:203.0.113.77" in s, "the filter")
    terminal.keys("s")
    chooser = terminal.wait_for(lambda s: "Mark as the attacker" in s, "the suspect chooser")
    assert f"session {replay['SessionId']}" in chooser
    terminal.keys("Down", "Enter")
    terminal.wait_for(lambda s: "Mark as the attacker" not in s, "the chooser to close")

    terminal.keys("5")
    scope = terminal.wait_for(lambda s: "Attacker active" in s, "the scope")
    assert "2022-03-28" in scope
    assert "messages bound" in scope

    terminal.keys("6")
    terminal.wait_for(lambda s: "findings:" in s, "the findings")
    terminal.keys("a")
    terminal.wait_for(lambda s: "selected for export" in s and " 0 selected" not in s, "selection")
    terminal.keys("e")
    terminal.wait_for(lambda s: "ualscope-findings-" in s, "the export dialog")
    terminal.keys("Enter")
    terminal.wait_for(lambda s: "exported" in s, "the export")
    terminal.keys("q")

    exported = list(tmp_path.glob("ualscope-findings-*.md"))
    assert len(exported) == 1
    text = exported[0].read_text(encoding="utf-8")
    assert "## Findings" in text
    assert "messages opened (bound) in the attacker" in text.replace("\\", "")
    for name in (
        "purview/AuditLog_2022-03-20_2022-04-02.csv",
        "api/Audit.Exchange_2022-03-28.json",
    ):
        assert expected["files"][name] in text  # the SHA-256 of the evidence it rests on
    # Nothing was written beside the evidence.
    assert not list(SAMPLE_CASE.rglob("*.md"))
