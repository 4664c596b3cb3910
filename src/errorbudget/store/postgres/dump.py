"""Backups of a PostgreSQL store with PostgreSQL's own tools (``errorbudget db backup|restore``).

``backup`` runs ``pg_dump --format=custom`` (one compressed file, restorable table by table,
the format ``pg_restore`` reads) into ``<file>.partial``, checks it with ``pg_restore
--list`` and only then renames it to its name. ``restore`` runs ``pg_restore`` into an
EMPTY database: restoring over a store's tables would mix two histories (and the audit
chain would say so), so a database with any table in it is refused — make a new one
(``createdb``) and point the config at it.

The password never appears on a command line (where ``ps`` shows it to every user): it is
passed in the child's environment as ``PGPASSWORD``, taken from the URL given on the
store's password variable (``store.password_env``, default ``ERRORBUDGET_STORE_PASSWORD``)
or a URL given to the library; libpq's own ``PGPASSWORD`` and ``~/.pgpass`` work too.

Teams with their own backup tooling run the same two commands (docs/operations.md
"Backups and restore"); these only add the checks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg

from errorbudget.errors import StoreError
from errorbudget.records import WriterInfo
from errorbudget.store import open_store
from errorbudget.store.backup_records import BackupReport, RestoreReport
from errorbudget.store.postgres import schema
from errorbudget.store.postgres.access import WRITE_LOCK, Connection, application_name
from errorbudget.store.postgres.url import StoreUrl

TIMEOUT = 6 * 3600.0
"""A dump or restore that takes longer than this is stopped (seconds)."""


@dataclass(frozen=True, slots=True)
class ConnectionTarget:
    """A store URL split for a client program: the URL without its password (what the
    command line gets), and the password (what its environment gets)."""

    url: str
    """Without its password: what a command line and messages show."""
    password: str | None

    @property
    def label(self) -> str:
        return self.url


def connection_target(url: str, password: str | None = None) -> ConnectionTarget:
    """``url`` and its password: ``password``, else the one in the URL (``user:…@`` or
    ``?password=``), else None (libpq's ``PGPASSWORD``/``.pgpass``)."""
    parsed = StoreUrl.parse(url)
    parts = urlsplit(url)
    in_query = [value for key, value in parse_qsl(parts.query) if key == "password"]
    if password is None and parts.password is not None:
        password = unquote(parts.password)
    elif password is None and in_query:
        password = in_query[-1]
    return ConnectionTarget(parsed.label, password)


def open_connection(target: ConnectionTarget, doing: str = "connect to") -> Connection:
    """A connection of its own to ``target`` (autocommit: transactions are the caller's
    ``with connection.transaction()``), named as ``db copy`` in pg_stat_activity."""
    options: dict[str, Any] = {
        "autocommit": True,
        "application_name": application_name(WriterInfo.current("errorbudget db copy")),
    }
    if target.password is not None:
        options["password"] = target.password
    try:
        return psycopg.connect(target.url, **options)
    except psycopg.Error as exc:
        raise StoreError(f"cannot {doing} the store {target.label}: {exc}") from exc


def lock_store(connection: Connection) -> None:
    """Take the store's write lock for the connection's transaction: the store's own
    writers (``serve``, ``ingest``) wait until it commits."""
    connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))


def count_tables(target: ConnectionTarget) -> int:
    """How many tables, views and sequences the database has outside PostgreSQL's own
    schemas (0: empty, as ``createdb`` made it)."""
    with open_connection(target, "read") as connection:
        try:
            found = connection.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
                "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
            ).fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"cannot read the store {target.label}: {exc}") from exc
    return int(found[0]) if found else 0


def refuse_newer(revision: str, file: str) -> None:
    """StoreError if ``revision`` is none this errorbudget knows (a newer one wrote it)."""
    if revision not in schema.known_revisions():
        raise StoreError(
            f"the backup {file} was written by a newer errorbudget (revision {revision}; "
            f"this version knows up to {schema.head_revision()}): restore it with that version"
        )


def backup(url: str, file: Path, *, password: str | None = None) -> BackupReport:
    """``pg_dump --format=custom`` of the store at ``url`` into the new file ``file``."""
    began = time.monotonic()
    target = connection_target(url, password)
    if file.exists():
        raise StoreError(f"cannot back up to {file}: the file exists (choose a new name)")
    if not file.parent.is_dir():
        raise StoreError(f"cannot back up to {file}: directory {file.parent} does not exist")
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _run(
            "pg_dump",
            ["--format=custom", "--no-password", f"--file={partial}", f"--dbname={target.url}"],
            target,
            f"back up the store {target.label}",
        )
        entries, revision = _inspect(partial, target)
        partial.replace(file)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(
        backend="postgresql",
        store=target.label,
        file=file,
        bytes=file.stat().st_size,
        schema=f"revision {revision}",
        check=f"pg_restore --list: {entries} entries",
        seconds=time.monotonic() - began,
    )


def restore(url: str, file: Path, *, password: str | None = None) -> RestoreReport:
    """``pg_restore`` of the dump ``file`` into the EMPTY database at ``url``."""
    began = time.monotonic()
    target = connection_target(url, password)
    if not file.is_file():
        raise StoreError(f"cannot restore from {file}: there is no such file")
    _entries, revision = _inspect(file, target)
    refuse_newer(revision, str(file))
    tables = count_tables(target)
    if tables:
        raise StoreError(
            f"cannot restore into {target.label}: the database is not empty ({tables} tables); "
            "restore into a new, empty database (createdb) and point the store at it"
        )
    _run(
        "pg_restore",
        [
            "--no-password",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={target.url}",
            str(file),
        ],
        target,
        f"restore the store {target.label} from {file}",
    )
    open_store(url, password=target.password).close()  # an older revision is upgraded now
    return RestoreReport(
        backend="postgresql",
        store=target.label,
        file=file,
        schema=f"revision {revision}",
        forced=False,
        seconds=time.monotonic() - began,
    )


_ALEMBIC_ROW = re.compile(r"^COPY [^\n]*alembic_version [^\n]*FROM stdin;\n([^\n\\]+)\n", re.M)


def _inspect(file: Path, target: ConnectionTarget) -> tuple[int, str]:
    """The number of entries of the dump ``file`` and the schema revision it holds (its
    ``alembic_version`` row); StoreError if it is not a dump of a store."""
    listing = _run("pg_restore", ["--list", str(file)], target, f"read the backup {file}")
    entries = sum(1 for line in listing.splitlines() if line and not line.startswith(";"))
    data = _run(
        "pg_restore",
        ["--data-only", "--table=alembic_version", "--file=-", str(file)],
        target,
        f"read the backup {file}",
    )
    found = _ALEMBIC_ROW.search(data)
    if found is None:
        raise StoreError(f"{file} is not a backup of an errorbudget store (no schema revision)")
    return entries, found.group(1).strip()


def _run(tool: str, arguments: list[str], target: ConnectionTarget, doing: str) -> str:
    """Run ``tool`` (a PostgreSQL client program) with the password in its environment;
    its standard output, or StoreError with its message."""
    program = shutil.which(tool)
    if program is None:
        raise StoreError(
            f"cannot {doing}: {tool} is not installed (install the PostgreSQL client "
            f"programs, version {MIN_CLIENT_VERSION} or later)"
        )
    environment = {**os.environ, "PGAPPNAME": f"errorbudget {tool}"}
    if target.password is not None:
        environment["PGPASSWORD"] = target.password
    try:
        done = subprocess.run(
            [program, *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StoreError(f"cannot {doing}: {tool}: {exc}") from exc
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise StoreError(f"cannot {doing}: {tool}: {message}")
    return done.stdout


MIN_CLIENT_VERSION = 15
"""pg_dump must be at least the server's version; the tests run PostgreSQL 15."""
