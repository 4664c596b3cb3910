"""Freed memory kept in the process for the next evaluation (``serve``'s long-lived process).

A full status allocates and frees megabytes of numpy temporaries every evaluation (a
timeslices SLO's per-minute grid of 10 series × 30 days alone is 7 MB). glibc's malloc
hands blocks above its mmap threshold back to the operating system when they are freed,
and trims the top of its heap past its trim threshold, so the next evaluation gets fresh
pages again and pays a page fault on the first touch of each: 2,700 faults an evaluation
on the issue #2 workload (1,000 series × 35 days), 5–7 ms of a ~55 ms status (measured
with ``ru_minflt`` and interleaved runs, docs/performance.md "Issue #9").

:func:`keep_freed_memory` raises both thresholds (``mallopt``), so those blocks stay in
the process and are reused: no fault after the first evaluation. The cost is that the
process keeps its peak heap instead of giving it back between evaluations (the status
process of that workload peaks at ~290 MB either way). ``serve`` calls it once at start;
elsewhere (other C libraries, or a platform without ``mallopt``) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
"""Blocks from this size up are still mapped apart (glibc's largest allowed value)."""
TRIM_THRESHOLD = 128 * 1024 * 1024
"""Free memory at the top of the heap beyond this goes back to the operating system."""


def keep_freed_memory() -> bool:
    """Tune glibc's malloc to keep freed memory for reuse; whether it was applied."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not applied:
        log.debug("mallopt refused the thresholds: freed memory goes back to the system")
    return applied
