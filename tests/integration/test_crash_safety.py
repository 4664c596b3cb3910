"""Issue #8, kept with tests: kill -9 of ``errorbudget ingest`` (5 times here) and of
``errorbudget serve`` under write load (twice) loses nothing acknowledged and doubles
nothing (``crash_harness``); ``benchmarks/hardening.py crash`` runs 30 and 6, the figures
in docs/operations.md."""

from __future__ import annotations

import os
from pathlib import Path

from crash_harness import CrashWorld


def test_kill_9_of_ingest_and_serve_loses_nothing_acknowledged_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    world = CrashWorld(tmp_path, dict(os.environ), seed=8, rows_per_file=200_000)
    ingests = [world.kill_ingest(within=2.0) for _ in range(5)]
    serves = [world.kill_serve(load_seconds=1.0) for _ in range(2)]
    final = world.finish()
    assert final == {"integrity": "ok", "lost": [], "doubled": []}
    # the kills did land under load: writes answered before each, and cut short by it
    assert sum(run["acknowledged"] for run in serves) > 0
    assert all(run["unanswered"] > 0 or run["acknowledged"] > 0 for run in serves)
    assert len(ingests) == 5 and world.acknowledged
