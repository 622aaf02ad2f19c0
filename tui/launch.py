"""Starting the explorer from the command line."""

from __future__ import annotations


def run_app(paths: list[str], *, sample_case: str, case_file: str | None) -> int:
    from .app import UalscopeApp

    note = ""
    if not paths:
        paths = [sample_case]
        note = "No evidence named: showing the bundled FICTIONAL sample case (samples/case)."
    UalscopeApp(paths, note=note, case_path=case_file).run()
    return 0
