"""Where a crash world's store lives — a SQLite file or a PostgreSQL database — and the
checks that differ between the two (``crash_harness`` and its scenarios use only these).

- **SQLite**: ``store: {path: …}``; a writer is inside its transaction while the lock's
  holder file exists; the file must pass ``PRAGMA integrity_check`` after every kill.
- **PostgreSQL**: ``store: {url: …}`` with the password in the environment; a writer is
  inside its transaction while it holds the store's advisory lock (``pg_locks``); after a
  kill the server has rolled the killed session back itself, so the check is that the store
  opens and answers every read the scenario checks through the store's public API (a
  broken constraint or a half-written row shows there), and the audit chain verifies.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from errorbudget.store import Store, open_store
from errorbudget.store.sqlite.locking import holder_path

PASSWORD_ENV = "ERRORBUDGET_STORE_PASSWORD"


@dataclass(frozen=True)
class CrashStore:
    """One store of one backend, as the commands under test and the checks open it."""

    backend: str
    """``sqlite`` or ``postgres``."""
    location: str
    """The SQLite file's path, or the PostgreSQL URL as the config holds it (no password)."""
    env: dict[str, str] = field(default_factory=dict)
    """What the commands' environment needs on top of the test's (the password)."""

    @classmethod
    def sqlite(cls, workdir: Path) -> CrashStore:
        return cls("sqlite", str(workdir / "eb.db"))

    @classmethod
    def postgres(cls, url: str) -> CrashStore:
        """The database of ``url``; its password (if any) moves to the environment, where
        the config takes it from (a password in the config's URL is refused)."""
        from errorbudget.store.postgres.url import redact

        password = urlsplit(url).password
        return cls("postgres", redact(url), {PASSWORD_ENV: password} if password else {})

    @property
    def password(self) -> str | None:
        return self.env.get(PASSWORD_ENV)

    def config(self) -> str:
        """The config's ``store:`` line."""
        if self.backend == "sqlite":
            return f"store: {{path: {self.location}}}\n"
        return f"store: {{url: '{self.location}'}}\n"

    def open(self) -> Store:
        """The store, opened as the commands open it (created when no command got that far)."""
        if self.backend == "sqlite":
            return open_store(self.location)
        return open_store(self.location, password=self.password)

    def writer_inside(self) -> bool:
        """Whether a writer holds the store's write lock now (is inside its transaction)."""
        if self.backend == "sqlite":
            return holder_path(Path(self.location)).exists()
        import psycopg  # the postgres extra: only a PostgreSQL world gets here

        with psycopg.connect(self.location, password=self.password) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
        return bool(row and row[0])

    def integrity(self) -> str | None:
        """SQLite: ``ok`` or what ``PRAGMA integrity_check`` found broken in the file.
        PostgreSQL: None, no file of ours to check (see the module's docstring)."""
        if self.backend != "sqlite":
            return None
        with sqlite3.connect(self.location) as raw:
            found = str(raw.execute("PRAGMA integrity_check").fetchone()[0])
        raw.close()
        return found


def chain_state(store: Store) -> str:
    """``ok`` when the whole audit chain verifies, else its first problem."""
    report = store.verify_chain()
    return "ok" if report.ok else f"broken: {report.first}"
