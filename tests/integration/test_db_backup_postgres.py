"""``db backup`` / ``db restore`` of a PostgreSQL store (``store/postgres/dump.py``):
``pg_dump --format=custom`` and ``pg_restore`` into an empty database, on a real server
(tests/postgres_server.py), the password never on a command line."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from click.testing import CliRunner

from errorbudget.cli.main import main
from errorbudget.errors import StoreError
from errorbudget.store import open_store
from errorbudget.store.backup import backup_store, restore_store
from errorbudget.store.postgres import dump, schema
from populated_store import T0, populate, state
from postgres_server import fresh_database

pytestmark = pytest.mark.integration


def _series(url: str) -> list[Any]:
    with open_store(url) as store:
        return store.list_series()


def test_a_restore_into_an_empty_database_brings_back_what_the_backup_held(
    postgres_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "store.dump"
    with open_store(postgres_url) as store:
        store.series_ids("answered", [(("queue", "sales"),), (("queue", "support"),)])
        before, revision = store.list_series(), store.revision()
    report = backup_store(postgres_url, file)
    assert report.backend == "postgresql" and report.bytes == file.stat().st_size > 0
    assert report.schema == f"revision {schema.head_revision()}"
    assert "eb:" not in report.store  # named without its password
    with open_store(postgres_url) as store:
        store.series_ids("answered", [(("queue", "later"),)])  # after the backup

    with pytest.raises(StoreError, match="not empty"):
        restore_store(postgres_url, file)  # the store's own database holds tables
    with fresh_database("eb_t_dbtools", migrated=False) as empty:
        restored = restore_store(empty, file)
        assert restored.schema == report.schema
        with open_store(empty) as store:
            assert store.list_series() == before
            assert store.revision() == revision
            [new] = store.series_ids("answered", [(("queue", "new"),)])
            assert new > max(s.id for s in before)  # the identity sequence came along


def test_the_password_goes_through_the_environment_never_the_command_line(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = urlsplit(postgres_url).password
    assert password  # the test role's URL carries it
    seen: list[tuple[list[str], dict[str, str]]] = []
    run = subprocess.run

    def spy(args: list[str], **options: Any) -> Any:
        seen.append((list(args), dict(options["env"])))
        return run(args, **options)

    monkeypatch.setattr(dump.subprocess, "run", spy)
    backup_store(postgres_url, tmp_path / "store.dump")
    assert seen and all(f":{password}@" not in " ".join(args) for args, _ in seen)
    assert seen[0][1]["PGPASSWORD"] == password
    # The CLI: the URL without its password, the password from the store's variable.
    seen.clear()
    bare = postgres_url.replace(f":{password}@", "@")
    monkeypatch.setenv("ERRORBUDGET_STORE_PASSWORD", password)
    again = tmp_path / "again.dump"
    result = CliRunner().invoke(main, ["db", "backup", "--store", bare, "--to", str(again)])
    assert result.exit_code == 0, result.output
    assert "pg_restore --list" in result.output and f":{password}@" not in result.output
    assert seen and all(f":{password}@" not in " ".join(args) for args, _ in seen)
    assert seen[0][1]["PGPASSWORD"] == password
    with fresh_database("eb_t_dbtools", migrated=False) as empty:
        seen.clear()
        bare_empty = empty.replace(f":{password}@", "@")
        restored = CliRunner().invoke(
            main, ["db", "restore", "--store", bare_empty, "--from", str(again)]
        )
        assert restored.exit_code == 0, restored.output
        assert f"restored {bare_empty} from {again}" in restored.output
        assert all(f":{password}@" not in " ".join(args) for args, _ in seen)
        refused = CliRunner().invoke(
            main, ["db", "restore", "--store", bare_empty, "--from", str(again)]
        )
        assert refused.exit_code == 1 and "not empty" in refused.output
    # A password written in the URL on a command line is refused before anything runs.
    refused = CliRunner().invoke(
        main, ["db", "backup", "--store", postgres_url, "--to", str(tmp_path / "x.dump")]
    )
    assert refused.exit_code == 1 and "holds a password" in refused.output


def test_a_backup_of_a_newer_schema_or_not_of_a_store_is_refused(
    postgres_url: str, tmp_path: Path
) -> None:
    with contextlib.closing(psycopg.connect(postgres_url, autocommit=True)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    file = tmp_path / "newer.dump"
    backup_store(postgres_url, file)
    with fresh_database("eb_t_dbtools", migrated=False) as empty:
        with pytest.raises(StoreError, match=r"newer errorbudget \(revision 9999_from_the_future"):
            restore_store(empty, file)
        not_a_dump = tmp_path / "notes.txt"
        not_a_dump.write_text("hello")
        with pytest.raises(StoreError, match="pg_restore"):
            restore_store(empty, not_a_dump)
        with psycopg.connect(empty, autocommit=True) as connection:
            connection.execute("CREATE TABLE unrelated (x int)")
        other = tmp_path / "other.dump"
        with pytest.raises(StoreError, match="not a backup of an errorbudget store"):
            backup_store(empty, other)  # a database without the store's schema revision
        assert not other.exists() and not other.with_name("other.dump.partial").exists()
    (tmp_path / "exists.dump").write_text("keep")
    with pytest.raises(StoreError, match="the file exists"):
        backup_store(postgres_url, tmp_path / "exists.dump")


def test_every_kind_of_record_comes_back_from_a_backup(postgres_url: str, tmp_path: Path) -> None:
    """Write, back up, write more, restore (into a new database): the store reads as it
    did at the backup — counts, records, alerts, events — and its audit chain verifies."""
    file = tmp_path / "store.dump"
    with open_store(postgres_url, clock=lambda: T0) as store:
        populate(store, 0)
        before = state(store)
        backup_store(postgres_url, file)
        populate(store, 1)
        assert state(store) != before
    with fresh_database("eb_t_dbtools", migrated=False) as empty:
        restore_store(empty, file)
        with open_store(empty) as store:
            after = state(store)
            assert after == before
            assert after["chain"][0] is True and after["audit"] and after["good"]
            populate(store, 1)  # a working store: ids and the chain go on
            assert store.verify_chain().ok


def test_a_postgresql_backup_without_pg_dump_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dump.shutil, "which", lambda _name: None)
    with pytest.raises(StoreError, match="pg_dump is not installed"):
        backup_store("postgresql://eb@127.0.0.1:5432/eb", tmp_path / "eb.dump")
    assert list(tmp_path.iterdir()) == []
