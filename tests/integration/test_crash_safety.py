"""Issues #8 and #13, kept with tests: kill -9 during ingest, collection and approval, 10
times each, on every store backend: every write the client was told succeeded is there,
nothing is there twice, the store is intact (``crash_harness``, ``crash_collection``,
``crash_approval``). ``benchmarks/hardening.py crash`` runs the same scenarios, the figures
in docs/operations.md."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_approval import ApprovalWorld
from crash_collection import CollectionWorld
from crash_harness import CrashWorld
from crash_store import CrashStore

from postgres_server import fresh_database

pytestmark = pytest.mark.integration

KILLS = 10


@pytest.fixture(params=["sqlite", "postgres"])
def crash_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CrashStore]:
    """A fresh store of each backend: a SQLite file, a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield CrashStore.sqlite(tmp_path)
        return
    with fresh_database("eb_t_crash") as url:
        yield CrashStore.postgres(url)


def test_kill_9_of_ingest_loses_nothing_acknowledged_and_doubles_nothing(
    tmp_path: Path, crash_store: CrashStore
) -> None:
    began = time.monotonic()
    world = CrashWorld(tmp_path, dict(os.environ), seed=8, rows_per_file=100_000,
                       store=crash_store)  # fmt: skip
    # a kill lands anywhere from the command's start to a little after a whole run's end
    seconds = world.time_ingest()
    ingests = [world.kill_ingest(within=1.5 * seconds) for _ in range(KILLS)]
    # The first ingest (timed) can be slower than the next ones (a cold start), so on a
    # fast machine every kill may land after its run ended (seen once in CI): then more
    # kills, inside the time a run takes, until one cuts a run short.
    for _ in range(KILLS):
        if any(run["killed"] for run in ingests):
            break
        ingests.append(world.kill_ingest(within=0.6 * seconds))
    serves = [world.kill_serve(load_seconds=1.0) for _ in range(2)]
    final = world.finish()
    assert final["lost"] == [] and final["doubled"] == [] and final["chain"] == "ok"
    # the kills did land: files cut short, and writes answered before the server's kills
    assert sum(run["killed"] for run in ingests) > 0
    assert sum(run["acknowledged"] for run in serves) > 0
    print(f"\ningest × {KILLS}, serve × 2 on {crash_store.backend}: "
          f"{time.monotonic() - began:.0f} s, one ingest {seconds:.1f} s, {ingests}, "
          f"{serves}")  # fmt: skip


def test_kill_9_of_collect_leaves_no_gap_and_no_double_count(
    tmp_path: Path, crash_store: CrashStore
) -> None:
    began = time.monotonic()
    world = CollectionWorld(tmp_path, dict(os.environ), crash_store, seed=8, days=3)
    try:
        # every other run resumes further back, replacing 6 hours of what is stored
        runs = [world.kill_collect(rewind=60 if n % 2 else 360) for n in range(KILLS)]
        final = world.finish()
    finally:
        world.close()
    assert final["lost"] == [] and final["doubled"] == [] and final["chain"] == "ok"
    assert final["intervals_under_mark"] == final["intervals"] > 2000
    # the kills landed mid-run: runs cut short with part of the history stored
    assert sum(run["killed"] for run in runs) >= KILLS // 2
    assert any(0 < run["intervals_under_mark"] < final["intervals"] for run in runs), runs
    print(f"\ncollect × {KILLS} on {crash_store.backend}: "
          f"{time.monotonic() - began:.0f} s, {runs}")  # fmt: skip


def test_kill_9_of_serve_during_approvals_keeps_every_answered_decision_once(
    tmp_path: Path, crash_store: CrashStore
) -> None:
    began = time.monotonic()
    world = ApprovalWorld(tmp_path, dict(os.environ), crash_store, seed=8)
    runs = [world.kill_serve(load_seconds=0.3 + n % 4 * 0.3) for n in range(KILLS)]
    final = world.finish()
    assert final["lost"] == [] and final["doubled"] == [] and final["chain"] == "ok"
    assert sum(run["acknowledged"] for run in runs) > 2 * KILLS
    assert sum(run["unanswered"] for run in runs) > 0 and world.resent > 0
    assert final["reviews"] == final["changes"]  # every change decided once, resent included
    print(f"\napproval × {KILLS} on {crash_store.backend}: "
          f"{time.monotonic() - began:.0f} s, {runs}")  # fmt: skip
