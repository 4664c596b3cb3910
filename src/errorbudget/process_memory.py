"""Memory work kept out of an evaluation: freed memory kept in the process for the next one
(``serve``'s long-lived process), and the cycle collector paused while one runs.

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
process of that workload peaked at 143–292 MB in the benchmarks, tuned or not). ``serve``
calls it once at start; elsewhere (other C libraries, or a platform without ``mallopt``)
it does nothing.

:func:`collector_paused` holds the cycle collector off while an evaluation builds its
~60,000 objects (a 1,000-series status: records, lists, floats): at the default
thresholds they set off ~85 young-generation collections, which move the records that
live on through the older generations, ~3 ms of a ~48 ms status (interleaved in one
process, docs/performance.md "Issue #9"). An evaluation makes no reference cycles of its
own; what it leaves is collected at the next collection after it. Paused for every
thread while any evaluation runs (nested or concurrent ones count), and restored to what
it was — a collector someone else turned off stays off. Should evaluations overlap
without a break for longer than ``LONGEST_PAUSE``, one collection runs as one of them ends,
so cycles cannot pile up under a steady load.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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
    import ctypes  # here, not at the top: `errorbudget status` never needs them
    import ctypes.util

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


_pause_lock = threading.Lock()
_pauses = 0
_resume = False
_collected_at = 0.0

LONGEST_PAUSE = 10.0
"""Seconds the collector stays off while evaluations keep overlapping: past it, the
evaluation that ends collects once (so garbage cycles never pile up under load)."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cycle collection while the block runs (in any thread); see the module's text."""
    global _pauses, _resume, _collected_at
    with _pause_lock:
        if not _pauses:
            _resume = gc.isenabled()
            _collected_at = time.monotonic()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        overdue = False
        with _pause_lock:
            _pauses -= 1
            if not _pauses:
                if _resume:
                    gc.enable()
            elif _resume and time.monotonic() - _collected_at > LONGEST_PAUSE:
                _collected_at = time.monotonic()
                overdue = True
        if overdue:  # other evaluations still run: collect now rather than never
            gc.collect()
