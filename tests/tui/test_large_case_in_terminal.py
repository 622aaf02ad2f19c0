"""A case large enough for worker processes, opened in the installed app on a real pty.

Files over 64 MiB are parsed by worker processes. Starting the first one starts
multiprocessing's resource tracker with sys.stderr's descriptor, which inside a Textual app
is a capture object answering -1: that ended the app on every large case until the
launcher started the tracker before the app. Pilot tests cannot see this (the test process
has long had a tracker); only a fresh process on a terminal can.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import ROOT
from terminals import UALSCOPE, PtyApp, app_environment

RECORDS = 44_000  # ~70 MB of Purview CSV: over the 64 MiB at which workers start


def test_a_case_over_the_split_size_loads_in_workers_and_stays_open(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "samples"))
    from casegen import ScaledCase, write_purview_csv  # type: ignore[import-not-found]

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    path = evidence / "large.csv"
    with open(path, "wb") as handle:
        write_purview_csv(handle, ScaledCase(RECORDS, seed=5))
    assert path.stat().st_size > 64 * 1024 * 1024
    app = PtyApp([str(UALSCOPE), str(path)], app_environment(tmp_path / "state"), cwd=tmp_path)
    try:
        app.wait_for("Records", 0, "the first screen")
        app.wait_for(f"{RECORDS:,} records", 0, "the large case to load", seconds=300)
        assert app.alive()
        drawn = app.text()
        assert "Traceback" not in drawn and "Error" not in drawn
        app.press("q")
        assert app.wait_exit() == 0
    finally:
        app.close()
