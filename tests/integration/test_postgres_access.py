"""The PostgreSQL store's core on a real server: transactions and savepoints, the revision,
the write lock across connections (waiting, giving up, naming the holder), reads beside a
writer, series, migrating at open and refusing a newer schema (issue #13)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from errorbudget.errors import NotFoundError, StoreBusyError, StoreError
from errorbudget.records import WriterInfo
from errorbudget.store import open_store
from errorbudget.store.postgres import PostgresStore
from errorbudget.store.postgres.schema import head_revision

pytestmark = pytest.mark.integration


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    with PostgresStore.open(postgres_url) as opened:
        yield opened


class Waiter:
    def __init__(self) -> None:
        self.waits: list[tuple[WriterInfo | None, float]] = []
        self.acquired_after: float | None = None

    def waiting(self, holder: WriterInfo | None, waited: float) -> None:
        self.waits.append((holder, waited))

    def acquired(self, waited: float) -> None:
        self.acquired_after = waited


def hold_write_lock(store: PostgresStore, release: threading.Event) -> threading.Event:
    """Start a thread holding ``store``'s write lock (a transaction that created series
    ``held``) until ``release``; the returned event is set once it holds it."""
    held = threading.Event()

    def run() -> None:
        with store.transaction():
            store.series_ids("held", [()])
            held.set()
            release.wait(30)

    threading.Thread(target=run, daemon=True).start()
    assert held.wait(10)
    return held


# --- opening -------------------------------------------------------------------------------


def test_open_store_dispatches_postgres_urls(postgres_url: str) -> None:
    with open_store(postgres_url) as opened:
        assert isinstance(opened, PostgresStore)
    other = postgres_url.replace("postgresql://", "postgres://", 1)
    with open_store(other) as opened:
        assert isinstance(opened, PostgresStore)


def test_an_empty_database_is_migrated_at_open() -> None:
    from postgres_server import fresh_database

    with fresh_database(migrated=False) as url:
        with psycopg.connect(url) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert tables == (0,)
        with PostgresStore.open(url) as opened:
            assert opened.schema_version == int(head_revision())
            assert opened.revision() == 0
            assert opened.list_series() == []
        with psycopg.connect(url) as connection:
            version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            names = {
                row[0]
                for row in connection.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        assert version == (head_revision(),)
        assert {"store_revision", "series", "sources", "alembic_version"} <= names


def test_two_processes_opening_a_new_database_migrate_it_once() -> None:
    from postgres_server import fresh_database

    with fresh_database(migrated=False) as url:
        errors: list[BaseException] = []

        def open_one() -> None:
            try:
                PostgresStore.open(url).close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        with psycopg.connect(url) as connection:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        assert rows == [(head_revision(),)]


def test_a_store_from_a_newer_errorbudget_is_refused(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError) as refused:
        PostgresStore.open(postgres_url)
    message = str(refused.value)
    assert "newer errorbudget (revision 9999)" in message
    assert f"this version knows up to {head_revision()}" in message


def test_the_label_and_messages_never_show_the_password(postgres_url: str) -> None:
    assert ":eb@" in postgres_url  # the test role's password is in the URL
    with PostgresStore.open(postgres_url) as opened:
        assert ":eb@" not in opened.label
        assert opened.label.startswith("postgresql://eb@127.0.0.1")
        assert ":eb@" not in repr(opened)
    wrong = postgres_url.replace(":eb@", ":not-the-password@", 1)
    with pytest.raises(StoreError) as refused:
        PostgresStore.open(wrong)
    assert "not-the-password" not in str(refused.value)
    assert "password authentication failed" in str(refused.value)


def test_a_password_given_apart_from_the_url_is_used(postgres_url: str) -> None:
    without = postgres_url.replace(":eb@", "@", 1)
    with PostgresStore.open(without, password="eb") as opened:
        assert opened.series_ids("slo", [()]) == [1]


def test_importing_the_store_does_not_import_psycopg() -> None:
    code = (
        "import sys, errorbudget.store, errorbudget.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'psycopg_pool', 'alembic', 'sqlalchemy')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# --- series --------------------------------------------------------------------------------


def test_series_ids_are_stable_bulk_and_ordered(store: PostgresStore) -> None:
    a, b = (("queue", "a"),), (("queue", "b"), ("channel", "voice"))
    first = store.series_ids("slo", [a, b, a])
    assert first[0] == first[2] != first[1]
    # the same labels in another order are the same series
    assert store.series_ids("slo", [(("channel", "voice"), ("queue", "b"))]) == [first[1]]
    assert store.series_ids("other", [a]) != [first[0]]
    listed = store.list_series()
    assert [(info.slo, info.segment) for info in listed] == [
        ("slo", a),
        ("slo", (("channel", "voice"), ("queue", "b"))),
        ("other", a),
    ]
    assert [info.id for info in store.list_series("other")] == store.series_ids("other", [a])


def test_series_ids_without_create_name_the_missing_segment(store: PostgresStore) -> None:
    store.series_ids("slo", [(("queue", "a"),)])
    with pytest.raises(NotFoundError, match="queue=b"):
        store.series_ids("slo", [(("queue", "a"),), (("queue", "b"),)], create=False)
    assert len(store.list_series()) == 1
    with pytest.raises(StoreError, match="non-empty string"):
        store.series_ids("", [()])


# --- transactions and the revision ---------------------------------------------------------


def test_a_failing_nested_level_undoes_only_itself(store: PostgresStore) -> None:
    with store.transaction():
        store.series_ids("outer", [()])
        with pytest.raises(RuntimeError), store.transaction():
            store.series_ids("inner", [()])
            raise RuntimeError("undo the inner level")
        # a statement error inside a level: PostgreSQL aborts only that savepoint
        with pytest.raises(StoreError), store._db.writing("fail") as connection:
            connection.execute("SELECT 1 / 0")
        store.series_ids("after", [()])
    assert [info.slo for info in store.list_series()] == ["outer", "after"]
    assert not store.in_transaction


def test_an_exception_rolls_the_whole_transaction_back(store: PostgresStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.series_ids("gone", [()])
        assert store.in_transaction
        raise RuntimeError("roll back")
    assert store.list_series() == []
    assert store.revision() == 0


def test_the_revision_moves_only_when_a_changed_transaction_commits(
    store: PostgresStore,
) -> None:
    start = store.revision()
    with store._db.writing("write nothing that counts"):
        pass
    assert store.revision() == start
    with store._db.writing("change something"):
        store._db.mark_changed()
    assert store.revision() == start + 1
    with pytest.raises(RuntimeError), store._db.writing("change, then fail"):
        store._db.mark_changed()
        raise RuntimeError("rolled back")
    assert store.revision() == start + 1
    with store.transaction():  # one transaction: one move, however many writes
        store.series_ids("a", [()])
        store.series_ids("b", [()])
    assert store.revision() == start + 2


def test_another_connection_sees_the_revision_move(postgres_url: str) -> None:
    with PostgresStore.open(postgres_url) as one, PostgresStore.open(postgres_url) as two:
        before = two.revision()
        one.series_ids("slo", [()])
        assert two.revision() == before + 1


# --- the write lock and reads --------------------------------------------------------------


def test_a_writer_gives_up_after_lock_timeout_naming_the_holder(postgres_url: str) -> None:
    since = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    holder = WriterInfo("errorbudget ingest", 4242, "ingest-host", since)
    with (
        PostgresStore.open(postgres_url, holder=holder) as busy,
        PostgresStore.open(postgres_url, lock_timeout=0.6) as waiting,
    ):
        waiter = Waiter()
        waiting.on_wait = waiter
        release = threading.Event()
        hold_write_lock(busy, release)
        try:
            began = time.monotonic()
            with pytest.raises(StoreBusyError) as refused:
                waiting.series_ids("blocked", [()])
            waited = time.monotonic() - began
        finally:
            release.set()
        assert waited >= 0.5
        message = str(refused.value)
        assert "errorbudget ingest" in message and "pid 4242 on ingest-host" in message
        assert refused.value.holder is not None and refused.value.holder.pid == 4242
        assert waiter.waits and waiter.waits[0][0] is not None
        assert waiter.waits[0][0].command == "errorbudget ingest"
        assert waiter.acquired_after is None
        # once the holder commits, the next write goes through
        waiting.set_lock_timeout(10)
        assert waiting.series_ids("free", [()])
        assert waiting.lock_timeout == 10


def test_a_writer_waits_for_the_lock_and_says_when_it_has_it(postgres_url: str) -> None:
    with (
        PostgresStore.open(postgres_url) as busy,
        PostgresStore.open(postgres_url, lock_timeout=20) as waiting,
    ):
        waiter = Waiter()
        waiting.on_wait = waiter
        release = threading.Event()
        hold_write_lock(busy, release)
        threading.Timer(0.7, release.set).start()
        assert waiting.series_ids("after", [()])
        assert waiter.waits, "on_wait was never told"
        assert waiter.acquired_after is not None and waiter.acquired_after >= 0.5
        assert [info.slo for info in waiting.list_series()] == ["held", "after"]


def test_reads_do_not_wait_for_a_writer(postgres_url: str) -> None:
    with (
        PostgresStore.open(postgres_url) as busy,
        PostgresStore.open(postgres_url, lock_timeout=0.2) as reader,
    ):
        reader.series_ids("committed", [()])
        release = threading.Event()
        hold_write_lock(busy, release)
        try:
            # the same store object too: another thread of it holds the writer
            assert [info.slo for info in busy.list_series()] == ["committed"]
            assert [info.slo for info in reader.list_series()] == ["committed"]
            revision = reader.revision()
        finally:
            release.set()
        deadline = time.monotonic() + 10
        while reader.revision() == revision and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [info.slo for info in reader.list_series()] == ["committed", "held"]


def test_reads_inside_a_transaction_see_its_writes(store: PostgresStore) -> None:
    with store.transaction():
        [series] = store.series_ids("mine", [()])
        assert [info.id for info in store.list_series()] == [series]
        assert store.schema_version == int(head_revision())


def test_a_killed_writer_releases_the_lock(postgres_url: str) -> None:
    script = (
        "import sys, time\n"
        "from errorbudget.store import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "with store.transaction():\n"
        "    store.series_ids('lost', [()])\n"
        "    print('holding', flush=True)\n"
        "    time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, postgres_url], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "holding"
            with PostgresStore.open(postgres_url, lock_timeout=0.3) as waiting:
                with pytest.raises(StoreBusyError, match="pid"):
                    waiting.series_ids("blocked", [()])
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
                waiting.set_lock_timeout(15)
                waiting.series_ids("after", [()])
                assert [info.slo for info in waiting.list_series()] == ["after"]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def test_a_closed_store_refuses_reads_and_writes(postgres_url: str) -> None:
    opened = PostgresStore.open(postgres_url)
    opened.close()
    opened.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        opened.list_series()
    with pytest.raises(StoreError, match="closed"):
        opened.series_ids("slo", [()])


def test_a_writer_whose_session_was_ended_reconnects(store: PostgresStore) -> None:
    store.series_ids("before", [()])
    writer = store._db.connection
    assert writer is not None
    with psycopg.connect(store._db._url.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (writer.info.backend_pid,))
    # the BEGIN finds the session gone: nothing was sent, so it begins on a new one
    assert store.series_ids("after", [()])
    assert store._db.connection is not writer
    assert [info.slo for info in store.list_series()] == ["before", "after"]


# --- connecting: timeouts, URLs, sessions the server ended -----------------------------------


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections (the kernel's backlog) and never
    answers: a server that hangs."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def test_a_server_that_never_answers_fails_in_bounded_time(
    blackhole: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from errorbudget.store.maintenance import schema_status, upgrade_schema
    from errorbudget.store.postgres import access

    monkeypatch.setattr(access, "CONNECT_TIMEOUT", 2)
    url = f"postgresql://eb@127.0.0.1:{blackhole}/eb_t_nowhere"
    for attempt in (  # open_store, `db current`, `db upgrade`: each through the schema first
        lambda: open_store(url),
        lambda: schema_status(url),
        lambda: upgrade_schema(url),
    ):
        began = time.monotonic()
        with pytest.raises(StoreError, match=f"127.0.0.1:{blackhole}/eb_t_nowhere"):
            attempt()
        assert time.monotonic() - began < 8


def test_an_unparsable_url_with_a_password_is_never_quoted() -> None:
    from errorbudget.store.maintenance import schema_status

    def chain(exc: BaseException | None) -> str:
        texts = []
        while exc is not None:
            texts.append(str(exc))
            exc = exc.__cause__ or exc.__context__
        return " | ".join(texts)

    for url in (
        "postgresql://eb:s3cr%zzET@127.0.0.1:5432/eb_t_x",  # bad percent-encoding
        "postgresql://eb:s3cr%25ET@127.0.0.1:5432/eb_t_x?bogus=1",  # unknown parameter
        "postgresql://eb:s3cr%25ET@127.0.0.1:5432/eb_t_x?connect_timeout=zz",  # psycopg's
        "postgresql://eb@127.0.0.1:5432/eb_t_x?password=s3cr%zzET",
    ):
        for attempt in (open_store, schema_status):
            with pytest.raises(StoreError) as refused:
                attempt(url)
            text = chain(refused.value)
            assert "s3cr" not in text, text
            assert "cannot be parsed" in text or "cannot parse" in text
            assert "postgresql://eb@127.0.0.1:5432/eb_t_x" in text
    # without a password, libpq's reason is worth showing
    with pytest.raises(StoreError, match='invalid URI query parameter: "bogus"'):
        open_store("postgresql://eb@127.0.0.1:5432/eb_t_x?bogus=1")


def test_multi_host_urls_are_accepted_and_labelled_without_the_password() -> None:
    from errorbudget.store.postgres.url import StoreUrl

    parsed = StoreUrl.parse(
        "postgresql://eb:s3cret@db1:5432,db2:5433/errorbudget?target_session_attrs=read-write"
    )
    assert parsed.has_password
    assert parsed.label == (
        "postgresql://eb@db1:5432,db2:5433/errorbudget?target_session_attrs=read-write"
    )
    assert StoreUrl.parse("postgresql://eb@db1,db2/errorbudget").label.endswith(
        "@db1,db2/errorbudget"
    )
    for bad in ("postgresql://eb@db1:5432,db2:x/e", "postgresql://eb@db1:70000/e"):
        with pytest.raises(StoreError, match="bad port"):
            StoreUrl.parse(bad)


def _end_sessions(url: str) -> int:
    """End every session of ``url``'s database but the caller's (a server restart, as
    the store sees it, without restarting the cluster)."""
    database = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
    time.sleep(0.3)
    return int(row[0]) if row else 0


def test_reads_and_writes_after_the_server_ended_every_session(postgres_url: str) -> None:
    with PostgresStore.open(postgres_url) as opened:
        opened.series_ids("before", [()])
        for _ in range(4):  # fill the read pool
            opened.list_series()
        assert _end_sessions(postgres_url) >= 2
        for _ in range(6):  # no read gets a dead pooled connection
            assert [info.slo for info in opened.list_series()] == ["before"]
            opened.revision()
        assert opened.series_ids("after", [()])  # the write begins on a new session
        assert [info.slo for info in opened.list_series()] == ["before", "after"]
