"""The alert history (issue #10, "history per SLO on the burn chart"): the episodes the alert
service writes with its transitions (``alert_episodes``), read back by SLO and span
(``AlertService.episodes``), shaded on the SLO page's burn chart and listed under it, and the
same model from ``/api/v1/alerts/history`` and the page's JSON twin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from errorbudget.alert_records import AlertEpisode, AlertSignal
from errorbudget.app import App
from errorbudget.engine.lifecycle import episodes as replayed
from errorbudget.errors import InvalidRequestError, NotFoundError
from errorbudget.model import from_minute

VIC = {"Authorization": "Bearer viewer-token-000001"}
SEGMENT = (("queue", "sales"),)
STEPS = 121
KEEP = 5
TICKET_FOR = 10
# Minutes (from the first stepped) in which each condition holds: the page fires, resolves
# after its keep, fires again (a gap shorter than keep stays one episode), and again; the
# ticket fires while the page is active (inhibited), resolves, and fires again silenced,
# still firing at the last minute stepped.
PAGE_ON = [*range(5, 20), *range(40, 50), *range(52, 60), *range(90, 100)]
TICKET_ON = [*range(3, 30), *range(95, STEPS)]
SILENCED_FROM = 100


def signal(severity: str, active: bool, inhibited: bool = False) -> AlertSignal:
    return AlertSignal(
        alertname="ErrorBudgetBurn",
        slo="answered",
        service="contact-center",
        segment=SEGMENT,
        severity=severity,  # type: ignore[arg-type]
        active=active,
        for_minutes=0 if severity == "page" else TICKET_FOR,
        keep_minutes=KEEP if severity == "page" else 0,
        inhibited=inhibited,
        summary="answered (queue=sales) burns its budget",
        details={},
        runbook_url=None,
    )


@pytest.fixture
def outage(app: App) -> Iterator[tuple[App, int]]:
    """The real alert service stepped minute by minute over the outage, ending before now
    (so the SLO page's burn chart spans it)."""
    start = app.evaluations.now_minute() - 300
    app.alerts.add_silence(
        matchers={"slo": "answered", "severity": "ticket"},
        author="olga",
        reason="known noisy ticket",
        starts_at=from_minute(start + SILENCED_FROM),
        ends_at=app.clock() + timedelta(hours=1),
    )
    for offset in range(STEPS):
        page_on = offset in PAGE_ON
        app.alerts.observe(
            start + offset,
            [signal("page", page_on), signal("ticket", offset in TICKET_ON, inhibited=page_on)],
        )
    yield app, start


def expected(start: int) -> list[AlertEpisode]:
    """What the lifecycle's replay (``engine.lifecycle.episodes``, computed from the runs,
    not stepped) says of the same minutes, latest fired first."""
    minutes = [start + i for i in range(STEPS)]
    found = []
    for severity, on, kw in (
        ("page", PAGE_ON, {"keep_minutes": KEEP}),
        ("ticket", TICKET_ON, {"for_minutes": TICKET_FOR}),
    ):
        active = [i in on for i in range(STEPS)]
        inhibited = [i in PAGE_ON for i in range(STEPS)] if severity == "ticket" else None
        probe = signal(severity, True)
        for number, e in enumerate(replayed(minutes, active, inhibited=inhibited, **kw), 1):
            found.append(
                AlertEpisode(
                    fingerprint=probe.fingerprint,
                    episode=number,
                    alertname="ErrorBudgetBurn",
                    slo="answered",
                    service="contact-center",
                    segment=SEGMENT,
                    severity=severity,  # type: ignore[arg-type]
                    fired_at=e.fired_at,
                    resolved_at=e.resolved_at,
                    inhibited=e.inhibited,
                    silenced=e.fired_at >= start + SILENCED_FROM and severity == "ticket",
                )
            )
    return sorted(found, key=lambda e: (-e.fired_at, e.fingerprint))


def test_the_episodes_the_service_writes_read_back_exactly(outage: tuple[App, int]) -> None:
    app, start = outage
    want = expected(start)
    assert [(e.severity, e.episode) for e in want] == [
        ("ticket", 2), ("page", 3), ("page", 2), ("ticket", 1), ("page", 1),
    ]  # fmt: skip
    assert want[0].resolved_at is None and want[0].silenced  # still firing, silenced
    assert want[3].inhibited and not want[4].inhibited  # the ticket fired under the page
    everything = app.alerts.episodes("answered", from_minute(start), from_minute(start + STEPS))
    assert everything == want
    # A span keeps what overlaps it: fired before its end, not resolved by its start.
    since, until = start + 45, start + 92
    overlapping = [e for e in want if e.fired_at < until and (e.resolved_at or until) > since]
    assert [(e.severity, e.episode) for e in overlapping] == [("page", 3), ("page", 2)]
    assert app.alerts.episodes("answered", from_minute(since), from_minute(until)) == overlapping
    assert (
        app.alerts.episodes("answered", from_minute(start), from_minute(start + STEPS), 2)
        == (want[:2])
    )
    first = want[-1]  # page 1: an episode that resolved at since ended before the span
    assert first.resolved_at is not None
    after = app.alerts.episodes("answered", from_minute(first.resolved_at), from_minute(until))
    assert first not in after
    before = app.alerts.episodes("answered", from_minute(first.resolved_at - 1), from_minute(until))
    assert first in before
    history = app.alerts.history("answered", from_minute(start), from_minute(start + STEPS), 4)
    assert history.episodes == want[:4] and history.truncated
    assert app.alerts.episodes("payments", from_minute(start), from_minute(start + STEPS)) == []


def test_the_read_is_bounded(app: App) -> None:
    now = app.clock()
    with pytest.raises(InvalidRequestError, match="after its since"):
        app.alerts.episodes("answered", now, now)
    with pytest.raises(InvalidRequestError, match="at most 400 days"):
        app.alerts.episodes("answered", now - timedelta(days=401), now)
    with pytest.raises(InvalidRequestError, match="limit"):
        app.alerts.episodes("answered", now - timedelta(days=1), now, 10_001)
    with pytest.raises(NotFoundError):
        app.alerts.episodes("nope", now - timedelta(days=1), now)


@pytest.mark.anyio
async def test_the_slo_page_shades_and_lists_them_and_its_twin_equals_the_api(
    client: httpx.AsyncClient, outage: tuple[App, int]
) -> None:
    _, start = outage
    html = (await client.get("/slos/answered", headers=VIC)).text
    chart = html[html.index('id="burn-chart"') : html.index('id="budget-chart"')]
    assert chart.count('class="alert-span alert-span-page"') == 3
    assert chart.count('class="alert-span alert-span-ticket"') == 2
    assert 'aria-label="ticket alert ErrorBudgetBurn (queue=sales): fired' in chart
    assert "still firing</title>" in chart  # each span is titled, not told by colour alone
    listed = html[html.index('id="alert-episodes"') : html.index('id="alert-history"')]
    assert listed.count('class="alert-episode alert-episode-page"') == 3
    assert listed.count('class="alert-episode alert-episode-ticket"') == 2
    assert "<strong>firing</strong>" in listed and "so far" in listed
    assert "inhibited by a higher severity (not notified)" in listed
    assert "silenced (not notified)" in listed
    assert "No alerts in this span" not in listed
    twin = (await client.get("/api/v1/pages/slos/answered", headers=VIC)).json()
    history = twin["alert_history"]
    assert [(e["severity"], e["episode"]) for e in history["episodes"]] == [
        (e.severity, e.episode) for e in expected(start)
    ]
    page_one = history["episodes"][-1]
    assert page_one["resolved_at"] is not None and page_one["duration_minutes"] == (
        expected(start)[-1].resolved_at - expected(start)[-1].fired_at  # type: ignore[operator]
    )
    query = {
        "slo": "answered",
        "since": twin["timeline_start"],
        "until": twin["timeline_end"],
        "limit": history["limit"],
    }
    answer = await client.get("/api/v1/alerts/history", params=query, headers=VIC)
    assert answer.status_code == 200, answer.text
    assert answer.json() == history


@pytest.mark.anyio
async def test_an_slo_without_alerts_says_so(client: httpx.AsyncClient) -> None:
    html = (await client.get("/slos/flows", headers=VIC)).text
    assert "No alerts in this span." in html and "alert-span" not in html
    twin = (await client.get("/api/v1/pages/slos/flows", headers=VIC)).json()
    assert twin["alert_history"]["episodes"] == [] and not twin["alert_history"]["truncated"]
    answer = (await client.get("/api/v1/alerts/history?slo=flows", headers=VIC)).json()
    assert answer["episodes"] == [] and answer["slo"] == "flows"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("slo=answered&since=2026-11-20T00:00Z&until=2026-11-20T00:00Z", 422),
        ("slo=answered&since=2025-01-01T00:00Z&until=2026-11-20T00:00Z", 422),
        ("slo=answered&limit=0", 422),
        ("slo=answered&limit=10001", 422),
        ("slo=answered&since=2026-11-20T00:00", 422),  # no zone
        ("slo=answered&since=1999-01-01T00:00Z&until=1999-02-01T00:00Z", 422),
        ("", 422),  # slo is required
        ("slo=nope", 404),
    ],
)
async def test_bounds_are_refused(client: httpx.AsyncClient, query: str, status: int) -> None:
    answer = await client.get(f"/api/v1/alerts/history?{query}", headers=VIC)
    assert answer.status_code == status, answer.text
