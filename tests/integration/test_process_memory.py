"""``serve`` keeps freed memory for its next evaluation (process_memory.py): after the
tuning, a status-like cycle of numpy temporaries (a 7 MB minute grid, products, prefix
counts) faults in no new pages; without it, every cycle faults its pages afresh. Each
case runs in a process of its own (the tuning is process-wide)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from errorbudget.app import App

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
    assert tuned < 100
    # without it, 10 cycles of ~13 MB fault their pages in afresh: 32,000 faults here; the
    # bound leaves room for hosts whose transparent huge pages fault in 2 MB at a time
    assert plain >= 1000


def test_the_collector_is_paused_while_any_evaluation_runs_and_restored_after() -> None:
    """Nested and concurrent pauses: collection resumes when the last one ends; a collector
    turned off by someone else stays off; an exception inside still restores it."""
    import gc
    import threading

    from errorbudget.process_memory import collector_paused

    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other_evaluation() -> None:
        with collector_paused():
            inside.set()
            release.wait(5)

    with collector_paused():
        assert not gc.isenabled()
        worker = threading.Thread(target=other_evaluation)
        worker.start()
        assert inside.wait(5)
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other evaluation still runs
    release.set()
    worker.join(5)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("an evaluation failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # not ours to turn back on
    finally:
        gc.enable()


def test_a_status_evaluation_runs_with_the_collector_paused(app: App) -> None:
    """The evaluation service holds the collector off while it evaluates, and only then."""
    import gc

    from errorbudget.services import evaluations

    seen: list[bool] = []
    original = evaluations.evaluate_slos

    def watching(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluations, "evaluate_slos", watching)
        assert app.evaluations.status()
    assert seen == [False] and gc.isenabled()


def test_a_pause_that_never_ends_under_overlapping_evaluations_still_collects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Evaluations that overlap without a break keep the collector off; past
    ``LONGEST_PAUSE`` the next one to end collects, so cycles do not pile up."""
    import gc

    from errorbudget import process_memory

    collected: list[int] = []
    monkeypatch.setattr(process_memory, "LONGEST_PAUSE", 0.0)
    monkeypatch.setattr(gc, "collect", lambda *args: collected.append(1) or 0)
    with process_memory.collector_paused():
        with process_memory.collector_paused():
            pass  # ends while the other still runs: overdue at once here
        assert collected == [1] and not gc.isenabled()
    assert gc.isenabled() and collected == [1]
