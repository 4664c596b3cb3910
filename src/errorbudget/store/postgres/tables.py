"""A PostgreSQL store's tables as ``db copy`` writes and reads them: which there are, their
columns, primary keys and identity columns, whether they are empty, rows written with
``COPY`` and read back in primary-key order for the checksum (``table_digest.py``).

Rows are ordered with the ``"C"`` collation on text keys, which compares UTF-8 bytes as
SQLite does, so both sides feed their digests the same rows in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import psycopg
from psycopg import sql

from errorbudget.store.postgres.access import Connection
from errorbudget.store.table_digest import TableShape

NOT_COPIED = frozenset({"alembic_version"})
"""The migrations' record: the SQLite store keeps its own in ``schema_migrations``."""

PREFILLED = frozenset({"store_revision"})
"""Tables a migrated store already holds one row in: a copy updates that row (its
triggers let the revision move forward only, and never be deleted)."""

BATCH_ROWS = 5000


def table_shapes(connection: Connection) -> dict[str, TableShape]:
    """Every table of the store (in the connection's current schema) but Alembic's, by name."""
    found: dict[str, TableShape] = {}
    tables = connection.execute(
        "SELECT c.oid, c.relname FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') "
        "ORDER BY c.relname"
    ).fetchall()
    for oid, name in tables:
        if name in NOT_COPIED:
            continue
        columns = tuple(
            str(row[0])
            for row in connection.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum",
                (oid,),
            )
        )
        key = tuple(
            str(row[0])
            for row in connection.execute(
                "SELECT a.attname FROM pg_index i "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.position",
                (oid,),
            )
        )
        found[str(name)] = TableShape(str(name), columns, key or columns)
    return found


def row_count(connection: Connection, table: str) -> int:
    row = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    return int(row.fetchone()[0])  # type: ignore[index]


def write_rows(
    connection: Connection,
    shape: TableShape,
    rows: Iterable[Sequence[object]],
) -> int:
    """Write ``rows`` (in ``shape``'s column order) with one ``COPY``; return how many. A
    prefilled table's row is updated instead (by its key)."""
    written = 0
    if shape.name in PREFILLED:
        settable = [column for column in shape.columns if column not in shape.key]
        statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(
            sql.Identifier(shape.name),
            sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(column)) for column in settable
            ),
            sql.SQL(" AND ").join(
                sql.SQL("{} = %s").format(sql.Identifier(column)) for column in shape.key
            ),
        )
        positions = {column: i for i, column in enumerate(shape.columns)}
        with connection.cursor() as cursor:
            for row in rows:
                values = [row[positions[c]] for c in settable] + [
                    row[positions[c]] for c in shape.key
                ]
                cursor.execute(statement, values)
                if cursor.rowcount != 1:
                    raise psycopg.DataError(f"{shape.name}: no row to update for {values}")
                written += 1
        return written
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(shape.name), sql.SQL(", ").join(map(sql.Identifier, shape.columns))
    )
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def reset_identities(connection: Connection, table: str) -> int:
    """Move every identity (or serial) sequence of ``table`` past its largest value, so the
    next row the store inserts gets a new id; return how many were reset."""
    columns = connection.execute(
        "SELECT a.attname, pg_get_serial_sequence(quote_ident(c.relname), a.attname) "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace "
        "AND a.attnum > 0 AND NOT a.attisdropped",
        (table,),
    ).fetchall()
    reset = 0
    for column, sequence in columns:
        if sequence is None:
            continue
        connection.execute(
            sql.SQL("SELECT setval(%s, COALESCE((SELECT max({}) FROM {}), 0) + 1, false)").format(
                sql.Identifier(column), sql.Identifier(table)
            ),
            (sequence,),
        )
        reset += 1
    return reset


def rows(
    connection: Connection,
    shape: TableShape,
    text_columns: frozenset[str],
) -> Iterator[tuple[object, ...]]:
    """The table's rows in primary-key order (text keys by bytes), through a server-side
    cursor; ``text_columns``: the key columns holding text."""
    order = sql.SQL(", ").join(
        sql.SQL('{} COLLATE "C" NULLS FIRST').format(sql.Identifier(c))
        if c in text_columns
        else sql.SQL("{} NULLS FIRST").format(sql.Identifier(c))
        for c in shape.key
    )
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, shape.columns)), sql.Identifier(shape.name), order
    )
    with connection.cursor(name=f"eb_copy_{shape.name}") as cursor:
        cursor.itersize = BATCH_ROWS
        cursor.execute(query)
        yield from cursor


def text_columns(connection: Connection, table: str) -> frozenset[str]:
    """The columns of ``table`` whose type collates (text, varchar)."""
    return frozenset(
        str(row[0])
        for row in connection.execute(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace "
            "AND a.attnum > 0 AND NOT a.attisdropped AND a.attcollation <> 0",
            (table,),
        )
    )
