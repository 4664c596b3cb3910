"""A store with something in every table, written through the public store API, and its
state as that API reads it: for the tests of ``db backup|restore`` and ``db copy``, which
must carry every kind of record across (counts, exclusions, annotations, changes and
approvals, the chained audit log and gate snapshots, idempotent responses, source runs and
data issues, alerts, groups, silences, notifications, voice-agent events and rollups).

``populate(store, round)`` writes one batch; each round writes different rows (a later
round changes what a backup taken after an earlier one holds). ``state(store)`` is a value
that two stores holding the same data compare equal on, whatever their backend.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from errorbudget.alert_records import (
    Alert,
    AlertEpisode,
    AlertGroup,
    AlertState,
    NewNotification,
    dedup_key,
    fingerprint,
)
from errorbudget.event_records import KeptBatch
from errorbudget.records import encode_snapshot
from errorbudget.store import Store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60
H0 = M0 - M0 % 60
DAY = 1440


def populate(store: Store, round: int = 0) -> None:
    """Write one round of every kind of record (round 0 first, then 1, 2, …)."""
    base = M0 + round * DAY
    at = T0 + timedelta(days=round)
    sales, support = store.series_ids("answered", [(("queue", "sales"),), (("queue", "support"),)])
    minutes = np.arange(base, base + 3 * 60, dtype=np.int64)
    for series, bad in ((sales, 3), (support, 7)):
        total = np.full(minutes.size, 100 + round, dtype=np.int64)
        store.write_counts(np.full(minutes.size, series), minutes, total - bad, total)
    store.add_counts(
        np.array([sales, sales]), np.array([base, base + 1]), np.array([1, 2]),
        np.array([2, 2]), source="events",
    )  # fmt: skip

    proposed = store.propose_exclusion(
        slo="answered", start=base, end=base + 30, category="maintenance",
        reason=f"carrier window {round}", proposed_by="olga", segment={"queue": "sales"},
    )  # fmt: skip
    store.review_exclusion(proposed.id, reviewer="vera", role="approver", decision="approve")
    store.add_annotation(
        at=at, kind="incident", text=f"carrier degradation {round}", created_by="olga",
        service="contact-center", slo="answered",
    )  # fmt: skip

    snapshot = [{"slo": "answered", "remaining": 0.4 - round / 10}]
    change = store.add_change(
        service="contact-center", slos=["answered"], segment=None, change_type="release",
        risk="medium", title=f"IVR prompt v{round}", description="new prompt",
        submitted_by="otto", estimated_impact=0.02, impact_basis={"changes": round},
        decision="approval_required", snapshot=snapshot,
    )  # fmt: skip
    store.add_approval(change.id, approver="vera", role="approver", decision="approve")
    saved = store.save_snapshot(encode_snapshot(snapshot))
    store.audit(
        actor="otto", action="gate.decide", subject=f"change-{change.id}",
        details={"round": round}, records=[("gate_snapshots", saved.id)],
    )  # fmt: skip
    store.store_response(
        actor="olga", key=f"key-{round}", request="POST /api/v1/changes", body_sha256="0" * 64,
        status_code=201, response={"id": change.id},
    )  # fmt: skip

    store.record_source_run(
        "genesys", started_at=at, finished_at=at + timedelta(seconds=3), ok=round % 2 == 0,
        error=None if round % 2 == 0 else "timeout", collected_through=base + 60, calls=4,
    )  # fmt: skip
    store.add_data_issue(
        source="genesys", slo="answered", segment={"queue": "support"}, start=base + 10,
        end=base + 20, kind="gap", detail=f"no answer for 10 minutes ({round})",
    )  # fmt: skip

    alert_fingerprint = fingerprint("ErrorBudgetBurn", "answered", (("queue", "sales"),), "page")
    alert = Alert(
        fingerprint=alert_fingerprint, alertname="ErrorBudgetBurn", slo="answered",
        service="contact-center", segment=(("queue", "sales"),), severity="page",
        state=AlertState(phase="firing", active_since=base - 5, fired_at=base,
                         last_active=base, episode=round + 1),
        summary="burning 14x", details={"burn_1h": 14.4}, runbook_url=None, updated_at=base,
    )  # fmt: skip
    with store.transaction():
        store.save_alerts([alert], base)
        store.save_alert_episodes(
            [AlertEpisode(fingerprint=alert_fingerprint, episode=round + 1,
                          alertname="ErrorBudgetBurn", slo="answered", service="contact-center",
                          segment=(("queue", "sales"),), severity="page", fired_at=base,
                          resolved_at=None, inhibited=False, silenced=round == 1)]
        )  # fmt: skip
        store.save_alert_groups(
            [AlertGroup(fingerprint=alert_fingerprint, episode=round + 1, opened_at=base,
                        open=True)]
        )  # fmt: skip
        queued = store.queue_notifications(
            [NewNotification(receiver=receiver, fingerprint=alert_fingerprint, event="firing",
                             dedup_key=dedup_key(alert_fingerprint, round + 1),
                             payload={"summary": "burning", "round": round})
             for receiver in ("pager", "chat")]
        )  # fmt: skip
    store.mark_delivered(queued[0].id, at)
    store.add_silence(
        matchers={"slo": "answered"}, author="olga", reason=f"planned {round}", starts_at=at,
        ends_at=at + timedelta(hours=1), created_at=at,
    )  # fmt: skip

    [turn] = store.series_ids("turn-latency", [(("flow", "billing"),)])
    ids = [f"r{round}-e{i}" for i in range(3)]
    store.claim_event_ids(ids, [base, base, base + 1])
    events = pa.table(
        {
            "type": ["turn"] * 3,
            "id": ids,
            "time": pa.array([(base + i // 2) * 60_000 for i in range(3)], pa.int64()).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            "latency_ms": [3100, 800, 2900],
            "flow": ["billing"] * 3,
            "line": [1, 2, 3],
        }
    )
    store.save_kept_events(
        "turn-latency",
        KeptBatch(events=events, series=[turn] * 3, verdicts=["bad", "excluded", "bad"],
                  exclusions=[None, "test-call", None]),
    )  # fmt: skip
    acquire_lease = getattr(store, "acquire_lease", None)  # the Leases protocol, when merged
    if acquire_lease is not None:
        acquire_lease("collector", f"replica-{round}", 30.0)
    hour = H0 + round * DAY
    store.add_dimension_counts(
        "turn-latency",
        pa.table({"hour": [hour], "flow": ["billing"], "dimension": ["model"],
                  "value": ["gpt"], "eligible": [10 + round], "bad": [2], "excluded": [1],
                  "excluded_bad": [0]}),
    )  # fmt: skip
    store.add_stage_sums(
        "turn-latency",
        pa.table({"hour": [hour], "flow": ["billing"], "stage": ["asr"],
                  "eligible_ms": [3000], "eligible_n": [10], "bad_ms": [900], "bad_n": [2]}),
    )  # fmt: skip


def state(store: Store) -> dict[str, Any]:
    """What the store holds, read through its public API (equal on equal stores)."""
    series = store.list_series()
    ids = [s.id for s in series]
    bounds = store.data_bounds()
    start, end = bounds if bounds is not None else (M0, M0 + 1)
    good, total = store.minute_arrays(ids, start, end)
    changes = store.list_changes(limit=1000)
    chain = store.verify_chain()
    far = (M0 - 10 * DAY, M0 + 10 * DAY)
    return {
        "series": series,
        "bounds": bounds,
        "good": good.tolist(),
        "total": total.tolist(),
        "sums": store.sums(ids, [(start, end)]).tolist(),
        "exclusions": store.list_exclusions(include_revoked=True),
        "annotations": store.list_annotations(),
        "changes": changes,
        "approvals": [store.list_approvals(c.id) for c in changes],
        "audit": store.audit_log(limit=10_000),
        "chain": (chain.ok, chain.entries, chain.head_id, chain.head_hash, chain.problems),
        "source_health": [replace(h) for h in store.source_health()],
        "data_issues": store.list_data_issues(include_resolved=True),
        "alerts": store.list_alerts(),
        "alert_minute": store.alert_minute(),
        "episodes": store.alert_episodes("answered", *far),
        "silences": store.list_silences(include_expired=True),
        "notifications": store.list_notifications(),
        "kept": store.kept_events("turn-latency", *far, limit=1000),
        "dimensions": store.dimension_counts("turn-latency", *far),
        "stages": store.stage_sums("turn-latency", *far),
    }
