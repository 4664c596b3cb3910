"""Golden exchanges with the fake Genesys Cloud API: tests/data/genesys/*.json hold a request
and the exact response (``contextId`` normalized), so a change of shape is a visible diff and
collector authors have concrete examples. Regenerate with ``ERRORBUDGET_UPDATE_GOLDEN=1``."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from errorbudget.simulate import ManualClock, Simulation, default_scenario
from errorbudget.simulate.genesys_api import ApiSettings, create_app, parse_faults

DATA = Path(__file__).resolve().parents[1] / "data" / "genesys"
ANCHOR = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 10, 17, 7, 30, tzinfo=UTC)  # 12:07 New York, a busy Tuesday
UPDATE = os.environ.get("ERRORBUDGET_UPDATE_GOLDEN") == "1"

SCENARIO = default_scenario(ANCHOR)
VIP = SCENARIO.queue("VIP Billing").id
BILLING_FLOW = SCENARIO.flow("Billing ES").id
WINDOW = "2026-11-10T16:00:00.000Z/2026-11-10T17:15:00.000Z"

EXCHANGES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "conversations_aggregates_sl": (
        "POST",
        "/api/v2/analytics/conversations/aggregates/query",
        {
            "interval": WINDOW,
            "granularity": "PT15M",
            "groupBy": ["queueId", "mediaType"],
            "filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": VIP}]},
            "metrics": [
                "nOffered",
                "tAnswered",
                "tAbandon",
                "tShortAbandon",
                "tFlowOut",
                "nOverSla",
                "oServiceLevel",
            ],
            "views": [
                {
                    "target": "tAnswered",
                    "name": "answered_within_10s",
                    "function": "rangeBound",
                    "range": {"lt": 10000},
                }
            ],
        },
    ),
    "flows_aggregates": (
        "POST",
        "/api/v2/analytics/flows/aggregates/query",
        {
            "interval": WINDOW,
            "granularity": "PT15M",
            "groupBy": ["flowId"],
            "filter": {
                "type": "or",
                "predicates": [{"dimension": "flowId", "value": BILLING_FLOW}],
            },
            "metrics": [
                "nFlow",
                "nFlowOutcome",
                "nFlowOutcomeFailed",
                "tFlowDisconnect",
                "tFlowExit",
            ],
        },
    ),
    "queues_observations": (
        "POST",
        "/api/v2/analytics/queues/observations/query",
        {
            "filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": VIP}]},
            "metrics": [
                "oWaiting",
                "oInteracting",
                "oLongestWaiting",
                "oOnQueueUsers",
                "oOffQueueUsers",
                "oMemberUsers",
            ],
            "detailMetrics": ["oLongestWaiting"],
        },
    ),
    "routing_queues_page": ("GET", "/api/v2/routing/queues?pageSize=2&pageNumber=1", None),
    "summary": ("GET", "/api/v2/summary.json", None),
    "error_400": (
        "POST",
        "/api/v2/analytics/conversations/aggregates/query",
        {"interval": WINDOW, "metrics": ["nOffered"], "groupBy": ["wrapUpCode"]},
    ),
}


def _exchange(name: str) -> dict[str, Any]:
    method, path, body = EXCHANGES[name]
    app = create_app(
        Simulation(SCENARIO, seed=7), ManualClock(NOW), parse_faults(""), ApiSettings()
    )

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
            token = await client.post(
                "/oauth/token",
                auth=("errorbudget-sim", "errorbudget-sim-secret"),
                data={"grant_type": "client_credentials"},
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            return await client.request(method, path, json=body, headers=headers)

    response = asyncio.run(main())
    payload = response.json()
    if "contextId" in payload:
        payload["contextId"] = "<contextId>"
    return {
        "request": {"method": method, "path": path, "body": body},
        "status": response.status_code,
        "response": payload,
    }


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_golden_exchange(name: str) -> None:
    got = _exchange(name)
    path = DATA / f"{name}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=2) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == got, (
        f"{path.name} differs: check the change, then ERRORBUDGET_UPDATE_GOLDEN=1"
    )
