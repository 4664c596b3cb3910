"""Issue #8 point 3, in the store: reads never wait for a writer, a write waits for the
lock a bounded time and then says who holds it (StoreBusyError), and a cached status is
never keyed to data a write has not committed yet."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from errorbudget.errors import StoreBusyError
from errorbudget.store import Store, open_store
from errorbudget.store.sqlite.locking import WriterInfo, announce, current_holder, holder_path

M0 = 29_000_000
QUICK = 1.0
"""Seconds: a generous bound for a read that must not wait (it takes milliseconds)."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "eb.db", lock_timeout=0.5) as opened:
        [series] = opened.series_ids("calls", [(("queue", "q1"),)])
        opened.write_counts([series] * 3, [M0, M0 + 1, M0 + 2], [9, 9, 9], [10, 10, 10])
        yield opened


def other_connection(store: Store) -> sqlite3.Connection:
    assert store.path is not None
    return sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)


def test_reads_answer_while_another_connection_holds_the_write_lock(store: Store) -> None:
    holder = other_connection(store)
    holder.execute("BEGIN IMMEDIATE")  # what a CLI ingest does for its whole file
    holder.execute("DELETE FROM sources")  # an uncommitted change of the other writer
    try:
        began = time.monotonic()
        [series] = store.list_series("calls")
        assert store.sums([series.id], [(M0, M0 + 3)]).tolist() == [[[27.0, 30.0]]]
        assert store.source_health() == [] and store.list_exclusions() == []
        version = store.revision()
        assert time.monotonic() - began < QUICK

        began = time.monotonic()
        with pytest.raises(StoreBusyError) as caught:
            store.write_counts([series.id], [M0 + 3], [1], [1])
        waited = time.monotonic() - began
        assert 0.4 < waited < 0.5 + QUICK  # the lock timeout, not SQLite's 10 s
        message = str(caught.value)
        assert message.startswith("cannot write counts: another connection holds the write ")
        assert re.search(r"; gave up after waiting 0\.[5-9] s: try again when it is done$", message)
        assert "database is locked" not in message
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.write_counts([series.id], [M0 + 3], [1], [1]) == 1  # free again
    assert store.revision() != version


def test_reads_do_not_wait_for_a_write_of_this_process(store: Store) -> None:
    [series] = store.list_series("calls")
    inside, release = threading.Event(), threading.Event()

    def long_write() -> None:  # an API ingest of a large body, in a server thread
        with store.transaction():
            store.write_counts([series.id], [M0], [0], [10])
            inside.set()
            release.wait(10)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert inside.wait(5)
        version = store.revision()
        began = time.monotonic()
        good = store.sums([series.id], [(M0, M0 + 1)])[0, 0, 0]
        assert time.monotonic() - began < QUICK
        assert good == 9.0  # the last committed state, not the uncommitted write
        with pytest.raises(StoreBusyError, match="another write of this process held"):
            store.propose_exclusion(slo="calls", start=M0, end=M0 + 1, category="maintenance",
                                    reason="r", proposed_by="t")  # fmt: skip
        assert store.revision() == version  # nothing committed yet: same key
    finally:
        release.set()
        writer.join(10)
    assert store.revision() != version  # the commit moves it
    assert store.sums([series.id], [(M0, M0 + 1)])[0, 0, 0] == 0.0


def test_a_commit_by_another_process_moves_the_revision(store: Store) -> None:
    version = store.revision()
    with open_store(store.label) as other:  # another process on the same file
        [series] = other.series_ids("calls", [(("queue", "q1"),)], create=False)
        moved = other.revision()
        assert moved != version and store.revision() == moved  # every process sees it
        started = datetime(2025, 3, 1, tzinfo=UTC)
        other.record_source_run("genesys", started_at=started, finished_at=started, ok=True)
        assert store.revision() == moved  # a run changes no status: no new revision
        other.write_counts([series], [M0 + 5], [1], [2])
    assert store.revision() > moved


def test_a_writer_with_a_holder_announces_itself_while_it_holds_the_lock(tmp_path: Path) -> None:
    me = WriterInfo.current("errorbudget ingest")
    with open_store(tmp_path / "eb.db", holder=me) as store:
        assert not holder_path(store.label).exists()
        with store.transaction():
            store.series_ids("calls", [()])
            seen = WriterInfo.from_json(holder_path(store.label).read_text())
            assert (seen.command, seen.pid, seen.host) == ("errorbudget ingest", os.getpid(),
                                                           socket.gethostname())  # fmt: skip
            assert current_holder(store.label) is None  # our own: not someone to wait for
        assert not holder_path(store.label).exists()  # withdrawn at commit
        with pytest.raises(ZeroDivisionError), store.transaction():
            store.series_ids("other", [()])
            raise ZeroDivisionError
        assert not holder_path(store.label).exists()  # and at rollback


def test_a_holder_that_died_is_not_named(tmp_path: Path) -> None:
    store = tmp_path / "eb.db"
    since = datetime(2026, 11, 20, 17, 2, 3, tzinfo=UTC)
    alive = WriterInfo("errorbudget ingest", os.getppid(), socket.gethostname(), since)
    announce(store, alive)
    assert current_holder(store) == alive
    assert alive.describe() == f"`errorbudget ingest` (pid {os.getppid()}) since 17:02:03 UTC"
    dead = WriterInfo("errorbudget ingest", 2**22 + 12345, socket.gethostname(), since)
    announce(store, dead)  # a writer killed with -9 leaves its file behind
    assert current_holder(store) is None
    elsewhere = WriterInfo("errorbudget ingest", 2**22 + 12345, "batch-7", since)
    announce(store, elsewhere)  # another host's pid cannot be checked from here: named
    assert current_holder(store) == elsewhere
    assert "(pid 4206649 on batch-7)" in elsewhere.describe()


def test_counts_written_by_one_store_are_read_by_another(tmp_path: Path) -> None:
    """Two processes' stores on one file: committed writes of one are read by the other at
    once (the read connections never keep an old snapshot)."""
    with open_store(tmp_path / "eb.db") as first, open_store(tmp_path / "eb.db") as second:
        [series] = first.series_ids("calls", [()])
        for value in range(1, 4):
            first.write_counts([series], [M0], [value], [10])
            sums = second.sums([series], [(M0, M0 + 1)])
            assert np.array_equal(sums, [[[value, 10]]])
