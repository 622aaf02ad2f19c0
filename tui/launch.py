"""Starting the explorer from the command line."""

from __future__ import annotations

import sys


def run_app(paths: list[str], *, sample_case: str, case_file: str | None) -> int:
    from multiprocessing import resource_tracker

    from .app import UalscopeApp

    # Loading a large case starts worker processes, and the first one starts multiprocessing's
    # resource tracker, handing it sys.stderr's file descriptor. Inside the app Textual has
    # replaced sys.stderr (its fileno() is -1) and that start fails, ending the app. Start
    # the tracker now, while the real stderr is in place (a few milliseconds).
    resource_tracker.ensure_running()
    # The loading thread (merging the workers' parts, building previews) shares the GIL with
    # the screen. Python hands it over every 5 ms by default, and a key press needs it many
    # times: 0.5 ms keeps keys moving while a merge runs, for a few percent of its speed.
    sys.setswitchinterval(0.0005)

    note = ""
    if not paths:
        paths = [sample_case]
        note = "No evidence named: showing the bundled FICTIONAL sample case (samples/case)."
    UalscopeApp(paths, note=note, case_path=case_file).run()
    return 0
