"""The dashboard's Infinity queries against errorbudget's own API, as Grafana sends them: the
generated URLs (time macros rendered the way Grafana renders ``${__from:date:iso}``) answer
200 to a viewer token, every column the dashboard picks is in each answer, and the deploy
and incident annotations each get their own kinds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from errorbudget.config import load_config
from errorbudget.generate.grafana import dashboard_document
from errorbudget.web import api

pytestmark = pytest.mark.anyio

CONFIG = Path(__file__).resolve().parents[1] / "data" / "grafana" / "config.yaml"
VIEWER = {"Authorization": "Bearer viewer-token-000001"}
OPERATOR = {"Authorization": "Bearer operator-token-0001"}
MACROS = {
    "${__from:date:iso}": "2026-11-20T00:00:00.000Z",
    "${__to:date:iso}": "2026-11-21T00:00:00.000Z",
}


def infinity_targets(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """refId → Infinity query, from panels and annotations."""
    found = {
        t["refId"]: t
        for p in doc["panels"]
        for t in p.get("targets", [])
        if p["datasource"]["uid"] == "${errorbudget_api}"
    }
    found |= {a["target"]["refId"]: a["target"] for a in doc["annotations"]["list"]}
    return found


async def fetch(client: httpx.AsyncClient, target: dict[str, Any]) -> list[dict[str, Any]]:
    url = target["url"]
    for macro, value in MACROS.items():
        url = url.replace(macro, value)
    answer = await client.get(url, headers=VIEWER)  # the data source's URL is the server's
    assert answer.status_code == 200, (url, answer.text)
    rows: list[dict[str, Any]] = answer.json()
    for row in rows:
        assert {c["selector"] for c in target["columns"]} <= set(row), row
    return rows


async def test_the_dashboards_api_queries_answer(client: httpx.AsyncClient) -> None:
    assert api.PREFIX == "/api/v1"
    for kind, text in (("incident", "carrier outage"), ("deploy", "IVR flow v7")):
        added = await client.post(
            f"{api.PREFIX}/annotations",
            json={"kind": kind, "text": text, "at": "2026-11-20T08:00:00Z"},
            headers=OPERATOR,
        )
        assert added.status_code == 201, added.text
    submitted = await client.post(
        f"{api.PREFIX}/changes",
        json={"service": "billing", "title": "Switch payment provider", "risk": "high"},
        headers=OPERATOR,
    )
    assert submitted.status_code == 201, submitted.text

    targets = infinity_targets(dashboard_document(load_config(CONFIG)))
    assert set(targets) == {"CHANGES", "DEPLOYS", "INCIDENTS"}
    changes = await fetch(client, targets["CHANGES"])
    assert "Switch payment provider" in [c["title"] for c in changes]
    deploys = await fetch(client, targets["DEPLOYS"])
    incidents = await fetch(client, targets["INCIDENTS"])
    assert "IVR flow v7" in [a["text"] for a in deploys]
    assert {a["kind"] for a in deploys} <= {"deploy", "config", "model"}
    assert [a["text"] for a in incidents] == ["carrier outage"]
