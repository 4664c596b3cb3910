"""Issue #13: the records, the audit log and its chain on PostgreSQL — what the parametrised
store tests (``store`` fixture, every backend) cannot show.

- The same writes on the same clock give the same rows and the same chain, hash for hash,
  on SQLite and on PostgreSQL (timestamps and JSON are the same text on both).
- A store written on SQLite, its rows copied verbatim into PostgreSQL, verifies there; an
  edit made afterwards is named.
- Two processes appending at once keep one chain (the append reads the chain's head under
  the store's write lock, inside its transaction).
- The append-only tables refuse UPDATE and DELETE, as SQLite's triggers do; what gets past
  them (triggers disabled by the tables' owner) is caught by the chain.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from errorbudget.errors import IntegrityError, StoreError
from errorbudget.records import AuditQuery, encode_snapshot
from errorbudget.store import Store, open_store
from errorbudget.store.postgres.portable import to_psycopg
from errorbudget.store.shared import chain
from postgres_server import fresh_database

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)

COPIED = (*chain.CHAINED, "audit_log", "audit_records", "idempotency_keys", "source_runs",
          "data_issues")  # fmt: skip
"""The tables this part owns, in an order that keeps foreign keys satisfied."""


class Ticking:
    """A clock that moves one second per reading: the same instants on both backends."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database("eb_t_records") as url:
        yield url


def write_history(store: Store) -> None:
    """Every kind of record this part keeps, each write audited as the services do."""
    proposed = store.propose_exclusion(
        slo="billing-availability", start=100, end=160, category="maintenance",
        reason="planned 100% failover?", proposed_by="olga", segment={"queue": "billing"},
        service="billing",
    )  # fmt: skip
    store.review_exclusion(proposed.id, reviewer="vera", role="approver", decision="approve")
    other = store.propose_exclusion(
        slo="*", start=10, end=20, category="external-outage", reason="provider outage",
        proposed_by="olga",
    )  # fmt: skip
    store.revoke_exclusion(other.id, revoked_by="olga", reason="not ours")
    change = store.add_change(
        service="billing", slos=["billing-availability"], segment={"queue": "billing"},
        change_type="deploy", risk="high", title="PSP v2", description="new provider",
        submitted_by="olga", estimated_impact=0.125, impact_basis={"minutes": 30},
        decision="approval_required", snapshot=[{"slo": "billing-availability", "left": 0.4}],
    )  # fmt: skip
    store.add_approval(change.id, approver="vera", role="approver", decision="approve")
    store.set_change_status(
        change.id, status="shipped", allowed_from=("approved",), actor="olga",
        action="change.ship", shipped_at=START + timedelta(hours=1),
    )  # fmt: skip
    store.add_annotation(
        at=START, kind="deploy", text="PSP v2 shipped", created_by="olga", service="billing",
        change_id=change.id,
    )  # fmt: skip
    saved = store.save_snapshot(encode_snapshot([{"slo": "billing-availability", "left": 0.4}]))
    store.audit(
        actor="ci", action="gate.decision", subject="billing",
        details={"decision": "allow", "snapshot_id": saved.id, "snapshot_sha256": saved.sha256},
        records=[("gate_snapshots", saved.id)] if saved.created else [],
    )  # fmt: skip
    store.store_response(
        actor="ci", key="k-1", request="POST /changes", body_sha256="ab" * 32, status_code=201,
        response={"id": change.id},
    )  # fmt: skip
    store.record_source_run(
        "genesys", started_at=START, finished_at=START + timedelta(seconds=3), ok=False,
        error="HTTP 429", collected_through=1_000, calls=4, failed_calls=1,
    )  # fmt: skip
    store.add_data_issue(
        source="genesys", slo="billing-availability", segment={}, start=900, end=960,
        kind="throttled", detail="429 from the analytics API",
    )  # fmt: skip


def rows(connection: Any, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` (both backends keep SQLite's column order), sorted."""
    return sorted(tuple(row) for row in connection.execute(f"SELECT * FROM {table}"))


def sqlite_columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in connection.execute(f"PRAGMA table_info({table})")]


def test_the_same_writes_give_the_same_rows_and_chain_on_both_backends(
    tmp_path: Path, pg_url: str
) -> None:
    with open_store(tmp_path / "store.db", clock=Ticking()) as lite:
        write_history(lite)
        lite_log = lite.audit_log(AuditQuery(limit=1000))
        lite_report = lite.verify_chain()
    with open_store(pg_url, clock=Ticking()) as pg:
        write_history(pg)
        pg_log = pg.audit_log(AuditQuery(limit=1000))
        pg_report = pg.verify_chain()
    assert len(pg_log) == 9
    assert pg_log == lite_log  # every entry: its time, details, bound row digests and hashes
    assert pg_report.problems == [] and lite_report.problems == []
    assert (pg_report.head_id, pg_report.head_hash) == (lite_report.head_id, lite_report.head_hash)
    assert pg_report.records == lite_report.records
    lite_db = sqlite3.connect(tmp_path / "store.db")
    with psycopg.connect(pg_url) as connection:
        for table in COPIED:
            assert rows(connection, table) == rows(lite_db, table), table


def copy_rows(source: Path, url: str) -> None:
    """What a verbatim copy does: every row of this part's tables, column by column."""
    lite = sqlite3.connect(source)
    with psycopg.connect(url) as connection:
        for table in COPIED:
            columns = sqlite_columns(lite, table)
            found = lite.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})",
                    found,
                )


def test_a_store_copied_from_sqlite_row_for_row_verifies_on_postgres(
    tmp_path: Path, pg_url: str
) -> None:
    with open_store(tmp_path / "store.db", clock=Ticking()) as lite:
        write_history(lite)
        expected = lite.verify_chain()
        exclusions = lite.list_exclusions(include_revoked=True)
    copy_rows(tmp_path / "store.db", pg_url)
    with open_store(pg_url) as pg:
        report = pg.verify_chain(anchor=(expected.head_id or 0, expected.head_hash or ""))
        assert report.problems == []
        assert (report.entries, report.head_hash) == (expected.entries, expected.head_hash)
        assert pg.list_exclusions(include_revoked=True) == exclusions
        assert all(e.problem is None for e in exclusions)
        assert pg.change_problems(1) == []
    with psycopg.connect(pg_url) as connection:  # an edit after the copy
        connection.execute("UPDATE changes SET title = 'PSP v3' WHERE id = 1")
    with open_store(pg_url) as pg:
        report = pg.verify_chain()
        assert [(p.table, p.id) for p in report.problems] == [("changes", 1)]
        assert "differs from what audit entry" in report.problems[0].message
        assert pg.change_problems(1) and "differs from what audit entry" in pg.change_problems(1)[0]


APPENDER = textwrap.dedent(
    """
    import sys
    import time
    from errorbudget.store import open_store

    url, name, count, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with open_store(url) as store:
        time.sleep(max(0.0, start - time.time()))  # both start together, once opened
        for i in range(count):
            if i % 10 == 0:  # a chained row as well as an entry
                store.add_annotation(
                    at=__import__("datetime").datetime.now(__import__("datetime").UTC),
                    kind="other", text=f"{name} {i}", created_by=name,
                )
            else:
                store.audit(actor=name, action="test.append", subject=f"{name}:{i}",
                            details={"i": i})
    """
)


def test_two_processes_appending_at_once_keep_one_valid_chain(pg_url: str) -> None:
    count = 150
    start = time.time() + 5  # after both processes have imported and opened the store
    writers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, pg_url, name, str(count), str(start)])
        for name in ("alpha", "beta")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    with open_store(pg_url) as store:
        report = store.verify_chain()
        entries = store.audit_log(AuditQuery(limit=10_000))
    assert report.problems == []
    assert report.entries == 2 * count and report.records["annotations"] == 2 * count // 10
    assert [e.id for e in reversed(entries)] == list(range(1, 2 * count + 1))
    actors = [e.actor for e in reversed(entries)]
    switches = sum(a != b for a, b in itertools.pairwise(actors))
    assert switches > 1, "the two writers never interleaved: the test proved nothing"


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE audit_log SET actor = 'mallory'", "the audit log is append-only"),
        ("DELETE FROM audit_log", "the audit log is append-only"),
        ("DELETE FROM audit_records", "its index cannot be changed"),
        ("UPDATE gate_snapshots SET body = '[]'", "gate snapshots are append-only"),
        ("DELETE FROM gate_snapshots", "gate snapshots are append-only"),
        ("UPDATE approvals SET decision = 'reject'", "approvals are append-only"),
        ("DELETE FROM annotations", "annotations are append-only"),
        ("DELETE FROM changes", "changes are kept"),
        ("DELETE FROM exclusions", "exclusions are kept"),
        ("DELETE FROM data_issues", "data issues are kept"),
    ],
)
def test_append_only_tables_refuse_changes_on_postgres(
    pg_url: str, statement: str, message: str
) -> None:
    with open_store(pg_url, clock=Ticking()) as store:
        write_history(store)
    with (
        psycopg.connect(pg_url) as connection,
        pytest.raises(psycopg.IntegrityError, match=message),
    ):
        connection.execute(statement)


@contextlib.contextmanager
def triggers_disabled(url: str, table: str) -> Iterator[psycopg.Connection[Any]]:
    """What the tables' owner can do: switch a table's triggers off, then on again."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield connection
        finally:
            connection.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_what_gets_past_the_triggers_is_named_by_the_chain(pg_url: str) -> None:
    with open_store(pg_url, clock=Ticking()) as store:
        write_history(store)
    with triggers_disabled(pg_url, "audit_log") as connection:
        connection.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    with triggers_disabled(pg_url, "approvals") as connection:
        connection.execute("UPDATE approvals SET approver = 'olga' WHERE id = 1")
    with triggers_disabled(pg_url, "gate_snapshots") as connection:
        connection.execute("UPDATE gate_snapshots SET body = '[]' WHERE id = 1")
    with open_store(pg_url) as store:
        report = store.verify_chain()
        named = {(p.table, p.id) for p in report.problems}
        assert named == {("audit_log", 2), ("approvals", 1), ("gate_snapshots", 1)}
        assert store.check_audit_entries([2, 3]) == {
            2: "audit entry 2 does not match its hash (changed after it was written)"
        }
        assert any("approval 1" in p for p in store.change_problems(1))
        with pytest.raises(IntegrityError):
            store.revoke_exclusion(1, revoked_by="olga")  # its approval is the edited entry 2
        found, broken = store.snapshots([1])
        assert found == {} and "does not match its SHA-256" in broken[1]


def test_placeholders_and_percent_signs_reach_postgresql_as_written(pg_url: str) -> None:
    assert to_psycopg("a = ? AND b LIKE '%x' AND c IN (?, ?)") == (
        "a = %s AND b LIKE '%%x' AND c IN (%s, %s)"
    )
    with open_store(pg_url) as store:
        made = store.propose_exclusion(
            slo="s", start=0, end=1, category="maintenance", reason="100% sure? %s ?",
            proposed_by="olga",
        )  # fmt: skip
        assert store.get_exclusion(made.id).reason == "100% sure? %s ?"


def test_a_write_postgresql_refuses_undoes_only_itself_inside_a_transaction(
    pg_url: str,
) -> None:
    """PostgreSQL aborts a whole transaction on an error unless a savepoint catches it:
    each record write is its own level, so the caller's transaction goes on (as on SQLite)."""
    with open_store(pg_url, clock=Ticking()) as store:
        with store.transaction():
            kept = store.propose_exclusion(
                slo="s", start=0, end=1, category="maintenance", reason="kept",
                proposed_by="olga",
            )  # fmt: skip
            with pytest.raises(StoreError, match=r"cannot propose an exclusion .*NUL"):
                store.propose_exclusion(
                    slo="s", start=0, end=1, category="maintenance", reason="a\x00b",
                    proposed_by="olga",
                )  # fmt: skip
            after = store.add_annotation(at=START, kind="other", text="after", created_by="olga")
        assert [e.id for e in store.list_exclusions()] == [kept.id]
        assert [a.id for a in store.list_annotations()] == [after.id]
        report = store.verify_chain()
        assert report.problems == [] and report.entries == 2


@pytest.fixture
def icu_url() -> Iterator[str]:
    """A migrated store in a database whose default collation is ICU en-US: it sorts
    "_legacy" < "aws" < "Genesys" and compares ISO text by more than bytes."""
    import os
    import uuid

    from postgres_server import database_url, drop_database, ensure_server

    name = f"eb_t_records_icu_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with contextlib.closing(psycopg.connect(ensure_server(), autocommit=True)) as admin:
        admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    url = database_url(name)
    try:
        yield url
    finally:
        drop_database(url)


def test_text_compares_and_sorts_bytewise_whatever_the_database_collation(
    icu_url: str, tmp_path: Path
) -> None:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    since = at + timedelta(microseconds=500000)  # 09:00:00.5 sorts before 09:00:00+00:00 in ICU
    sources = ["zendesk", "Twilio", "aws-connect", "_legacy", "Genesys"]

    def run(store: Store) -> tuple[list[str], list[datetime], list[datetime]]:
        for source in sources:
            store.record_source_run(source, started_at=at, finished_at=at, ok=True)
        store.audit(actor="a", action="x.y", subject="s", details={})
        return (
            [health.source for health in store.source_health()],
            [entry.at for entry in store.audit_log(since=since)],
            [entry.at for entry in store.audit_log(until=since)],
        )

    with open_store(tmp_path / "s.db", clock=lambda: at) as sqlite_store:
        on_sqlite = run(sqlite_store)
    with open_store(icu_url, clock=lambda: at) as pg_store:
        on_postgres = run(pg_store)
    assert on_sqlite[0] == sorted(sources, key=str.encode)
    assert on_sqlite[1:] == ([], [at])
    assert on_postgres == on_sqlite
    with psycopg.connect(icu_url) as connection:  # and every text column of every table
        loose = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type = 'text'"
            " AND table_name <> 'alembic_version'"
            " AND coalesce(collation_name, '') <> 'C'"
        ).fetchall()
    assert loose == []
