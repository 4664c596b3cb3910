"""``db backup`` / ``db restore`` of an SQLite store (``store/sqlite/backup.py``): the
online backup API's one snapshot while writers go on, the restored store equal to the
backup's state, and the refusals (a store held by a process, a newer schema, a file that
is not a store, a backup file that exists)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from errorbudget.errors import FencedError, StoreBusyError, StoreError
from errorbudget.store import open_store
from errorbudget.store.backup import backup_store, restore_store
from errorbudget.store.sqlite import backup as sqlite_backup
from errorbudget.store.sqlite import schema
from populated_store import M0, populate, state

pytestmark = pytest.mark.integration


def _populated(path: Path, rounds: int = 1) -> None:
    with open_store(path) as store:
        for round in range(rounds):
            populate(store, round)


def test_a_restore_brings_back_exactly_what_the_backup_held(tmp_path: Path) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    _populated(path)
    with open_store(path) as store:
        before = state(store)
        told: list[tuple[int, int]] = []
        report = backup_store(path, file, progress=lambda done, total: told.append((done, total)))
        populate(store, 1)  # written after the backup: the restore takes it away
        assert state(store) != before
    assert report.check == "integrity_check ok" and report.bytes == file.stat().st_size
    assert report.schema == f"version {schema.LATEST_VERSION}"
    assert told and told[-1][0] == told[-1][1] > 0

    restored = restore_store(path, file)
    assert not restored.forced
    with open_store(path) as store:
        after = state(store)
        assert after == before
        assert after["chain"][0] is True and after["audit"]  # the audit chain verifies
        assert store.revision() > 0


def test_a_backup_taken_while_a_writer_writes_is_one_consistent_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    _populated(path)
    monkeypatch.setattr(sqlite_backup, "PAGES_PER_STEP", 2)  # many steps, writes in between
    stop = threading.Event()
    written = [0]

    def write() -> None:
        with open_store(path) as writer:
            [series] = writer.series_ids("busy", [()])
            while not stop.is_set():
                minute = M0 + 5000 + written[0]
                with writer.transaction():
                    writer.write_counts([series], [minute], [1], [1])
                    writer.audit(actor="w", action="busy.write", subject=str(minute), details={})
                written[0] += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        steps: list[int] = []
        while written[0] < 5:
            stop.wait(0.01)
        backup_store(path, file, progress=lambda done, total: steps.append(done))
        at_end = written[0]
    finally:
        stop.set()
        thread.join()
    assert len(steps) > 10 and at_end > 5
    copy = tmp_path / "restored.db"
    restore_store(copy, file)
    with open_store(copy) as store:
        chain = store.verify_chain()
        busy = store.audit_log(action="busy.write", limit=10_000)
        [series] = [s.id for s in store.list_series("busy")]
        sums = store.sums([series], [(M0 + 5000, M0 + 100_000)])
    assert chain.ok, chain.problems
    # One instant: every transaction the backup holds is whole (its count and its entry).
    assert 0 < len(busy) <= at_end
    assert int(sums[0, 0, 1]) == len(busy)


def _hold(path: Path, *, writing: bool) -> subprocess.Popen[str]:
    """Another process with the store open (idle, like a `serve` between requests), or in
    the middle of a write transaction, announced as `errorbudget ingest`."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from errorbudget.records import WriterInfo
        from errorbudget.store import open_store
        store = open_store({str(path)!r}, holder=WriterInfo.current("errorbudget ingest"))
        store.list_series()
        if {writing!r}:
            with store.transaction():
                store.series_ids("held", [()])
                print("ready", flush=True)
                sys.stdin.read()
        else:
            print("ready", flush=True)
            sys.stdin.read()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _release(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    process.wait(timeout=20)
    process.stdout.close()


def test_a_restore_over_a_store_a_process_holds_is_refused_unless_forced(tmp_path: Path) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    _populated(path)
    backup_store(path, file)
    with open_store(path) as store:
        populate(store, 1)
        later = state(store)
    holder = _hold(path, writing=False)
    try:
        with pytest.raises(StoreBusyError, match=r"another process has it open.*--force"):
            restore_store(path, file)
        with open_store(path) as store:
            assert state(store) == later  # untouched
        report = restore_store(path, file, force=True)
        assert report.forced
    finally:
        _release(holder)
    with open_store(path) as store:
        assert len(store.list_changes()) == 1 and store.verify_chain().ok


def test_a_refused_restore_names_the_writer_that_announced_itself(tmp_path: Path) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    _populated(path)
    backup_store(path, file)
    holder = _hold(path, writing=True)
    try:
        with pytest.raises(StoreBusyError, match=r"written by `errorbudget ingest` \(pid \d+"):
            restore_store(path, file)
    finally:
        _release(holder)


def test_a_backup_from_a_newer_schema_is_refused_and_the_store_kept(tmp_path: Path) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    _populated(path)
    backup_store(path, file)
    with sqlite3.connect(file) as connection:
        connection.execute(f"PRAGMA user_version = {schema.LATEST_VERSION + 1}")
    with open_store(path) as store:
        before = state(store)
    with pytest.raises(StoreError, match=r"newer errorbudget .*schema version"):
        restore_store(path, file)
    with open_store(path) as store:
        assert state(store) == before


def test_what_is_not_a_store_is_neither_backed_up_nor_restored(tmp_path: Path) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    _populated(path)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not an errorbudget store"):
        restore_store(path, other)
    with pytest.raises(StoreError, match="not an errorbudget store"):
        backup_store(other, tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "x.db.partial").exists()
    with pytest.raises(StoreError, match="no such file"):
        backup_store(tmp_path / "missing.db", file)
    with pytest.raises(StoreError, match="in memory"):
        backup_store(":memory:", file)
    file.write_bytes(b"keep me")
    with pytest.raises(StoreError, match="the file exists"):
        backup_store(path, file)
    assert file.read_bytes() == b"keep me"
    with pytest.raises(StoreError, match="no such file"):
        restore_store(path, tmp_path / "missing-backup.db")


def test_a_restore_creates_a_store_that_did_not_exist(tmp_path: Path) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    _populated(path, rounds=2)
    with open_store(path) as store:
        before = state(store)
    backup_store(path, file)
    target = tmp_path / "new" / "store.db"
    target.parent.mkdir()
    restore_store(target, file)
    with open_store(target) as store:
        assert state(store) == before
        [series] = store.series_ids("answered", [(("queue", "sales"),)], create=False)
        store.write_counts([series], [M0 + 9000], [1], [1])  # a working store
    assert np.isfinite(before["sums"]).all()


def test_the_cli_backs_up_and_restores_the_configs_store(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from errorbudget.cli.main import main

    config = tmp_path / "errorbudget.yaml"
    config.write_text("version: 1\nstore: {path: eb.db}\nslos: []\n", encoding="utf-8")
    _populated(tmp_path / "eb.db")
    with open_store(tmp_path / "eb.db") as store:
        before = state(store)
    file = tmp_path / "backups" / "eb.bak"
    file.parent.mkdir()
    runner = CliRunner()
    done = runner.invoke(main, ["db", "backup", "-c", str(config), "--to", str(file)])
    assert done.exit_code == 0, done.output
    assert f"to {file}" in done.output and "integrity_check ok" in done.output
    again = runner.invoke(main, ["db", "backup", "-c", str(config), "--to", str(file)])
    assert again.exit_code == 1 and "the file exists" in again.output
    with open_store(tmp_path / "eb.db") as store:
        populate(store, 1)
    restored = runner.invoke(main, ["db", "restore", "-c", str(config), "--from", str(file)])
    assert restored.exit_code == 0, restored.output
    with open_store(tmp_path / "eb.db") as store:
        assert state(store) == before
    holder = _hold(tmp_path / "eb.db", writing=False)
    try:
        busy = runner.invoke(main, ["db", "restore", "-c", str(config), "--from", str(file)])
        assert busy.exit_code == 4 and "--force" in busy.output  # StoreBusyError's code
        forced = runner.invoke(
            main, ["db", "restore", "--store", str(tmp_path / "eb.db"), "--from", str(file),
                   "--force"],
        )  # fmt: skip
        assert forced.exit_code == 0 and "forced" in forced.output
    finally:
        _release(holder)


def test_a_backup_of_an_older_schema_is_migrated_when_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, file = tmp_path / "old.db", tmp_path / "backup.db"
    older = schema.LATEST_VERSION - 1
    with monkeypatch.context() as old_code:  # errorbudget one schema version ago
        old_code.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:older])
        old_code.setattr(schema, "LATEST_VERSION", older)
        with open_store(path) as store:
            store.series_ids("answered", [(("queue", "sales"),)])
            assert store.schema_version == older
    assert backup_store(path, file).schema == f"version {older}"
    target = tmp_path / "restored.db"
    assert restore_store(target, file).schema == f"version {older}"
    connection = sqlite3.connect(target)
    assert schema.user_version(connection) == schema.LATEST_VERSION  # migrated by the restore
    connection.close()
    with open_store(target) as store:
        assert store.schema_version == schema.LATEST_VERSION
        assert [s.slo for s in store.list_series()] == ["answered"]


def test_a_restore_never_lets_a_lease_token_be_issued_twice(tmp_path: Path) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    with open_store(path) as store:
        assert (taken := store.acquire_lease("leader", "x", 30.0)) and taken.token == 1
        store.release_lease("leader", "x", 1)  # moves the token on, to 2
    backup_store(path, file)  # the backup: "leader" at token 2, free
    with open_store(path) as store:
        leader = store.acquire_lease("leader", "a", 30.0)  # a leads with token 3
        assert leader is not None and leader.token == 3
        restore_store(path, file, force=True)
        assert store.current_lease("leader") is None  # expired: nobody keeps it
        with pytest.raises(FencedError):
            store.check_fence("leader", 3)  # a's writes are fenced
        after = store.acquire_lease("leader", "b", 30.0)
        assert after is not None and after.token > 3  # never a's token again


def test_a_restore_of_a_backup_without_leases_keeps_the_stores_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, file = tmp_path / "store.db", tmp_path / "backup.db"
    older = schema.LATEST_VERSION - 1  # before the leases table
    with monkeypatch.context() as old_code:
        old_code.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:older])
        old_code.setattr(schema, "LATEST_VERSION", older)
        with open_store(file) as store:
            store.series_ids("answered", [(("queue", "sales"),)])
    with open_store(path) as store:
        for holder in ("a", "b", "c"):
            lease = store.acquire_lease(
                "leader", holder, 30.0, replacing="a" if holder == "b" else "b"
            )
            assert lease is not None
        assert lease.token == 3
    restore_store(path, file)
    with open_store(path) as store:
        assert [s.slo for s in store.list_series()] == ["answered"]
        after = store.acquire_lease("leader", "d", 30.0)
        assert after is not None and after.token > 3
