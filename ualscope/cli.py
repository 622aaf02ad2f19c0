"""Command line: `ualscope [PATH...]` opens the explorer; `info` and `report` are headless.

Heavy imports (numpy, pydantic, textual) happen inside the command that needs them, so
`ualscope --help` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

TOOL = f"ualscope {__version__}"
SAMPLE_CASE = Path(__file__).resolve().parent.parent / "samples" / "case"


def _info(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="ualscope info",
        description="Say what each evidence file is and what was read, kept, duplicated or "
        "rejected (with file and line), with the SHA-256 of every file.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="audit export files or folders")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)

    from .core.info import case_info, render_info
    from .core.ingest.loader import load
    from .core.textsafe import json_escape_hidden

    result = load(args.paths)
    info = case_info(result, TOOL)
    if args.json:
        sys.stdout.write(json_escape_hidden(info.model_dump_json(indent=2)) + "\n")
    else:
        sys.stdout.write(render_info(info))
    # Non-zero only when nothing at all could be read.
    return 0 if any(i.refused is None for i in info.inputs) else 1


def _report(argv: list[str]) -> int:
    from .report_cli import run_report

    return run_report(argv, TOOL)


def _explore(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="ualscope",
        description="Explore Microsoft 365 / Exchange Online mailbox audit evidence in the "
        "terminal. Subcommands: `ualscope info PATH...`, `ualscope report PATH...`.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="audit export files or folders (default: the bundled fictional sample case)",
    )
    parser.add_argument("--case-file", metavar="FILE", help="where marks and notes are kept")
    parser.add_argument("--version", action="version", version=TOOL)
    args = parser.parse_args(argv)

    from .tui.launch import run_app

    paths = [str(p) for p in args.paths]
    return run_app(paths, sample_case=str(SAMPLE_CASE), case_file=args.case_file)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "info":
        return _info(args[1:])
    if args and args[0] == "report":
        return _report(args[1:])
    return _explore(args)
