"""``POST /api/v1/counts``: the same validation as ``errorbudget ingest``, and idempotency
keys (same key and body: the stored result again; same key, other body: 409)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from errorbudget.app import App
from errorbudget.web import api

pytestmark = pytest.mark.anyio

OLGA = {"Authorization": "Bearer operator-token-0001"}
URL = f"{api.PREFIX}/counts"
NDJSON = {**OLGA, "Content-Type": "application/x-ndjson"}


def row(time: str, slo: str = "answered", good: int = 7, total: int = 10) -> bytes:
    fields = {"time": time, "slo": slo, "queue": "sales", "good": good, "total": total}
    return json.dumps(fields).encode() + b"\n"


ROW = row("2026-11-21T10:00:30Z")


def stored(app: App) -> tuple[float, float]:
    """good, total of answered/sales at 2026-11-21T10:00Z."""
    [series] = app.store.series_ids("answered", [(("queue", "sales"),)], create=False)
    minute = 29_920_920  # 2026-11-21T10:00Z
    good, total = app.store.minute_arrays([series], minute, minute + 1)
    return float(good[0, 0]), float(total[0, 0])


async def test_ndjson_csv_and_json_rows(app: App, client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=ROW, headers=NDJSON)
    assert response.status_code == 200
    assert response.json() | {"seconds": 0} == {
        "rows_read": 1, "rows_written": 1, "rows_rejected": 0, "series": 1, "seconds": 0,
    }  # fmt: skip
    assert stored(app) == (7.0, 10.0)
    csv = b"time,slo,queue,good,total\n2026-11-21T10:00:00Z,answered,sales,8,10\n"
    response = await client.post(URL, content=csv, headers={**OLGA, "Content-Type": "text/csv"})
    assert response.status_code == 200 and stored(app) == (8.0, 10.0)  # replaced, not added
    rows = [{"time": 1795255200, "slo": "answered", "queue": "sales", "good": 9, "total": 10}]
    response = await client.post(URL, json=rows, headers=OLGA)
    assert response.status_code == 200 and stored(app) == (9.0, 10.0)
    response = await client.post(URL, json={"rows": rows}, headers=OLGA)
    assert response.status_code == 200


async def test_the_same_key_and_body_replays_without_writing(
    app: App, client: httpx.AsyncClient
) -> None:
    first = await client.post(URL, content=ROW, headers={**NDJSON, "Idempotency-Key": "batch-1"})
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    # Someone else changes that minute meanwhile (another source, another key).
    other = ROW.replace(b'"good": 7', b'"good": 3')
    await client.post(URL, content=other, headers={**NDJSON, "Idempotency-Key": "batch-2"})
    assert stored(app) == (3.0, 10.0)
    replay = await client.post(URL, content=ROW, headers={**NDJSON, "Idempotency-Key": "batch-1"})
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert stored(app) == (3.0, 10.0)  # the replay wrote nothing


async def test_the_same_key_with_another_body_is_409(client: httpx.AsyncClient) -> None:
    await client.post(URL, content=ROW, headers={**NDJSON, "Idempotency-Key": "k"})
    other = ROW.replace(b'"good": 7', b'"good": 6')
    response = await client.post(URL, content=other, headers={**NDJSON, "Idempotency-Key": "k"})
    assert response.status_code == 409
    assert "idempotency key 'k' was used" in response.json()["detail"]
    # Keys belong to the token: another identity may use the same one.
    admin = {"Authorization": "Bearer admin-token-0000001", "Content-Type": "application/x-ndjson"}
    assert (
        await client.post(URL, content=other, headers={**admin, "Idempotency-Key": "k"})
    ).status_code == 200


async def test_bad_rows_write_nothing_and_are_listed_by_line(
    app: App, client: httpx.AsyncClient
) -> None:
    body = (
        ROW
        + row("2026-11-21T10:01:00", good=1, total=1)  # no zone
        + row("2026-11-21T10:02:00Z", slo="answerd", good=1, total=1)
        + row("2026-11-21T10:03:00Z", good=5, total=1)
    )
    response = await client.post(URL, content=body, headers={**NDJSON, "Idempotency-Key": "bad"})
    assert response.status_code == 422
    detail = response.json()
    assert detail["detail"] == "nothing was written: 3 problems"
    assert [p["line"] for p in detail["problems"]] == [2, 3, 4]
    assert "did you mean 'answered'" in detail["problems"][1]["message"]
    assert all("/tmp" not in p["message"] for p in detail["problems"])
    assert stored(app) == (0.0, 0.0)
    # A failed write is not kept: the corrected body may reuse the key.
    fixed = await client.post(URL, content=ROW, headers={**NDJSON, "Idempotency-Key": "bad"})
    assert fixed.status_code == 200


@pytest.mark.parametrize(
    ("content", "content_type", "status", "detail"),
    [
        (b"", "application/x-ndjson", 422, "the body is empty"),
        (b"time,slo\n", "application/xml", 415, "send the counts as one of"),
        (b"{not json", "application/json", 422, "the body is not JSON"),
        (b'{"time": 1}', "application/json", 422, "send a JSON array"),
        (b"[1, 2]", "application/json", 422, "row 1 is not an object"),
    ],
)
async def test_unusable_bodies(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int, detail: str
) -> None:
    response = await client.post(
        URL, content=content, headers={**OLGA, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert detail in response.json()["detail"]


async def test_a_bad_source_name_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(URL + "?source=../x", content=ROW, headers=NDJSON)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "source"]


async def test_a_collectors_source_name_is_refused(tmp_path, budget_world) -> None:  # type: ignore[no-untyped-def]
    """An operator (the gated role) must not replace what the collector stored: counts
    under its source name could lift the gate."""
    text = budget_world.config.read_text().replace(
        "slos:\n",
        "sources:\n  genesys:\n    base_url: http://127.0.0.1:9\n    client_id: c\n"
        "    client_secret: s\nslos:\n",
        1,
    )
    budget_world.config.write_text(text)
    with budget_world.open() as opened:
        web = FastAPI()
        web.state.eb = opened
        api.register(web)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            before = stored(opened)
            refused = await http.post(URL + "?source=genesys", content=ROW, headers=NDJSON)
            assert refused.status_code == 409
            assert "written by its collector" in refused.json()["detail"]
            assert stored(opened) == before
            other = await http.post(URL + "?source=backfill", content=ROW, headers=NDJSON)
            assert other.status_code == 200, other.text
