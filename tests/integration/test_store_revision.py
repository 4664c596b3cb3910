"""The SQLite backend's revision (schema v6) and its write-ahead log upkeep."""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from errorbudget.records import encode_snapshot
from errorbudget.store import open_store
from errorbudget.store.counts import rollups
from errorbudget.store.sqlite import SQLiteStore, schema

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60


def test_a_version_5_store_migrates_to_v6_with_its_audit_chain_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v5.db"
    with monkeypatch.context() as v5_code:  # errorbudget as it was at schema v5
        v5_code.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:5])
        v5_code.setattr(schema, "LATEST_VERSION", 5)
        v5_code.setattr(rollups, "widen_series_bounds", lambda *_: None)  # no rollups at v5
        v5_code.setattr(rollups, "write_day_totals", lambda *_: None)
        with open_store(path, clock=lambda: T0) as v5:
            [series] = v5.series_ids("calls", [(("queue", "q1"),)])
            v5.write_counts([series], [M0], [8], [10])
            exclusion = v5.propose_exclusion(slo="calls", start=M0, end=M0 + 1,
                                             category="maintenance", reason="r",
                                             proposed_by="olga")  # fmt: skip
            v5.review_exclusion(exclusion.id, reviewer="vera", role="approver", decision="approve")
            change = v5.add_change(
                service="billing", slos=[], segment=None, change_type="feature", risk="low",
                title="t", description="", submitted_by="olga", estimated_impact=0.0,
                impact_basis={}, decision="allow", snapshot=[],
            )  # fmt: skip
            v5.add_approval(change.id, approver="vera", role="approver", decision="approve")
            saved = v5.save_snapshot(encode_snapshot([{"slo": "calls"}]))
            details = {"snapshot_id": saved.id}
            v5.audit(actor="ci", action="gate.decision", subject="billing", details=details,
                     records=[("gate_snapshots", saved.id)])  # fmt: skip
            assert v5.schema_version == 5
            before = v5.verify_chain()
            entries = len(v5.audit_log(limit=1000))
        assert before.ok, before.problems
    with open_store(path) as migrated:
        assert migrated.schema_version == schema.LATEST_VERSION >= schema.REVISION_SCHEMA
        after = migrated.verify_chain()
        assert after.ok, after.problems
        assert (after.head_id, after.head_hash) == (before.head_id, before.head_hash)
        assert after.records == before.records and len(migrated.audit_log(limit=1000)) == entries
        assert migrated.change_problems(change.id) == []
        assert [e.counted for e in migrated.list_exclusions()] == [True]
        assert migrated.sums([series], [(M0, M0 + 1)]).tolist() == [[[8.0, 10.0]]]
        assert migrated.series_bounds([series]) == [(M0, M0 + 1)]  # v7's backfill
        assert migrated.revision() == 0
        migrated.write_counts([series], [M0 + 1], [9], [10])
        assert migrated.revision() == 1
        assert migrated.verify_chain().ok
    connection = sqlite3.connect(path)
    versions = [v for (v,) in connection.execute("SELECT version FROM schema_migrations")]
    assert versions == list(range(1, schema.LATEST_VERSION + 1))
    with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
        connection.execute("UPDATE store_revision SET revision = 0")
    with pytest.raises(sqlite3.IntegrityError, match="it only moves forward"):
        connection.execute("DELETE FROM store_revision")
    connection.close()


def test_the_revision_survives_reopening(tmp_path: Path) -> None:
    """A restarted server never reuses a revision it cached under before."""
    with open_store(tmp_path / "eb.db") as store:
        [series] = store.series_ids("calls", [(("queue", "q1"),)])
        store.write_counts([series], [M0], [9], [10])
        version = store.revision()
    with open_store(tmp_path / "eb.db") as store:
        assert store.revision() == version
        store.write_counts([series], [M0 + 1], [9], [10])
        assert store.revision() == version + 1


def test_commits_reach_the_database_file_without_a_checkpoint_inside_a_commit(
    tmp_path: Path,
) -> None:
    """Small commits (gate decisions) never take the write-ahead log to SQLite's automatic
    checkpoint, whose copy would run inside a commit holding the write lock: the store's
    checkpointer copies them into the file in the background (issue #9)."""
    path = tmp_path / "eb.db"
    with open_store(path) as store:
        assert isinstance(store, SQLiteStore)
        [series] = store.series_ids("calls", [(("queue", "q1"),)])
        for minute in range(40):
            store.write_counts([series], [M0 + minute], [9], [10])
            store.audit(actor="ci", action="gate.decision", subject="billing", details={})
        checkpointer = store._db._checkpointer
        assert checkpointer is not None
        deadline = time.monotonic() + 30
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.checkpoints >= 1
        shutil.copyfile(path, tmp_path / "file-only.db")  # the database file, not the log
    copy = sqlite3.connect(tmp_path / "file-only.db")
    assert copy.execute("SELECT count(*) FROM audit_log").fetchone() == (40,)
    assert copy.execute("SELECT total FROM day_counts").fetchone()[0] == 400
    copy.close()
