"""How the load's workers are started: fork only where no other thread could hold a lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from ualscope.core.ingest import parallel

CHOICE = (
    "import ualscope.core.ingest.parallel as p; "
    "print(p.worker_context().get_start_method(), p.os_threads())"
)


@pytest.mark.skipif(sys.platform != "linux", reason="fork is chosen on Linux only")
def test_a_fresh_process_forks_its_workers_with_numpy_loaded() -> None:
    # numpy is imported by then: its OpenBLAS pool would be a second thread, had ualscope not
    # asked it for none (this test process set the variable already: not inherited here).
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    shown = subprocess.run(
        [sys.executable, "-c", CHOICE], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert shown == ["fork", "1"]


def test_a_process_with_another_thread_spawns_its_workers() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel.worker_context().get_start_method() == "spawn"
    finally:
        stop.set()
        other.join()


COUNT = (
    "import threading, ualscope.core.ingest.parallel as p; "
    "before = p.os_threads(); stop = threading.Event(); "
    "other = threading.Thread(target=stop.wait); other.start(); "
    "print(before, p.os_threads()); stop.set(); other.join()"
)


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's count is read from /proc")
def test_threads_are_counted_as_the_kernel_sees_them() -> None:
    # Counted in a fresh process: in this one, a thread left by an earlier test (an executor's
    # worker, a multiprocessing feeder) may end between the two counts, as it once did in CI.
    shown = subprocess.run(
        [sys.executable, "-c", COUNT], capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == ["1", "2"]
