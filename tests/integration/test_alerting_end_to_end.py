"""Alerting end to end on a real store, as ``errorbudget serve`` runs it: stored counts →
the evaluation of "now" → the configured rules → the alert service (states, audit,
notifications queued in the store) → the delivery worker → a signed webhook on 127.0.0.1.

A 99.9 % SLO with steady traffic has a total outage: it pages within 2 minutes, once (no
ticket for the same incident), and the resolve follows after recovery. The receiver is down
for 5 minutes in the middle, and the process restarts while the alert fires: everything
arrives once, in order."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_receiver import FakeReceiver

from errorbudget.app import App
from errorbudget.errors import ConfigError
from errorbudget.model import from_minute, to_minute
from errorbudget.server import serve

SECRET = "hook-secret-for-tests"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CALLS_PER_MINUTE = 200


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    fake = FakeReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture
def config(tmp_path: Path, receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EB_TEST_HOOK_SECRET", SECRET)
    path = tmp_path / "errorbudget.yaml"
    path.write_text(
        f"""
version: 1
store: {{path: alerts.db}}
slos:
  - id: answered
    service: contact-center
    target: 0.999
    window: {{type: rolling, length: 30d}}
    data: {{min_coverage: 0}}
    runbook_url: https://runbooks.example/answered
notifications:
  receivers:
    - {{name: hook, type: webhook, url: "{receiver.url}/in", secret_env: EB_TEST_HOOK_SECRET}}
  dashboard_url: http://127.0.0.1:8787/
""",
        encoding="utf-8",
    )
    return path


def write_minutes(app: App, first: int, last: int, bad: int) -> None:
    """``CALLS_PER_MINUTE`` calls a minute in ``[first, last)``, ``bad`` of them bad."""
    [series] = app.store.series_ids("answered", [()])
    minutes = list(range(first, last))
    app.store.write_counts(
        [series] * len(minutes),
        minutes,
        [CALLS_PER_MINUTE - bad] * len(minutes),
        [CALLS_PER_MINUTE] * len(minutes),
    )


def deliveries(receiver: FakeReceiver) -> list[tuple[str, str]]:
    """(event, dedup key) of every webhook the receiver accepted, checking each signature."""
    found = []
    for request in receiver.received:
        headers = {k.lower(): v for k, v in request.headers.items()}
        stamp = headers["x-errorbudget-timestamp"].encode()
        digest = hmac.new(SECRET.encode(), stamp + b"." + request.body, hashlib.sha256)
        assert headers["x-errorbudget-signature"] == f"sha256={digest.hexdigest()}"
        body = json.loads(request.body)
        assert body["labels"]["severity"] == "page", body  # one incident, one page
        assert body["runbook_url"] == "https://runbooks.example/answered"
        found.append((body["event"], body["dedup_key"]))
    return found


def test_an_outage_pages_once_through_a_receiver_down_and_a_restart(
    config: Path, receiver: FakeReceiver
) -> None:
    clock = Clock(T0)
    start = to_minute(T0)
    outage = start  # the outage starts at T0, after 3 healthy days
    with App.open(config, clock=clock) as app:
        write_minutes(app, start - 3 * 1440, start, bad=0)

    def run_minutes(app: App, first: int, last: int, bad: int, worker_up: bool) -> list[int]:
        """Minute by minute: the minute's counts arrive, "now" moves past it, the alert
        service steps on the new evaluation, the worker sends what is due."""
        fired: list[int] = []
        worker = app.delivery_worker({"EB_TEST_HOOK_SECRET": SECRET})
        assert worker is not None
        for minute in range(first, last):
            write_minutes(app, minute, minute + 1, bad)
            clock.now = from_minute(minute + 1)
            app.evaluations.evaluation()
            if worker_up:
                worker.deliver_due()
            firing = [a for a in app.alerts.alerts() if a.state.phase == "firing"]
            if any(a.severity == "page" for a in firing):
                fired.append(minute + 1)
        return fired

    with App.open(config, clock=clock) as app:
        app.start_alerting()
        receiver.status = 503  # the receiver is down for the first 5 minutes of the outage
        fired = run_minutes(app, outage, outage + 5, bad=CALLS_PER_MINUTE, worker_up=True)
        assert fired and fired[0] - outage <= 2, "a total outage pages within 2 minutes"
        assert receiver.received == []
        queued = app.store.list_notifications()
        assert [(n.event, n.status) for n in queued] == [("firing", "pending")]
        assert queued[0].attempts >= 1 and queued[0].last_error is not None
    # restart while firing: the state, the stepped minute and the queue survive
    receiver.status = 200
    with App.open(config, clock=clock) as app:
        app.start_alerting()
        clock.now += timedelta(minutes=10)  # past the backoff of the failed attempts
        run_minutes(app, outage + 5, outage + 60, bad=CALLS_PER_MINUTE, worker_up=True)
        assert [event for event, _ in deliveries(receiver)] == ["firing"]
    with App.open(config, clock=clock) as app:
        app.start_alerting()
        recovery = to_minute(clock.now)
        run_minutes(app, recovery, recovery + 40, bad=0, worker_up=True)
        page = next(a for a in app.alerts.alerts() if a.severity == "page")
        assert page.state.phase == "resolved"
        assert page.state.resolved_at is not None
        assert page.state.resolved_at - recovery <= 35, "resolves within 35 minutes"
        tickets = [a for a in app.alerts.alerts() if a.severity == "ticket"]
        assert tickets and all(a.state.inhibited for a in tickets)
        actions = [e.action for e in app.store.audit_log(limit=1000)]
        assert actions.count("alert.firing") >= 2 and actions.count("alert.resolved") >= 1
    told = deliveries(receiver)
    assert [event for event, _ in told] == ["firing", "resolved"]
    assert told[0][1] == told[1][1], "the resolve carries the firing's dedup key"


def test_serve_stops_before_listening_when_a_receivers_secret_is_missing(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver's secret comes from the environment; without it `serve` refuses to start,
    naming the variable (never a value), before it opens its port."""
    monkeypatch.delenv("EB_TEST_HOOK_SECRET")
    with socket.socket() as taken:  # the port is taken: listening first would fail otherwise
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with App.open(config) as app, pytest.raises(ConfigError, match="EB_TEST_HOOK_SECRET"):
            asyncio.run(serve(app, "127.0.0.1", port))
