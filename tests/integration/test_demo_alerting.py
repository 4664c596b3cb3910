"""The demo turns alerting on: its carrier incident, stepped by the live alert service
minute by minute, pages, and the page reaches the demo's webhook receiver with a valid
signature; an unsigned request is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from errorbudget.demo.receiver import Received, describe
from errorbudget.demo.world import DemoWorld
from errorbudget.simulate.clock import ManualClock

MOMENT = datetime(2026, 11, 25, 16, tzinfo=UTC)
CARRIER_PAGE = datetime(2026, 11, 22, 16, 31, tzinfo=UTC)
"""When ``alerts replay`` over the demo's store says its carrier incident (2026-11-22
16:00–18:30) pages the VIP Billing and Sales voice queues (its second 15-minute interval:
docs/alerting.md, "Noise")."""


def test_the_demo_incident_pages_through_its_webhook_receiver(tmp_path: Path) -> None:
    printed: list[Received] = []
    with DemoWorld(tmp_path, MOMENT, on_notification=printed.append) as world:
        world.backfill()
        app, clock = world.app, world.clock
        assert isinstance(clock, ManualClock)
        worker = app.delivery_worker(world.environ)
        assert worker is not None
        moment = CARRIER_PAGE - timedelta(minutes=3)
        while moment <= CARRIER_PAGE:
            clock.set(moment)
            app.alerts.on_evaluation(app.evaluations.evaluation(at=moment))
            moment += timedelta(minutes=1)
        worker.deliver_due()
        refused = httpx.post(world.receiver.url, content=b"{}", timeout=5)

    pages = [r for r in world.receiver.received if r.labels.get("severity") == "page"]
    assert pages, [describe(r) for r in world.receiver.received]
    page = pages[0]
    assert page.event == "firing"
    assert page.labels["slo"] == "voice-sla"
    # one page for the outage: the queues it hits are members of one notification group
    assert "queue" not in page.labels
    members = {alert["labels"]["queue"] for alert in page.body["alerts"]}
    assert members == {"VIP Billing", "Sales"}
    assert page.body["runbook_url"] == "https://runbooks.example.com/voice-sla"
    assert page.body["dashboard_url"] == "http://127.0.0.1:8787/slos/voice-sla"
    line = describe(page)
    assert line.startswith(
        "16:31 UTC FIRING page voice-sla queue=Sales,tier=standard; queue=VIP Billing,tier=vip"
        " — ErrorBudgetBurn: 2 series of voice-sla "
        "(queue=Sales,tier=standard, queue=VIP Billing,tier=vip)"
    )
    assert line.endswith("runbook: https://runbooks.example.com/voice-sla")
    assert printed == world.receiver.received  # what the demo prints is what arrived
    assert refused.status_code == 401 and world.receiver.refused == 1
