"""The C allocator in the load's processes: fresh pages are dear, so freed memory is reused.

glibc maps a block of 128 KiB or more straight from the system and unmaps it when freed, so
the next such block arrives as fresh pages, each zeroed by the kernel on first touch. On
these virtual machines that is far from free: the parts of a 1,000,000-record load (230 MB
of pickles, received through pipes 64 KiB at a time into buffers sized for what remains)
cost the parent 0.62 s of CPU to receive and the workers 0.41 s to send. Served from a heap
that keeps what is freed, the same took 0.37 s and 0.21 s, and the merge's temporaries are
carved from memory the parts have just left.

Every thread allocates from that one heap too. glibc gives each thread an arena of its own,
and the thread that receives the parts kept one that nothing else reused: with one arena a
1,000,000-record load's parent peaked at ~600 MB instead of ~715 MB.

Other C libraries have no `mallopt`: there this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

# mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

# The largest mmap threshold glibc accepts on 64-bit systems (4 MiB * sizeof(long)): blocks
# up to this size come from the heap. A load's largest are its merged columns (8 MB a column
# of 1,000,000 times) and a part's pickle (~9 MB).
HEAP_BLOCKS_UP_TO = 32 * 1024 * 1024
# Freed memory at the top of the heap is handed back only beyond this much; `load` calls
# `return_freed_memory` when it is done with it.
KEEP_FREED_UP_TO = 1024 * 1024 * 1024
# Each time the heap grows, by this much more: untouched, it costs address space, not memory.
GROW_HEAP_BY = 64 * 1024 * 1024


def reuse_freed_memory() -> bool:
    """Serve blocks of up to 32 MiB from a heap that keeps what is freed, to every thread,
    for the rest of this process's life; True when the C library took the settings.

    Call it before the process starts its threads: a thread that has an arena keeps it."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        mallopt = ctypes.CDLL(None).mallopt
        return all(
            mallopt(parameter, value) == 1  # mallopt answers 1 on success
            for parameter, value in (
                (_M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO),
                (_M_TRIM_THRESHOLD, KEEP_FREED_UP_TO),
                (_M_TOP_PAD, GROW_HEAP_BY),
                (_M_ARENA_MAX, 1),
            )
        )
    return False


def return_freed_memory() -> None:
    """Hand the memory freed so far back to the system (glibc's malloc_trim).

    `load` calls this once the merge is done: the parts and the merge's temporaries are
    freed by then, but the allocator kept their pages. The explorer's load process stayed at
    ~1.1 GB while it pickled the index and the explorer unpickled it, the moment the two
    together peaked (1.58 GB summed against a 1.5 GB target); `ualscope report` ran its
    analyses on top of them (peak 1.1 GB against 0.8 GB trimmed).
    """
    # No C library to open by name (Windows: TypeError), or one without malloc_trim.
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).malloc_trim(0)
