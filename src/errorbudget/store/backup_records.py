"""What a backup or a restore of the store reports, whatever the backend (``db backup``,
``db restore``): the backends' modules fill these in, the CLI prints them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[int, int], None]
"""Told ``(done, total)`` as a backup or restore goes (pages for SQLite)."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """A backup written: where from, where to, and what was checked."""

    backend: str
    """``sqlite`` or ``postgresql``."""
    store: str
    """The store backed up, as messages name it (a file, a URL without password)."""
    file: Path
    bytes: int
    schema: str
    """The store's schema: ``version 9`` (SQLite), ``revision 0001`` (PostgreSQL)."""
    check: str
    """What verified the file: ``integrity_check ok``, ``pg_restore --list: 42 entries``."""
    seconds: float


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """A store restored from a backup file."""

    backend: str
    store: str
    file: Path
    schema: str
    forced: bool
    """Restored over a store that a process held open (``--force``)."""
    seconds: float
