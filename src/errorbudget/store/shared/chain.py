"""The hash chain over the audit log and the records people trust (schema v5).

One global chain, the audit log itself (docs/architecture.md, "The audit chain"):

- Entry *n* stores ``prev_hash`` (the ``hash`` of the entry before it; ``GENESIS`` for the
  first) and ``hash`` = SHA-256 of the canonical JSON array ``[id, at, actor, action,
  subject, details, records, prev_hash]`` — the column values exactly as stored, so any
  edited byte, a deleted, inserted or reordered entry breaks the hash or the link.
- Every write to a chained table (``CHAINED``: changes, approvals, exclusions, gate
  snapshots, annotations) is audited in the same transaction by an entry whose ``records``
  lists ``[table, id, digest]`` of each row as written: digest = SHA-256 of the canonical
  JSON ``[table, [column values in CHAINED order]]``, read back from the database. A row
  is what the chain says only if its digest equals the one its *latest* binding recorded.
- ``audit_records`` (record_table, record_id, audit_id) indexes those bindings so a read
  finds a record's latest entry without walking the log; it is derived from the entries'
  ``records`` (``verify`` checks that it matches).

``check_records`` is the verification on read (a record, its latest binding entry, and
that entry's links to its neighbours); ``verify`` walks everything. What a hash chain
without a secret cannot see — someone who rewrites the whole chain after an edit, or
appends well-formed forged entries at its end — is caught by comparing with a head hash
kept elsewhere (``verify(anchor=…)``); docs/operations.md states the threat model.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from errorbudget.records import ChainProblem, ChainReport
from errorbudget.store.shared.connection import CHUNK, Connection, marks

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry."""

CHAINED: dict[str, tuple[str, ...]] = {
    "changes": (
        "id", "service", "slos", "segment", "change_type", "risk", "title", "description",
        "submitted_by", "submitted_at", "status", "status_by", "status_at", "estimated_impact",
        "impact_basis", "decision", "decision_at", "snapshot", "shipped_at",
    ),
    "approvals": ("id", "change_id", "approver", "role", "decision", "comment", "at"),
    "exclusions": (
        "id", "slo", "service", "segment", "start_minute", "end_minute", "category", "reason",
        "created_by", "created_at", "status", "approved_by", "reviewed_by", "reviewed_at",
        "reviewer_role", "review_comment", "revoked_at", "revoked_by", "revoke_reason",
        "legacy_approver",
    ),
    "gate_snapshots": ("id", "sha256", "created_at", "body"),
    "annotations": (
        "id", "at", "kind", "service", "slo", "segment", "text", "created_by", "created_at",
        "change_id",
    ),
}  # fmt: skip
"""The chained tables and the columns a row digest covers, in order. A migration that adds
a column to one of them must also re-bind its rows (a new audited entry per row)."""

Binding = tuple[str, int, str]
"""``(table, id, digest)`` of one row as an entry wrote it."""

_ENTRY_COLUMNS = "id, at, actor, action, subject, details, records, prev_hash, hash"


def _sha256(value: object) -> str:
    return hashlib.sha256(orjson.dumps(value)).hexdigest()


def entry_hash(
    entry_id: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    details: str,
    records: str,
    prev_hash: str,
) -> str:
    """SHA-256 of an audit entry's canonical form (its stored column values)."""
    return _sha256([entry_id, at, actor, action, subject, details, records, prev_hash])


def row_digest(table: str, values: Sequence[object]) -> str:
    """SHA-256 of a chained row's canonical form: ``[table, [values in CHAINED order]]``."""
    return _sha256([table, list(values)])


def _select(table: str) -> str:
    return f"SELECT {', '.join(CHAINED[table])} FROM {table}"


def digests(connection: Connection, table: str, ids: Iterable[int]) -> dict[int, str]:
    """The digest of each stored row of ``table`` among ``ids`` (missing ids left out)."""
    wanted = sorted(set(ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), CHUNK):  # SQLite's bound-parameter limit
        chunk = wanted[start : start + CHUNK]
        slots = marks(len(chunk))
        rows = connection.execute(f"{_select(table)} WHERE id IN ({slots})", chunk)
        found.update((int(row[0]), row_digest(table, row)) for row in rows)
    return found


# --- appending ---------------------------------------------------------------------------------


def bind(connection: Connection, records: Iterable[tuple[str, int]]) -> list[Binding]:
    """The bindings of ``records`` as they are stored now (inside the writing transaction)."""
    bound: list[Binding] = []
    by_table: dict[str, set[int]] = {}
    for table, record_id in records:
        if table not in CHAINED:
            raise ValueError(f"{table} is not a chained table")
        by_table.setdefault(table, set()).add(int(record_id))
    for table, ids in sorted(by_table.items()):
        found = digests(connection, table, ids)
        missing = sorted(ids - set(found))
        if missing:
            raise ValueError(f"cannot bind {table} {missing[0]}: there is no such row")
        bound += [(table, record_id, found[record_id]) for record_id in sorted(ids)]
    return bound


def append(
    connection: Connection,
    *,
    at: str,
    actor: str,
    action: str,
    subject: str,
    details: str,
    records: Iterable[tuple[str, int]] = (),
) -> int:
    """Append one chained entry (inside the caller's write transaction, which serialises
    appends across processes); return its id. ``details`` is the stored JSON text."""
    bound = bind(connection, records)
    encoded = orjson.dumps([list(b) for b in bound]).decode()
    tail = connection.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    entry_id = 1 if tail is None else int(tail[0]) + 1
    prev = GENESIS if tail is None else str(tail[1] or "")
    digest = entry_hash(entry_id, at, actor, action, subject, details, encoded, prev)
    connection.execute(
        f"INSERT INTO audit_log ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (entry_id, at, actor, action, subject, details, encoded, prev, digest),
    )
    connection.executemany(
        "INSERT INTO audit_records (record_table, record_id, audit_id) VALUES (?, ?, ?)",
        [(table, record_id, entry_id) for table, record_id, _ in bound],
    )
    return entry_id


# --- verification on read ----------------------------------------------------------------------


def entry_problem(connection: Connection, row: Sequence[Any]) -> str | None:
    """What is wrong with one entry and its links to its neighbours, or None."""
    entry_id, at, actor, action, subject, details, records, prev, stored = row
    if stored is None:
        return f"audit entry {entry_id} has no hash (written outside errorbudget)"
    if entry_hash(entry_id, at, actor, action, subject, details, records, prev) != stored:
        return f"audit entry {entry_id} does not match its hash (changed after it was written)"
    before = connection.execute(
        "SELECT id, hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1", (entry_id,)
    ).fetchone()
    if (GENESIS if before is None else before[1]) != prev:
        return (
            f"audit entry {entry_id} does not follow the entry before it (an entry was "
            "deleted, inserted or changed before it)"
        )
    after = connection.execute(
        "SELECT id, prev_hash FROM audit_log WHERE id > ? ORDER BY id LIMIT 1", (entry_id,)
    ).fetchone()
    if after is not None and after[1] != stored:
        return (
            f"audit entry {after[0]} does not follow audit entry {entry_id} (an entry was "
            "deleted, inserted or changed after it)"
        )
    return None


def check_records(connection: Connection, table: str, ids: Iterable[int]) -> dict[int, str]:
    """Verify rows of ``table`` on read: each must be bound by its latest audit entry with
    the digest it has now, and that entry must be intact and linked to its neighbours.
    Returns a problem sentence per failing id (ids without a row are not checked here)."""
    found = digests(connection, table, ids)
    if not found:
        return {}
    problems: dict[int, str] = {}
    latest = latest_bindings(connection, table, sorted(found))
    entries: dict[int, tuple[Any, ...]] = {}
    audit_ids = sorted(set(latest.values()))
    for start in range(0, len(audit_ids), CHUNK):
        chunk = audit_ids[start : start + CHUNK]
        slots = marks(len(chunk))
        rows = connection.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM audit_log WHERE id IN ({slots})", chunk
        )
        entries.update((int(row[0]), tuple(row)) for row in rows)
    entry_problems: dict[int, str | None] = {}
    for record_id, digest in found.items():
        what = f"{_NOUN[table]} {record_id}"
        audit_id = latest.get(record_id)
        if audit_id is None:
            problems[record_id] = f"{what} is not in the audit chain (written outside errorbudget)"
            continue
        entry = entries.get(audit_id)
        if entry is None:
            problems[record_id] = f"{what}: audit entry {audit_id} that recorded it is missing"
            continue
        if audit_id not in entry_problems:
            entry_problems[audit_id] = entry_problem(connection, entry)
        broken = entry_problems[audit_id]
        if broken is not None:
            problems[record_id] = f"{what}: {broken}"
        elif [table, record_id, digest] not in orjson.loads(entry[6]):
            problems[record_id] = (
                f"{what} differs from what audit entry {audit_id} recorded (changed outside "
                "errorbudget)"
            )
    return problems


def _subjects(connection: Connection, table: str, ids: list[int]) -> dict[int, str]:
    """The subject of the entries that write each row: ``change:5`` for change 5 and for
    the approvals of change 5, ``exclusion:3``, ``annotation:7``."""
    if table != "approvals":
        noun = _NOUN[table]
        return {record_id: f"{noun}:{record_id}" for record_id in ids}
    subjects: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        slots = marks(len(chunk))
        rows = connection.execute(
            f"SELECT id, change_id FROM approvals WHERE id IN ({slots})", chunk
        )
        subjects.update((int(i), f"change:{int(change_id)}") for i, change_id in rows)
    return subjects


def _indexed_bindings(connection: Connection, table: str, ids: list[int]) -> dict[int, int]:
    """The latest entry binding each row, by the ``audit_records`` index."""
    latest: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        slots = marks(len(chunk))
        rows = connection.execute(
            "SELECT record_id, max(audit_id) FROM audit_records WHERE record_table = ? "
            f"AND record_id IN ({slots}) GROUP BY record_id",
            (table, *chunk),
        )
        latest.update((int(record_id), int(audit_id)) for record_id, audit_id in rows)
    return latest


def latest_bindings(connection: Connection, table: str, ids: list[int]) -> dict[int, int]:
    """The latest audit entry that bound each row of ``table`` (changes, approvals,
    exclusions, annotations): the later of what the ``audit_records`` index says and what
    the chained log itself says about the row's subject (``change:5``, ``exclusion:3``).
    The migration's ``chain.start`` entries (subject: the table) are not read: they are
    each row's first binding, so they can never be a later one the index hides, and reading
    them would parse every migrated id on each check.

    The index alone is not enough: it is outside the chain, so deleting the index rows of a
    later entry (a revoke) made an earlier binding look like the latest, and a row restored
    to that earlier state verified on read. The one binding not found by subject is a gate
    decision's (subject: the service) on a change's stored decision, which the gate judges
    again before anything ships; ``errorbudget audit verify`` checks the index whole."""
    subjects = _subjects(connection, table, ids)
    wanted = {(table, record_id) for record_id in ids}
    latest = _indexed_bindings(connection, table, ids)
    names = sorted(set(subjects.values()))
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        slots = marks(len(chunk))
        rows = connection.execute(
            f"SELECT id, records FROM audit_log WHERE subject IN ({slots})", chunk
        )
        for audit_id, records in rows:
            for bound_table, record_id, _ in orjson.loads(records or "[]"):
                key = (bound_table, int(record_id))
                if key in wanted and audit_id > latest.get(key[1], 0):
                    latest[key[1]] = int(audit_id)
    return latest


_NOUN = {
    "changes": "change",
    "approvals": "approval",
    "exclusions": "exclusion",
    "gate_snapshots": "gate snapshot",
    "annotations": "annotation",
    "audit_log": "audit entry",
    "audit_records": "audit record index",
}


def bound_ids(connection: Connection, table: str, subject: str) -> dict[int, int]:
    """The ids of ``table`` rows that entries about ``subject`` bound, each with the first
    entry that did (to find rows deleted since: an approval of ``change:5``)."""
    found: dict[int, int] = {}
    rows = connection.execute(
        "SELECT id, records FROM audit_log WHERE subject = ? ORDER BY id", (subject,)
    )
    for audit_id, records in rows:
        for bound_table, record_id, _ in orjson.loads(records or "[]"):
            if bound_table == table:
                found.setdefault(int(record_id), int(audit_id))
    return found


# --- the full walk -----------------------------------------------------------------------------


def verify(connection: Connection, anchor: tuple[int, str] | None = None) -> ChainReport:
    """Walk the whole audit log and every chained table (see the module docstring).

    ``anchor`` is an ``(entry id, hash)`` recorded earlier outside the store: the entry
    must still have that hash, or history up to it was rewritten.
    """
    started = time.perf_counter()
    problems: list[ChainProblem] = []
    latest: dict[tuple[str, int], tuple[int, str]] = {}
    derived: set[tuple[str, int, int]] = set()
    snapshot_refs: list[tuple[int, int, str]] = []
    previous = GENESIS
    entries = 0
    head_id: int | None = None
    anchor_seen = anchor is None
    cursor = connection.execute(f"SELECT {_ENTRY_COLUMNS} FROM audit_log ORDER BY id")
    while batch := cursor.fetchmany(2000):
        for entry_id, at, actor, action, subject, details, records, prev, stored in batch:
            entries += 1
            head_id = entry_id
            if stored is None:
                problems.append(
                    ChainProblem("audit_log", entry_id, "has no hash (written outside errorbudget)")
                )
            elif entry_hash(entry_id, at, actor, action, subject, details, records, prev) != stored:
                problems.append(
                    ChainProblem(
                        "audit_log", entry_id,
                        "does not match its hash (changed after it was written)",
                    )
                )  # fmt: skip
            if prev != previous:
                problems.append(
                    ChainProblem(
                        "audit_log", entry_id,
                        "does not follow the entry before it (an entry was deleted, inserted "
                        "or changed before it)",
                    )
                )  # fmt: skip
            previous = stored or ""
            if anchor is not None and entry_id == anchor[0]:
                anchor_seen = True
                if stored != anchor[1]:
                    problems.append(
                        ChainProblem(
                            "audit_log", entry_id,
                            f"its hash is {stored}, not the anchored {anchor[1]} (history up "
                            "to it was rewritten)",
                        )
                    )  # fmt: skip
            if records != "[]":
                for table, record_id, digest in orjson.loads(records):
                    latest[(table, int(record_id))] = (entry_id, digest)
                    derived.add((table, int(record_id), entry_id))
            if action == "gate.decision" and '"snapshot_sha256"' in details:
                found = orjson.loads(details)
                snapshot_refs.append(
                    (entry_id, int(found["snapshot_id"]), str(found["snapshot_sha256"]))
                )
    if not anchor_seen and anchor is not None:
        problems.append(
            ChainProblem("audit_log", anchor[0], "the anchored entry is missing (deleted)")
        )
    counted: dict[str, int] = {}
    for table, columns in CHAINED.items():
        counted[table] = 0
        seen: set[int] = set()
        rows = connection.execute(f"{_select(table)} ORDER BY id")
        while batch := rows.fetchmany(2000):
            for row in batch:
                record_id = int(row[0])
                counted[table] += 1
                seen.add(record_id)
                problems += _row_problems(table, columns, row, latest.get((table, record_id)))
        for (bound_table, record_id), (entry_id, _) in sorted(latest.items()):
            if bound_table == table and record_id not in seen:
                problems.append(
                    ChainProblem(
                        table, record_id,
                        f"audit entry {entry_id} recorded it, but it is missing (deleted)",
                    )
                )  # fmt: skip
    problems += _snapshot_reference_problems(connection, snapshot_refs)
    indexed = {
        (str(t), int(r), int(a))
        for t, r, a in connection.execute(
            "SELECT record_table, record_id, audit_id FROM audit_records"
        )
    }
    for table, record_id, entry_id in sorted(indexed ^ derived, key=lambda x: x[2]):
        problems.append(
            ChainProblem(
                "audit_records", entry_id,
                f"the index of bound records differs from the chain for {table} {record_id}",
            )
        )  # fmt: skip
    return ChainReport(
        entries=entries,
        records=counted,
        head_id=head_id,
        head_hash=previous if head_id is not None else None,
        problems=problems,
        seconds=time.perf_counter() - started,
    )


def _row_problems(
    table: str, columns: Sequence[str], row: Sequence[Any], binding: tuple[int, str] | None
) -> list[ChainProblem]:
    record_id = int(row[0])
    found: list[ChainProblem] = []
    if binding is None:
        found.append(
            ChainProblem(
                table, record_id, "is not in the audit chain (inserted outside errorbudget)"
            )
        )
    elif row_digest(table, row) != binding[1]:
        found.append(
            ChainProblem(
                table, record_id,
                f"differs from what audit entry {binding[0]} recorded (changed outside "
                "errorbudget)",
            )
        )  # fmt: skip
    if table == "gate_snapshots":
        values = dict(zip(columns, row, strict=True))
        if hashlib.sha256(str(values["body"]).encode()).hexdigest() != values["sha256"]:
            found.append(ChainProblem(table, record_id, "its body does not match its SHA-256"))
    return found


def _snapshot_reference_problems(
    connection: Connection, refs: Sequence[tuple[int, int, str]]
) -> list[ChainProblem]:
    """Gate decisions name their snapshot by id and SHA-256: both must still agree."""
    stored = {
        int(i): str(s) for i, s in connection.execute("SELECT id, sha256 FROM gate_snapshots")
    }
    found: list[ChainProblem] = []
    for entry_id, snapshot_id, digest in refs:
        if stored.get(snapshot_id) != digest:
            found.append(
                ChainProblem(
                    "audit_log", entry_id,
                    f"its gate snapshot {snapshot_id} is not the one it was decided on "
                    f"(SHA-256 {digest[:12]}…)",
                )
            )  # fmt: skip
    return found
