"""Alerts, silences and the delivery log over HTTP (web/api_alerts.py): reads for viewers,
writes for operators authenticated before their body is read, bounded inputs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from errorbudget.alert_records import AlertSignal
from errorbudget.app import App
from errorbudget.services.alert_groups import group_fingerprint
from errorbudget.web import api

pytestmark = pytest.mark.anyio

OLGA = {"Authorization": "Bearer operator-token-0001"}
VIC = {"Authorization": "Bearer viewer-token-000001"}
V1 = api.PREFIX


def signal(slo: str, severity: str, active: bool = True) -> AlertSignal:
    return AlertSignal(
        alertname="ErrorBudgetBurn",
        slo=slo,
        service="contact-center" if slo == "answered" else "billing",
        segment=(("queue", "sales"),) if slo == "answered" else (),
        severity=severity,  # type: ignore[arg-type]
        active=active,
        for_minutes=0 if severity == "page" else 30,
        summary=f"{slo} burns",
        details={"burn_1h": 14.4},
        runbook_url="https://runbooks.example/x",
    )


@pytest.fixture
def fired(app: App) -> dict[str, str]:
    """answered's page firing, payments' ticket pending, both notified to one receiver."""
    app.alerts.route = lambda labels: ["pager"]
    start = app.evaluations.now_minute() + 1
    page, ticket = signal("answered", "page"), signal("payments", "ticket")
    app.alerts.observe(start, [page, ticket])
    return {"page": page.fingerprint, "ticket": ticket.fingerprint}


async def test_alerts_are_listed_firing_first_and_filtered(
    client: httpx.AsyncClient, fired: dict[str, str]
) -> None:
    listed = (await client.get(f"{V1}/alerts", headers=VIC)).json()
    assert [(a["fingerprint"], a["state"]["phase"]) for a in listed] == [
        (fired["page"], "firing"),
        (fired["ticket"], "pending"),
    ]
    page = listed[0]
    assert page["labels"]["queue"] == "sales" and page["segment"] == {"queue": "sales"}
    assert page["runbook_url"] == "https://runbooks.example/x" and page["state"]["episode"] == 1
    only = (await client.get(f"{V1}/alerts?state=pending&slo=payments", headers=VIC)).json()
    assert [a["fingerprint"] for a in only] == [fired["ticket"]]
    assert (await client.get(f"{V1}/alerts?severity=notice", headers=VIC)).json() == []
    one = await client.get(f"{V1}/alerts/{fired['page']}", headers=VIC)
    assert one.status_code == 200 and one.json() == page
    assert (await client.get(f"{V1}/alerts/{'0' * 16}", headers=VIC)).status_code == 404
    assert (await client.get(f"{V1}/alerts/NOT-A-PRINT", headers=VIC)).status_code == 422
    assert (await client.get(f"{V1}/alerts?state=burning", headers=VIC)).status_code == 422
    assert (await client.get(f"{V1}/alerts?limit=10001", headers=VIC)).status_code == 422


async def test_acknowledging_needs_an_operator_and_is_audited(
    client: httpx.AsyncClient, app: App, fired: dict[str, str]
) -> None:
    path = f"{V1}/alerts/{fired['page']}/acknowledge"
    assert (await client.post(path, headers=VIC)).status_code == 403
    answer = await client.post(path, json={"comment": "looking"}, headers=OLGA)
    assert answer.status_code == 200, answer.text
    assert answer.json()["acknowledged_by"] == "olga"
    [entry] = app.store.audit_log(limit=1, action="alert.acknowledged")
    assert entry.actor == "olga" and entry.details["comment"] == "looking"
    missing = await client.post(f"{V1}/alerts/{'0' * 16}/acknowledge", headers=OLGA)
    assert missing.status_code == 404


async def test_silences_are_created_listed_and_expired(client: httpx.AsyncClient, app: App) -> None:
    ends = (app.clock() + timedelta(hours=2)).isoformat()
    body = {"matchers": {"slo": "answered"}, "reason": "migration", "ends_at": ends}
    created = await client.post(f"{V1}/silences", json=body, headers=OLGA)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["author"] == "olga" and silence["matchers"] == {"slo": "answered"}
    listed = (await client.get(f"{V1}/silences", headers=VIC)).json()
    assert [s["id"] for s in listed] == [silence["id"]]
    expired = await client.post(f"{V1}/silences/{silence['id']}/expire", headers=OLGA)
    assert expired.status_code == 200 and expired.json()["expired_by"] == "olga"
    again = await client.post(f"{V1}/silences/{silence['id']}/expire", headers=OLGA)
    assert again.status_code == 409
    assert (await client.get(f"{V1}/silences", headers=VIC)).json() == []
    every = (await client.get(f"{V1}/silences?include_expired=true", headers=VIC)).json()
    assert [s["id"] for s in every] == [silence["id"]]
    assert (await client.post(f"{V1}/silences/999/expire", headers=OLGA)).status_code == 404


@pytest.mark.parametrize(
    "matchers",
    [{}, {"": "x"}, {"slo": ""}, {"slo": "a\nb"}, {f"k{i}": "v" for i in range(21)}, ["slo"]],
)
async def test_a_bad_matcher_is_refused(
    client: httpx.AsyncClient, app: App, matchers: object
) -> None:
    ends = (app.clock() + timedelta(hours=1)).isoformat()
    body = {"matchers": matchers, "reason": "r", "ends_at": ends}
    answer = await client.post(f"{V1}/silences", json=body, headers=OLGA)
    assert answer.status_code == 422, answer.text
    assert app.store.list_silences(include_expired=True) == []


async def test_a_silence_ending_in_the_past_or_with_unknown_fields_is_refused(
    client: httpx.AsyncClient, app: App
) -> None:
    past = (app.clock() - timedelta(hours=1)).isoformat()
    body = {"matchers": {"slo": "answered"}, "reason": "r", "ends_at": past}
    assert (await client.post(f"{V1}/silences", json=body, headers=OLGA)).status_code == 422
    body = {**body, "ends_at": (app.clock() + timedelta(hours=1)).isoformat(), "author": "eve"}
    assert (await client.post(f"{V1}/silences", json=body, headers=OLGA)).status_code == 422


async def test_an_unauthenticated_write_is_refused_before_its_body_is_read(
    client: httpx.AsyncClient,
) -> None:
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(b"chunk")
        yield b'{"matchers": {"slo": "answered"}}'

    for path in ("/silences", f"/alerts/{'0' * 16}/acknowledge", "/silences/1/expire"):
        answer = await client.post(
            f"{V1}{path}", content=body(), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 401, answer.text
    assert read == []


async def test_an_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    reason = "x" * (2 << 20)
    body = {"matchers": {"slo": "answered"}, "reason": reason, "ends_at": "2100-01-01T00:00Z"}
    answer = await client.post(f"{V1}/silences", json=body, headers=OLGA)
    assert answer.status_code == 413


async def test_the_delivery_log_lists_every_notification(
    client: httpx.AsyncClient, app: App, fired: dict[str, str]
) -> None:
    log = (await client.get(f"{V1}/notifications", headers=VIC)).json()
    group = group_fingerprint(("ErrorBudgetBurn", "answered", "contact-center", "page"))
    assert [(n["receiver"], n["event"], n["fingerprint"]) for n in log] == [
        ("pager", "firing", group)
    ]  # told per group (services/alert_groups.py), the page alert its only member
    assert log[0]["status"] == "pending" and log[0]["dedup_key"] == f"{group}-1"
    assert [m["fingerprint"] for m in log[0]["payload"]["alerts"]] == [fired["page"]]
    app.store.mark_delivered(log[0]["id"], app.clock())
    delivered = (await client.get(f"{V1}/notifications?status=delivered", headers=VIC)).json()
    assert [n["id"] for n in delivered] == [log[0]["id"]]
    other = f"{V1}/notifications?receiver=chat&fingerprint={fired['page']}"
    assert (await client.get(other, headers=VIC)).json() == []
    assert (await client.get(f"{V1}/notifications?status=lost", headers=VIC)).status_code == 422


async def test_metrics_show_pending_and_firing_alerts_as_alerts_series(
    client: httpx.AsyncClient, app: App, fired: dict[str, str]
) -> None:
    text = (await client.get("/metrics", headers=VIC)).text
    lines = sorted(line for line in text.splitlines() if line.startswith("errorbudget_alerts{"))
    assert lines == [
        'errorbudget_alerts{alertname="ErrorBudgetBurn",alertstate="firing",'
        'segment="queue=sales",service="contact-center",severity="page",slo="answered"} 1.0',
        'errorbudget_alerts{alertname="ErrorBudgetBurn",alertstate="pending",'
        'segment="(all)",service="billing",severity="ticket",slo="payments"} 1.0',
    ]
    start = app.store.alert_minute()
    assert start is not None
    app.alerts.observe(start + 1, [])  # both inactive now: the page resolves, the ticket clears
    text = (await client.get("/metrics", headers=VIC)).text
    assert "errorbudget_alerts{" not in text and "# TYPE errorbudget_alerts gauge" in text


async def test_the_overview_and_the_slo_page_show_the_alerts(
    client: httpx.AsyncClient, app: App, fired: dict[str, str]
) -> None:
    overview = (await client.get(f"{V1}/pages/overview", headers=VIC)).json()
    assert [(a["fingerprint"], a["severity"]) for a in overview["alerts_firing"]] == [
        (fired["page"], "page")
    ]  # the pending ticket is not firing
    html = (await client.get("/", headers=VIC)).text
    assert "Alerts firing now (1)" in html and 'href="https://runbooks.example/x"' in html
    detail = (await client.get(f"{V1}/pages/slos/answered", headers=VIC)).json()
    assert [(a["phase"], a["episode"]) for a in detail["alerts"]] == [("firing", 1)]
    page = (await client.get("/slos/answered", headers=VIC)).text
    assert "Alerts of this SLO" in page and "ErrorBudgetBurn" in page
    quiet = (await client.get("/slos/flows", headers=VIC)).text
    assert "No alert of this SLO has been raised." in quiet
