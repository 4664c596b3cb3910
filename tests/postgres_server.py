"""A real PostgreSQL for the tests: the machine's cluster, a throwaway database per test.

- :func:`ensure_server` — the admin URL of the test role (``ERRORBUDGET_TEST_POSTGRES``,
  default ``postgresql://eb:eb@127.0.0.1:5432/postgres``). When nothing answers and this runs
  as root on a machine with the Debian cluster tools, it starts the system cluster
  (``pg_ctlcluster 15 main start``) and creates the role ``eb`` (LOGIN, CREATEDB) if missing
  (../shared/TOOLCHAIN.md). Never stops or reconfigures a cluster.
- :func:`fresh_database` — a context manager: a new database copied from a template that was
  migrated once per test session (``CREATE DATABASE … TEMPLATE``, a few hundredths of a
  second), its URL while the block runs, dropped after it (``WITH (FORCE)``). Names start
  with the caller's prefix (``eb_t`` by default) and this process's id.
  ``create_database``/``drop_database`` do the same in two steps.

No PostgreSQL (or no psycopg) skips the test with the reason; tests using this are marked
``integration``, so under ``ERRORBUDGET_REQUIRE_INTEGRATION=1`` that skip fails
(tests/conftest.py). Databases still there when the session ends (a test that crashed
before its teardown) and the template are dropped at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from errorbudget.database_urls import redact

ADMIN_URL = os.environ.get(
    "ERRORBUDGET_TEST_POSTGRES", "postgresql://eb:eb@127.0.0.1:5432/postgres"
)
CLUSTER = ("15", "main")

_state: dict[str, Any] = {}
_created: set[str] = set()
_counter = itertools.count(1)


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test server, as the test role."""
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _start_cluster() -> str | None:
    """Start the system cluster and create the test role; None, or why it could not."""
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None:
        return "PostgreSQL is not running on 127.0.0.1:5432 (start it: pg_ctlcluster 15 main start)"
    status = subprocess.run(
        ["pg_ctlcluster", *CLUSTER, "status"], capture_output=True, text=True, check=False
    )
    if status.returncode != 0:
        started = subprocess.run(
            ["pg_ctlcluster", *CLUSTER, "start"], capture_output=True, text=True, check=False
        )
        if started.returncode != 0:
            return f"cannot start PostgreSQL: {started.stderr.strip() or started.stdout.strip()}"
    parts = urlsplit(ADMIN_URL)
    role, password = parts.username or "eb", parts.password or "eb"
    create_role = (
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
        f"'{role}') THEN CREATE ROLE {role} LOGIN PASSWORD '{password}' CREATEDB; END IF; END $$"
    )
    for _ in range(20):
        made = subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-qc", create_role],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode == 0:
            return None
        time.sleep(0.5)  # the cluster is still starting
    return f"cannot create the role {role}: {made.stderr.strip()}"


def ensure_server() -> str:
    """The admin URL of a running test server; skips the test when there is none."""
    if "admin" in _state:
        return str(_state["admin"])
    if "missing" in _state:
        pytest.skip(str(_state["missing"]))
    try:
        import psycopg
    except ImportError:
        _state["missing"] = "psycopg is not installed (pip install -e '.[postgres]')"
        pytest.skip(str(_state["missing"]))
    try:
        _connect(ADMIN_URL).close()
    except psycopg.OperationalError:
        why = _start_cluster()
        try:
            _connect(ADMIN_URL).close()
        except psycopg.OperationalError as exc:
            _state["missing"] = why or f"cannot connect to PostgreSQL at {redact(ADMIN_URL)}: {exc}"
            pytest.skip(str(_state["missing"]))
    _state["admin"] = ADMIN_URL
    return ADMIN_URL


def _template() -> str:
    """The session's migrated template database (built on first use)."""
    if "template" in _state:
        return str(_state["template"])
    from errorbudget.store import open_store

    admin = ensure_server()
    name = f"eb_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with contextlib.closing(_connect(admin)) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    _created.add(name)
    open_store(database_url(name)).close()  # migrates: every copy starts at the head
    _state["template"] = name
    return name


def _execute_when_free(sql: str, *, tries: int = 50, pause: float = 0.2) -> None:
    """Run ``sql`` (a CREATE or DROP DATABASE) on the admin connection, again while an
    autovacuum worker is in the database it names: ``CREATE … TEMPLATE`` refuses a
    template with any session in it (ObjectInUse), and ``DROP … WITH (FORCE)`` may not end
    an autovacuum worker as a non-superuser (InsufficientPrivilege, "must be a member of the
    role whose process is being terminated"). The worker leaves within moments."""
    import psycopg

    for attempt in range(tries):
        try:
            with contextlib.closing(_connect(ensure_server())) as connection:
                connection.execute(sql)
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == tries - 1:
                raise
            time.sleep(pause)


def _drop(name: str) -> None:
    _execute_when_free(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _created.discard(name)


def create_database(prefix: str = "eb_t", *, migrated: bool = True) -> str:
    """A new database (a copy of the migrated template, or with no schema at all); its URL.
    The caller drops it (``drop_database``), else it is dropped when the session ends."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"[:63]
    template = f' TEMPLATE "{_template()}"' if migrated else ""
    _execute_when_free(f'CREATE DATABASE "{name}"{template}')
    _created.add(name)
    return database_url(name)


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (made by ``create_database``), even with connections."""
    _drop(urlsplit(url).path.lstrip("/"))


@contextlib.contextmanager
def fresh_database(prefix: str = "eb_t", *, migrated: bool = True) -> Iterator[str]:
    """A new database while the block runs — migrated and empty, or (``migrated=False``)
    with no schema at all: its URL (with the test role's password). Dropped afterwards,
    even with connections still open."""
    url = create_database(prefix, migrated=migrated)
    try:
        yield url
    finally:
        drop_database(url)


@atexit.register
def _drop_leftovers() -> None:
    if "admin" not in _state:
        return
    for name in sorted(_created):
        with contextlib.suppress(Exception):
            _drop(name)
