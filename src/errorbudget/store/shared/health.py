"""Source runs and data issues (schema v4): each source's health, and its broken data.

- ``source_runs``: one row per collection run (when, whether it succeeded, the error, what
  was stored through, calls made and failed). Append-only; each source keeps its newest
  :data:`KEEP_RUNS` runs, plus its last successful one, so the table stays small whatever
  the interval.
- ``data_issues``: a range of one SLO's data that a source knows to be wrong or missing
  (``inconsistent``, ``gap``, ``partial``, ``throttled``; see ``model.DataIssueKind``).
  Rows are appended and later stamped ``resolved_at`` (a clean re-fetch of the range);
  they are never deleted, so what was shown as broken stays explainable.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import get_args

from errorbudget.errors import StoreError
from errorbudget.model import DataIssue, DataIssueKind, Minute, SourceHealth
from errorbudget.records import FoundIssue
from errorbudget.store.shared.connection import Connection, inserted_id

Clock = Callable[[], datetime]

KEEP_RUNS = 10_080
"""Runs kept per source: a week at the default one-minute interval (about 1 MB)."""
PRUNE_EVERY = 100
"""Old runs are pruned when a new run's id is a multiple of this (cheap amortised)."""
KINDS: tuple[str, ...] = get_args(DataIssueKind)

_ISSUE_COLUMNS = (
    "id, source, slo, segment, start_minute, end_minute, kind, detail, detected_at, resolved_at"
)


def _timestamp(moment: datetime, what: str) -> str:
    if moment.tzinfo is None:
        raise StoreError(f"{what} is a naive datetime: give it a time zone")
    return moment.astimezone(UTC).isoformat()


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _range(start: Minute, end: Minute, what: str) -> tuple[int, int]:
    try:
        first, last = operator.index(start), operator.index(end)
    except TypeError as exc:
        raise StoreError(f"{what}: start and end must be integer minutes ({exc})") from exc
    if not 0 <= first < last:
        raise StoreError(f"{what} needs 0 <= start < end (minutes), got [{first}, {last})")
    return first, last


def _segment(segment: Mapping[str, str], what: str) -> str:
    labels = dict(segment)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise StoreError(f"{what} segment {labels!r}: keys and values must be strings")
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- source runs -------------------------------------------------------------------------------


def record_source_run(
    connection: Connection,
    source: str,
    *,
    started_at: datetime,
    finished_at: datetime,
    ok: bool,
    error: str | None,
    collected_through: Minute | None,
    calls: int,
    failed_calls: int,
) -> int:
    """Append one run; prune the source's oldest runs now and then. Returns its id."""
    _text(source, "a source run's source")
    if not ok:
        _text(error, "a failed run's error")
    if not 0 <= failed_calls <= calls:
        raise StoreError(
            f"a source run needs 0 <= failed_calls <= calls, got {failed_calls}/{calls}"
        )
    if collected_through is not None:
        collected_through = operator.index(collected_through)
    previous = connection.execute(
        "SELECT failures_in_a_row FROM source_runs WHERE source = ? ORDER BY id DESC LIMIT 1",
        (source,),
    ).fetchone()
    in_a_row = 0 if ok else 1 + (int(previous[0]) if previous is not None else 0)
    cursor = connection.execute(
        "INSERT INTO source_runs (source, started_at, finished_at, ok, error, "
        "collected_through, calls, failed_calls, failures_in_a_row) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            source,
            _timestamp(started_at, "started_at"),
            _timestamp(finished_at, "finished_at"),
            int(ok),
            None if ok else error,
            collected_through,
            calls,
            failed_calls,
            in_a_row,
        ),
    )
    run_id = inserted_id(cursor)
    if run_id % PRUNE_EVERY == 0:
        prune_runs(connection, source, keep=KEEP_RUNS)
    return run_id


def prune_runs(connection: Connection, source: str, *, keep: int) -> int:
    """Delete ``source``'s runs older than its newest ``keep``, except its last successful
    one (so the time of the last success survives a long outage). Returns how many."""
    row = connection.execute(
        "SELECT id FROM source_runs WHERE source = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
        (source, keep),
    ).fetchone()
    if row is None:
        return 0
    last_ok = connection.execute(
        "SELECT max(id) FROM source_runs WHERE source = ? AND ok = 1", (source,)
    ).fetchone()[0]
    kept = "" if last_ok is None else " AND id <> ?"
    cursor = connection.execute(
        f"DELETE FROM source_runs WHERE source = ? AND id <= ?{kept}",
        (source, row[0]) + (() if last_ok is None else (last_ok,)),
    )
    return cursor.rowcount


def source_health(connection: Connection) -> list[SourceHealth]:
    """One :class:`SourceHealth` per source that ever ran (and still has runs), by name."""
    found: list[SourceHealth] = []
    sources = connection.execute(
        "SELECT source, count(*), max(id), max(CASE WHEN ok = 1 THEN id END) "
        "FROM source_runs GROUP BY source ORDER BY source"
    ).fetchall()
    for source, runs, last_id, last_ok_id in sources:
        last = connection.execute(
            "SELECT finished_at, ok, error, failures_in_a_row FROM source_runs WHERE id = ?",
            (last_id,),
        ).fetchone()
        last_ok_at = None
        if last_ok_id is not None:
            last_ok_at = connection.execute(
                "SELECT finished_at FROM source_runs WHERE id = ?", (last_ok_id,)
            ).fetchone()[0]
        through = connection.execute(
            "SELECT collected_through FROM source_runs WHERE source = ? "
            "AND collected_through IS NOT NULL ORDER BY id DESC LIMIT 1",
            (source,),
        ).fetchone()
        failed = not last[1]
        found.append(
            SourceHealth(
                source=source,
                last_run_at=datetime.fromisoformat(last[0]),
                last_success_at=None if last_ok_at is None else datetime.fromisoformat(last_ok_at),
                last_error=last[2] if failed else None,
                last_error_at=datetime.fromisoformat(last[0]) if failed else None,
                consecutive_failures=int(last[3]),
                collected_through=None if through is None else int(through[0]),
                runs=int(runs),
            )
        )
    return found


# --- data issues -------------------------------------------------------------------------------


def _issue(row: tuple[object, ...]) -> DataIssue:
    ident, source, slo, segment, start, end, kind, detail, detected, resolved = row
    return DataIssue(
        id=int(str(ident)),
        source=str(source),
        slo=str(slo),
        segment={str(k): str(v) for k, v in json.loads(str(segment)).items()},
        start=int(str(start)),
        end=int(str(end)),
        kind=str(kind),  # type: ignore[arg-type]  # the CHECK constraint holds it to KINDS
        detail=str(detail),
        detected_at=datetime.fromisoformat(str(detected)),
        resolved_at=None if resolved is None else datetime.fromisoformat(str(resolved)),
    )


def add_data_issue(
    connection: Connection,
    clock: Clock,
    *,
    source: str,
    slo: str,
    segment: Mapping[str, str],
    start: Minute,
    end: Minute,
    kind: str,
    detail: str,
    detected_at: str | None = None,
) -> tuple[int, bool]:
    """Record an issue; (its id, whether it is new). An identical unresolved issue (same
    source, SLO, segment, range and kind) is not recorded twice: its id is returned."""
    _text(source, "a data issue's source")
    _text(slo, "a data issue's SLO")
    _text(detail, "a data issue's detail")
    if kind not in KINDS:
        raise StoreError(f"unknown data issue kind {kind!r}; use one of {', '.join(KINDS)}")
    first, last = _range(start, end, "a data issue")
    labels = _segment(segment, "a data issue's")
    existing = connection.execute(
        "SELECT id FROM data_issues WHERE source = ? AND slo = ? AND segment = ? "
        "AND start_minute = ? AND end_minute = ? AND kind = ? AND resolved_at IS NULL",
        (source, slo, labels, first, last, kind),
    ).fetchone()
    if existing is not None:
        return int(existing[0]), False
    cursor = connection.execute(
        "INSERT INTO data_issues (source, slo, segment, start_minute, end_minute, kind, "
        "detail, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            source,
            slo,
            labels,
            first,
            last,
            kind,
            detail,
            detected_at or _timestamp(clock(), "detected_at"),
        ),
    )
    return inserted_id(cursor), True


def resolve_data_issues(
    connection: Connection,
    clock: Clock,
    *,
    source: str,
    slo: str,
    start: Minute,
    end: Minute,
) -> int:
    """Stamp resolved every unresolved issue of ``source`` and ``slo`` that lies inside
    ``[start, end)``; return how many."""
    first, last = _range(start, end, "resolving data issues")
    cursor = connection.execute(
        "UPDATE data_issues SET resolved_at = ? WHERE source = ? AND slo = ? "
        "AND resolved_at IS NULL AND start_minute >= ? AND end_minute <= ?",
        (_timestamp(clock(), "resolved_at"), source, slo, first, last),
    )
    return cursor.rowcount


def list_data_issues(
    connection: Connection,
    *,
    start: Minute | None,
    end: Minute | None,
    include_resolved: bool,
    source: str | None = None,
    slo: str | None = None,
) -> list[DataIssue]:
    """Issues overlapping ``[start, end)`` (either bound may be open), by id."""
    conditions: list[str] = []
    parameters: list[object] = []
    if start is not None:
        conditions.append("end_minute > ?")
        parameters.append(operator.index(start))
    if end is not None:
        conditions.append("start_minute < ?")
        parameters.append(operator.index(end))
    if not include_resolved:
        conditions.append("resolved_at IS NULL")
    if source is not None:
        conditions.append("source = ?")
        parameters.append(source)
    if slo is not None:
        conditions.append("slo = ?")
        parameters.append(slo)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        f"SELECT {_ISSUE_COLUMNS} FROM data_issues{where} ORDER BY id", parameters
    )
    return [_issue(row) for row in rows]


def sync_data_issues(
    connection: Connection,
    clock: Clock,
    *,
    source: str,
    slo: str,
    start: Minute,
    end: Minute,
    found: Iterable[FoundIssue],
) -> tuple[int, int]:
    """``source`` has just fetched ``[start, end)`` of ``slo`` and found exactly ``found``:
    issues found again are kept as they are (same id, same ``detected_at``), new ones are
    added, and the unresolved ones no longer found are resolved — the parts of them outside
    ``[start, end)`` (not re-fetched) stay open, as narrower issues with the same detail and
    ``detected_at``. Returns (new issues, issues resolved whole)."""
    first, last = _range(start, end, "a fetched range")
    wanted = {(_segment(i.segment, "a data issue's"), i.start, i.end, i.kind): i for i in found}
    existing = connection.execute(
        f"SELECT {_ISSUE_COLUMNS} FROM data_issues WHERE source = ? AND slo = ? "
        "AND resolved_at IS NULL AND end_minute > ? AND start_minute < ?",
        (source, slo, first, last),
    ).fetchall()
    now = _timestamp(clock(), "resolved_at")
    added = resolved = 0
    for row in existing:
        issue = _issue(row)
        key = (_segment(issue.segment, "a data issue's"), issue.start, issue.end, issue.kind)
        if key in wanted:
            del wanted[key]
            continue
        connection.execute("UPDATE data_issues SET resolved_at = ? WHERE id = ?", (now, issue.id))
        detected = _timestamp(issue.detected_at, "detected_at")
        rest = [(a, b) for a, b in ((issue.start, first), (last, issue.end)) if a < b]
        for part_start, part_end in rest:  # the same issue, narrowed: neither added nor resolved
            add_data_issue(
                connection, clock, source=source, slo=slo, segment=issue.segment,
                start=part_start, end=part_end, kind=issue.kind, detail=issue.detail,
                detected_at=detected,
            )  # fmt: skip
        resolved += not rest
    for fresh in wanted.values():
        _, new = add_data_issue(
            connection, clock, source=source, slo=slo, segment=fresh.segment,
            start=fresh.start, end=fresh.end, kind=fresh.kind, detail=fresh.detail,
        )  # fmt: skip
        added += int(new)
    return added, resolved
