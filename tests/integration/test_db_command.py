"""``errorbudget db upgrade`` and ``db current`` on both backends: the store of the config
or of ``--store``, the version before and after, the exit codes (issue #13)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from errorbudget.cli.db_command import OUTDATED_EXIT
from errorbudget.cli.main import main
from errorbudget.store.postgres.schema import head_revision
from errorbudget.store.sqlite.schema import LATEST_VERSION

PASSWORD_ENV = {"ERRORBUDGET_STORE_PASSWORD": "eb"}


def db(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["db", *args], env=env)


# --- SQLite --------------------------------------------------------------------------------


def test_sqlite_current_then_upgrade_then_current(tmp_path: Path) -> None:
    store = tmp_path / "eb.db"
    before = db("current", "--store", str(store))
    assert before.exit_code == OUTDATED_EXIT, before.output
    assert "backend: sqlite" in before.output
    assert f"schema version none (newest known: {LATEST_VERSION})" in before.output
    assert not store.exists()  # current never creates anything

    upgraded = db("upgrade", "--store", f"sqlite:///{store}")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"from schema version none to schema version {LATEST_VERSION}" in upgraded.output
    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (LATEST_VERSION,)
    connection.close()

    again = db("upgrade", "--store", str(store))
    assert again.exit_code == 0 and "is up to date" in again.output
    now = db("current", "--store", str(store), "--format", "json")
    assert now.exit_code == 0, now.output
    assert json.loads(now.output) == {
        "backend": "sqlite",
        "store": str(store),
        "current": str(LATEST_VERSION),
        "latest": str(LATEST_VERSION),
        "up_to_date": True,
        "known": True,
    }


def test_sqlite_store_of_the_config_and_a_newer_one_refused(tmp_path: Path) -> None:
    config = tmp_path / "errorbudget.yaml"
    config.write_text("store: {path: data/eb.db}\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    assert db("upgrade", "-c", str(config)).exit_code == 0
    store = tmp_path / "data" / "eb.db"
    assert "up to date" in db("current", "-c", str(config)).output
    with sqlite3.connect(store) as connection:
        connection.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    connection.close()
    newer = db("current", "-c", str(config))
    assert newer.exit_code == 1
    assert "written by a newer errorbudget" in newer.output
    refused = db("upgrade", "-c", str(config))
    assert refused.exit_code == 1
    assert f"this version knows up to {LATEST_VERSION}" in refused.output


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A database with no schema; its URL without the password (that comes from the
    environment)."""
    from postgres_server import fresh_database

    with fresh_database(migrated=False) as url:
        yield url.replace(":eb@", "@", 1)


@pytest.mark.integration
def test_postgres_current_then_upgrade_from_the_config(empty_postgres: str, tmp_path: Path) -> None:
    config = tmp_path / "errorbudget.yaml"
    config.write_text(f"store: {{url: '{empty_postgres}'}}\n", encoding="utf-8")
    before = db("current", "-c", str(config), env=PASSWORD_ENV)
    assert before.exit_code == OUTDATED_EXIT, before.output
    assert "backend: postgresql" in before.output
    assert f"revision none (newest known: {head_revision()})" in before.output

    upgraded = db("upgrade", "-c", str(config), env=PASSWORD_ENV)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"from revision none to revision {head_revision()}" in upgraded.output
    with psycopg.connect(empty_postgres, password="eb") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
    now = db("current", "--store", empty_postgres, "--format", "json", env=PASSWORD_ENV)
    assert now.exit_code == 0, now.output
    assert json.loads(now.output)["up_to_date"] is True
    assert json.loads(now.output)["store"] == empty_postgres


@pytest.mark.integration
def test_postgres_password_from_the_configured_variable(
    empty_postgres: str, tmp_path: Path
) -> None:
    config = tmp_path / "errorbudget.yaml"
    config.write_text(
        f"store: {{url: '{empty_postgres}', password_env: EB_DB_PASSWORD}}\n", encoding="utf-8"
    )
    wrong = db("upgrade", "-c", str(config), env={"EB_DB_PASSWORD": "wrong", "PGPASSWORD": ""})
    assert wrong.exit_code == 1
    assert "password authentication failed" in wrong.output and "wrong" not in wrong.output
    assert db("upgrade", "-c", str(config), env={"EB_DB_PASSWORD": "eb"}).exit_code == 0


@pytest.mark.integration
def test_postgres_newer_revision_and_a_password_on_the_command_line_refused(
    empty_postgres: str,
) -> None:
    assert db("upgrade", "--store", empty_postgres, env=PASSWORD_ENV).exit_code == 0
    with psycopg.connect(empty_postgres, password="eb") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    newer = db("current", "--store", empty_postgres, env=PASSWORD_ENV)
    assert newer.exit_code == 1
    assert "written by a newer errorbudget" in newer.output
    refused = db("upgrade", "--store", empty_postgres, env=PASSWORD_ENV)
    assert refused.exit_code == 1
    assert "newer errorbudget" in refused.output

    with_password = empty_postgres.replace("eb@", "eb:eb@", 1)
    shown = db("current", "--store", with_password)
    assert shown.exit_code == 1
    assert "the store URL holds a password" in shown.output
