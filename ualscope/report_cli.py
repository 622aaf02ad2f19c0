"""`ualscope report`: the case report without the explorer, for scripts and case files."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ualscope report",
        description="Answer the case's questions from audit exports: coverage and blind "
        "windows, scope of compromise for the suspects named, sessions, access contexts, "
        "SendAs consistency and findings.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="audit export files or folders")
    parser.add_argument("--mailbox", action="append", default=[], metavar="UPN")
    parser.add_argument("--start", metavar="ISO", help="investigation window start (UTC)")
    parser.add_argument("--end", metavar="ISO", help="investigation window end, exclusive (UTC)")
    parser.add_argument("--suspect-ip", action="append", default=[], metavar="IP")
    parser.add_argument("--suspect-session", action="append", default=[], metavar="ID")
    parser.add_argument("--suspect-user", action="append", default=[], metavar="UPN")
    parser.add_argument("--suspect-app", action="append", default=[], metavar="APPID")
    parser.add_argument("--suspect-context", action="append", default=[], metavar="CONTEXT")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    return parser


def reproducing_command(args: argparse.Namespace) -> str:
    """The command line that gives this report again: paths sorted, options in a fixed order.

    Paths are sorted because the report does not depend on their order, and the output file
    is left out because it does not change the content: both keep reports byte-identical.
    """
    words = ["ualscope", "report", *sorted(args.paths)]
    for flag, values in (
        ("--mailbox", args.mailbox),
        ("--suspect-ip", args.suspect_ip),
        ("--suspect-session", args.suspect_session),
        ("--suspect-user", args.suspect_user),
        ("--suspect-app", args.suspect_app),
        ("--suspect-context", args.suspect_context),
    ):
        for value in sorted(values):
            words += [flag, value]
    if args.start:
        words += ["--start", args.start]
    if args.end:
        words += ["--end", args.end]
    words += ["--format", args.format]
    return " ".join(shlex.quote(w) for w in words)


def run_report(argv: list[str], tool: str) -> int:
    args = _parser().parse_args(argv)
    from .core.analysis.scope import Suspects
    from .core.ingest.loader import load
    from .core.normalise.times import from_iso
    from .core.report.build import ReportOptions, analyse, build_report
    from .core.report.markdown import render_markdown
    from .core.textsafe import json_escape_hidden

    if args.output:
        from .core.ingest.evidence import evidence_holding

        clash = evidence_holding(Path(args.output), args.paths)
        if clash is not None:
            sys.stderr.write(
                f"ualscope report: refusing to write {args.output} beside the evidence "
                f"({clash}): evidence folders are never written to\n"
            )
            return 2
    try:
        start = from_iso(args.start) if args.start else None
        end = from_iso(args.end) if args.end else None
    except ValueError as error:
        sys.stderr.write(f"ualscope report: bad --start/--end: {error}\n")
        return 2
    options = ReportOptions(
        mailboxes=tuple(args.mailbox),
        start=start,
        end=end,
        suspects=Suspects(
            client_ips=tuple(args.suspect_ip),
            sessions=tuple(args.suspect_session),
            users=tuple(args.suspect_user),
            apps=tuple(args.suspect_app),
            context_ids=tuple(args.suspect_context),
        ),
    )
    result = load(args.paths)
    if not any(info.read for info in result.files):
        sys.stderr.write("ualscope report: no file could be read as an audit export\n")
        return 1
    analysis = analyse(result.index, options)
    report = build_report(
        result,
        analysis,
        options,
        name="ualscope",
        version=__version__,
        command=reproducing_command(args),
    )
    text = (
        json_escape_hidden(report.model_dump_json(indent=2)) + "\n"
        if args.format == "json"
        else render_markdown(report)
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
