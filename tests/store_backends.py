"""The store backends every store test runs against, by name.

A test module parametrises its store fixture with ``BACKENDS`` and opens each one with
``open_backend``; a second backend (PostgreSQL) is one more entry here. The SQLite backend
runs twice: on a file (WAL, a writer and read connections) and in memory (one connection).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from errorbudget.store import Store, open_store

Opener = Callable[[Path, dict[str, Any]], Store]

_OPENERS: dict[str, Opener] = {
    "sqlite-file": lambda directory, options: open_store(directory / "store.db", **options),
    "sqlite-memory": lambda directory, options: open_store(":memory:", **options),
}

BACKENDS: list[str] = list(_OPENERS)
"""The ``params`` of a store fixture."""


def open_backend(
    name: str, directory: Path, *, clock: Callable[[], datetime] | None = None
) -> Store:
    """A fresh, empty store of backend ``name`` (files, if any, in ``directory``)."""
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    return _OPENERS[name](directory, options)
