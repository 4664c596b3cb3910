"""kill -9 of ``errorbudget ingest`` and of ``errorbudget serve`` under write load, and the
checks that follow each kill: nothing acknowledged is lost, nothing is there twice, the
store is intact (``crash_store``: on SQLite or PostgreSQL). Used by ``test_crash_safety.py``
(10 and 2 kills) and by ``benchmarks/hardening.py crash`` (10 and 6 at full size, the
figures in docs/operations.md); ``crash_collection`` and ``crash_approval`` are the other
two scenarios.

- **ingest**: each file holds its own queues' counts; the command is killed at a random
  moment (before, during or after its one transaction). A file whose command exited 0 is
  acknowledged and must be stored exactly; any other file is stored whole or not at all.
  At the end every killed file is ingested again, as an operator would: each is then
  stored exactly once (a re-ingest replaces, it never adds).
- **serve**: writer threads post count batches (each with its own ``Idempotency-Key`` and
  minutes) and annotations (each with its own text) until the server is killed. Every
  answered write (200/201) must be stored, once; writes left unanswered by the kill are
  sent again after a restart with the same key, and then stored exactly once too.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from crash_store import CrashStore, chain_state

from errorbudget.simulate.server import free_port
from errorbudget.store import Store

OPERATOR = "operator-token-crash-0001"
CONFIG = f"""\
version: 1
server:
  tokens:
    - {{name: olga, token: {OPERATOR}, role: operator}}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {{type: rolling, length: 28d}}
    segments: {{keys: [queue]}}
"""
AUTH = {"Authorization": f"Bearer {OPERATOR}"}
BASE_MINUTE = 29_500_000
"""2026-02-01: every write lands in its own queue, at minutes from here."""


@dataclass
class Expected:
    """What one queue must hold: counts per minute from ``start``."""

    start: int
    good: np.ndarray
    total: np.ndarray


def serve(config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``errorbudget serve`` (no collection) on a free port, once ``/healthz`` answers; its
    stderr goes to ``serve-<port>.log`` beside the config."""
    port = free_port()
    log = config.parent / f"serve-{port}.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "errorbudget", "serve", "-c", str(config), "--port",
             str(port), "--no-collect"],
            env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8")[-2000:]
            raise AssertionError(f"serve exited with {process.returncode}: {tail}")
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.05)


def kill_under_load(
    process: subprocess.Popen[str],
    write: Callable[[threading.Event], None],
    writers: int,
    load_seconds: float,
) -> None:
    """Run ``write`` (until its event is set, or its server is gone) in ``writers``
    threads; after ``load_seconds`` kill -9 the server, then wait for the writers."""
    stop = threading.Event()
    threads = [threading.Thread(target=write, args=(stop,)) for _ in range(writers)]
    for thread in threads:
        thread.start()
    time.sleep(load_seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stop.set()
    for thread in threads:
        thread.join(60)


@dataclass
class CrashWorld:
    workdir: Path
    env: dict[str, str]
    seed: int = 8
    rows_per_file: int = 400_000
    acknowledged: dict[str, Expected] = field(default_factory=dict)
    """Queue → counts that a write's answer (exit 0, 200) promised."""
    maybe: dict[str, Expected] = field(default_factory=dict)
    """Queue → counts of writes cut short by a kill: stored whole or not at all."""
    killed_files: list[Path] = field(default_factory=list)
    unanswered: list[tuple[str, bytes, str]] = field(default_factory=list)
    """(idempotency key, body, queue) of count batches the kill left without an answer."""
    annotations: set[str] = field(default_factory=set)
    """Texts of acknowledged annotations: each must be stored once."""
    store: CrashStore | None = None
    """Where the store lives; default: a SQLite file in ``workdir``."""

    def __post_init__(self) -> None:
        if self.store is None:
            self.store = CrashStore.sqlite(self.workdir)
        self.env = {**self.env, **self.store.env}
        self.config = self.workdir / "errorbudget.yaml"
        self.config.write_text(self.store.config() + CONFIG, encoding="utf-8")
        self.random = random.Random(self.seed)
        self.files = 0
        self.batches = 0

    # --- ingest --------------------------------------------------------------------------------

    def _file(self) -> tuple[Path, dict[str, Expected]]:
        number = self.files
        self.files += 1
        queues = 10
        minutes = self.rows_per_file // queues
        start = BASE_MINUTE + number * minutes
        rng = np.random.default_rng(self.seed * 1000 + number)
        total = rng.integers(1, 100, size=(queues, minutes))
        good = total - rng.integers(0, 1, size=(queues, minutes), endpoint=True)
        names = [f"file{number}-q{j}" for j in range(queues)]
        table = pa.table(
            {
                "time": np.tile(np.arange(start, start + minutes, dtype=np.int64) * 60, queues),
                "slo": np.full(queues * minutes, "calls"),
                "queue": np.repeat(np.array(names), minutes),
                "good": good.ravel(),
                "total": total.ravel(),
            }
        )
        path = self.workdir / f"counts-{number}.csv"
        pacsv.write_csv(table, path)
        return path, {n: Expected(start, good[i], total[i]) for i, n in enumerate(names)}

    def time_ingest(self) -> float:
        """Ingest a new file to the end (acknowledged); its seconds, command included: how
        long a kill may wait to land anywhere in a run on this machine now."""
        path, expected = self._file()
        began = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "errorbudget", "ingest", "-c", str(self.config), str(path)],
            env=self.env, check=True, capture_output=True,
        )  # fmt: skip
        self.acknowledged.update(expected)
        return time.monotonic() - began

    def kill_ingest(self, within: float = 2.5) -> dict[str, Any]:
        """Ingest a new file and kill -9 the command after a random moment (up to
        ``within`` seconds); then check the store."""
        path, expected = self._file()
        command = [sys.executable, "-m", "errorbudget", "ingest", "-c", str(self.config), str(path)]
        process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(self.random.uniform(0.2, within))
        inside = self.crash_store.writer_inside()  # its transaction is open
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate()
        acknowledged = process.returncode == 0
        if acknowledged:
            self.acknowledged.update(expected)
        else:
            assert process.returncode == -signal.SIGKILL, err
            self.maybe.update(expected)
            self.killed_files.append(path)
        self.check()
        return {
            "acknowledged": int(acknowledged),
            "killed": int(not acknowledged),
            "killed_in_transaction": int(inside and not acknowledged),
        }

    # --- serve ---------------------------------------------------------------------------------

    @property
    def crash_store(self) -> CrashStore:
        assert self.store is not None  # set in __post_init__
        return self.store

    def _serve(self) -> tuple[subprocess.Popen[str], str]:
        return serve(self.config, self.env)

    def _batch(self) -> tuple[str, bytes, str, Expected]:
        number = self.batches
        self.batches += 1
        queue = f"api{number}"
        minutes = 60
        start = BASE_MINUTE + number * minutes
        total = np.full(minutes, 10 + number % 7, dtype=np.int64)
        good = total - number % 3
        body = "".join(
            json.dumps({"time": (start + m) * 60, "slo": "calls", "queue": queue,
                        "good": int(good[m]), "total": int(total[m])}) + "\n"
            for m in range(minutes)
        ).encode()  # fmt: skip
        return f"crash-batch-{number}", body, queue, Expected(start, good, total)

    def kill_serve(self, load_seconds: float = 1.5, writers: int = 3) -> dict[str, Any]:
        """Serve, write from ``writers`` threads for ``load_seconds``, kill -9, check."""
        process, url = self._serve()
        lock = threading.Lock()
        counted = {"acknowledged": 0, "unanswered": 0}

        def write(stop: threading.Event) -> None:
            with httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
                while not stop.is_set():
                    with lock:
                        key, body, queue, expected = self._batch()
                    text = f"deploy {key}"
                    try:
                        answer = client.post(
                            "/api/v1/counts", content=body,
                            headers={"Content-Type": "application/x-ndjson",
                                     "Idempotency-Key": key},
                        )  # fmt: skip
                    except httpx.TransportError:
                        with lock:
                            self.unanswered.append((key, body, queue))
                            self.maybe[queue] = expected
                            counted["unanswered"] += 1
                        return
                    assert answer.status_code == 200, answer.text
                    with lock:
                        self.acknowledged[queue] = expected
                        counted["acknowledged"] += 1
                    try:
                        noted = client.post("/api/v1/annotations",
                                            json={"kind": "deploy", "text": text})  # fmt: skip
                    except httpx.TransportError:
                        with lock:
                            counted["unanswered"] += 1
                        return
                    assert noted.status_code == 201, noted.text
                    with lock:
                        self.annotations.add(text)
                        counted["acknowledged"] += 1

        kill_under_load(process, write, writers, load_seconds)
        self.check()
        return counted

    # --- checks ----------------------------------------------------------------------------------

    def finish(self) -> dict[str, Any]:
        """Ingest every killed file again and send every unanswered batch again (same key),
        then check that everything is stored exactly once."""
        for path in self.killed_files:
            subprocess.run(
                [sys.executable, "-m", "errorbudget", "ingest", "-c", str(self.config), str(path)],
                env=self.env, check=True, capture_output=True,
            )  # fmt: skip
        self.acknowledged.update({q: e for q, e in self.maybe.items() if q.startswith("file")})
        if self.unanswered:
            process, url = self._serve()
            try:
                with httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
                    for key, body, queue in self.unanswered:
                        answer = client.post(
                            "/api/v1/counts", content=body,
                            headers={"Content-Type": "application/x-ndjson",
                                     "Idempotency-Key": key},
                        )  # fmt: skip
                        assert answer.status_code == 200, answer.text
                        self.acknowledged[queue] = self.maybe[queue]
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        self.maybe = {q: e for q, e in self.maybe.items() if q not in self.acknowledged}
        return self.check()

    def check(self) -> dict[str, Any]:
        """Every acknowledged write stored exactly; every cut-short one whole or absent;
        every acknowledged annotation once, none twice; the store intact."""
        lost: list[str] = []
        doubled: list[str] = []
        with self.crash_store.open() as store:  # created if no command got that far
            ids = {dict(s.segment)["queue"]: s.id for s in store.list_series("calls")}
            for queue, expected in [*self.acknowledged.items(), *self.maybe.items()]:
                stored = self._stored(store, ids.get(queue), expected)
                if stored == "exact":
                    continue
                if stored == "absent" and queue in self.maybe:
                    continue
                (lost if stored == "absent" else doubled).append(f"{queue}: {stored}")
            texts = [a.text for a in store.list_annotations(limit=1_000_000)]
            chain = chain_state(store)
        integrity = self.crash_store.integrity()
        repeated = sorted({t for t in texts if texts.count(t) > 1})
        missing = sorted(self.annotations - set(texts))
        result = {
            "integrity": integrity,
            "chain": chain,
            "lost": lost + missing,
            "doubled": doubled + repeated,
        }
        assert integrity in ("ok", None) and chain == "ok", result
        assert not result["lost"] and not result["doubled"], result
        return result

    @staticmethod
    def _stored(store: Store, series: int | None, expected: Expected) -> str:
        if series is None:
            return "absent"
        end = expected.start + len(expected.total)
        good, total = store.minute_arrays([series], expected.start, end)
        if not total.any():
            return "absent"
        if np.array_equal(good[0], expected.good) and np.array_equal(total[0], expected.total):
            return "exact"
        return f"differs (stored {int(total.sum())} events, expected {int(expected.total.sum())})"
