"""Filters and pane analyses on a loaded million-record case: what a key press waits for.

    .venv/bin/python benchmarks/bench_queries.py [-n 1000000] [--workers 2]

Loads the Purview CSV that bench_load.py generates (same file, generated if missing), then
times, in this one process:
- each filter of the records pane (`ip:`, `session:`, `mailbox:`, `op:`, free text) the
  first time (postings and search buffers built on demand count) and warm (median of 5);
  targets: postings lookups < 200 ms, free text < 1 s;
- what each pane computes when it first appears after the load: the sessions timeline, the
  contexts of the attacked mailbox, the scope with two suspect addresses, and the SendAs
  view (target < 500 ms each; the panes then draw only the visible lines);
- the peak RSS of the process (target for the whole app < 1.5 GB) and the index's memory.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "samples"))

from bench_load import generate  # noqa: E402


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from casegen import ATTACKER_IP_1, ATTACKER_IP_2, ScaledCase  # type: ignore[import-not-found]

    from ualscope.core.analysis.scope import Suspects
    from ualscope.core.case import Case
    from ualscope.core.ingest.loader import load
    from ualscope.core.query import evaluate, parse_query

    path = generate(args.n)
    truth = ScaledCase(args.n, seed=1)  # the same seed as the file: who was attacked
    victim, session = truth.victim.upn, truth.attacker_session_id
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; file {path.name}"
    )
    seconds, result = timed(lambda: load([path], workers=args.workers))
    index = result.index
    print(
        f"load: {seconds / 1000:.1f} s, {len(index):,} records, "
        f"index {index.nbytes / 2**20:.0f} MiB"
    )

    filters = [
        ("ip", f"ip:{ATTACKER_IP_1}", 200),
        ("session", f"session:{session}", 200),
        ("mailbox", f"mailbox:{victim}", 200),
        ("op", "op:MailItemsAccessed", 200),
        ("op + type", "op:MailItemsAccessed type:sync", 200),
        ("free text, common", "user0001", 1000),
        ("free text, rare", "203.0.113.4", 1000),
        ("free text + key", f"mailbox:{victim} inbox", 1000),
    ]
    print("\nfilters over all records (ms): first use / warm median of 5 / target")
    for label, text, target in filters:
        query = parse_query(text)
        first, rows = timed(lambda q=query: evaluate(index, q))
        warm = statistics.median(timed(lambda q=query: evaluate(index, q))[0] for _ in range(5))
        verdict = "ok" if max(first, warm) < target else "OVER"
        print(
            f"  {label:<18} {first:8.1f} / {warm:8.1f} / < {target}  {verdict}  "
            f"({len(rows):,} rows)"
        )

    case = Case(result)
    print("\npanes after load, first computation (ms, target < 500):")
    panes: list[tuple[str, Callable[[], Any]]] = [
        ("sessions timeline", lambda: case.sessions),
        ("contexts of the attacked mailbox", lambda: case.contexts(victim)),
        ("SendAs consistency", lambda: case.sends),
    ]
    for label, action in panes:
        ms, found = timed(action)
        print(f"  {label:<34} {ms:8.1f}  {'ok' if ms < 500 else 'OVER'}  ({len(found):,})")
    case.suspects = Suspects(client_ips=(ATTACKER_IP_1, ATTACKER_IP_2))
    ms, scope = timed(case.scope)
    print(
        f"  {'scope, two suspect addresses':<34} {ms:8.1f}  {'ok' if ms < 500 else 'OVER'}  "
        f"({len(scope.bound_messages) if scope else 0:,} messages bound)"
    )
    gc.collect()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\npeak RSS: this process {peak:,.0f} MiB, largest worker {children:,.0f} MiB")


if __name__ == "__main__":
    main()
