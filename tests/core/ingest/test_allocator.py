"""The load's processes keep freed memory for reuse, where the C library allows it."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

GLIBC = platform.libc_ver()[0] == "glibc"

# A fresh process, so the test process's own allocator is left as it was.
CHECK = (
    "from ualscope.core.ingest import allocator; "
    "print(allocator.reuse_freed_memory()); allocator.return_freed_memory()"
)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_glibc_takes_every_setting() -> None:
    # mallopt answers 0 for a value it refuses: all four must have been taken, or a load
    # would pay for fresh pages again without a word.
    shown = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == ["True"]
