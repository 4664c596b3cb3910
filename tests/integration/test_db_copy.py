"""``errorbudget db copy`` (``store/copy.py``): an SQLite store with something in every
table moved into a real PostgreSQL (tests/postgres_server.py), then the same status, the
same records, an audit chain that verifies, a checksum per table that matches — and a
row changed on the target afterwards reported as a mismatch."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.cli.main import main
from errorbudget.config import load_config
from errorbudget.errors import StoreError
from errorbudget.store import open_store
from errorbudget.store.copy import copy_store, verify
from errorbudget.store.sqlite import tables as sqlite_tables
from populated_store import T0, populate, state

pytestmark = pytest.mark.integration

CONFIG = """\
version: 1
store: {path: store.db}
slos:
  - id: answered
    service: contact-center
    target: 0.95
    window: {type: rolling, length: 7d}
    segments: {keys: [queue]}
"""


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Path:
    """An SQLite store with two rounds of every kind of record (tests/populated_store.py)."""
    (tmp_path / "errorbudget.yaml").write_text(CONFIG, encoding="utf-8")
    path = tmp_path / "store.db"
    with open_store(path, clock=lambda: T0) as store:
        populate(store, 0)
        populate(store, 1)
    return path


def _table_names(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return sorted(shape.name for shape in sqlite_tables.table_shapes(connection))


def test_a_copy_carries_every_table_and_the_stores_read_the_same(
    sqlite_store: Path, postgres_url: str
) -> None:
    report = copy_store(sqlite_store, postgres_url)
    assert report.ok and report.copied, [c for c in report.tables if not c.match]
    assert sorted(c.table for c in report.tables) == _table_names(sqlite_store)
    with contextlib.closing(sqlite3.connect(sqlite_store)) as connection:
        for check in report.tables:
            count = connection.execute(f'SELECT count(*) FROM "{check.table}"').fetchone()[0]
            assert check.source.rows == check.target.rows == count, check.table
    assert [c.table for c in report.tables if not c.source.rows] == []  # all populated

    loaded = load_config(sqlite_store.parent / "errorbudget.yaml")
    at = T0 + timedelta(days=2)
    with open_store(sqlite_store) as lite, open_store(postgres_url) as pg:
        assert state(pg) == state(lite)
        chain = pg.verify_chain()
        assert chain.ok and chain.entries == lite.verify_chain().entries > 0
        lite_status = App(loaded, lite, lambda: at).evaluations.status(at=at)
        pg_status = App(loaded, pg, lambda: at).evaluations.status(at=at)
        assert pg_status == lite_status and len(pg_status) == 3
        # The copy is a working store: new ids follow the copied ones, the chain goes on.
        [new] = pg.series_ids("answered", [(("queue", "new"),)])
        assert new > max(s.id for s in lite.list_series())
        pg.audit(actor="ada", action="store.copied", subject="postgres", details={})
        assert pg.verify_chain().ok


def test_a_row_changed_on_the_target_is_a_mismatch_naming_its_table(
    sqlite_store: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = sqlite_store
    assert copy_store(source, postgres_url).ok
    assert verify(source, postgres_url).ok
    with contextlib.closing(psycopg.connect(postgres_url, autocommit=True)) as connection:
        connection.execute("UPDATE source_runs SET error = 'tampered' WHERE id = 1")
    report = verify(source, postgres_url)
    assert not report.ok and report.mismatched == ["source_runs"]
    [bad] = [c for c in report.tables if c.table == "source_runs"]
    assert bad.source.rows == bad.target.rows and bad.source.checksum != bad.target.checksum

    bare = _cli_url(postgres_url, monkeypatch)
    result = CliRunner().invoke(
        main, ["db", "copy", "--from", f"sqlite:///{sqlite_store}", "--to", bare, "--verify-only"]
    )
    assert result.exit_code == 1, result.output
    assert "MISMATCH in 1 tables: source_runs" in result.output


def test_a_copy_into_a_store_that_holds_data_is_refused(
    sqlite_store: Path, postgres_url: str
) -> None:
    source = sqlite_store
    assert copy_store(source, postgres_url).ok
    with pytest.raises(StoreError, match=r"not empty \(table \w+ has [\d,]+ rows\)"):
        copy_store(source, postgres_url)


def test_a_table_on_one_side_only_is_an_error_naming_it(
    sqlite_store: Path, postgres_url: str
) -> None:
    with contextlib.closing(sqlite3.connect(sqlite_store)) as connection:
        connection.execute("CREATE TABLE future_table (id INTEGER PRIMARY KEY)")
        connection.commit()
    with pytest.raises(StoreError, match=r"table [\w, ]*future_table[\w, ]* of .* does not exist"):
        copy_store(sqlite_store, postgres_url)
    with contextlib.closing(psycopg.connect(postgres_url, autocommit=True)) as connection:
        assert connection.execute("SELECT count(*) FROM series").fetchone() == (0,)


def test_the_cli_copies_and_prints_a_table_per_table(
    sqlite_store: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = _cli_url(postgres_url, monkeypatch)
    result = CliRunner().invoke(
        main, ["db", "copy", "--from", f"sqlite:///{sqlite_store}", "--to", bare]
    )
    assert result.exit_code == 0, result.output
    assert "copied and verified" in result.output
    for name in _table_names(sqlite_store):
        assert name in result.output
    again = CliRunner().invoke(
        main, ["db", "copy", "--from", str(sqlite_store), "--to", bare, "--format", "json"]
    )
    assert again.exit_code == 1 and "not empty" in again.output


def _cli_url(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``url`` as a command line takes it: the password in $ERRORBUDGET_STORE_PASSWORD."""
    password = urlsplit(url).password
    assert password
    monkeypatch.setenv("ERRORBUDGET_STORE_PASSWORD", password)
    return url.replace(f":{password}@", "@")


def test_rows_of_every_type_copy_and_digest_alike_in_byte_order(tmp_path: Path) -> None:
    """The table machinery alone, on tables of its own: integers, floats, text in
    several scripts (ordered by bytes on both sides, whatever the database's collation),
    blobs and NULLs; COPY in, the identity sequence moved on, the same SHA-256 out."""
    from errorbudget.store.postgres import tables as pg_tables
    from errorbudget.store.table_digest import TableDigest
    from postgres_server import fresh_database

    rows = [
        (key, i, i / 3 if i % 2 else None, f"text {key}", bytes([i, 0, 255]) if i % 3 else None)
        for i, key in enumerate(["a", "B", "é", "Z", "ä", "10", "9", "日本", "line\nbreak", ""], 1)
    ]
    lite = sqlite3.connect(tmp_path / "t.db")
    lite.execute(
        "CREATE TABLE kinds (name TEXT NOT NULL, id INTEGER NOT NULL, ratio REAL, note TEXT, "
        "data BLOB, PRIMARY KEY (name)) WITHOUT ROWID"
    )
    lite.executemany("INSERT INTO kinds VALUES (?, ?, ?, ?, ?)", rows)
    lite.execute("CREATE TABLE numbered (id INTEGER PRIMARY KEY, label TEXT NOT NULL)")
    lite.executemany("INSERT INTO numbered VALUES (?, ?)", [(3, "x"), (7, "y")])
    shapes = {shape.name: shape for shape in sqlite_tables.table_shapes(lite)}
    assert shapes["kinds"].key == ("name",) and shapes["numbered"].key == ("id",)
    with (
        fresh_database("eb_t_dbtools", migrated=False) as url,
        psycopg.connect(url, autocommit=True) as pg,
    ):
        pg.execute(
            "CREATE TABLE kinds (name TEXT PRIMARY KEY, id BIGINT NOT NULL, "
            "ratio DOUBLE PRECISION, note TEXT, data BYTEA)"
        )
        pg.execute(
            "CREATE TABLE numbered (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "label TEXT NOT NULL)"
        )
        assert set(pg_tables.table_shapes(pg)) == {"kinds", "numbered"}
        for shape in shapes.values():
            with pg.transaction():
                written = pg_tables.write_rows(pg, shape, sqlite_tables.rows(lite, shape))
                pg_tables.reset_identities(pg, shape.name)
            assert written == len(list(sqlite_tables.rows(lite, shape)))
            text = pg_tables.text_columns(pg, shape.name)
            with pg.transaction():
                theirs = list(pg_tables.rows(pg, shape, text))
            ours = list(sqlite_tables.rows(lite, shape))
            assert [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in theirs] == ours  # fmt: skip
            assert (
                TableDigest().add_all(theirs).hexdigest() == TableDigest().add_all(ours).hexdigest()
            )
        assert [row[0] for row in sqlite_tables.rows(lite, shapes["kinds"])][:4] == [
            "", "10", "9", "B",
        ]  # fmt: skip
        [(next_id,)] = pg.execute("INSERT INTO numbered (label) VALUES ('z') RETURNING id")
        assert next_id == 8
    lite.close()


def test_a_copy_that_fails_leaves_the_target_empty_and_can_run_again(
    sqlite_store: Path, postgres_url: str
) -> None:
    with contextlib.closing(sqlite3.connect(sqlite_store)) as connection:
        # SQLite keeps what its column cannot convert; PostgreSQL's BIGINT refuses it.
        connection.execute("UPDATE series SET first_minute = 'not a minute' WHERE id = 3")
        connection.commit()
    with pytest.raises(
        StoreError, match=r"cannot copy into the store postgresql://eb@.*bigint.*COPY series"
    ):
        copy_store(sqlite_store, postgres_url)
    with contextlib.closing(psycopg.connect(postgres_url, autocommit=True)) as connection:
        for table in ("series", "minute_blocks", "audit_log"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    with contextlib.closing(sqlite3.connect(sqlite_store)) as connection:
        connection.execute("UPDATE series SET first_minute = NULL WHERE id = 3")
        connection.commit()
    assert copy_store(sqlite_store, postgres_url).ok


def test_a_new_store_copies_and_the_targets_revision_moves(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "new.db"
    open_store(source).close()  # revision 0, as the new target's
    with open_store(postgres_url) as target:
        seen = target.revision()
        report = copy_store(source, postgres_url)
        assert report.ok and report.copied
        assert target.revision() > seen  # a process on the target reads again
    assert verify(source, postgres_url).ok
