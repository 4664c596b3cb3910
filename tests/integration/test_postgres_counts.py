"""Counts on PostgreSQL where the backend does something of its own (issue #13): the binary
COPY path of large writes, blocks byte-identical to SQLite's, two processes adding to the
same minutes. (Whole-file ingests on PostgreSQL: tests/integration/test_ingest.py.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import psycopg
import pytest

from errorbudget.store import Store, open_store
from errorbudget.store.counts import blocks
from errorbudget.store.postgres.counts import copy_payload

pytestmark = pytest.mark.integration

DAY = 1440
BASE = 20_000 * DAY - 90  # 90 minutes before a UTC midnight


def _ids(store: Store, count: int) -> list[int]:
    return store.series_ids("checkout", [(("queue", f"q{i}"),) for i in range(count)])


def _table(connection: object, sql: str) -> list[tuple[object, ...]]:
    rows = connection.execute(sql).fetchall()  # type: ignore[attr-defined]
    return sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows)


def test_copy_payload_rows_read_back_as_written(postgres_url: str) -> None:
    """Every blob length (empty, 1, 2, 4 and 8 bytes a count) and bigint extremes survive
    the binary COPY payload built in numpy."""
    counts = np.zeros((5, 2, 60), dtype=np.int64)
    for index, largest in enumerate([0, 200, 60_000, 4_000_000_000, 2**40]):
        counts[index, 1, :] = largest
        counts[index, 0, ::2] = largest
    blobs = blocks.encode_blocks(counts)
    assert sorted(map(len, blobs)) == [0, 120, 240, 480, 960]
    first = np.asarray([1, -(2**63), 2**63 - 1, 0, 7], dtype=np.int64)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TEMP TABLE t (a BIGINT, b BYTEA, c BIGINT)")
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY t FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.write(copy_payload([first, blobs, first[::-1].copy()]))
        rows = connection.execute("SELECT a, b, c FROM t ORDER BY a").fetchall()
    expected = sorted(zip(first.tolist(), blobs, first[::-1].tolist(), strict=True))
    assert [(a, bytes(b), c) for a, b, c in rows] == expected


def test_a_large_write_stores_the_same_rows_as_sqlite(postgres_url: str, tmp_path: Path) -> None:
    """About 1.3 M minute rows over two sources, in several transactions and re-sends: every
    row of minute_blocks, day_counts and day_chunks, and every series' bounds, are the same
    bytes on both backends (the shared algorithms, the same blob formats)."""
    rng = np.random.default_rng(13)
    n = 150
    minutes = np.arange(BASE, BASE + 4 * DAY)
    writes = []
    for source, share in (("ingest", 0.9), ("genesys", 0.3)):
        rows, cols = np.nonzero(rng.random((n, minutes.size)) < share)
        total = rng.integers(0, 70_000, rows.size) // rng.integers(1, 300, rows.size)
        good = rng.integers(0, total + 1)
        writes.append((rows, minutes[cols], good, total, source))
    resend = writes[0][1] > BASE + 3 * DAY + 17  # a partial re-send of the last day
    found = {}
    for name, opened in (
        ("sqlite", open_store(tmp_path / "store.db")),
        ("postgres", open_store(postgres_url)),
    ):
        with opened as store:
            series = np.asarray(_ids(store, n + 1))  # the last one never gets data
            for rows, at, good, total, source in writes:
                store.write_counts(series[rows], at, good, total, source)
            rows, at, good, total, source = writes[0]
            with store.transaction():
                store.write_counts(series[rows[resend]], at[resend], good[resend] // 2,
                                   total[resend], source)  # fmt: skip
            now = BASE + 4 * DAY - 17
            intervals = [(now - k * 60, now) for k in (1, 5, 60, 3 * 24)]
            found[name] = (
                store.sums(series.tolist(), intervals).tolist(),
                store.series_bounds(series.tolist()),
            )
    assert found["sqlite"] == found["postgres"]
    lite = sqlite3.connect(tmp_path / "store.db")
    with psycopg.connect(postgres_url) as pg:
        for sql in (
            "SELECT series_id, hour, source_id, counts, minutes_mask, good_sum, total_sum "
            "FROM minute_blocks",
            "SELECT series_id, day, good, total, hours FROM day_counts",
            "SELECT series_id, chunk, totals FROM day_chunks",
            "SELECT id, first_minute, end_minute FROM series",
        ):
            assert _table(lite, sql) == _table(pg, sql), sql
    lite.close()


_ADDER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from errorbudget.store import open_store

    url, series, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    minutes = np.arange({base}, {base} + 90)  # two hours, one of them partial
    with open_store(url, lock_timeout=60) as store:
        for _ in range(calls):
            store.add_counts(np.full(90, series), minutes, np.ones(90, dtype=np.int64),
                             np.full(90, 2), "collector")
    """
).format(base=BASE)


def test_two_processes_adding_to_the_same_minutes_add_exactly(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        [series] = _ids(store, 1)
    calls = 15
    adders = [
        subprocess.Popen([sys.executable, "-c", _ADDER, postgres_url, str(series), str(calls)])
        for _ in range(2)
    ]
    for adder in adders:
        assert adder.wait(timeout=120) == 0
    with open_store(postgres_url) as store:
        good, total = store.minute_arrays([series], BASE, BASE + 90)
        assert good.tolist() == [[2.0 * calls] * 90]
        assert total.tolist() == [[4.0 * calls] * 90]
        assert store.sums([series], [(BASE, BASE + 90)]).tolist() == [
            [[180.0 * calls, 360.0 * calls]]
        ]
