"""Schema v5's Python step: chain what a store held before the chain existed.

Inside the migration's transaction, after the v5 script:

1. every existing audit entry gets ``prev_hash`` and ``hash``, in id order (its
   ``records`` stay empty: before v5 no entry bound a row);
2. each existing exclusion gets an ``exclusion.legacy`` entry binding it as it is (rows
   from before v5 stay in force when they were, marked legacy: see docs/concepts.md);
3. the other chained rows (changes, approvals, gate snapshots, annotations) are bound by
   ``chain.start`` entries, up to ``CHUNK`` rows each.

From then on the chain vouches that these rows have not changed *since the migration*; it
cannot say anything about what happened to them before it (docs/operations.md).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import orjson

from errorbudget.store.shared import chain

CHUNK = 500
ACTOR = "errorbudget (schema v5 migration)"


def chain_existing_rows(connection: sqlite3.Connection) -> None:
    previous = chain.GENESIS
    rows = connection.execute(
        "SELECT id, at, actor, action, subject, details, records FROM audit_log ORDER BY id"
    ).fetchall()
    for entry_id, at, actor, action, subject, details, records in rows:
        digest = chain.entry_hash(entry_id, at, actor, action, subject, details, records, previous)
        connection.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
            (previous, digest, entry_id),
        )
        previous = digest
    now = datetime.now(UTC).isoformat()
    legacy = connection.execute(
        "SELECT id, status, legacy_approver FROM exclusions ORDER BY id"
    ).fetchall()
    for exclusion_id, status, approver in legacy:
        details = {
            "status": status,
            "legacy_approver": approver,
            "note": "recorded before approvals were verified (schema v5): its approver was "
            "typed, not authenticated",
        }
        chain.append(
            connection, at=now, actor=ACTOR, action="exclusion.legacy",
            subject=f"exclusion:{exclusion_id}",
            details=orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode(),
            records=[("exclusions", int(exclusion_id))],
        )  # fmt: skip
    for table in ("changes", "approvals", "gate_snapshots", "annotations"):
        ids = [int(i) for (i,) in connection.execute(f"SELECT id FROM {table} ORDER BY id")]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            details = {"table": table, "rows": len(chunk), "first": chunk[0], "last": chunk[-1]}
            chain.append(
                connection, at=now, actor=ACTOR, action="chain.start", subject=table,
                details=orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode(),
                records=[(table, record_id) for record_id in chunk],
            )  # fmt: skip
