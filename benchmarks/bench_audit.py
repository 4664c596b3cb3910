"""Audit-chain benchmark: what the chain costs a write, a read and ``audit verify``.

Fills a store with ``--decisions`` gate-decision entries (each with its ~300-byte details,
one snapshot per ``--per-snapshot`` decisions, as a polling pipeline leaves them), plus
``--changes`` changes with an approval each and ``--exclusions`` approved exclusions, all
through the Store (so every entry is chained and binds its rows). Then times: one appended
entry, reading one change's verification (the change and its approvals, on read), listing
the exclusions an evaluation reads (each verified), one page of the audit log with its
entries verified, and the full ``verify_chain`` walk. Not a test: run it by hand::

    python benchmarks/bench_audit.py --decisions 100000 --db /tmp/audit.db
    python benchmarks/bench_audit.py --decisions 100000 --db postgresql://eb@127.0.0.1/empty

(``--db`` a PostgreSQL URL: an empty database, the same workload on that backend.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from errorbudget.records import AuditQuery, encode_snapshot
from errorbudget.store import Store, open_store

START = datetime(2026, 11, 1, tzinfo=UTC)


def timed(action: Callable[[], object], repeat: int = 20) -> float:
    """Median seconds of ``action`` over ``repeat`` runs."""
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        found.append(time.perf_counter() - started)
    return statistics.median(found)


def fill(store: Store, decisions: int, per_snapshot: int, changes: int, exclusions: int) -> None:
    for change_id in range(1, changes + 1):
        store.add_change(
            service="billing", slos=[], segment=None, change_type="feature", risk="medium",
            title=f"change {change_id}", description="", submitted_by="olga",
            estimated_impact=0.02, impact_basis={"method": "default"},
            decision="approval_required", snapshot=[],
        )  # fmt: skip
        store.add_approval(change_id, approver="vera", role="approver", decision="approve")
    for index in range(exclusions):
        proposed = store.propose_exclusion(
            slo="payments", start=index * 60, end=index * 60 + 30, category="maintenance",
            reason="window", proposed_by="olga",
        )  # fmt: skip
        store.review_exclusion(proposed.id, reviewer="vera", role="approver", decision="approve")
    batch = 1000
    for first in range(0, decisions, batch):
        with store.transaction():
            for index in range(first, min(first + batch, decisions)):
                rows = [{"slo": "payments", "segment": {}, "budget_remaining_ratio": 0.08,
                         "state": "freeze", "decision": "approval_required",
                         "n": index // per_snapshot}]  # fmt: skip
                saved = store.save_snapshot(encode_snapshot(rows))
                store.audit(
                    actor="ci", action="gate.decision", subject="billing",
                    details={"decision": "approval_required", "enforcement": "enforce",
                             "change_type": "feature", "risk": "medium", "segment": {},
                             "at": START.isoformat(), "snapshot_id": saved.id,
                             "snapshot_sha256": saved.sha256},
                    records=[("gate_snapshots", saved.id)] if saved.created else [],
                )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--per-snapshot", type=int, default=60)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--exclusions", type=int, default=100)
    parser.add_argument("--db", default=None, help="an SQLite file, or a PostgreSQL URL")
    args = parser.parse_args()
    location = args.db or str(Path(tempfile.mkdtemp()) / "audit.db")
    on_file = not location.startswith(("postgresql://", "postgres://"))
    clock = [START]

    def tick() -> datetime:
        clock[0] += timedelta(milliseconds=10)
        return clock[0]

    with open_store(location, clock=tick) as store:
        started = time.perf_counter()
        fill(store, args.decisions, args.per_snapshot, args.changes, args.exclusions)
        filled = time.perf_counter() - started
        entries = len(store.audit_log(limit=10_000_000))
        append = timed(
            lambda: store.audit(actor="ci", action="bench", subject="x", details={"n": 1}), 200
        )
        change = timed(lambda: store.change_problems(args.changes // 2), 50)
        listing = timed(lambda: store.list_exclusions(), 20)
        page = timed(
            lambda: store.check_audit_entries(e.id for e in store.audit_log(AuditQuery(limit=100))),
            20,
        )
        report = store.verify_chain()
        assert report.ok, report.problems[:3]
        label = store.label
    size = f" ({Path(location).stat().st_size / 1e6:,.1f} MB)" if on_file else ""
    print(f"store: {label}{size}, {entries:,} entries, filled in {filled:.1f} s")
    print(f"append one chained entry (own transaction): {append * 1e3:.3f} ms")
    print(f"verify one change and its approval on read: {change * 1e3:.3f} ms")
    print(f"list {args.exclusions} exclusions, each verified: {listing * 1e3:.2f} ms")
    print(f"one audit page of 100 entries, verified: {page * 1e3:.2f} ms")
    rows = ", ".join(f"{n:,} {table}" for table, n in report.records.items())
    print(f"audit verify: {report.entries:,} entries and {rows} in {report.seconds:.2f} s "
          f"({report.entries / report.seconds:,.0f} entries/s)")  # fmt: skip


if __name__ == "__main__":
    main()
