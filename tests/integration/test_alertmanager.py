"""A real Alertmanager (``prometheus-alertmanager``, started here on 127.0.0.1) receives a
firing then a resolved alert from the Alertmanager notifier and forwards both to a webhook
receiver; the config written for it passes ``amtool check-config``."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fake_receiver import FakeReceiver

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.notification_settings import ReceiverTarget, RetrySettings
from errorbudget.notify import build_notifiers
from errorbudget.services.deliveries import DeliveryWorker
from errorbudget.store import open_store

pytestmark = pytest.mark.integration

BINARY = "prometheus-alertmanager"


def alertmanager_config(webhook_url: str) -> str:
    """Route everything to one webhook, at once (group_wait 1s), resolves included."""
    return f"""\
route:
  receiver: errorbudget-test
  group_by: [alertname, slo]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: errorbudget-test
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def forwarded() -> Iterator[FakeReceiver]:
    fake = FakeReceiver().start()
    yield fake
    fake.stop()


class Alertmanager:
    """A real Alertmanager on 127.0.0.1 that a test can stop and start again on the same port
    and storage (a receiver that goes down and comes back)."""

    def __init__(self, config: Path, data: Path) -> None:
        self.config, self.data = config, data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={self.config}",
                f"--storage.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail("Alertmanager did not become ready in 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def alertmanager_process(tmp_path: Path, forwarded: FakeReceiver) -> Iterator[Alertmanager]:
    if shutil.which(BINARY) is None or shutil.which("amtool") is None:
        pytest.skip(f"{BINARY} and amtool are not installed (apt-get install {BINARY})")
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(forwarded.url + "/am"), encoding="utf-8")
    checked = subprocess.run(
        ["amtool", "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    manager = Alertmanager(config, tmp_path / "data")
    manager.start()
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture
def alertmanager(alertmanager_process: Alertmanager) -> str:
    return alertmanager_process.url


def wait_for(fake: FakeReceiver, count: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while len(fake.received) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(fake.received) >= count, f"Alertmanager forwarded {len(fake.received)} of {count}"


def test_alertmanager_receives_and_forwards_firing_then_resolved(
    alertmanager: str, forwarded: FakeReceiver
) -> None:
    fired = datetime.now(tz=UTC).replace(microsecond=0) - timedelta(minutes=3)
    payload = {
        "labels": {"alertname": "ErrorBudgetBurn", "slo": "answered", "service": "cc",
                   "severity": "page", "queue": "vip"},
        "summary": "answered queue=vip burns 15.0× over 1h",
        "details": {"budget_remaining_ratio": 0.42},
        "runbook_url": "http://127.0.0.1:1/runbook",
        "dashboard_url": "http://127.0.0.1:2/slos/answered",
        "fired_at": fired.isoformat(),
    }  # fmt: skip
    firing = Notification(1, "am", "abc", "firing", "abc-1", payload, fired)
    target = ReceiverTarget("am", "alertmanager", alertmanager, timedelta(seconds=5))
    with httpx.Client() as client:
        notifier = build_notifiers({"am": target}, client)["am"]
        notifier.send(firing)
        wait_for(forwarded, 1)
        resolved_at = fired + timedelta(minutes=2)
        notifier.send(
            replace(
                firing,
                id=2,
                event="resolved",
                payload={**payload, "resolved_at": resolved_at.isoformat()},
            )
        )
        wait_for(forwarded, 2)
    first, second = (json.loads(r.body) for r in forwarded.received[:2])
    assert first["status"] == "firing"
    (alert,) = first["alerts"]
    assert alert["labels"]["queue"] == "vip" and alert["labels"]["severity"] == "page"
    assert alert["annotations"]["runbook_url"] == "http://127.0.0.1:1/runbook"
    assert alert["annotations"]["dashboard"] == "http://127.0.0.1:2/slos/answered"
    assert "budget remaining 42.0 %" in alert["annotations"]["description"]
    assert alert["generatorURL"] == "http://127.0.0.1:2/slos/answered"
    assert datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")) == fired
    assert second["status"] == "resolved"
    assert datetime.fromisoformat(second["alerts"][0]["endsAt"].replace("Z", "+00:00")) == (
        resolved_at
    )


def test_a_group_notification_reaches_alertmanager_as_one_alert_per_series(
    alertmanager: str, forwarded: FakeReceiver
) -> None:
    """The alert service tells per group (services/alert_groups.py); Alertmanager gets each
    member as its own alert, segment labels included, and groups them itself; a member
    that recovers while the group still fires is resolved in Alertmanager at once."""
    fired = datetime.now(tz=UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    members = [
        {
            "fingerprint": f"fp-{queue}",
            "labels": {
                "alertname": "ErrorBudgetBurn",
                "slo": "answered",
                "service": "cc",
                "severity": "page",
                "queue": queue,
            },
            "summary": f"answered queue={queue} burns 15.0× over 1h",
            "details": {"budget_remaining_ratio": 0.5},
            "runbook_url": "http://127.0.0.1:1/runbook",
            "fired_at": fired.isoformat(),
            "resolved_at": None,
            "episode": 1,
        }
        for queue in ("vip", "sales")
    ]
    payload = {
        "event": "firing",
        "labels": {"alertname": "ErrorBudgetBurn", "slo": "answered", "service": "cc",
                   "severity": "page"},
        "summary": "ErrorBudgetBurn: 2 series of answered (queue=vip, queue=sales)",
        "fired_at": fired.isoformat(),
        "alerts": members,
    }  # fmt: skip
    group = Notification(1, "am", "group", "firing", "group-1", payload, fired)
    target = ReceiverTarget("am", "alertmanager", alertmanager, timedelta(seconds=5))
    with httpx.Client() as client:
        build_notifiers({"am": target}, client)["am"].send(group)
        deadline = time.monotonic() + 20
        seen: set[str] = set()
        while len(seen) < 2 and time.monotonic() < deadline:
            seen = {
                alert["labels"]["queue"]
                for request in forwarded.received
                for alert in json.loads(request.body)["alerts"]
            }
            time.sleep(0.1)
        assert seen == {"vip", "sales"}
        # sales recovers while vip still burns: the update lists it with its resolved_at
        recovered = fired + timedelta(minutes=2)
        update_members = [members[0], {**members[1], "resolved_at": recovered.isoformat()}]
        update = replace(group, id=2, payload={**payload, "alerts": update_members})
        build_notifiers({"am": target}, client)["am"].send(update)
        deadline = time.monotonic() + 20
        status: dict[str, str] = {}
        while status.get("sales") != "resolved" and time.monotonic() < deadline:
            status = {
                alert["labels"]["queue"]: alert["status"]
                for request in forwarded.received
                for alert in json.loads(request.body)["alerts"]
            }
            time.sleep(0.1)
    assert status == {"vip": "firing", "sales": "resolved"}  # not firing for firing_hold


class SteppedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_alertmanager_down_five_minutes_then_back_gets_every_notification_once(
    alertmanager_process: Alertmanager, tmp_path: Path
) -> None:
    """The issue's acceptance: Alertmanager down 5 minutes, then back — every notification
    queued meanwhile (in the store's outbox) is delivered once, in order."""
    manager = alertmanager_process
    manager.stop()  # down
    clock = SteppedClock(datetime.now(tz=UTC).replace(microsecond=0))
    fired = clock.now - timedelta(minutes=1)
    with open_store(tmp_path / "outbox.db") as store:
        queued = store.queue_notifications(
            [
                NewNotification(
                    "am",
                    f"group-{queue}",
                    "firing",
                    f"group-{queue}-1",
                    {
                        "event": "firing",
                        "labels": {
                            "alertname": "ErrorBudgetBurn",
                            "slo": "answered",
                            "service": "cc",
                            "severity": "page",
                            "queue": queue,
                        },
                        "summary": f"answered queue={queue} burns",
                        "fired_at": fired.isoformat(),
                    },
                )
                for queue in ("vip", "sales", "support")
            ]
        )
        target = ReceiverTarget("am", "alertmanager", manager.url, timedelta(seconds=2))
        with httpx.Client() as client:
            worker = DeliveryWorker(
                store, build_notifiers({"am": target}, client), clock, RetrySettings()
            )
            failures = 0
            for _ in range(10):  # 5 minutes of 30-second ticks: every attempt is refused
                failures += sum(a.outcome == "retrying" for a in worker.deliver_due())
                clock.now += timedelta(seconds=30)
            assert failures >= 5
            assert all(n.status == "pending" for n in store.list_notifications())
            manager.start()  # back, on the same port and storage
            clock.now += timedelta(minutes=5)  # past the longest backoff
            delivered = worker.deliver_due()
            alerts = httpx.get(f"{manager.url}/api/v2/alerts", timeout=5).json()
        log = {n.id: n for n in store.list_notifications()}
    assert [a.outcome for a in delivered] == ["delivered"] * 3
    assert [a.notification.id for a in delivered] == [n.id for n in queued]  # in order
    assert all(log[n.id].status == "delivered" and log[n.id].attempts >= 1 for n in queued)
    assert sorted(a["labels"]["queue"] for a in alerts) == ["sales", "support", "vip"]  # once each
