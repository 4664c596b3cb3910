"""The PostgreSQL store's schema: Alembic revisions, applied at open and by ``db upgrade``.

``alembic_version`` holds the revision a database is at (it replaces SQLite's ``PRAGMA
user_version`` and ``schema_migrations``). ``upgrade`` brings a database to the newest
revision this errorbudget knows, in one transaction under an advisory lock (two processes
opening a new database at once: one migrates, the other then finds it done), and refuses a
database written by a newer errorbudget (a revision it does not know) rather than misread
it. Alembic runs without an ini file: ``migrations/`` is found beside this module and the
connection is handed to ``migrations/env.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from errorbudget.errors import StoreError
from errorbudget.store.postgres.access import MIGRATE_LOCK, connect_error, connect_options
from errorbudget.store.postgres.url import StoreUrl

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema is: its revision (None: empty) and the newest known."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision this errorbudget knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise StoreError("the PostgreSQL store has no migrations (a broken installation)")
    return head


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def _engine(url: StoreUrl, password: str | None) -> Any:
    options = connect_options(url, password, None)  # the store's: a timeout, the password

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(url.url, **options)

    return create_engine("postgresql+psycopg://", creator=connect, poolclass=NullPool)


def _current(connection: SAConnection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _refuse_unknown(url: StoreUrl, current: str | None, head: str) -> None:
    if current is not None and current not in known_revisions():
        raise StoreError(
            f"the store {url.label} was written by a newer errorbudget (revision {current}); "
            f"this version knows up to {head}: upgrade errorbudget to open it"
        )


def state(url: StoreUrl, password: str | None = None) -> SchemaState:
    """The database's revision and the newest known (nothing changed)."""
    head = head_revision()
    engine = _engine(url, password)
    try:
        with engine.connect() as connection:
            return SchemaState(_current(connection), head)
    except SQLAlchemyError as exc:
        failure = _failure(url, "read the schema of the store", exc)
    finally:
        engine.dispose()
    error, cause = failure
    raise error from cause


def upgrade(url: StoreUrl, password: str | None = None) -> SchemaState:
    """Bring the database to the newest revision (creating the schema in an empty one);
    return where it was and where it is now is ``head``. StoreError for a database written
    by a newer errorbudget, or one that cannot be reached."""
    head = head_revision()
    engine = _engine(url, password)
    try:
        with engine.begin() as connection:
            before = _current(connection)
            _refuse_unknown(url, before, head)
            if before == head:
                return SchemaState(before, head)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
            before = _current(connection)  # another process may have migrated meanwhile
            _refuse_unknown(url, before, head)
            if before != head:
                config = _config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            return SchemaState(before, head)
    except SQLAlchemyError as exc:
        failure = _failure(url, "open the store", exc)
    finally:
        engine.dispose()
    error, cause = failure
    raise error from cause


def _failure(
    url: StoreUrl, doing: str, exc: SQLAlchemyError
) -> tuple[StoreError, BaseException | None]:
    """``exc`` as a StoreError and the cause to chain (None: libpq's text may quote the
    password; the caller raises outside its handler so no context carries it either)."""
    original = getattr(exc, "orig", None)
    error, hide = connect_error(url, doing, original if original is not None else exc)
    return error, None if hide else exc
