"""Series (one SLO x one segment) and sources: stable integer ids for the counts tables."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from errorbudget.errors import NotFoundError, StoreError
from errorbudget.model import SegmentKey, segment_label
from errorbudget.records import SeriesInfo


def canonical_segment(segment: SegmentKey) -> str:
    """The stored form of a segment: JSON ``[["key", "value"], ...]`` sorted by key.

    Pairs are sorted here, so the same labels always map to the same series id.
    """
    pairs = sorted(segment)
    keys = [key for key, _ in pairs]
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            raise StoreError(f"segment {segment!r}: keys and values must be strings")
    if len(set(keys)) != len(keys):
        raise StoreError(f"segment {segment!r} has a key more than once")
    return json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)


def _parse_segment(stored: str) -> SegmentKey:
    return tuple((str(key), str(value)) for key, value in json.loads(stored))


def series_ids(
    connection: sqlite3.Connection, slo: str, segments: Sequence[SegmentKey], create: bool
) -> list[int]:
    """Ids of ``slo``'s series for ``segments`` in order, creating missing ones if asked."""
    if not isinstance(slo, str) or not slo:
        raise StoreError(f"an SLO id must be a non-empty string, not {slo!r}")
    wanted = [canonical_segment(segment) for segment in segments]
    unique = list(dict.fromkeys(wanted))
    found = _lookup(connection, slo, unique)
    missing = [segment for segment in unique if segment not in found]
    if missing and not create:
        labels = ", ".join(segment_label(_parse_segment(s)) for s in missing[:5])
        raise NotFoundError(f"SLO {slo!r} has no stored series for segment(s) {labels}")
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
    if slo is None:
        rows = connection.execute("SELECT id, slo, segment FROM series ORDER BY id")
    else:
        rows = connection.execute(
            "SELECT id, slo, segment FROM series WHERE slo = ? ORDER BY id", (slo,)
        )
    found = rows.fetchall()
    if not found:
        return []
    # every stored segment is canonical JSON: one parse of them all, not one per series
    segments = json.loads("[" + ",".join(str(seg) for _, _, seg in found) + "]")
    return [
        SeriesInfo(int(i), str(s), tuple((str(key), str(value)) for key, value in pairs))
        for (i, s, _), pairs in zip(found, segments, strict=True)
    ]


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
