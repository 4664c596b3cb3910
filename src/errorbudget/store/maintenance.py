"""Where a store's schema is, and bringing it to the newest one, on either backend
(``errorbudget db current`` / ``db upgrade``).

The surfaces never import a backend (docs/architecture.md, "Contracts"): this module
imports the one a location names, lazily, as ``open_store`` does. ``schema_status`` only
reads (it never migrates); ``upgrade_schema`` migrates as opening the store does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from errorbudget.database_urls import is_postgres_url, redact
from errorbudget.errors import StoreError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """A store's schema: its backend, where it is, the newest this errorbudget knows."""

    backend: str
    """``sqlite`` or ``postgresql``."""
    label: str
    """The store as messages name it (a file, or a URL without its password)."""
    current: str | None
    """SQLite: the schema version; PostgreSQL: the Alembic revision; None: no schema yet
    (a new database, or no file)."""
    latest: str
    known: bool = True
    """False: a newer errorbudget wrote it (this one refuses to open it)."""

    @property
    def up_to_date(self) -> bool:
        return self.current == self.latest

    def as_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "store": self.label,
            "current": self.current,
            "latest": self.latest,
            "up_to_date": self.up_to_date,
            "known": self.known,
        }


def schema_status(location: str | Path, *, password: str | None = None) -> SchemaStatus:
    """Where the schema of the store at ``location`` is; nothing is created or changed."""
    if is_postgres_url(location):
        from errorbudget.store.postgres import schema
        from errorbudget.store.postgres.url import StoreUrl

        url = StoreUrl.parse(str(location))
        found = schema.state(url, password)
        known = found.current is None or found.current in schema.known_revisions()
        return SchemaStatus(POSTGRESQL, url.label, found.current, found.head, known)
    from errorbudget.store.sqlite.schema import LATEST_VERSION

    path = Path(location)
    latest = str(LATEST_VERSION)
    if not path.is_file():
        return SchemaStatus(SQLITE, str(path), None, latest)
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as connection:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        connection.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the schema version of the store {path}: {exc}") from exc
    current = str(version) if version else None
    return SchemaStatus(SQLITE, str(path), current, latest, version <= LATEST_VERSION)


def upgrade_schema(
    location: str | Path, *, password: str | None = None
) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the store at ``location`` to the newest schema (creating it when new); the
    status before and after. StoreError for a store a newer errorbudget wrote."""
    before = schema_status(location, password=password)
    if not before.known:
        raise StoreError(
            f"the store {before.label} was written by a newer errorbudget "
            f"(schema {before.current}); this version knows up to {before.latest}: "
            "upgrade errorbudget"
        )
    if is_postgres_url(location):
        from errorbudget.store.postgres import schema
        from errorbudget.store.postgres.url import StoreUrl

        schema.upgrade(StoreUrl.parse(str(location)), password)
    else:
        from errorbudget.store import open_store

        open_store(location).close()  # an SQLite store migrates at open
    return before, schema_status(location, password=password)


def parse_location(text: str) -> str | Path:
    """A store given on a command line: a PostgreSQL URL (as is), ``sqlite:///FILE``
    (SQLAlchemy's form: ``sqlite:////abs/path``, ``sqlite:///relative``), ``:memory:``, or
    a file path."""
    if is_postgres_url(text) or text == ":memory:":
        return text
    if text.startswith("sqlite:///"):
        return Path(text.removeprefix("sqlite:///"))
    if "://" in text:
        raise StoreError(
            f"unknown store URL {redact(text)}: give postgresql://user@host/database, "
            "sqlite:///FILE or a file path"
        )
    return Path(text)
