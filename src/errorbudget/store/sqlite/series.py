"""Series (one SLO x one segment) and sources: stable integer ids for the counts tables."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from errorbudget.errors import StoreError
from errorbudget.model import SegmentKey
from errorbudget.records import SeriesInfo
from errorbudget.store.segments import (
    canonical_segment,
    check_slo_id,
    missing_series,
    series_infos,
)


def series_ids(
    connection: sqlite3.Connection, slo: str, segments: Sequence[SegmentKey], create: bool
) -> list[int]:
    """Ids of ``slo``'s series for ``segments`` in order, creating missing ones if asked."""
    check_slo_id(slo)
    wanted = [canonical_segment(segment) for segment in segments]
    unique = list(dict.fromkeys(wanted))
    found = _lookup(connection, slo, unique)
    missing = [segment for segment in unique if segment not in found]
    if missing and not create:
        raise missing_series(slo, missing)
    if missing:
        now = datetime.now(UTC).isoformat()
        connection.executemany(
            "INSERT INTO series (slo, segment, created_at) VALUES (?, ?, ?)",
            [(slo, segment, now) for segment in missing],
        )
        found.update(_lookup(connection, slo, missing))
    return [found[segment] for segment in wanted]


def _lookup(connection: sqlite3.Connection, slo: str, segments: list[str]) -> dict[str, int]:
    if not segments:
        return {}
    rows = connection.execute(
        "SELECT segment, id FROM series "
        "WHERE slo = ? AND segment IN (SELECT value FROM json_each(?))",
        (slo, json.dumps(segments)),
    )
    return {str(segment): int(series_id) for segment, series_id in rows}


def list_series(connection: sqlite3.Connection, slo: str | None) -> list[SeriesInfo]:
    return series_infos(series_rows(connection, slo))


def series_rows(connection: sqlite3.Connection, slo: str | None) -> list[tuple[int, str, str]]:
    """``(id, slo, stored segment)`` of every series (of ``slo`` if given), by id."""
    if slo is None:
        rows = connection.execute("SELECT id, slo, segment FROM series ORDER BY id")
    else:
        rows = connection.execute(
            "SELECT id, slo, segment FROM series WHERE slo = ? ORDER BY id", (slo,)
        )
    return rows.fetchall()


def check_series_exist(connection: sqlite3.Connection, ids: list[int]) -> None:
    """Raise StoreError naming the ids in ``ids`` (unique) that are not stored series."""
    if not ids:
        return
    selected = json.dumps(ids)
    known = connection.execute(
        "SELECT count(*) FROM series WHERE id IN (SELECT value FROM json_each(?))", (selected,)
    ).fetchone()[0]
    if known == len(ids):
        return
    rows = connection.execute(
        "SELECT id FROM series WHERE id IN (SELECT value FROM json_each(?))", (selected,)
    )
    unknown = sorted(set(ids) - {int(row[0]) for row in rows})
    shown = ", ".join(map(str, unknown[:5])) + (" …" if len(unknown) > 5 else "")
    raise StoreError(f"unknown series id(s) {shown}: get ids from series_ids() first")


def source_id(connection: sqlite3.Connection, source: str) -> int:
    """The id of a counts source name (``ingest``, ``genesys``, …), created on first use."""
    if not isinstance(source, str) or not source:
        raise StoreError(f"a counts source must be a non-empty string, not {source!r}")
    row = connection.execute("SELECT id FROM sources WHERE name = ?", (source,)).fetchone()
    if row is None:
        created = connection.execute("INSERT INTO sources (name) VALUES (?)", (source,))
        return int(created.lastrowid or 0)
    return int(row[0])
