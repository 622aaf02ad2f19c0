"""First-screen latency: the real app in a pseudo-terminal at 80x24.

    .venv/bin/python benchmarks/bench_startup.py [PATH...] [--runs 5]

Starts `ualscope` (default: the bundled sample case) in a pty, and measures from the start
of the process to the first frame that shows the pane tabs (the first screen), and to the
frame that shows the loaded record count. Prints each run and the median.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import struct
import sys
import tempfile
import time
from fcntl import ioctl
from pathlib import Path
from termios import TIOCSWINSZ

ROOT = Path(__file__).resolve().parent.parent
UALSCOPE = Path(sys.executable).with_name("ualscope")


def one_run(paths: list[str], state: str) -> tuple[float, float]:
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", XDG_STATE_HOME=state)
        os.execv(str(UALSCOPE), [str(UALSCOPE), *paths])
    ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    first = loaded = 0.0
    deadline = started + 120
    while time.perf_counter() < deadline and not loaded:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            now = time.perf_counter() - started
            if not first and b"Records" in seen:
                first = now
            if first and b" records, " in seen:
                loaded = now
    os.write(fd, b"q")
    os.waitpid(pid, 0)
    return first, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "samples" / "case")])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    firsts, loads = [], []
    with tempfile.TemporaryDirectory() as state:
        for run in range(args.runs):
            first, loaded = one_run(args.paths, state)
            firsts.append(first)
            loads.append(loaded)
            print(
                f"run {run + 1}: first screen {first * 1000:.0f} ms, loaded {loaded * 1000:.0f} ms"
            )
    print(
        f"median: first screen {statistics.median(firsts) * 1000:.0f} ms (target < 1000), "
        f"case loaded {statistics.median(loads) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
