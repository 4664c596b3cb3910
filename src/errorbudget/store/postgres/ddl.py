"""The store's DDL: ``sql/<NN>_<part>.sql``, one file per part, run in file-name order by
the Alembic revision ``0001`` (``migrations/versions/0001_schema.py``)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import psycopg

from errorbudget.errors import StoreError


def sql_files() -> list[tuple[str, str]]:
    """``(name, text)`` of every DDL file, in file-name order."""
    folder = resources.files("errorbudget.store.postgres") / "sql"
    found = [entry for entry in folder.iterdir() if entry.name.endswith(".sql")]
    return [(entry.name, entry.read_text(encoding="utf-8")) for entry in sorted(found, key=_name)]


def _name(entry: Any) -> str:
    return str(entry.name)


def has_statements(text: str) -> bool:
    """Whether ``text`` holds more than comments and blanks (an empty part's file)."""
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def run_sql_files(bind: Any) -> None:
    """Execute every DDL file on the psycopg connection under Alembic's SQLAlchemy ``bind``
    (in its transaction; no parameters, so a file may hold many statements and ``%``)."""
    driver = bind.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"the migration runs on psycopg, not {type(driver).__name__}")
    for name, text in sql_files():
        if not has_statements(text):
            continue
        try:
            driver.execute(text)
        except psycopg.Error as exc:
            raise StoreError(f"cannot create the store's tables (sql/{name}): {exc}") from exc
