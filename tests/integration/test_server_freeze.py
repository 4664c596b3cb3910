"""Issue #8 point 3: a store lock held by another process freezes nothing.

Another process holds the store's write lock (``BEGIN IMMEDIATE``, as a CLI ``ingest`` does
for its whole file) while ``errorbudget serve`` (a real process) is asked for a gate
decision: the decision answers 503 with ``Retry-After`` after the server's short lock wait
(not 500 "database is locked" after 10 s), and meanwhile ``/healthz``, ``/readyz`` and the
reads answer — before the decision does (before #8 the decision waited on the event loop
and every request, /healthz included, waited behind it).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from serving import Served, serving

from errorbudget.model import to_minute
from errorbudget.store import open_store
from errorbudget.store.sqlite.locking import WriterInfo, announce

OPERATOR = "operator-token-freeze-01"
CONFIG = f"""\
version: 1
store: {{path: eb.db}}
server:
  store_lock_timeout: 2s
  busy_retry_after: 3s
  max_concurrent_writes: 2
  tokens:
    - {{name: olga, token: {OPERATOR}, role: operator}}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {{type: rolling, length: 1d}}
    segments: {{keys: [queue]}}
"""
AUTH = {"Authorization": f"Bearer {OPERATOR}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real server for the module, over a seeded store (each test holds the lock
    itself and releases it)."""
    folder = tmp_path_factory.mktemp("freeze")
    config = folder / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    end = to_minute(datetime.now(tz=UTC))
    with open_store(folder / "eb.db") as store:
        [series] = store.series_ids("calls", [(("queue", "q1"),)])
        minutes = np.arange(end - 600, end, dtype=np.int64)
        store.write_counts(np.full(600, series), minutes, np.full(600, 95), np.full(600, 100))
    with serving(config) as running:
        yield running
    log = running.log_text()
    assert "Traceback" not in log and "database is locked" not in log


def test_a_held_write_lock_freezes_nothing_and_a_write_answers_503(served: Served) -> None:
    tmp_path = served.log.parent
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.get("/api/v1/status", headers=AUTH).status_code == 200  # warm
        holder = sqlite3.connect(tmp_path / "eb.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        # this process says who it is, as a CLI ingest does while it holds the lock
        since = datetime.now(tz=UTC)
        announce(tmp_path / "eb.db", WriterInfo("errorbudget ingest", os.getpid(),
                                                socket.gethostname(), since))  # fmt: skip
        try:
            done: dict[str, float] = {}
            answers: dict[str, httpx.Response] = {}

            def decide() -> None:
                with httpx.Client(base_url=served.url, timeout=30) as own:
                    answers["gate"] = own.post(
                        "/api/v1/gate/decide", json={"service": "cc"}, headers=AUTH
                    )
                done["gate"] = time.monotonic()

            began = time.monotonic()
            pending = threading.Thread(target=decide)
            pending.start()
            time.sleep(0.3)  # the decision is now waiting for the lock
            for name, path in (("healthz", "/healthz"), ("readyz", "/readyz"),
                               ("status", "/api/v1/status"), ("exclusions", "/api/v1/exclusions"),
                               ("page", "/api/v1/pages/overview")):  # fmt: skip
                answers[name] = client.get(path, headers=AUTH)
                done[name] = time.monotonic()
            pending.join(30)
            write = client.post(
                "/api/v1/exclusions", headers=AUTH,
                json={"slo": "calls", "start": "2026-11-01T00:00:00Z",
                      "end": "2026-11-01T01:00:00Z", "category": "maintenance", "reason": "r"},
            )  # fmt: skip
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        for name in ("healthz", "readyz", "status", "exclusions", "page"):
            assert answers[name].status_code == 200, (name, answers[name].text)
            assert done[name] < done["gate"], f"{name} waited for the blocked write"
        gate = answers["gate"]
        assert gate.status_code == 503, gate.text
        assert gate.headers["retry-after"] == "3"
        assert 1.5 < done["gate"] - began < 10  # the server's 2-s lock wait, not a hang
        detail = gate.json()["detail"]
        assert f"is being written by `errorbudget ingest` (pid {os.getpid()})" in detail
        assert write.status_code == 503 and write.headers["retry-after"] == "3"
        assert "database is locked" not in write.text

        # the lock released, writes work again; the server never stopped answering
        again = client.post("/api/v1/gate/decide", json={"service": "cc"}, headers=AUTH)
        assert again.status_code == 200, again.text


def test_writes_beyond_the_write_slots_answer_503_and_reads_keep_their_threads(
    served: Served,
) -> None:
    """``server.max_concurrent_writes`` (2 here): with the store held, writes beyond the
    slots do not wait in the thread pool for the lock: they answer 503 after the lock wait
    too, and reads keep answering."""
    answers: list[httpx.Response] = []

    def decide() -> None:
        with httpx.Client(base_url=served.url, timeout=30) as own:
            answers.append(own.post("/api/v1/gate/decide", json={"service": "cc"}, headers=AUTH))

    holder = sqlite3.connect(served.log.parent / "eb.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        writers = [threading.Thread(target=decide) for _ in range(6)]
        for writer in writers:
            writer.start()
        time.sleep(0.3)
        read = httpx.get(served.url + "/api/v1/status", headers=AUTH, timeout=30)
        read_done = time.monotonic()
        for writer in writers:
            writer.join(30)
        writes_done = time.monotonic()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert read.status_code == 200 and read_done < writes_done
    assert [a.status_code for a in answers] == [503] * 6
    details = [a.json()["detail"] for a in answers]
    slots = [d for d in details if "(server.max_concurrent_writes)" in d]
    # two held the slots, waiting for the store's lock; of the four that waited for a slot,
    # at most two got one when those answered: at least two were refused at their slot wait
    assert 2 <= len(slots) <= 4, details
    assert slots[0].startswith("the server is busy with 2 writes already and none finished")
    assert all(a.headers["retry-after"] == "3" for a in answers)
