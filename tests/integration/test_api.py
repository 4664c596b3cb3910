"""The JSON API in-process (httpx.ASGITransport) over a seeded SQLite store: every endpoint
for every role, authentication, and errors that name the field or say what is missing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from errorbudget.app import App
from errorbudget.changes import ChangeRequest
from errorbudget.config import parse_config
from errorbudget.errors import ConfigError, ConfigValidationError
from errorbudget.exclusions import ExclusionProposal
from errorbudget.web import api
from errorbudget.web.app import create_app

pytestmark = pytest.mark.anyio

TOKENS = {
    "viewer": "viewer-token-000001",
    "operator": "operator-token-0002",  # otto, who did not submit change 1
    "approver": "approver-token-0001",
    "admin": "admin-token-0000001",
}
OLGA = "operator-token-0001"


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def web_for(app: App) -> FastAPI:
    """Only the API (not the dashboard), the way create_app registers it."""
    web = FastAPI()
    web.state.eb = app
    api.register(web)
    return web


@pytest.fixture
def app(budget_world):  # type: ignore[no-untyped-def]
    with budget_world.open() as opened:
        now = opened.clock()
        opened.changes.submit(
            ChangeRequest(service="contact-center", title="greeting", submitted_by="olga")
        )
        window = opened.records.propose_exclusion(
            ExclusionProposal(slo="payments", start=now.replace(hour=1), end=now.replace(hour=2),
            category="maintenance", reason="window", proposed_by="olga")
        )  # fmt: skip
        opened.records.review_exclusion(
            window.id, decision="approve", reviewer="vera", role="approver"
        )
        yield opened


NDJSON = b'{"time": "2026-11-20T11:00:00Z", "slo": "payments", "good": 9, "total": 10}\n'
# Every route for every role: tests/integration/test_authorization.py.


async def call(
    client: httpx.AsyncClient, method: str, path: str, body: Any, token: str | None
) -> httpx.Response:
    headers = bearer(token)
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/x-ndjson"
        return await client.request(method, api.PREFIX + path, content=body, headers=headers)
    return await client.request(method, api.PREFIX + path, json=body, headers=headers)


async def test_the_acting_identity_is_the_tokens_name(client: httpx.AsyncClient) -> None:
    who = await client.get(f"{api.PREFIX}/whoami", headers=bearer(OLGA))
    assert who.json() == {"name": "olga", "role": "operator", "anonymous": False}
    note = await client.post(
        f"{api.PREFIX}/annotations",
        json={"kind": "config", "text": "timeout 30s", "service": "billing"},
        headers=bearer(OLGA),
    )
    assert note.json()["created_by"] == "olga"
    change = await client.post(
        f"{api.PREFIX}/changes", json={"service": "billing", "title": "x"}, headers=bearer(OLGA)
    )
    assert change.json()["submitted_by"] == "olga"
    withdrawn = await client.post(
        f"{api.PREFIX}/changes/{change.json()['id']}/withdraw", headers=bearer(OLGA)
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status_by"] == "olga"


async def test_unknown_and_malformed_tokens_are_401(client: httpx.AsyncClient) -> None:
    unknown = await client.get(f"{api.PREFIX}/status", headers=bearer("not-a-token-at-all-123"))
    assert (unknown.status_code, unknown.json()["detail"]) == (401, "unknown API token")
    basic = await client.get(f"{api.PREFIX}/status", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401 and "Bearer" in basic.json()["detail"]


async def test_anonymous_reads_when_configured(budget_world) -> None:  # type: ignore[no-untyped-def]
    text = budget_world.config.read_text().replace("server:\n", "server:\n  anonymous_read: true\n")
    budget_world.config.write_text(text)
    with budget_world.open() as opened:
        transport = httpx.ASGITransport(app=web_for(opened))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            who = await http.get(f"{api.PREFIX}/whoami")
            assert who.json() == {"name": "anonymous", "role": "viewer", "anonymous": True}
            assert (await http.get(f"{api.PREFIX}/status")).status_code == 200
            write = await http.post(
                f"{api.PREFIX}/annotations", json={"kind": "deploy", "text": "x"}
            )
            assert write.status_code == 401


async def test_tokens_from_the_environment(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ERRORBUDGET_TOKENS", "ci-bot:operator:ci-token-0000000001, olga:viewer:olga-new-token-0001"
    )
    transport = httpx.ASGITransport(app=web_for(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        who = await http.get(f"{api.PREFIX}/whoami", headers=bearer("ci-token-0000000001"))
        assert who.json()["name"] == "ci-bot" and who.json()["role"] == "operator"
        # The environment's olga replaces the config's: the old token no longer works.
        assert (await http.get(f"{api.PREFIX}/whoami", headers=bearer(OLGA))).status_code == 401
        replaced = await http.get(f"{api.PREFIX}/whoami", headers=bearer("olga-new-token-0001"))
        assert replaced.json()["role"] == "viewer"
    monkeypatch.setenv("ERRORBUDGET_TOKENS", "bot:superuser:secret-secret-secret")
    with pytest.raises(ConfigError, match="entry 1 \\(bot\\): unknown role 'superuser'") as info:
        web_for(app)
    assert "secret-secret" not in str(info.value)


async def test_tokens_are_not_in_the_authenticators_repr(client: httpx.AsyncClient) -> None:
    state = client._transport.app.state  # type: ignore[attr-defined]
    assert "token" not in repr(state.auth).replace("tokens=", "")
    assert all(token not in repr(state.auth) for token in TOKENS.values())


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("/changes", {"service": "billing", "title": "x", "risk": "huge"}, ["body", "risk"]),
        ("/changes", {"service": "billing"}, ["body", "title"]),
        ("/changes", {"service": "billing", "title": "x", "titel": "y"}, ["body", "titel"]),
        (
            "/exclusions",
            {
                "slo": "payments",
                "start": "2026-11-20T03:00:00Z",
                "end": "2026-11-20T04:00:00",
                "category": "maintenance",
                "reason": "x",
            },
            ["body", "end"],
        ),
        ("/annotations", {"kind": "party", "text": "x"}, ["body", "kind"]),
        ("/changes/abc/approve", None, ["path", "change_id"]),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, path: str, body: Any, location: list[str]
) -> None:
    response = await client.post(api.PREFIX + path, json=body, headers=bearer(TOKENS["admin"]))
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [location]


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("/slos/answered/timeline?step=5x", ["query", "step"]),
        ("/slos/answered/timeline?segment=queue", ["query", "segment", 0]),
        ("/slos/answered/status?segment=sales", ["query", "segment", 0]),
        ("/status?at=2026-11-20T10:00:00", ["query", "at"]),
        ("/status?state=burning", ["query", "state", 0]),
        ("/slos/answered/series/sales", ["path", "segment"]),
        ("/changes?limit=0", ["query", "limit"]),
        ("/slos/answered/timeline?step=1m&start=2026-10-01T00:00Z", ["query", "step"]),
    ],
)
async def test_bad_queries_are_422_naming_the_parameter(
    client: httpx.AsyncClient, query: str, location: list[Any]
) -> None:
    response = await client.get(api.PREFIX + query, headers=bearer(TOKENS["viewer"]))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == location


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("GET", "/changes/999", None, 404, "there is no change with id 999"),
        ("GET", "/slos/nope", None, 404, "no SLO 'nope'"),
        ("GET", "/slos/answered/series/queue=nope", None, 404, "has no series queue=nope"),
        ("GET", "/slos/answered/timeline?segment=queue=nope", None, 404, "no stored series"),
        ("POST", "/exclusions/99/revoke", None, 404, "there is no exclusion with id 99"),
        ("POST", "/changes/999/approve", None, 404, "there is no change with id 999"),
        ("POST", "/gate/decide", {"service": "nope"}, 422, "no SLO in scope for service 'nope'"),
        (
            "POST",
            "/changes",
            {"service": "billing", "title": "x", "slos": ["answered"]},
            422,
            "SLO 'answered' belongs to service 'contact-center', not 'billing'",
        ),
        (
            "POST",
            "/exclusions",
            {
                "slo": "answered",
                "start": "2026-11-20T03:00:00Z",
                "end": "2026-11-20T02:00:00Z",
                "category": "maintenance",
                "reason": "x",
            },
            422,
            "an exclusion must end after it starts",
        ),
    ],
)
async def test_unknown_ids_and_unusable_requests_say_so(
    client: httpx.AsyncClient, method: str, path: str, body: Any, status: int, detail: str
) -> None:
    response = await call(client, method, path, body, TOKENS["admin"])
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


async def test_conflicts_are_409(client: httpx.AsyncClient) -> None:
    admin = bearer(TOKENS["admin"])
    first = await client.post(f"{api.PREFIX}/changes/1/approve", headers=admin)
    assert first.status_code == 200
    again = await client.post(f"{api.PREFIX}/changes/1/reject", headers=admin)
    assert again.status_code == 409 and "is approved" in again.json()["detail"]
    assert (
        await client.post(f"{api.PREFIX}/exclusions/1/revoke", headers=admin)
    ).status_code == 200
    twice = await client.post(f"{api.PREFIX}/exclusions/1/revoke", headers=admin)
    assert twice.status_code == 409 and "already revoked" in twice.json()["detail"]


# --- reads -------------------------------------------------------------------------------------


async def test_status_of_all_one_slo_and_one_series(client: httpx.AsyncClient) -> None:
    viewer = bearer(TOKENS["viewer"])
    everything = (await client.get(f"{api.PREFIX}/status", headers=viewer)).json()
    assert [(s["slo"], s["segment"]) for s in everything] == [
        ("answered", {}),
        ("answered", {"queue": "sales"}),
        ("answered", {"queue": "support"}),
        ("payments", {}),
        ("flows", {}),
    ]
    assert everything[3]["state"] == "freeze" and everything[3]["raw_total"] == 432000
    assert everything[3]["eligible"] == 432000 - 6000  # the fixture excludes an hour
    frozen = await client.get(f"{api.PREFIX}/status?state=freeze&state=exhausted", headers=viewer)
    assert [s["slo"] for s in frozen.json()] == ["payments", "flows"]
    one = await client.get(f"{api.PREFIX}/slos/answered/status?segment=queue=sales", headers=viewer)
    assert [s["segment"] for s in one.json()] == [{"queue": "sales"}]
    whole = await client.get(f"{api.PREFIX}/slos/answered/series/all", headers=viewer)
    assert whole.json() == everything[0]
    slo = (await client.get(f"{api.PREFIX}/slos/answered", headers=viewer)).json()
    assert slo["segment_keys"] == ["queue"] and slo["config"]["window"]["length"] == "7d"


async def test_conditions_per_series(client: httpx.AsyncClient) -> None:
    viewer = bearer(TOKENS["viewer"])
    found = (await client.get(f"{api.PREFIX}/conditions", headers=viewer)).json()
    assert len(found) == 5 and all(len(c["conditions"]) == 4 for c in found)
    firing = (await client.get(f"{api.PREFIX}/conditions?firing=true", headers=viewer)).json()
    # Factors scaled to the 7d window: 3.36 (1h/5m), 1.4 (6h/30m), 1 (1d/2h and 3d/6h).
    # billing burns at 1.5 for 12 hours (0.92 over 3 days); ivr at 2 everywhere.
    by_slo = {c["slo"]: [r["firing"] for r in c["conditions"]] for c in firing}
    assert by_slo == {"payments": [False, True, True, False], "flows": [False, True, True, True]}
    assert firing[0]["conditions"][1]["factor"] == pytest.approx(1.4)


async def test_timeline_points_are_statuses(app: App, client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"{api.PREFIX}/slos/payments/timeline?step=6h", headers=bearer(TOKENS["viewer"])
    )
    body = response.json()
    assert body["step"] == "6h" and len(body["points"]) == 121  # 30 days, both ends
    last = body["points"][-1]
    [status] = app.evaluations.status(slo_ids=["payments"])
    assert last["at"] == "2026-11-20T12:00:00Z"
    assert last["budget_remaining_ratio"] == pytest.approx(status.budget_remaining_ratio, abs=1e-6)
    assert last["burn_rates"]["6h"] == pytest.approx(status.burn_rates["6h"], abs=1e-6)
    assert last["eligible"] == 426000 and isinstance(last["eligible"], int)
    assert body["points"][0]["sli"] is None  # no data 30 days ago: never 0 or 100 %


async def test_annotations_and_exclusions_lists(client: httpx.AsyncClient) -> None:
    viewer = bearer(TOKENS["viewer"])
    exclusions = (await client.get(f"{api.PREFIX}/exclusions?slo=payments", headers=viewer)).json()
    assert [e["reason"] for e in exclusions] == ["window"]
    await client.post(
        f"{api.PREFIX}/annotations",
        json={"kind": "model", "text": "LLM v3", "slo": "answered", "at": "2026-11-20T08:00:00Z"},
        headers=bearer(OLGA),
    )
    notes = await client.get(
        f"{api.PREFIX}/annotations?slo=answered&start=2026-11-20T00:00:00Z&kind=model",
        headers=viewer,
    )
    assert [(n["text"], n["service"]) for n in notes.json()] == [("LLM v3", "contact-center")]


async def test_openapi_describes_every_route(app: App) -> None:
    transport = httpx.ASGITransport(app=create_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        document = (await http.get("/openapi.json")).json()
    paths = {p.removeprefix(api.PREFIX) for p in document["paths"] if p.startswith(api.PREFIX)}
    assert paths >= {
        "/whoami", "/status", "/slos", "/slos/{slo_id}", "/slos/{slo_id}/status",
        "/slos/{slo_id}/series/{segment}", "/slos/{slo_id}/timeline", "/conditions",
        "/exclusions", "/exclusions/{exclusion_id}/revoke", "/exclusions/{exclusion_id}/approve",
        "/exclusions/{exclusion_id}/reject", "/audit", "/annotations", "/changes",
        "/changes/{change_id}", "/changes/{change_id}/gate", "/changes/{change_id}/approve",
        "/changes/{change_id}/reject", "/changes/{change_id}/withdraw",
        "/changes/{change_id}/ship", "/gate/decide", "/gate/decisions", "/counts",
    }  # fmt: skip
    schemas = document["components"]["schemas"]
    assert "budget_remaining_ratio" in schemas["StatusOut"]["properties"]
    assert "HTTPBearer" in document["components"]["securitySchemes"]


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ("[{name: a, token: aaaaaaaaaaaa, role: viewer}]", "at least 16 characters"),
        ("[{name: a, token: aaaaaaaaaaaaaaaa, role: root}]", "role"),
        (
            "[{name: a, token: aaaaaaaaaaaaaaaa, role: viewer},"
            " {name: a, token: bbbbbbbbbbbbbbbb, role: admin}]",
            "token name(s) ['a'] are given more than once",
        ),
        (
            "[{name: a, token: aaaaaaaaaaaaaaaa, role: viewer},"
            " {name: b, token: aaaaaaaaaaaaaaaa, role: admin}]",
            "two tokens have the same value",
        ),
    ],
)
def test_token_config_is_validated(tokens: str, message: str) -> None:
    text = f"version: 1\nserver:\n  tokens: {tokens}\n"
    with pytest.raises(ConfigValidationError) as info:
        parse_config(text, "errorbudget.yaml")
    assert message in str(info.value)
    assert "aaaaaaaaaaaa" not in str(info.value)  # never echoed


def test_server_defaults_are_loopback() -> None:
    server = parse_config("version: 1\n").config.server
    assert (server.host, server.port, server.anonymous_read, server.tokens) == (
        "127.0.0.1",
        8787,
        False,
        [],
    )
