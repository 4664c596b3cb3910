"""The store protocols (``errorbudget.store.protocols``), held against every backend.

Parametrised by ``store_backends.BACKENDS``: what any backend must do with counts, the
revision that keys every cached evaluation, transactions and the records. A second backend
passes these by being added there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import chain

import numpy as np
import pytest

from errorbudget.alert_records import (
    Alert,
    AlertGroup,
    AlertState,
    NewNotification,
    dedup_key,
    fingerprint,
)
from errorbudget.errors import ConflictError, NotFoundError
from errorbudget.records import encode_snapshot
from errorbudget.store import Store

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60


@pytest.fixture
def store_clock() -> Callable[[], datetime]:
    """The clock of the shared ``store`` fixture (tests/integration/conftest.py)."""
    return lambda: T0


def test_counts_are_written_idempotently_per_source_and_sources_add_up(store: Store) -> None:
    [series] = store.series_ids("calls", [(("queue", "q1"),)])
    assert store.write_counts([series, series], [M0, M0 + 1], [8, 9], [10, 10]) == 2
    store.write_counts([series], [M0], [7], [10])  # a re-sent minute replaces the stored one
    store.write_counts([series], [M0], [1], [2], source="genesys")
    assert store.sums([series], [(M0, M0 + 2), (M0, M0 + 1)]).tolist() == [
        [[17.0, 22.0], [8.0, 12.0]]
    ]
    store.add_counts([series], [M0 + 1], [1], [1], source="ingest")
    good, total = store.minute_arrays([series], M0, M0 + 3)
    assert good.tolist() == [[8.0, 10.0, 0.0]] and total.tolist() == [[12.0, 11.0, 0.0]]
    assert store.data_bounds([series]) == (M0, M0 + 2)
    assert store.series_bounds([series]) == [(M0, M0 + 2)]
    assert [(s.slo, s.segment) for s in store.list_series()] == [("calls", (("queue", "q1"),))]


def test_the_revision_moves_with_every_write_a_status_depends_on(store: Store) -> None:
    seen = [store.revision()]

    def moved() -> bool:
        seen.append(store.revision())
        return seen[-1] > seen[-2]

    [series] = store.series_ids("calls", [(("queue", "q1"),)])
    assert moved()
    store.write_counts([series], [M0], [9], [10])
    assert moved()
    store.add_counts([series], [M0], [1], [1], source="ingest")
    assert moved()
    pending = store.propose_exclusion(
        slo="calls", start=M0, end=M0 + 5, category="maintenance", reason="r", proposed_by="olga"
    )
    assert not moved()  # a pending exclusion does not count yet
    store.review_exclusion(pending.id, reviewer="vera", role="approver", decision="approve")
    assert moved()
    store.revoke_exclusion(pending.id, revoked_by="vera", reason="done")
    assert moved()
    store.add_data_issue(source="genesys", slo="calls", segment={}, start=M0, end=M0 + 1,
                         kind="gap", detail="missing")  # fmt: skip
    assert moved()
    assert store.resolve_data_issues(source="genesys", slo="calls", start=M0, end=M0 + 1) == 1
    assert moved()


def test_records_and_the_audit_log_leave_the_revision_alone(store: Store) -> None:
    """Gate decisions, changes, annotations and source runs change no status: keeping the
    revision still keeps every cached evaluation (a pipeline asks the gate many times a
    second; a source records a run every minute)."""
    version = store.revision()
    saved = store.save_snapshot(encode_snapshot([{"slo": "calls", "remaining": 0.5}]))
    details = {"snapshot_id": saved.id}
    store.audit(actor="ci", action="gate.decision", subject="billing", details=details,
                records=[("gate_snapshots", saved.id)])  # fmt: skip
    change = store.add_change(
        service="billing", slos=[], segment=None, change_type="feature", risk="low",
        title="t", description="", submitted_by="olga", estimated_impact=0.0,
        impact_basis={}, decision="allow", snapshot=[],
    )  # fmt: skip
    store.add_approval(change.id, approver="vera", role="approver", decision="approve")
    store.add_annotation(at=T0, kind="deploy", text="v2", created_by="olga")
    store.record_source_run("genesys", started_at=T0, finished_at=T0 + timedelta(seconds=1),
                            ok=True)  # fmt: skip
    assert store.revision() == version
    assert store.verify_chain().ok and store.change_problems(change.id) == []


def test_a_transaction_moves_the_revision_once_when_it_commits(store: Store) -> None:
    [series] = store.series_ids("calls", [(("queue", "q1"),)])
    version = store.revision()
    with store.transaction():
        store.write_counts([series], [M0], [9], [10])
        store.write_counts([series], [M0 + 1], [9], [10])
        assert store.in_transaction
    assert store.revision() == version + 1


def test_a_transaction_that_fails_writes_nothing_and_keeps_the_revision(store: Store) -> None:
    [series] = store.series_ids("calls", [(("queue", "q1"),)])
    version = store.revision()
    with pytest.raises(RuntimeError), store.transaction():
        store.write_counts([series], [M0], [9], [10])
        raise RuntimeError("the rest of the file was bad")
    assert store.revision() == version
    assert store.sums([series], [(M0, M0 + 1)]).tolist() == [[[0.0, 0.0]]]
    assert not store.in_transaction


def _hour_split_batches(series: list[int], start: int, minutes: int, cut: int) -> list[tuple]:  # type: ignore[type-arg]
    """Time-ordered rows of ``series`` over ``minutes``, cut every ``cut`` minutes (so
    batches end inside hours and days, as an ingest's parsed batches do)."""
    batches = []
    for first in range(start, start + minutes, cut):
        span = range(first, min(first + cut, start + minutes))
        rows = [(s, m, (m * 7 + s) % 5, 5 + (m + s) % 3) for m in span for s in series]
        batches.append(tuple(map(list, zip(*rows, strict=True))))
    return batches


def test_a_transaction_of_many_writes_stores_what_one_write_would(store: Store) -> None:
    """Batches that split hours and days, in one transaction: the same sums, minutes and
    bounds as the same rows written at once (to a twin SLO); the transaction's own reads
    see its writes."""
    segments = [(("queue", f"q{i}"),) for i in range(3)]
    series = store.series_ids("calls", segments)
    twins = store.series_ids("calls-at-once", segments)
    start = (M0 // 1440) * 1440 - 100  # crosses a UTC midnight
    batches = _hour_split_batches(series, start, 1500, 37)
    with store.transaction():
        for index, (ids, minutes, good, total) in enumerate(batches):
            store.write_counts(ids, minutes, good, total)
            if index == 5:  # a read inside the transaction sees the batches so far
                got = store.sums(series, [(start, start + 37 * 6)])
                assert got[:, 0, 1].sum() == sum(sum(b[3]) for b in batches[:6])
        store.write_counts([series[0]], [start + 3], [1], [1], source="genesys")
    at_once = [list(chain.from_iterable(b[i] for b in batches)) for i in range(4)]
    twin_of = dict(zip(series, twins, strict=True))
    store.write_counts([twin_of[s] for s in at_once[0]], *at_once[1:])
    store.write_counts([twins[0]], [start + 3], [1], [1], source="genesys")
    windows = [(start, start + 1500), (start + 50, start + 130), (start + 100, start + 1000)]
    assert store.sums(series, windows).tolist() == store.sums(twins, windows).tolist()
    for mine, twin in zip(
        store.minute_arrays(series, start, start + 1500),
        store.minute_arrays(twins, start, start + 1500),
        strict=True,
    ):
        assert mine.tolist() == twin.tolist()
    assert store.series_bounds(series) == store.series_bounds(twins)


def test_minute_counts_are_the_minute_arrays_as_stored_integers(store: Store) -> None:
    """``minute_counts`` (the timeslices read) gives what ``minute_arrays`` gives, as int64:
    blocks stored in different widths (counts over 255 and over 65,535 in some hours),
    two sources adding up in one hour, series asked out of order and twice."""
    series = store.series_ids("calls", [(("queue", f"q{i}"),) for i in range(3)])
    hour = (M0 // 60) * 60
    minutes = [hour + 5, hour + 61, hour + 62, hour + 130, hour + 179]
    store.write_counts([series[0]] * 5, minutes, [1, 300, 2, 70_000, 4], [2, 301, 3, 70_001, 5])
    store.write_counts([series[1]] * 2, [hour + 5, hour + 61], [6, 7], [8, 9])
    store.write_counts([series[1]], [hour + 5], [1], [1], source="genesys")
    asked = [series[1], series[0], series[2], series[1]]
    good, total = store.minute_counts(asked, hour, hour + 180)
    as_floats = store.minute_arrays(asked, hour, hour + 180)
    assert good.dtype == total.dtype == np.int64
    assert good.tolist() == as_floats[0].tolist() and total.tolist() == as_floats[1].tolist()
    assert good[1, [5, 61, 62, 130, 179]].tolist() == [1, 300, 2, 70_000, 4]
    assert good[0, 5] == 7 and total[0, 5] == 9 and good[3].tolist() == good[0].tolist()
    assert not good[2].any()
    ranges = [(hour + 3, hour + 62), (hour + 61, hour + 131), (hour + 100, hour + 180)]
    expected = [
        [[float(good[row, a - hour : b - hour].sum()), float(total[row, a - hour : b - hour].sum())]
         for a, b in ranges]
        for row in range(4)
    ]  # fmt: skip
    assert store.sums(asked, ranges).tolist() == expected


def test_a_nested_level_that_fails_takes_its_counts_with_it(store: Store) -> None:
    [series] = store.series_ids("calls", [(("queue", "q1"),)])
    hour = (M0 // 60) * 60
    with store.transaction():
        store.write_counts([series], [hour], [1], [2])  # a partial hour
        with pytest.raises(RuntimeError), store.transaction():
            store.write_counts([series], [hour + 1], [3], [4])
            raise RuntimeError("undo this level only")
        store.write_counts([series], [hour + 2], [5], [6])
    good, total = store.minute_arrays([series], hour, hour + 3)
    assert good.tolist() == [[1.0, 0.0, 5.0]] and total.tolist() == [[2.0, 0.0, 6.0]]
    assert store.sums([series], [(hour, hour + 60)]).tolist() == [[[6.0, 8.0]]]


# --- alerts, silences and the notification outbox (issue #10) ---------------------------------


def _alert(phase: str = "firing", *, slo: str = "calls", episode: int = 1, at: int = M0) -> Alert:
    state = AlertState(
        phase=phase,  # type: ignore[arg-type]
        active_since=at - 5,
        fired_at=at,
        last_active=at,
        episode=episode,
    )
    return Alert(
        fingerprint=fingerprint("ErrorBudgetBurn", slo, (("queue", "q1"),), "page"),
        alertname="ErrorBudgetBurn",
        slo=slo,
        service="contact-center",
        segment=(("queue", "q1"),),
        severity="page",
        state=state,
        summary="burning 14x",
        details={"burn_1h": 14.4, "conditions": ["page-1h-5m"]},
        runbook_url="https://runbooks.example/calls",
        updated_at=at,
    )


def test_alerts_are_kept_by_fingerprint_and_the_stepped_minute_only_moves_forward(
    store: Store,
) -> None:
    assert store.alert_minute() is None and store.list_alerts() == []
    firing = _alert()
    store.save_alerts([firing], M0)
    assert store.get_alerts([firing.fingerprint, "unknown"]) == [firing]
    assert store.alert_minute() == M0
    resolved = replace(firing, state=replace(firing.state, phase="resolved", resolved_at=M0 + 9))
    store.save_alerts([resolved], M0 + 9)  # replaced, not added
    assert store.list_alerts() == [resolved]
    assert store.list_alerts(phases=["pending", "firing"]) == []
    assert store.list_alerts(slo="other") == [] and store.list_alerts(severity="page") == [resolved]
    with pytest.raises(ConflictError):
        store.save_alerts([], M0 + 3)  # never backwards
    assert store.alert_minute() == M0 + 9


def test_an_acknowledgement_is_kept_on_a_pending_or_firing_alert_only(store: Store) -> None:
    firing = _alert()
    store.save_alerts([firing], M0)
    acknowledged = store.acknowledge_alert(firing.fingerprint, actor="olga", at=T0)
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_at) == ("olga", T0)
    with pytest.raises(NotFoundError):
        store.acknowledge_alert("0" * 16, actor="olga", at=T0)
    store.save_alerts([_alert("resolved")], M0 + 1)
    with pytest.raises(ConflictError):
        store.acknowledge_alert(firing.fingerprint, actor="olga", at=T0)


def test_silences_are_listed_until_they_end_and_expire_once(store: Store) -> None:
    hour = timedelta(hours=1)
    kept = store.add_silence(
        matchers={"slo": "calls", "severity": "page"},
        author="olga",
        reason="planned migration",
        starts_at=T0,
        ends_at=T0 + hour,
        created_at=T0,
    )
    short = store.add_silence(
        matchers={"slo": "ivr"}, author="otto", reason="r", starts_at=T0,
        ends_at=T0 + timedelta(minutes=5), created_at=T0,
    )  # fmt: skip
    assert [s.id for s in store.list_silences(at=T0)] == [short.id, kept.id]
    assert [s.id for s in store.list_silences(at=T0 + timedelta(minutes=10))] == [kept.id]
    assert kept.matches({"slo": "calls", "severity": "page", "queue": "q1"})
    assert not kept.matches({"slo": "calls", "severity": "ticket"})
    expired = store.expire_silence(kept.id, actor="vera", at=T0 + timedelta(minutes=1))
    assert expired.expired_by == "vera" and not expired.active_at(T0 + timedelta(minutes=2))
    with pytest.raises(ConflictError):
        store.expire_silence(kept.id, actor="vera", at=T0 + timedelta(minutes=2))
    with pytest.raises(NotFoundError):
        store.expire_silence(999, actor="vera", at=T0)
    assert [s.id for s in store.list_silences(at=T0 + timedelta(minutes=2))] == [short.id]
    assert len(store.list_silences(include_expired=True)) == 2


def _new(receiver: str, event: str = "firing", episode: int = 1) -> NewNotification:
    return NewNotification(
        receiver=receiver,
        fingerprint="f" * 16,
        event=event,  # type: ignore[arg-type]
        dedup_key=dedup_key("f" * 16, episode),
        payload={"summary": "burning", "episode": episode},
    )


def test_notification_groups_are_kept_by_fingerprint_and_know_who_was_told(store: Store) -> None:
    assert store.get_alert_groups(["f" * 16]) == []
    opened = AlertGroup(fingerprint="f" * 16, episode=1, opened_at=M0, open=True)
    with store.transaction():
        store.save_alert_groups([opened])
        store.queue_notifications([_new("pager"), _new("chat"), _new("pager", episode=2)])
    assert store.get_alert_groups(["f" * 16, "e" * 16]) == [opened]
    store.save_alert_groups([replace(opened, open=False)])
    assert store.get_alert_groups(["f" * 16]) == [replace(opened, open=False)]
    assert store.group_receivers("f" * 16, dedup_key("f" * 16, 1)) == ["pager", "chat"]
    assert store.group_receivers("f" * 16, dedup_key("f" * 16, 2)) == ["pager"]
    assert store.group_receivers("e" * 16, dedup_key("e" * 16, 1)) == []


def test_notifications_are_queued_in_the_callers_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.queue_notifications([_new("pager")])
        raise RuntimeError("the transition failed")
    assert store.list_notifications() == []
    with store.transaction():
        [queued] = store.queue_notifications([_new("pager")])
    assert queued.status == "pending" and queued.attempts == 0 and queued.created_at == T0
    assert store.list_notifications() == [queued]


def test_a_receiver_gets_its_notifications_in_order_and_a_waiting_head_holds_the_rest(
    store: Store,
) -> None:
    first, other, second = store.queue_notifications(
        [_new("pager"), _new("slack"), _new("pager", "resolved")]
    )
    assert store.next_notification("pager", T0) == first
    later = T0 + timedelta(seconds=30)
    failed = store.mark_failed_attempt(first.id, error="503", at=T0, next_attempt_at=later)
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "503")
    assert store.next_notification("pager", T0 + timedelta(seconds=1)) is None  # not due
    assert store.next_notification("slack", T0) == other  # other receivers are not held
    assert store.next_notification("pager", later) == failed
    delivered = store.mark_delivered(first.id, later)
    assert (delivered.status, delivered.attempts, delivered.delivered_at) == ("delivered", 2, later)
    with pytest.raises(ConflictError):
        store.mark_delivered(first.id, later)
    assert store.next_notification("pager", later) == second
    given_up = store.mark_failed_attempt(second.id, error="gone", at=later, next_attempt_at=None)
    assert given_up.status == "failed" and store.next_notification("pager", later) is None
    assert [n.id for n in store.list_notifications()] == [second.id, other.id, first.id]
    assert [n.id for n in store.list_notifications(receiver="pager", status="failed")] == [
        second.id
    ]
    assert len(store.list_notifications(fingerprint="f" * 16, limit=2)) == 2


def test_limits_are_the_same_on_every_backend(store: Store) -> None:
    """A negative limit is refused on every backend (SQLite would read ``LIMIT -1`` as no
    limit, PostgreSQL refuses it); 0 lists nothing, silences included."""
    import populated_store

    populated_store.populate(store, 0)
    far = (
        populated_store.M0 - 10 * populated_store.DAY,
        populated_store.M0 + 10 * populated_store.DAY,
    )
    listings: dict[str, Callable[[int], list[object]]] = {
        "alerts": lambda limit: list(store.list_alerts(limit=limit)),
        "alert episodes": lambda limit: list(store.alert_episodes("answered", *far, limit=limit)),
        "silences": lambda limit: list(store.list_silences(include_expired=True, limit=limit)),
        "notifications": lambda limit: list(store.list_notifications(limit=limit)),
    }
    for name, listing in listings.items():
        assert listing(1000), name  # populated: something to list
        assert listing(0) == [], name
        assert len(listing(1)) == 1, name
        with pytest.raises(ValueError, match=f"a limit of {name} cannot be negative"):
            listing(-1)
