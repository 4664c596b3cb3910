"""An SQLite store's tables as ``db copy`` reads them: which there are (``sqlite_schema``),
their columns and primary keys, their foreign keys (parents are copied first), and their
rows in primary-key order (``table_digest.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from errorbudget.store.table_digest import TableShape

NOT_COPIED = frozenset({"schema_migrations"})
"""Tables of the SQLite store that are no part of a copy: its migrations' record (the
PostgreSQL store's is Alembic's ``alembic_version``). SQLite's own ``sqlite_*`` tables are
never a store's."""

BATCH_ROWS = 5000


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_shapes(connection: sqlite3.Connection) -> list[TableShape]:
    """Every table of the store a copy carries, parents before the tables that refer to
    them (then by name)."""
    names = [
        str(row[0])
        for row in connection.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\' ORDER BY name"
        )
        if row[0] not in NOT_COPIED
    ]
    shapes: dict[str, TableShape] = {}
    parents: dict[str, set[str]] = {}
    for name in names:
        info = connection.execute(f"PRAGMA table_info({quote(name)})").fetchall()
        columns = tuple(str(row[1]) for row in info)
        key = tuple(str(row[1]) for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        shapes[name] = TableShape(name, columns, key or columns)
        references = connection.execute(f"PRAGMA foreign_key_list({quote(name)})").fetchall()
        parents[name] = {str(row[2]) for row in references} - {name}
    ordered: list[TableShape] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name not in shapes:
            return
        done.add(name)
        for parent in sorted(parents[name]):
            visit(parent)
        ordered.append(shapes[name])

    for name in names:
        visit(name)
    return ordered


def rows(connection: sqlite3.Connection, shape: TableShape) -> Iterator[tuple[object, ...]]:
    """The table's rows in primary-key order (SQLite compares text by bytes), in batches."""
    columns = ", ".join(quote(column) for column in shape.columns)
    order = ", ".join(quote(column) for column in shape.key)
    cursor = connection.execute(f"SELECT {columns} FROM {quote(shape.name)} ORDER BY {order}")
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield from batch
