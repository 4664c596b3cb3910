"""Issue #8 point 9: a second writer says who holds the store and waits, with two real
processes: a holder that writes as ``errorbudget ingest`` does (announced, one transaction
held open), the real ``errorbudget ingest`` and ``errorbudget gate`` commands."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from errorbudget.store import open_store

CONFIG = """\
version: 1
store: {path: eb.db}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {type: rolling, length: 7d}
"""
HOLD = """\
import sys
from pathlib import Path
from errorbudget.cli.store_wait import open_app

with open_app(Path(sys.argv[1]), "errorbudget ingest") as app, app.store.transaction():
    app.store.series_ids("calls", [()])  # written, not committed: the lock is held
    print("holding", flush=True)
    sys.stdin.readline()  # until the test says
"""


def start_holder(config: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(config)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


def ingest(config: Path, counts: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "errorbudget", "ingest", "-c", str(config), str(counts), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_second_writer_names_the_first_waits_and_gives_up_with_exit_4(tmp_path: Path) -> None:
    config = tmp_path / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    counts = tmp_path / "counts.csv"
    counts.write_text("time,slo,good,total\n2026-11-01T00:00:00Z,calls,9,10\n", encoding="utf-8")
    holder = start_holder(config)
    with holder:
        try:
            began = time.monotonic()
            with ingest(config, counts, "--wait", "2s") as impatient:
                out, err = impatient.communicate(timeout=60)
            waited = time.monotonic() - began
            with ingest(config, counts, "--wait", "1m") as patient:
                time.sleep(2.5)  # it waits meanwhile
                assert patient.poll() is None, patient.communicate()
                assert holder.stdin is not None
                holder.stdin.write("\n")  # the first writer finishes
                holder.stdin.flush()
                assert holder.wait(30) == 0
                patient_out, patient_err = patient.communicate(timeout=60)
        finally:
            holder.kill()
    store = tmp_path / "eb.db"
    who = f"the store {store} is being written by `errorbudget ingest` (pid {holder.pid}) since "
    # told at once who holds the store, then one sentence, exit 4, within its --wait
    assert impatient.returncode == 4 and out == "", (impatient.returncode, out)
    first, last = err.strip().splitlines()
    assert first.startswith(f"errorbudget: {who}"), err
    assert first.endswith("waiting up to 2s (--wait)… Ctrl-C to stop")
    assert last.startswith(f"error: cannot run a transaction: {who}")
    assert re.search(r"; gave up after waiting 2\.\d s: try again when it is done, or pass a "
                     r"longer --wait$", last), last  # fmt: skip
    assert 2 <= waited < 15
    # the patient one waited, said so, and wrote once the store was free
    assert patient.returncode == 0, patient_err
    lines = patient_err.strip().splitlines()
    assert lines[0].startswith(f"errorbudget: {who}")
    assert lines[0].endswith("waiting up to 1m (--wait)… Ctrl-C to stop")
    assert lines[-1].startswith("errorbudget: the store is free after ")
    assert "1 minute rows written" in patient_out
    with open_store(store) as opened:
        [series] = opened.list_series("calls")
        assert opened.sums([series.id], [(0, 2**31)]).tolist() == [[[9.0, 10.0]]]


def test_the_gate_says_whom_it_waits_for_and_decides_once_the_store_is_free(
    tmp_path: Path,
) -> None:
    """A gate decision is a write (its audit entry): it waits visibly like ingest does."""
    config = tmp_path / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    holder = start_holder(config)
    with holder:
        try:
            with subprocess.Popen(
                [sys.executable, "-m", "errorbudget", "gate", "-c", str(config),
                 "--service", "cc", "--format", "json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ) as gate:  # fmt: skip
                assert gate.stderr is not None
                notice = gate.stderr.readline()  # said at once, before any answer
                assert gate.poll() is None
                assert holder.stdin is not None
                holder.stdin.write("\n")
                holder.stdin.flush()
                assert holder.wait(30) == 0
                out, err = gate.communicate(timeout=60)
        finally:
            holder.kill()
    store = tmp_path / "eb.db"
    assert notice.startswith(
        f"errorbudget: the store {store} is being written by `errorbudget ingest` "
        f"(pid {holder.pid}) since "
    ), notice
    assert '"decision"' in out, (out, err)
    with open_store(store) as opened:
        assert opened.audit_log(limit=1)[0].action == "gate.decision"
