"""Cap glibc's malloc arenas for the long-running service.

glibc gives each thread that allocates under contention its own arena (up to 8 per core) and rarely hands
freed arena memory back. The service's worker threads (the SQLite thread, `asyncio.to_thread` work such as
config rendering and probes) made RSS creep by about 10 MB an hour in the 30-minute soak while Python's own
object counts stayed flat; with two arenas the same soak stayed flat (docs/performance.md, "Soak").
The cap is set with `mallopt` before any worker thread starts, so it works whatever launches the service;
an operator's own `MALLOC_ARENA_MAX` wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # glibc's malloc.h
DEFAULT_ARENAS = 2


def limit_malloc_arenas(max_arenas: int = DEFAULT_ARENAS) -> bool:
    """Set glibc's arena cap; True when applied (False: not glibc, or MALLOC_ARENA_MAX already set)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, max_arenas))
