"""The store backends every store test runs against, by name.

A test module parametrises its store fixture with ``BACKENDS`` and opens each one with
``backend_store`` (a context manager: the store, closed and its database dropped after the
block) or ``open_backend``. The SQLite backend runs twice: on a file (WAL, a writer and read
connections) and in memory (one connection). ``postgres`` is a fresh database on the
machine's PostgreSQL (tests/postgres_server.py), marked ``integration``: skipped when there
is no server, a failure then in CI. Its test ids contain ``postgres``, so
``-k "not postgres"`` leaves it out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from errorbudget.store import Store, open_store
from postgres_server import create_database, fresh_database

Opener = Callable[[Path, dict[str, Any]], Store]

_OPENERS: dict[str, Opener] = {
    "sqlite-file": lambda directory, options: open_store(directory / "store.db", **options),
    "sqlite-memory": lambda directory, options: open_store(":memory:", **options),
}

POSTGRES = "postgres"

BACKENDS: list[Any] = [
    *_OPENERS,
    pytest.param(POSTGRES, marks=pytest.mark.integration, id=POSTGRES),
]
"""The ``params`` of a store fixture (names; the PostgreSQL one marked ``integration``)."""


@contextlib.contextmanager
def backend_store(
    name: str, directory: Path, *, clock: Callable[[], datetime] | None = None
) -> Iterator[Store]:
    """A fresh, empty store of backend ``name`` (files, if any, in ``directory``), closed
    (and its PostgreSQL database dropped) when the block ends."""
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    if name == POSTGRES:
        with fresh_database() as url, open_store(url, **options) as opened:
            yield opened
        return
    with _OPENERS[name](directory, options) as opened:
        yield opened


def open_backend(
    name: str, directory: Path, *, clock: Callable[[], datetime] | None = None
) -> Store:
    """A fresh, empty store of backend ``name`` (files, if any, in ``directory``); the
    caller closes it. A PostgreSQL database made here is dropped when the session ends."""
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    if name == POSTGRES:
        return open_store(create_database(), **options)
    return _OPENERS[name](directory, options)
