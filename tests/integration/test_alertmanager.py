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

from errorbudget.alert_records import Notification
from errorbudget.notification_settings import ReceiverTarget
from errorbudget.notify import build_notifiers

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


@pytest.fixture
def alertmanager(tmp_path: Path, forwarded: FakeReceiver) -> Iterator[str]:
    if shutil.which(BINARY) is None or shutil.which("amtool") is None:
        pytest.skip(f"{BINARY} and amtool are not installed (apt-get install {BINARY})")
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(forwarded.url + "/am"), encoding="utf-8")
    checked = subprocess.run(
        ["amtool", "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    port = free_port()
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("Alertmanager did not become ready in 20 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


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
    member as its own alert, segment labels included, and groups them itself."""
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
