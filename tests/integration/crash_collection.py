"""kill -9 of ``errorbudget collect`` while it backfills from the fake Genesys Cloud API
(``errorbudget.simulate.server.FakeGenesysServer``, in this process, on 127.0.0.1).

The world is a few days of the packaged scenario's queues in 15-minute intervals, fetched in
short chunks (each chunk written in its own transaction, in time order). Every run starts
where an operator — or ``serve``'s schedule — resumes: ``lookback`` before the source's
high-water mark (the end of what is stored), and is killed at a random moment of its
collection (up to a few seconds after its first query). After every kill:

- every interval below the high-water mark holds exactly the simulator's count (computed
  by the simulator, never by the collector): nothing missing below the mark (no gap), no
  interval counted twice or partly;
- the run the source recorded last (``collected_through``) never claims more than the
  mark;
- the audit chain (the queues' service-level targets are audited) verifies; SQLite's file
  passes ``PRAGMA integrity_check``.

At the end one run completes, and then every interval equals the simulator's exactly.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from crash_store import CrashStore, chain_state
from test_genesys_acceptance import BLOCK, SECRET, queue_truth, write_config

from errorbudget.model import from_minute, to_minute
from errorbudget.simulate.clock import SimClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.genesys_api import ApiSettings
from errorbudget.simulate.server import FakeGenesysServer

SLO_ID = "queue-sl"
LOOKBACK = 60  # minutes, the source's ``lookback``


def _iso(minute: int) -> str:
    return from_minute(minute).strftime("%Y-%m-%dT%H:%MZ")


class CollectionWorld:
    """``days`` of history up to an hour ago, collected in ``span`` chunks, paced at
    ``requests_per_minute`` (a run takes long enough to be killed in its middle)."""

    def __init__(
        self, workdir: Path, env: dict[str, str], store: CrashStore, *, seed: int = 8,
        days: float = 3.0, span: str = "15m", requests_per_minute: int = 1500,
    ) -> None:  # fmt: skip
        now = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
        self.workdir = workdir
        self.store = store
        self.env = {**env, **store.env, "FAKE_GENESYS_SECRET": SECRET}
        self.random = random.Random(seed)
        self.simulation = Simulation(default_scenario(now), seed=seed)
        self.clock = SimClock(now, speed=1.0)
        settings = ApiSettings(client_secret=SECRET, rate_limit_per_minute=100_000)
        self.fake = FakeGenesysServer(self.simulation, self.clock, None, settings).start()
        self.start = to_minute(now - timedelta(days=days))
        self.start -= self.start % BLOCK
        self.end = to_minute(now) - LOOKBACK
        self.config = workdir / "collect.yaml"
        self.config.write_text(self._config(span, requests_per_minute), encoding="utf-8")
        self._truth: dict[tuple[str, str], np.ndarray] | None = None
        self.runs: list[dict[str, Any]] = []

    def _config(self, span: str, requests_per_minute: int) -> str:
        """The acceptance test's config (its ``queue-sl`` SLO only) on this world's store."""
        written = write_config(
            self.workdir, self.fake.base_url, self.simulation,
            max_query_span=span, requests_per_minute=str(requests_per_minute),
        ).read_text(encoding="utf-8")  # fmt: skip
        store_line, others = "store: {path: eb.db}\n", "  - id: ivr\n"
        assert store_line in written and others in written, written
        return written.replace(store_line, self.store.config()).split(others)[0]

    def close(self) -> None:
        self.fake.stop()

    @property
    def truth(self) -> dict[tuple[str, str], np.ndarray]:
        """(queue id, media type) → per interval [numerator, denominator], the simulator's."""
        if self._truth is None:
            visible = int(self.clock().timestamp() * 1000)
            self._truth = queue_truth(
                self.simulation, self.start * 60_000, self.end * 60_000, visible
            )
        return self._truth

    # --- runs ------------------------------------------------------------------------------

    def _command(self, rewind: int = LOOKBACK) -> list[str]:
        """``collect --from`` where a resumed run starts: ``lookback`` before the mark (or
        ``rewind`` minutes, re-fetching and replacing more of what is stored)."""
        with self.store.open() as store:
            mark = self._mark(store)
        begin = self.start if mark is None else max(self.start, mark - rewind)
        begin -= (begin - self.start) % BLOCK
        return [sys.executable, "-m", "errorbudget", "collect", "-c", str(self.config),
                "--from", _iso(begin), "--to", _iso(self.end), "--format", "json"]  # fmt: skip

    def _queries(self) -> int:
        """Aggregate queries the fake API has answered so far."""
        by_path = self.fake.stats()["byPath"]
        return sum(sum(n.values()) for path, n in by_path.items() if "aggregates" in path)

    def kill_collect(self, within: float = 3.0, rewind: int = LOOKBACK) -> dict[str, Any]:
        """One run, killed at a random moment up to ``within`` seconds after its first
        aggregate query (so the kill lands in the collection, not in Python's start, however
        loaded the machine); then the checks."""
        before = self._queries()
        process = subprocess.Popen(self._command(rewind), env=self.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while self._queries() == before and process.poll() is None:
            assert time.monotonic() < deadline, "collect sent no query within 60 s"
            time.sleep(0.05)
        time.sleep(self.random.uniform(0, within))
        inside = self.store.writer_inside()
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate()
        completed = process.returncode == 0
        if not completed:
            assert process.returncode == -signal.SIGKILL, err
        result = self.check()
        run = {
            "completed": int(completed),
            "killed": int(not completed),
            "killed_in_transaction": int(inside and not completed),
            "intervals_under_mark": result["intervals_under_mark"],
        }
        self.runs.append(run)
        return run

    def finish(self) -> dict[str, Any]:
        """One run to the end (the restart), then every interval must be the simulator's."""
        done = subprocess.run(self._command(), env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr + done.stdout
        result = self.check()
        assert result["intervals_under_mark"] == result["intervals"], result
        return result

    # --- checks ----------------------------------------------------------------------------

    def _mark(self, store: Any) -> int | None:
        ids = [s.id for s in store.list_series(SLO_ID)]
        bounds = store.data_bounds(ids) if ids else None
        return None if bounds is None else int(bounds[1])

    def check(self) -> dict[str, Any]:
        """The checks of the module's docstring; raises AssertionError with the findings."""
        lost: list[str] = []
        doubled: list[str] = []
        with self.store.open() as store:
            mark = self._mark(store)
            series = store.list_series(SLO_ID)
            good, total = store.minute_arrays([s.id for s in series], self.start, self.end)
            health = [h for h in store.source_health() if h.source == "genesys"]
            claimed = health[0].collected_through if health else None
            chain = chain_state(store)
        stored = {}
        for row, info in enumerate(series):
            labels = dict(info.segment)
            g, t = good[row].reshape(-1, BLOCK), total[row].reshape(-1, BLOCK)
            if g[:, 1:].any() or t[:, 1:].any():
                doubled.append(f"{labels}: counts off an interval's start minute")
            stored[(labels["queue_id"], labels["media_type"])] = np.stack([g[:, 0], t[:, 0]], 1)
        blocks = (self.end - self.start) // BLOCK
        below = 0 if mark is None else min(blocks, -(-(mark - self.start) // BLOCK))
        for key, expected in self.truth.items():
            got = stored.get(key, np.zeros_like(expected))
            for block in np.flatnonzero((got != expected).any(axis=1)):
                where = f"{key} {_iso(self.start + int(block) * BLOCK)}"
                if block >= below and not got[block].any():
                    continue  # above the mark: not collected yet
                if block < below and not got[block].any():
                    lost.append(f"{where}: a gap under the mark (truth {expected[block]})")
                else:
                    doubled.append(f"{where}: stored {got[block]}, truth {expected[block]}")
        if claimed is not None and (mark is None or claimed > mark):
            lost.append(f"the source claims {_iso(claimed)}, stored through {mark}")
        result = {
            "integrity": self.store.integrity(),
            "chain": chain,
            "lost": lost,
            "doubled": doubled,
            "intervals": blocks * len(self.truth),
            "intervals_under_mark": below * len(self.truth),
            "mark": mark,
        }
        assert result["integrity"] in ("ok", None), result
        assert chain == "ok", result
        assert not lost and not doubled, result
        return result
