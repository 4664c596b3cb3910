"""``serve`` keeps freed memory for its next evaluation (process_memory.py): after the
tuning, a status-like cycle of numpy temporaries (a 7 MB minute grid, products, prefix
counts) faults in no new pages; without it, every cycle faults its pages afresh. Each
case runs in a process of its own (the tuning is process-wide)."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CYCLES = """
import resource, sys
import numpy as np
from errorbudget.process_memory import keep_freed_memory

applied = keep_freed_memory() if sys.argv[1] == "tuned" else None

def cycle() -> int:
    grid = np.zeros((10, 2, 721, 60), dtype=np.int64)
    grid[:] = 1
    good = grid[:, 0].reshape(10, -1) * 3
    total = grid[:, 1].reshape(10, -1) * 5
    return int(np.cumsum(good > total, axis=1, dtype=np.int32)[-1, -1])

cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    cycle()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[str, int]:
    found = subprocess.run(
        [sys.executable, "-c", _CYCLES, mode], capture_output=True, text=True, check=True
    )
    applied, faults = found.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_freed_evaluation_memory_is_reused_instead_of_faulted_in_again() -> None:
    applied, tuned = _faults("tuned")
    assert applied == "True"
    _, plain = _faults("plain")
    assert plain > 10 * 1000  # 10 cycles of ~13 MB of fresh pages each
    assert tuned < 100
