"""The v7 migration's step: the rollups of ``store/counts/rollups.py`` from older rows.

Schema v7 added each series' data bounds (``series.first_minute`` / ``end_minute``) and the
day-total chunks (``day_chunks``); the writer keeps both from then on
(``counts/rollups.py`` says how). A store written before gets them here, once, from its
stored edge blocks and day rows.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from errorbudget.store.counts.rollups import widen_series_bounds, write_day_totals
from errorbudget.store.sqlite.counts import SQLiteCountsTables

_EDGE_MASKS = """
SELECT b.series_id, b.hour, b.minutes_mask
FROM (SELECT series_id, {edge}(hour) AS hour FROM minute_blocks GROUP BY series_id) AS e
CROSS JOIN minute_blocks AS b ON b.series_id = e.series_id AND b.hour = e.hour
"""


def backfill_series_bounds(connection: sqlite3.Connection) -> None:
    """Set every series' bounds from its stored edge blocks (the v7 migration's step)."""
    connection.execute("UPDATE series SET first_minute = NULL, end_minute = NULL")
    for edge in ("min", "max"):
        rows = connection.execute(_EDGE_MASKS.format(edge=edge)).fetchall()
        if not rows:
            return
        found = np.asarray(rows, dtype=np.int64)
        widen_series_bounds(
            SQLiteCountsTables(connection), found[:, 0], found[:, 1], found[:, 2].tolist()
        )


def backfill_day_chunks(connection: sqlite3.Connection) -> None:
    """Build every series' day chunks from its stored day rows (the v7 migration's step)."""
    rows = connection.execute(
        "SELECT series_id, day, good, total FROM day_counts ORDER BY series_id, day"
    ).fetchall()
    if not rows:
        return
    found = np.asarray(rows, dtype=np.int64)
    write_day_totals(
        SQLiteCountsTables(connection), (found[:, 0] << 32) | found[:, 1], found[:, 2:]
    )


def backfill(connection: sqlite3.Connection) -> None:
    """The v7 migration's step: every rollup of ``counts/rollups.py`` from the rows stored
    before."""
    backfill_series_bounds(connection)
    backfill_day_chunks(connection)
