"""The store's lifecycle, schema migrations, error mapping, exclusions and audit log."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from direct_sql import REFUSED, direct_sql
from errorbudget.errors import ConflictError, NotFoundError, PermissionDeniedError, StoreError
from errorbudget.records import encode_snapshot
from errorbudget.store import AuditEntry, Store, open_store
from errorbudget.store.sqlite import schema

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60  # counts are stored from 2000 on (errorbudget.limits)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store_clock() -> Callable[[], datetime]:
    """The clock of the shared ``store`` fixture (tests/integration/conftest.py)."""
    return FakeClock()


def test_a_new_file_is_created_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with open_store(path) as store:
        assert store.schema_version == schema.LATEST_VERSION
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA user_version").fetchone() == (schema.LATEST_VERSION,)
    recorded = connection.execute("SELECT version FROM schema_migrations").fetchall()
    assert recorded == [(m.version,) for m in schema.MIGRATIONS]
    connection.close()


def test_foreign_keys_are_enforced(store: Store) -> None:
    connection = getattr(store, "_connection", None)
    if connection is None:  # PostgreSQL: its writer connection, foreign keys always on
        import psycopg

        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            store._db.connection.execute(  # type: ignore[attr-defined]
                "INSERT INTO minute_blocks VALUES (404, 1, 1, '', 1, 0, 0)"
            )
        return
    assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute("INSERT INTO minute_blocks VALUES (404, 1, 1, x'', 1, 0, 0)")


def test_an_empty_file_is_migrated_and_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with open_store(path) as store:
        [series] = store.series_ids("slo", [()])
        store.write_counts(np.array([series]), np.array([M0 + 100]), np.array([1]), np.array([2]))
    with open_store(str(path)) as store:
        assert store.schema_version == schema.LATEST_VERSION
        assert store.sums([series], [(M0, M0 + 200)]).tolist() == [[[1.0, 2.0]]]


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_store(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {schema.LATEST_VERSION + 1}")
    connection.close()
    with pytest.raises(StoreError, match=r"written by a newer errorbudget .*upgrade") as info:
        open_store(path)
    assert str(path) in str(info.value)


def test_an_sqlite_file_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE things (id INTEGER)")
    connection.close()
    with pytest.raises(StoreError, match="not an errorbudget store"):
        open_store(path)


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the pages you are looking for\n" * 200)
    with pytest.raises(StoreError, match=r"cannot open the store .*notes\.db") as info:
        open_store(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nowhere" / "store.db")


def test_a_failing_migration_is_rolled_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "half.db"
    open_store(path).close()
    broken = schema.Migration(
        schema.LATEST_VERSION + 1,
        "add a table, then fail",
        "CREATE TABLE added (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(schema, "LATEST_VERSION", broken.version)
    with pytest.raises(StoreError, match="no_such_table"):
        open_store(path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone() == (broken.version - 1,)
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_schema")}
    assert "added" not in tables
    connection.close()


def test_a_second_store_on_the_same_file_sees_committed_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with open_store(path) as writer, open_store(path) as reader:
        [series] = writer.series_ids("slo", [()])
        with writer.transaction():
            writer.write_counts(np.array([series]), np.array([M0]), np.array([1]), np.array([1]))
            assert writer.data_bounds() == (M0, M0 + 1)  # a read inside sees its own write
            assert reader.data_bounds() is None  # others do not, until commit
        assert reader.data_bounds() == (M0, M0 + 1)


def test_migration_scripts_split_into_complete_statements() -> None:
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, len(schema.MIGRATIONS) + 1))
    for migration in schema.MIGRATIONS:
        statements = migration.statements()
        assert statements and all(sqlite3.complete_statement(s) for s in statements)
    # A trigger body holds semicolons: it must stay one statement.
    first = schema.MIGRATIONS[0].statements()
    assert any(s.startswith("CREATE TRIGGER audit_log_no_update") for s in first)


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = open_store(tmp_path / "closed.db")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="is closed"):
        store.list_series()


def test_sqlite_errors_become_store_errors_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mapped.db"
    with open_store(path) as store:
        store.audit(actor="a", action="x", subject="s", details={})
        connection = store._connection
        assert connection is not None
        expected = rf"in the store {path}: .*append-only"
        with pytest.raises(StoreError, match=expected) as info, store.transaction():
            connection.execute("DELETE FROM audit_log")
        assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
        assert len(store.audit_log()) == 1


def test_the_store_can_be_used_from_another_thread(store: Store) -> None:
    found: list[int] = []
    worker = threading.Thread(target=lambda: found.extend(store.series_ids("slo", [()])))
    worker.start()
    worker.join()
    assert found == store.series_ids("slo", [()])


# --- exclusions ---------------------------------------------------------------------------------


def _exclusion_args(**changes: object) -> dict[str, object]:
    args: dict[str, object] = {
        "slo": "billing-answer",
        "start": 1000,
        "end": 1060,
        "category": "maintenance",
        "reason": "IVR upgrade CHG-42",
        "proposed_by": "alice",
    }
    return {**args, **changes}


def test_an_exclusion_is_proposed_pending_listed_and_audited(store: Store) -> None:
    added = store.propose_exclusion(
        slo="billing-answer",
        start=1000,
        end=1060,
        category="maintenance",
        reason="IVR upgrade CHG-42",
        proposed_by="alice",
        segment={"queue": "billing"},
        service="contact-center",
    )
    assert added.id == 1 and added.active and added.status == "pending"
    assert not added.counted and added.approved_by is None and added.problem is None
    assert added.created_at == T0 + timedelta(seconds=1)
    assert (added.segment, added.service) == ({"queue": "billing"}, "contact-center")
    assert store.get_exclusion(added.id) == added
    assert store.list_exclusions() == [added]
    [entry] = store.audit_log()
    assert (entry.actor, entry.action, entry.subject) == (
        "alice",
        "exclusion.propose",
        "exclusion:1",
    )
    assert entry.details["reason"] == "IVR upgrade CHG-42"
    assert entry.details["segment"] == {"queue": "billing"}
    assert entry.details["start"] == "1970-01-01T16:40:00+00:00"
    assert [table for table, _, _ in entry.records] == ["exclusions"]


def test_an_approved_exclusion_counts_and_names_its_approver(store: Store) -> None:
    proposed = store.propose_exclusion(**_exclusion_args())  # type: ignore[arg-type]
    approved = store.review_exclusion(
        proposed.id, reviewer="bob", role="approver", decision="approve", comment="ok"
    )
    assert (approved.status, approved.approved_by, approved.reviewer_role) == (
        "approved", "bob", "approver",
    )  # fmt: skip
    assert approved.counted and approved.review_comment == "ok"
    [entry] = store.audit_log(action="exclusion.approve")
    assert (entry.actor, entry.details["proposed_by"], entry.details["to"]) == (
        "bob", "alice", "approved",
    )  # fmt: skip
    with pytest.raises(ConflictError, match="is approved"):
        store.review_exclusion(proposed.id, reviewer="carol", role="admin", decision="reject")


def test_nobody_reviews_their_own_exclusion(store: Store) -> None:
    proposed = store.propose_exclusion(**_exclusion_args())  # type: ignore[arg-type]
    for decision in ("approve", "reject"):
        with pytest.raises(PermissionDeniedError, match="alice proposed exclusion 1"):
            store.review_exclusion(proposed.id, reviewer="alice", role="admin", decision=decision)  # type: ignore[arg-type]
    assert store.get_exclusion(proposed.id).status == "pending"
    assert [e.action for e in store.audit_log()] == ["exclusion.propose"]


def test_revoking_keeps_the_record_and_is_audited(store: Store) -> None:
    first = store.propose_exclusion(**_exclusion_args())  # type: ignore[arg-type]
    second = store.propose_exclusion(**_exclusion_args(slo="*", category="test-traffic"))  # type: ignore[arg-type]
    revoked = store.revoke_exclusion(first.id, revoked_by="carol", reason="not approved")
    assert not revoked.active and revoked.status == "revoked"
    assert revoked.revoked_by == "carol" and revoked.revoked_at is not None
    assert store.list_exclusions() == [second]
    assert store.list_exclusions(include_revoked=True) == [revoked, second]
    assert store.list_exclusions(statuses=["revoked"]) == [revoked]
    [entry] = store.audit_log(action="exclusion.revoke")
    assert (entry.actor, entry.subject) == ("carol", "exclusion:1")
    assert entry.details["reason"] == "not approved"
    with pytest.raises(ConflictError, match="already revoked"):
        store.revoke_exclusion(first.id, revoked_by="carol")
    with pytest.raises(ConflictError, match="is revoked"):
        store.review_exclusion(first.id, reviewer="bob", role="approver", decision="approve")
    assert len(store.audit_log(subject="exclusion:1")) == 2


def test_an_exclusion_never_changes_raw_counts(store: Store) -> None:
    [series] = store.series_ids("billing-answer", [()])
    store.write_counts(np.array([series]), np.array([M0 + 10]), np.array([1]), np.array([5]))
    exclusion = store.propose_exclusion(**_exclusion_args(start=M0, end=M0 + 60))  # type: ignore[arg-type]
    store.review_exclusion(exclusion.id, reviewer="bob", role="approver", decision="approve")
    assert store.sums([series], [(M0, M0 + 60)]).tolist() == [[[1.0, 5.0]]]
    store.revoke_exclusion(exclusion.id, revoked_by="alice")
    assert store.sums([series], [(M0, M0 + 60)]).tolist() == [[[1.0, 5.0]]]


def test_missing_exclusions_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no exclusion with id 7"):
        store.get_exclusion(7)
    with pytest.raises(NotFoundError):
        store.revoke_exclusion(7, revoked_by="alice")
    with pytest.raises(NotFoundError):
        store.review_exclusion(7, reviewer="bob", role="approver", decision="approve")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"category": "vacation"}, "unknown exclusion category"),
        ({"start": 1060, "end": 1000}, "start < end"),
        ({"start": 5, "end": 5}, "start < end"),
        ({"reason": " "}, "reason must be"),
        ({"proposed_by": ""}, "proposer must be"),
    ],
)
def test_bad_exclusions_are_refused_and_not_audited(
    store: Store, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.propose_exclusion(**_exclusion_args(**changes))  # type: ignore[arg-type]
    assert store.list_exclusions(include_revoked=True) == []
    assert store.audit_log() == []


def test_created_at_is_kept_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    with open_store(":memory:", clock=lambda: datetime(2026, 1, 1, 10, 0, tzinfo=paris)) as store:
        added = store.propose_exclusion(**_exclusion_args())  # type: ignore[arg-type]
    assert added.created_at == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert added.created_at.utcoffset() == timedelta(0)


# --- audit log ---------------------------------------------------------------------------------


def test_the_audit_log_is_newest_first_and_filterable(store: Store) -> None:
    for i in range(5):
        store.audit(
            actor="ci",
            action="gate.decide" if i % 2 else "ingest.file",
            subject=f"change:{i}",
            details={"n": i, "when": T0},
        )
    entries = store.audit_log()
    assert [e.id for e in entries] == [5, 4, 3, 2, 1]
    assert all(isinstance(e, AuditEntry) and e.at.tzinfo is not None for e in entries)
    assert entries[0].details == {"n": 4, "when": str(T0)}
    assert [e.subject for e in store.audit_log(action="gate.decide")] == ["change:3", "change:1"]
    assert [e.id for e in store.audit_log(subject="change:2")] == [3]
    assert [e.id for e in store.audit_log(limit=2)] == [5, 4]
    assert store.audit_log(limit=0) == []
    with pytest.raises(StoreError, match="negative"):
        store.audit_log(limit=-1)
    assert [e.id for e in store.audit_log(limit=2, before=4)] == [3, 2]
    assert [e.id for e in store.audit_log(action_prefix="gate.")] == [4, 2]


def test_the_audit_log_is_append_only_even_for_direct_sql(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with open_store(path) as store:
        store.audit(actor="alice", action="exclusion.add", subject="exclusion:1", details={})
    connection = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("UPDATE audit_log SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("DELETE FROM audit_log")
    connection.execute(
        "INSERT INTO audit_log (at, actor, action, subject, details) "
        "VALUES ('2026-01-01T00:00:00+00:00', 'bob', 'x', 'y', '{}')"
    )
    connection.commit()
    connection.close()
    with open_store(path) as store:
        assert [e.actor for e in store.audit_log()] == ["bob", "alice"]
        # a plain INSERT gets past the triggers, not past the chain
        report = store.verify_chain()
        assert str(report.first) == "audit_log 2: has no hash (written outside errorbudget)"


def test_an_audit_entry_needs_an_actor_and_action(store: Store) -> None:
    with pytest.raises(StoreError, match="actor"):
        store.audit(actor="", action="x", subject="y", details={})
    with pytest.raises(StoreError, match="action"):
        store.audit(actor="a", action=" ", subject="y", details={})


# --- gate snapshots ------------------------------------------------------------------------


def test_a_gate_snapshot_is_stored_once_per_content_and_kept(store: Store) -> None:
    rows = [{"slo": "calls", "segment": {"queue": "q1"}, "budget_remaining_ratio": 0.4}]
    saved = store.save_snapshot(encode_snapshot(rows))
    assert saved.created
    first = saved.id
    # the same content (keys in another order) is the same snapshot
    reordered = [{"budget_remaining_ratio": 0.4, "segment": {"queue": "q1"}, "slo": "calls"}]
    again = store.save_snapshot(encode_snapshot(reordered))
    assert (again.id, again.sha256, again.created) == (first, saved.sha256, False)
    other = store.save_snapshot(encode_snapshot([{**rows[0], "budget_remaining_ratio": 0.3}])).id
    assert other != first
    assert store.snapshots([first, other, 999]) == ({first: rows, other: [
        {**rows[0], "budget_remaining_ratio": 0.3}]}, {})  # fmt: skip
    with pytest.raises(REFUSED, match="append-only"):
        direct_sql(store, "UPDATE gate_snapshots SET body = '[]'")
    with pytest.raises(REFUSED, match="append-only"):
        direct_sql(store, "DELETE FROM gate_snapshots")
    assert store.snapshots([first]) == ({first: rows}, {})


def test_in_transaction_is_about_the_calling_thread(store: Store) -> None:
    seen: list[bool] = []
    assert not store.in_transaction
    with store.transaction():
        assert store.in_transaction
        other = threading.Thread(target=lambda: seen.append(store.in_transaction))
        other.start()
        other.join(5)
    assert seen == [False] and not store.in_transaction
