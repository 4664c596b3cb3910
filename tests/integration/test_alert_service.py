"""The alert service on a real store (services/alerts.py): alerts stepped once per minute,
kept with their audit entries and notifications in one transaction, silences,
acknowledgements, and a restart that neither repeats nor loses a notification.

Signals are given directly (the rules that produce them are engine/alert_rules.py's)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta

import pytest

from errorbudget.alert_records import AlertSignal
from errorbudget.app import App
from errorbudget.errors import ConflictError, InvalidRequestError
from errorbudget.model import from_minute, to_minute
from errorbudget.records import AuditEntry
from errorbudget.services.alert_groups import group_fingerprint
from errorbudget.services.alerts import AlertService

SEGMENT = (("queue", "sales"),)
PAGES = group_fingerprint(("ErrorBudgetBurn", "answered", "contact-center", "page"))
"""The group the page alerts of ``answered`` are told in (services/alert_groups.py)."""


def page(active: bool, *, for_minutes: int = 0, keep: int = 0, inhibited: bool = False,
         severity: str = "page", slo: str = "answered",
         segment: tuple[tuple[str, str], ...] = SEGMENT) -> AlertSignal:  # fmt: skip
    return AlertSignal(
        alertname="ErrorBudgetBurn",
        slo=slo,
        service="contact-center",
        segment=segment,
        severity=severity,  # type: ignore[arg-type]
        active=active,
        for_minutes=for_minutes,
        keep_minutes=keep,
        inhibited=inhibited,
        summary="answered (queue=sales) burns its budget 14.4x",
        details={"burn_1h": 14.4, "burn_5m": 15.0, "conditions": ["page-1h-5m"]},
        runbook_url="https://runbooks.example/answered",
    )


def receivers(labels: Mapping[str, str]) -> list[str]:
    return ["pager"] if labels["severity"] == "page" else ["chat"]


@pytest.fixture
def app(budget_world) -> Iterator[App]:  # type: ignore[no-untyped-def]
    with budget_world.open() as opened:
        opened.alerts.route = receivers
        opened.alerts.dashboard_url = "https://budget.example/"
        yield opened


@pytest.fixture
def start(app: App) -> int:
    return app.evaluations.now_minute() + 1


def entries(app: App, prefix: str) -> list[AuditEntry]:
    """The audit entries whose action starts with ``prefix``, oldest first."""
    return [e for e in reversed(app.store.audit_log(limit=1000)) if e.action.startswith(prefix)]


def actions(app: App) -> list[tuple[str, str]]:
    return [(e.action, e.subject) for e in entries(app, "alert.")]


def test_pending_waits_out_for_then_fires_and_resolves_each_told_once(app: App, start: int) -> None:
    signal = page(True, for_minutes=2)
    fp = signal.fingerprint
    assert app.alerts.observe(start, [signal]).transitions == [(fp, "pending")]
    assert app.store.list_notifications() == []  # pending is not told
    assert app.alerts.observe(start + 1, [signal]).transitions == []
    fired = app.alerts.observe(start + 2, [signal])
    assert fired.transitions == [(fp, "firing")]
    [firing] = app.store.list_notifications()
    assert (firing.receiver, firing.event, firing.dedup_key) == ("pager", "firing", f"{PAGES}-1")
    assert firing.fingerprint == PAGES  # told per group: rule, SLO, service, severity
    payload = firing.payload
    assert payload["labels"] == {
        "alertname": "ErrorBudgetBurn", "slo": "answered",
        "service": "contact-center", "severity": "page",
    }  # fmt: skip
    [member] = payload["alerts"]  # type: ignore[misc]
    assert member["fingerprint"] == fp and member["labels"] == {
        "queue": "sales",
        **payload["labels"],
    }
    assert payload["runbook_url"] == "https://runbooks.example/answered"
    assert payload["dashboard_url"] == "https://budget.example/slos/answered"
    assert payload["fired_at"] == from_minute(start + 2).isoformat()
    assert payload["details"] == {"burn_1h": 14.4, "burn_5m": 15.0, "conditions": ["page-1h-5m"]}
    assert payload["episode"] == 1 and payload["resolved_at"] is None
    # the rule says nothing of it any more: it steps as inactive and resolves
    assert app.alerts.observe(start + 3, []).transitions == [(fp, "resolved")]
    resolved, _ = app.store.list_notifications()
    assert (resolved.event, resolved.dedup_key) == ("resolved", f"{PAGES}-1")
    assert resolved.payload["resolved_at"] == from_minute(start + 3).isoformat()
    [stored] = app.store.get_alerts([fp])
    assert stored.state.phase == "resolved" and stored.details["burn_1h"] == 14.4
    assert actions(app) == [
        ("alert.pending", f"alert:{fp}"),
        ("alert.firing", f"alert:{fp}"),
        ("alert.resolved", f"alert:{fp}"),
    ]


def test_a_pending_alert_that_clears_is_audited_and_never_told(app: App, start: int) -> None:
    fp = page(True).fingerprint
    app.alerts.observe(start, [page(True, for_minutes=5)])
    assert app.alerts.observe(start + 1, [page(False, for_minutes=5)]).transitions == [
        (fp, "cleared")
    ]
    assert app.store.get_alerts([fp])[0].state.phase == "inactive"
    assert [a for a, _ in actions(app)] == ["alert.pending", "alert.cleared"]
    assert app.store.list_notifications() == []


def test_keep_holds_a_firing_alert_and_a_refire_is_a_new_episode(app: App, start: int) -> None:
    fp = page(True).fingerprint
    app.alerts.observe(start, [page(True, keep=2)])
    for minute in (1, 2):
        assert app.alerts.observe(start + minute, [page(False, keep=2)]).transitions == []
    assert app.alerts.observe(start + 3, [page(False, keep=2)]).transitions == [(fp, "resolved")]
    app.alerts.observe(start + 4, [page(True, keep=2)])
    keys = [(n.event, n.dedup_key) for n in reversed(app.store.list_notifications())]
    assert keys == [("firing", f"{PAGES}-1"), ("resolved", f"{PAGES}-1"), ("firing", f"{PAGES}-2")]
    assert app.alerts.alert(fp).state.episode == 2


def test_an_inhibited_episode_is_never_told(app: App, start: int) -> None:
    """One incident, one page: the ticket fires inhibited under the page, and neither its
    firing nor its resolve is sent; the page is."""
    ticket = page(True, severity="ticket", inhibited=True)
    app.alerts.observe(start, [page(True), ticket])
    app.alerts.observe(start + 1, [page(False), page(False, severity="ticket")])
    told = [(n.receiver, n.event) for n in reversed(app.store.list_notifications())]
    assert told == [("pager", "firing"), ("pager", "resolved")]
    [stored] = app.store.get_alerts([ticket.fingerprint])
    assert stored.state.inhibited and stored.state.phase == "resolved"
    assert [a for a, _ in actions(app)].count("alert.firing") == 2  # audited all the same


def test_a_silence_suppresses_an_episode_and_its_resolve_and_expires(app: App, start: int) -> None:
    silence = app.alerts.add_silence(
        matchers={"slo": "answered", "severity": "page"},
        author="olga",
        reason="planned migration",
        ends_at=from_minute(start + 60),
    )
    app.alerts.observe(start, [page(True)])
    [stored] = app.store.get_alerts([page(True).fingerprint])
    assert stored.silenced and stored.state.phase == "firing"
    app.alerts.expire_silence(silence.id, actor="vera")
    app.alerts.observe(start + 1, [page(False)])  # resolved after the silence: still not told
    assert app.store.list_notifications() == []
    app.alerts.observe(start + 2, [page(True)])  # a new episode, no silence: told
    [told] = app.store.list_notifications()
    assert app.alerts.alert(page(True).fingerprint).state.episode == 2
    assert told.dedup_key == f"{PAGES}-1"  # the first time its group is told
    assert [(e.action, e.actor) for e in entries(app, "silence.")] == [
        ("silence.created", "olga"),
        ("silence.expired", "vera"),
    ]


def test_a_silence_active_at_the_resolve_still_closes_what_was_told(app: App, start: int) -> None:
    """A silence mutes new firings; an incident a person was told of is always closed for
    them (a PagerDuty incident left open by a silence would never resolve)."""
    app.alerts.observe(start, [page(True)])
    app.alerts.add_silence(
        matchers={"queue": "sales"}, author="olga", reason="r", ends_at=from_minute(start + 60)
    )
    app.alerts.observe(start + 1, [page(False)])
    assert [n.event for n in reversed(app.store.list_notifications())] == ["firing", "resolved"]


def test_one_outage_over_many_segments_is_one_page_with_updates(app: App, start: int) -> None:
    """Grouped per rule, SLO, service and severity: the first segments to burn open the
    page, a later one updates it (the same dedup key), one that recovers while others burn
    updates it with its resolve, the last to recover resolves it."""
    sales, vip, support = ((("queue", q),) for q in ("sales", "vip", "support"))
    app.alerts.observe(start, [page(True, segment=sales), page(True, segment=vip)])
    app.alerts.observe(start + 1, [page(True, segment=sales), page(True, segment=vip),
                                   page(True, segment=support)])  # fmt: skip
    app.alerts.observe(start + 2, [page(False, segment=sales), page(True, segment=vip),
                                   page(True, segment=support)])  # fmt: skip
    app.alerts.observe(start + 3, [page(False, segment=s) for s in (sales, vip, support)])
    told = list(reversed(app.store.list_notifications()))
    assert [(n.event, n.dedup_key) for n in told] == [
        ("firing", f"{PAGES}-1"), ("firing", f"{PAGES}-1"), ("firing", f"{PAGES}-1"),
        ("resolved", f"{PAGES}-1"),
    ]  # fmt: skip
    members = [
        [(m["labels"]["queue"], m["resolved_at"]) for m in n.payload["alerts"]]  # type: ignore[attr-defined]
        for n in told
    ]
    at = [from_minute(start + k).isoformat() for k in range(4)]
    assert members == [
        [("sales", None), ("vip", None)],
        [("sales", None), ("vip", None), ("support", None)],
        [("vip", None), ("support", None), ("sales", at[2])],  # sales recovered: resolved now
        [("vip", at[3]), ("support", at[3])],
    ]
    assert told[0].payload["summary"] == (
        "ErrorBudgetBurn: 2 series of answered (queue=sales, queue=vip)"
    )
    assert told[2].payload["summary"] == (
        "ErrorBudgetBurn: 2 series of answered (queue=vip, queue=support); recovered: queue=sales"
    )
    assert told[2].payload["resolved_at"] is None  # the group still fires
    assert told[3].payload["fired_at"] == at[0]
    assert told[3].payload["resolved_at"] == at[3]


def test_a_group_closes_even_when_no_receiver_is_routed_its_resolve(app: App, start: int) -> None:
    """A group's state is the store's, not the outbox's: a route changed to no receivers
    between the open and the resolve still closes it, and the next incident is episode 2."""
    app.alerts.observe(start, [page(True)])
    app.alerts.route = lambda labels: []
    app.alerts.observe(start + 1, [page(False)])
    assert app.store.get_alert_groups([PAGES])[0].open is False
    app.alerts.route = receivers
    app.alerts.observe(start + 2, [page(True)])
    told = [(n.event, n.dedup_key) for n in reversed(app.store.list_notifications())]
    assert told == [("firing", f"{PAGES}-1"), ("firing", f"{PAGES}-2")]
    assert app.store.get_alert_groups([PAGES])[0].open is True


def test_a_receiver_told_the_open_hears_the_resolve_while_configured(app: App, start: int) -> None:
    """An update or resolve also goes to the receivers told the episode that are still
    configured, routed to or not; one no longer configured is not sent anything."""
    sales, vip = (("queue", "sales"),), (("queue", "vip"),)
    app.alerts.receiver_names = frozenset({"pager", "chat", "ops"})
    app.alerts.route = lambda labels: ["pager", "old"]
    app.alerts.observe(start, [page(True, segment=sales), page(True, segment=vip)])
    app.alerts.route = lambda labels: ["ops"]  # pager is routed no more, old is unconfigured
    app.alerts.observe(start + 1, [page(False, segment=sales), page(True, segment=vip)])
    app.alerts.observe(start + 2, [page(False, segment=sales), page(False, segment=vip)])
    told = [(n.receiver, n.event) for n in reversed(app.store.list_notifications())]
    assert told == [
        ("pager", "firing"), ("old", "firing"),
        ("ops", "firing"), ("pager", "firing"),
        ("ops", "resolved"), ("pager", "resolved"),
    ]  # fmt: skip


def test_silences_need_a_matcher_and_a_future_end(app: App, start: int) -> None:
    with pytest.raises(InvalidRequestError):
        app.alerts.add_silence(matchers={}, author="o", reason="r", ends_at=from_minute(start + 9))
    with pytest.raises(InvalidRequestError):
        app.alerts.add_silence(
            matchers={"slo": "x"}, author="o", reason="r", ends_at=app.clock() - timedelta(1)
        )


def test_an_acknowledgement_is_audited_and_cleared_by_the_next_episode(
    app: App, start: int
) -> None:
    fp = page(True).fingerprint
    app.alerts.observe(start, [page(True)])
    acknowledged = app.alerts.acknowledge(fp, actor="olga", comment="on it")
    assert acknowledged.acknowledged_by == "olga"
    [entry] = app.store.audit_log(limit=1, action="alert.acknowledged")
    assert entry.actor == "olga" and entry.subject == f"alert:{fp}"
    assert entry.details["comment"] == "on it" and entry.details["episode"] == 1
    app.alerts.observe(start + 1, [page(True)])
    assert app.alerts.alert(fp).acknowledged_by == "olga"  # kept while it fires
    app.alerts.observe(start + 2, [page(False)])
    with pytest.raises(ConflictError):
        app.alerts.acknowledge(fp, actor="olga")
    app.alerts.observe(start + 3, [page(True)])
    assert app.alerts.alert(fp).acknowledged_by is None


def test_a_minute_is_stepped_once_and_never_backwards(app: App, start: int) -> None:
    app.alerts.observe(start, [page(True)])
    for minute in (start, start - 1):
        with pytest.raises(InvalidRequestError):
            app.alerts.observe(minute, [page(False)])
    assert app.alerts.alert(page(True).fingerprint).state.phase == "firing"


def test_the_app_steps_once_per_new_evaluation_minute(budget_world) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []

    def rules(evaluation):  # type: ignore[no-untyped-def]
        seen.append(evaluation.minute)
        return [page(True)]

    with budget_world.open() as app:
        app.alerts.signals = rules
        app.alerts.route = receivers
        app.evaluations.evaluation()  # not alerting (a CLI status): nothing is stepped
        assert seen == [] and app.store.alert_minute() is None
        app.start_alerting()  # as `errorbudget serve` does: steps the evaluation published
        app.evaluations.evaluation()  # the same minute: not stepped again
        app.store.write_counts(*[[x] for x in (1, to_minute(budget_world.at) - 1, 1, 1)])
        app.evaluations.evaluation()  # a new revision, the same minute: not stepped again
        assert seen == [to_minute(budget_world.at)]
        assert app.store.alert_minute() == to_minute(budget_world.at)
        assert [n.event for n in app.store.list_notifications()] == ["firing"]


def test_a_restart_while_firing_sends_no_duplicate_and_still_the_resolve(
    budget_world, start: int
) -> None:  # type: ignore[no-untyped-def]
    with budget_world.open() as first:
        first.alerts.route = receivers
        first.alerts.observe(start, [page(True)])
        first.alerts.observe(start + 1, [page(True)])
    with budget_world.open() as second:
        second.alerts.route = receivers
        with pytest.raises(InvalidRequestError):  # the stored minute survives the restart
            second.alerts.observe(start + 1, [page(True)])
        second.alerts.observe(start + 2, [page(True)])
        second.alerts.observe(start + 3, [page(False)])
        told = [(n.event, n.dedup_key) for n in reversed(second.store.list_notifications())]
    key = f"{PAGES}-1"
    assert told == [("firing", key), ("resolved", key)]


def test_one_transaction_a_failing_queue_leaves_nothing(app: App, start: int) -> None:
    def broken(labels: Mapping[str, str]) -> list[str]:
        raise RuntimeError("route table broken")

    app.alerts.route = broken
    with pytest.raises(RuntimeError):
        app.alerts.observe(start, [page(True)])
    assert app.store.list_alerts() == [] and app.store.alert_minute() is None
    assert actions(app) == []  # the audit entry of the transition was rolled back too
    app.alerts.route = receivers
    app.alerts.observe(start, [page(True)])  # the minute was not consumed
    assert len(app.store.list_notifications()) == 1


def test_a_dashboard_link_needs_the_dashboards_address(budget_world) -> None:  # type: ignore[no-untyped-def]
    with budget_world.open() as app:
        service = AlertService(app.loaded, app.store, app.clock)
        assert service.dashboard_link("answered") is None


def test_every_firing_alert_is_stepped_however_many(app: App, start: int) -> None:
    """More than a page of alerts (1,000) pending or firing: the step still sees each one, so
    the one that sorts last resolves when its rule stops holding (a bounded read left it
    firing for ever)."""
    segments = [(("queue", f"q{i:04d}"),) for i in range(1_001)]
    signals = [page(True, segment=segment) for segment in segments]
    app.alerts.observe(start, signals)
    last = max(signals, key=lambda s: s.fingerprint)
    app.alerts.observe(start + 1, [s for s in signals if s is not last])
    assert app.alerts.alert(last.fingerprint).state.phase == "resolved"
    firing = app.store.list_alerts(phases=["firing"], limit=None)
    assert len(firing) == 1_000


def test_a_busy_store_skips_a_step_with_a_warning_not_a_traceback(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """Another writer holding the store (a CLI ingest) is expected: the minute is stepped by
    a later evaluation, and the log says why in one line (serve's log is read by people and
    by tests that look for tracebacks)."""
    import logging

    from errorbudget.errors import StoreBusyError

    def busy() -> None:
        raise StoreBusyError("the store is busy: ingest (pid 7) holds it")

    app.store.alert_minute = busy  # type: ignore[method-assign]
    evaluation = app.evaluations.evaluation()
    with caplog.at_level(logging.WARNING, logger="errorbudget.services.alerts"):
        app.alerts.on_evaluation(evaluation)
    [record] = [r for r in caplog.records if "not stepped" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "ingest (pid 7) holds it" in record.getMessage()
