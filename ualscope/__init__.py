"""ualscope: a terminal explorer for Microsoft 365 / Exchange Online mailbox audit evidence."""

import os

# ualscope does no linear algebra, yet numpy's OpenBLAS starts a thread pool on import: on
# these 2-core machines one idle thread, which makes the process multi-threaded and rules out
# forking the load's workers (core/ingest/parallel.py, `worker_context`). Set before any
# module of ualscope imports numpy; a value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
