"""``POST /api/v1/events`` (issue #12): operator token before the body, JSON array or
NDJSON, capped by events and bytes (413), idempotent by event id, 422 with located problems
and nothing written."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from errorbudget.app import App
from errorbudget.web.app import create_app

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
URL = "/api/v1/events"
OPERATOR = {"Authorization": "Bearer operator-token-0001"}
VIEWER = {"Authorization": "Bearer viewer-token-00001"}
NDJSON = {**OPERATOR, "Content-Type": "application/x-ndjson"}

CONFIG = """\
version: 1
clock: {simulated_start: '2026-12-01T12:00:00Z'}
store: {path: budgets.db}
events: {max_request_events: 5}
server:
  body_limits: {events_body: 4KiB}
  tokens:
    - {name: olga, token: operator-token-0001, role: operator}
    - {name: vera, token: viewer-token-00001, role: viewer}
slos:
  - id: connection-success
    service: voice-agent
    target: 0.99
    window: {type: rolling, length: 1d}
    indicator:
      source: events
      event: call
      good: {connected: true}
"""


def call(id: str, connected: bool = True, minutes: int = 30) -> dict[str, object]:
    at = NOW - timedelta(minutes=minutes)
    return {"id": id, "type": "call", "time": at.isoformat(), "connected": connected}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    (tmp_path / "errorbudget.yaml").write_text(CONFIG, encoding="utf-8")
    with App.open(tmp_path / "errorbudget.yaml") as opened:
        yield opened


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def totals(app: App) -> tuple[float, float]:
    [series] = app.store.series_ids("connection-success", [()])
    sums = app.store.sums([series], [(0, 1 << 31)])
    return float(sums[0, 0, 0]), float(sums[0, 0, 1])


async def test_json_and_ndjson_batches_count_each_event_once(
    app: App, client: httpx.AsyncClient
) -> None:
    response = await client.post(URL, json=[call("c1"), call("c2", False)], headers=OPERATOR)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["received"], body["duplicates"], body["written_events"]) == (2, 0, 2)
    assert body["per_slo"]["connection-success"] == {
        "eligible": 2, "good": 1, "kept": 1, "series": 1, "overflow": 0,
    }  # fmt: skip
    lines = b"".join(json.dumps(e).encode() + b"\n" for e in [call("c2", False), call("c3")])
    response = await client.post(URL, content=lines, headers=NDJSON)
    assert response.status_code == 200
    assert (response.json()["duplicates"], response.json()["written_events"]) == (1, 1)
    again = await client.post(URL, json={"events": [call("c1"), call("c3")]}, headers=OPERATOR)
    assert again.status_code == 200 and again.json()["duplicates"] == 2
    assert again.json()["written_events"] == 0
    assert totals(app) == (2.0, 3.0)
    kept = app.store.kept_events("connection-success", 0, 1 << 31)
    assert [k.event_id for k in kept] == ["c2"]


async def test_a_bad_event_is_422_located_and_writes_nothing(
    app: App, client: httpx.AsyncClient
) -> None:
    events = [call("c1"), {"id": "c2", "type": "call", "time": NOW.isoformat()}, call("c3")]
    events[2]["conected"] = True
    response = await client.post(URL, json=events, headers=OPERATOR)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("nothing was written: 2 problems")
    assert [(p["line"], p["field"]) for p in body["problems"]] == [
        (2, "connected"),
        (3, "conected"),
    ]
    assert "did you mean" in body["problems"][1]["message"]
    assert app.store.list_series("connection-success") == []
    for bad in (b"[1, 2]", b"{not json", b'{"rows": []}'):
        answer = await client.post(
            URL, content=bad, headers={**OPERATOR, "Content-Type": "application/json"}
        )
        assert answer.status_code == 422 and "nothing was written" in answer.json()["detail"]
    response = await client.post(URL, json=[{}], headers=OPERATOR)  # found by the API fuzzer
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["problems"]} >= {"id", "time"}
    response = await client.post(URL, json=[call("c1")], headers=OPERATOR)
    assert response.status_code == 200 and response.json()["written_events"] == 1


async def test_limits_auth_and_roles(client: httpx.AsyncClient) -> None:
    many = [call(f"c{i}") for i in range(6)]
    response = await client.post(URL, json=many, headers=OPERATOR)
    assert response.status_code == 413
    assert "events.max_request_events" in response.json()["detail"]
    lines = b"".join(json.dumps(e).encode() + b"\n" for e in many)
    assert (await client.post(URL, content=lines, headers=NDJSON)).status_code == 413
    big = b"\n" * 5000
    response = await client.post(URL, content=big, headers=NDJSON)
    assert response.status_code == 413
    assert "server.body_limits.events_body" in response.json()["detail"]
    # no token: 401 from the headers alone, even for a body over the cap
    response = await client.post(URL, content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    response = await client.post(URL, json=[call("c1")], headers=VIEWER)
    assert response.status_code == 403
    response = await client.post(
        URL, content=b"id,type", headers={**OPERATOR, "Content-Type": "text/csv"}
    )
    assert response.status_code == 415
    response = await client.post(URL, content=b"  \n", headers=NDJSON)
    assert response.status_code == 422 and "empty" in response.json()["detail"]


async def test_future_times_are_422_located_not_500(app: App, client: httpx.AsyncClient) -> None:
    late = {**call("c2"), "time": "2150-01-01T00:00:00Z"}
    response = await client.post(URL, json=[call("c1"), late], headers=OPERATOR)
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert (problem["line"], problem["field"]) == (2, "time") and "after 2099" in problem["message"]
    ahead = call("c3", minutes=-90)  # 90 minutes after the clock: past events.max_future (1h)
    response = await client.post(URL, json=[call("c1"), ahead], headers=OPERATOR)
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert (problem["line"], problem["field"]) == (2, "time")
    assert problem["message"].startswith("is more than 1h after now (events.max_future)")
    assert app.store.list_series("connection-success") == []
    response = await client.post(URL, json=[call("c4", minutes=-50)], headers=OPERATOR)
    assert response.status_code == 200 and response.json()["written_events"] == 1


async def test_json_objects_are_counted_from_the_bytes_before_parsing(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from errorbudget.web import api_events

    parsed: list[int] = []
    real = api_events._json_events

    def counting(body: bytes) -> object:
        parsed.append(len(body))
        return real(body)

    monkeypatch.setattr(api_events, "_json_events", counting)
    tiny = b"[" + b",".join([b"{}"] * 600) + b"]"  # 600 objects in 1.8 KB
    response = await client.post(
        URL, content=tiny, headers={**OPERATOR, "Content-Type": "application/json"}
    )
    assert response.status_code == 413 and "600 events" in response.json()["detail"]
    assert parsed == []  # refused before a single object was built
    braces = [{**call(f"c{i}"), "flow": "{{{{"} for i in range(5)]  # braces inside strings
    response = await client.post(URL, json={"events": braces}, headers=OPERATOR)
    assert response.status_code == 200 and response.json()["written_events"] == 5
    assert len(parsed) == 1
