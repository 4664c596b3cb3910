"""Who may call what: every route of the web app (derived from the app itself, so a new
route without an entry here fails) for every role — anonymous, viewer, operator, approver,
admin — answers 401, 403 or its success status exactly as the matrix says; and nobody
approves their own change or exclusion, whatever their role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from errorbudget.alert_records import AlertSignal, fingerprint
from errorbudget.app import App
from errorbudget.changes import ChangeRequest
from errorbudget.exclusions import ExclusionProposal
from errorbudget.web.app import create_app

pytestmark = pytest.mark.anyio

TOKENS = {
    "viewer": "viewer-token-000001",  # vic
    "operator": "operator-token-0002",  # otto, who submitted neither change 1 nor exclusion 2
    "approver": "approver-token-0001",  # vera
    "admin": "admin-token-0000001",  # ada
}
ROLES = ["anonymous", "viewer", "operator", "approver", "admin"]
RANKS = ROLES[1:]
NDJSON = b'{"time": "2026-11-20T11:00:00Z", "slo": "payments", "good": 9, "total": 10}\n'
EXCLUSION = {
    "slo": "payments",
    "start": "2026-11-20T03:00:00Z",
    "end": "2026-11-20T04:00:00Z",
    "category": "maintenance",
    "reason": "db upgrade",
}


@dataclass(frozen=True)
class Case:
    """One route: a request that succeeds for the roles allowed, the lowest role allowed
    (``public``: no token needed at all) and the success status. ``page``: a dashboard page,
    which answers a sign-in page (401) rather than a JSON 401."""

    path: str
    minimum: str
    success: int = 200
    body: Any = None
    page: bool = False
    otlp: bool = False
    """The OTLP receiver: errors are a ``google.rpc.Status`` (``message``), not ``detail``."""


PAGE_ALERT = fingerprint("ErrorBudgetBurn", "answered", (("queue", "sales"),), "page")
"""The alert firing in the ``app`` fixture."""
SILENCE = {"matchers": {"slo": "answered"}, "reason": "migration", "ends_at": "2099-01-01T00:00Z"}

# (method, route path as the app declares it) → a call of it
MATRIX: dict[tuple[str, str], Case] = {
    # operations and documentation: open to everyone (a probe or a browser has no token)
    ("GET", "/healthz"): Case("/healthz", "public"),
    ("GET", "/readyz"): Case("/readyz", "public"),
    # /metrics names every queue and budget: a reader's token unless server.metrics_auth: open
    ("GET", "/metrics"): Case("/metrics", "viewer"),
    ("GET", "/openapi.json"): Case("/openapi.json", "public"),
    ("GET", "/docs"): Case("/docs", "public"),
    ("GET", "/redoc"): Case("/redoc", "public"),
    ("GET", "/docs/assets/{name}"): Case("/docs/assets/swagger-ui.css", "public"),
    ("GET", "/favicon.ico"): Case("/favicon.ico", "public"),
    # the dashboard and its JSON twins: readers
    ("GET", "/"): Case("/", "viewer", page=True),
    ("GET", "/slos/{slo_id}"): Case("/slos/answered", "viewer", page=True),
    ("GET", "/changes"): Case("/changes", "viewer", page=True),
    ("GET", "/exec"): Case("/exec", "viewer", page=True),
    ("GET", "/api/v1/pages/overview"): Case("/api/v1/pages/overview", "viewer"),
    ("GET", "/api/v1/pages/slos/{slo_id}"): Case("/api/v1/pages/slos/answered", "viewer"),
    ("GET", "/api/v1/pages/changes"): Case("/api/v1/pages/changes", "viewer"),
    ("GET", "/api/v1/pages/exec"): Case("/api/v1/pages/exec", "viewer"),
    ("GET", "/slos/{slo_id}/voice"): Case("/slos/answered/voice", "viewer", page=True),
    ("GET", "/api/v1/pages/slos/{slo_id}/voice"): Case(
        "/api/v1/pages/slos/answered/voice", "viewer"
    ),
    ("GET", "/api/v1/slos/{slo_id}/voice"): Case("/api/v1/slos/answered/voice", "viewer"),
    ("GET", "/api/v1/voice/review-queue"): Case("/api/v1/voice/review-queue", "viewer"),
    ("GET", "/api/v1/voice/review-queue.jsonl"): Case("/api/v1/voice/review-queue.jsonl", "viewer"),
    # API reads
    ("GET", "/api/v1/whoami"): Case("/api/v1/whoami", "viewer"),
    ("GET", "/api/v1/status"): Case("/api/v1/status", "viewer"),
    ("GET", "/api/v1/slos"): Case("/api/v1/slos", "viewer"),
    ("GET", "/api/v1/slos/{slo_id}"): Case("/api/v1/slos/answered", "viewer"),
    ("GET", "/api/v1/slos/{slo_id}/status"): Case("/api/v1/slos/answered/status", "viewer"),
    ("GET", "/api/v1/slos/{slo_id}/series/{segment}"): Case(
        "/api/v1/slos/answered/series/queue=sales", "viewer"
    ),
    ("GET", "/api/v1/slos/{slo_id}/timeline"): Case(
        "/api/v1/slos/answered/timeline?step=6h", "viewer"
    ),
    ("GET", "/api/v1/slos/{slo_id}/backtest"): Case(
        "/api/v1/slos/answered/backtest?from=2026-11-18T12:00Z", "viewer"
    ),
    ("GET", "/api/v1/conditions"): Case("/api/v1/conditions", "viewer"),
    ("GET", "/api/v1/exclusions"): Case("/api/v1/exclusions", "viewer"),
    ("GET", "/api/v1/annotations"): Case("/api/v1/annotations", "viewer"),
    ("GET", "/api/v1/changes"): Case("/api/v1/changes", "viewer"),
    ("GET", "/api/v1/changes/{change_id}"): Case("/api/v1/changes/1", "viewer"),
    ("GET", "/api/v1/changes/{change_id}/gate"): Case("/api/v1/changes/1/gate", "viewer"),
    ("GET", "/api/v1/gate/decisions"): Case("/api/v1/gate/decisions", "viewer"),
    ("GET", "/api/v1/audit"): Case("/api/v1/audit?action=change.*&limit=5", "viewer"),
    ("GET", "/api/v1/alerts"): Case("/api/v1/alerts", "viewer"),
    ("GET", "/api/v1/alerts/{fingerprint}"): Case(f"/api/v1/alerts/{PAGE_ALERT}", "viewer"),
    ("GET", "/api/v1/alerts/history"): Case("/api/v1/alerts/history?slo=answered", "viewer"),
    ("GET", "/api/v1/silences"): Case("/api/v1/silences", "viewer"),
    ("GET", "/api/v1/notifications"): Case("/api/v1/notifications", "viewer"),
    # operator writes
    ("POST", "/api/v1/exclusions"): Case("/api/v1/exclusions", "operator", 201, EXCLUSION),
    ("POST", "/api/v1/exclusions/{exclusion_id}/revoke"): Case(
        "/api/v1/exclusions/1/revoke", "operator", body={"reason": "was not maintenance"}
    ),
    ("POST", "/api/v1/annotations"): Case(
        "/api/v1/annotations", "operator", 201, {"kind": "deploy", "text": "v2", "slo": "answered"}
    ),
    ("POST", "/api/v1/changes"): Case(
        "/api/v1/changes", "operator", 201, {"service": "billing", "title": "PSP"}
    ),
    ("POST", "/api/v1/changes/{change_id}/ship"): Case("/api/v1/changes/1/ship", "operator"),
    ("POST", "/api/v1/gate/decide"): Case(
        "/api/v1/gate/decide", "operator", body={"service": "billing", "risk": "high"}
    ),
    ("POST", "/api/v1/counts"): Case("/api/v1/counts", "operator", body=NDJSON),
    ("POST", "/api/v1/events"): Case(
        "/api/v1/events",
        "operator",
        body=[{"id": "c-1", "type": "call", "time": "2026-11-20T11:00:00Z", "connected": True}],
    ),
    ("POST", "/v1/traces"): Case("/v1/traces", "operator", body={}, otlp=True),
    ("POST", "/api/v1/alerts/{fingerprint}/acknowledge"): Case(
        f"/api/v1/alerts/{PAGE_ALERT}/acknowledge", "operator", body={"comment": "on it"}
    ),
    ("POST", "/api/v1/silences"): Case("/api/v1/silences", "operator", 201, SILENCE),
    ("POST", "/api/v1/silences/{silence_id}/expire"): Case("/api/v1/silences/1/expire", "operator"),
    # approver writes (on records someone else submitted)
    ("POST", "/api/v1/changes/{change_id}/approve"): Case(
        "/api/v1/changes/1/approve", "approver", body={"comment": "fine"}
    ),
    ("POST", "/api/v1/changes/{change_id}/reject"): Case(
        "/api/v1/changes/1/reject", "approver", body={"comment": "no"}
    ),
    ("POST", "/api/v1/exclusions/{exclusion_id}/approve"): Case(
        "/api/v1/exclusions/2/approve", "approver", body={"comment": "planned"}
    ),
    ("POST", "/api/v1/exclusions/{exclusion_id}/reject"): Case(
        "/api/v1/exclusions/2/reject", "approver"
    ),
    # admin: withdrawing someone else's change (its author may too; otto and vera may not)
    ("POST", "/api/v1/changes/{change_id}/withdraw"): Case(
        "/api/v1/changes/1/withdraw", "admin", body={"reason": "dup"}
    ),
}


def routes_of(web: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the web app answers, HEAD and OPTIONS aside: its OpenAPI
    document's operations, and the routes themselves — those left out of the schema too
    (dashboard pages, /docs), in included routers as well (newer FastAPI keeps those in
    ``original_router``). Static files are a mount (CSS, JS, icons, readable by all)."""
    found = {
        (method.upper(), path)
        for path, operations in web.openapi()["paths"].items()
        for method in operations
    }

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute | Route) and route.methods:
                found.update((m, route.path) for m in route.methods if m not in ("HEAD", "OPTIONS"))
            included = getattr(route, "original_router", None)
            if included is not None:
                walk(included.routes)

    walk(web.routes)
    return found


@pytest.fixture
def app(budget_world):  # type: ignore[no-untyped-def]
    """Change 1 (contact-center, healthy: allowed) submitted by olga; exclusion 1 approved
    (proposed by olga, approved by vera); exclusion 2 pending, proposed by olga; answered's
    page alert firing (``PAGE_ALERT``); silence 1, by olga."""
    with budget_world.open() as opened:
        now = opened.clock()
        page = AlertSignal(
            alertname="ErrorBudgetBurn", slo="answered", service="contact-center",
            segment=(("queue", "sales"),), severity="page", active=True,
        )  # fmt: skip
        opened.alerts.observe(opened.evaluations.now_minute() + 1, [page])
        opened.alerts.add_silence(
            matchers={"slo": "payments"}, author="olga", reason="r", ends_at=now.replace(year=2099)
        )
        opened.changes.submit(
            ChangeRequest(service="contact-center", title="greeting", submitted_by="olga")
        )
        window = dict(category="maintenance", reason="window", slo="payments")
        first = opened.records.propose_exclusion(
            ExclusionProposal(
                start=now.replace(hour=1), end=now.replace(hour=2), proposed_by="olga", **window
            )
        )
        opened.records.review_exclusion(
            first.id, decision="approve", reviewer="vera", role="approver"
        )
        opened.records.propose_exclusion(
            ExclusionProposal(
                start=now.replace(hour=5), end=now.replace(hour=6), proposed_by="olga", **window
            )
        )
        yield opened


async def call(client: httpx.AsyncClient, method: str, case: Case, role: str) -> httpx.Response:
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {TOKENS[role]}"}
    if isinstance(case.body, bytes):
        headers["Content-Type"] = "application/x-ndjson"
        return await client.request(method, case.path, content=case.body, headers=headers)
    return await client.request(method, case.path, json=case.body, headers=headers)


def expected(case: Case, role: str) -> int:
    if case.minimum == "public":
        return case.success
    if role == "anonymous":
        return 401
    return case.success if RANKS.index(role) >= RANKS.index(case.minimum) else 403


def test_every_route_has_a_matrix_entry(app: App) -> None:
    declared = routes_of(create_app(app))
    missing = sorted(declared - set(MATRIX))
    assert not missing, f"routes without an authorization-matrix entry: {missing}"
    stale = sorted(set(MATRIX) - declared)
    assert not stale, f"matrix entries for routes that do not exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "route"), sorted(MATRIX), ids=lambda v: str(v))
async def test_every_route_for_every_role(
    client: httpx.AsyncClient, method: str, route: str, role: str
) -> None:
    case = MATRIX[(method, route)]
    response = await call(client, method, case, role)
    assert response.status_code == expected(case, role), (role, response.text[:300])
    if response.status_code == 401:
        if case.page:
            assert "API token needed" in response.text
        else:
            assert response.headers["www-authenticate"] == "Bearer"
            assert "API token" in response.json()["message" if case.otlp else "detail"]
    if response.status_code == 403:
        assert response.json()["message" if case.otlp else "detail"]


def test_the_matrix_covers_every_role_of_every_route() -> None:
    # the check ("80 role × endpoint calls gave 0 violations") over all routes now
    assert len(MATRIX) * len(ROLES) >= 200
    assert {case.minimum for case in MATRIX.values()} == {
        "public", "viewer", "operator", "approver", "admin",
    }  # fmt: skip


# --- nobody approves their own record, whatever their role -----------------------------------


@pytest.mark.parametrize("role", ["approver", "admin"])
@pytest.mark.parametrize("verb", ["approve", "reject"])
async def test_nobody_approves_or_rejects_their_own_change(
    client: httpx.AsyncClient, role: str, verb: str
) -> None:
    me = {"Authorization": f"Bearer {TOKENS[role]}"}
    mine = await client.post(
        "/api/v1/changes", json={"service": "billing", "title": "x"}, headers=me
    )
    assert mine.status_code == 201
    change_id = mine.json()["id"]
    response = await client.post(f"/api/v1/changes/{change_id}/{verb}", headers=me)
    assert response.status_code == 403, response.text
    assert (
        "nobody may" in response.json()["detail"]
        and "their own change" in response.json()["detail"]
    )
    after = await client.get(f"/api/v1/changes/{change_id}", headers=me)
    assert after.json()["status"] == "pending" and after.json()["approvals"] == []


@pytest.mark.parametrize("role", ["approver", "admin"])
@pytest.mark.parametrize("verb", ["approve", "reject"])
async def test_nobody_approves_or_rejects_their_own_exclusion(
    client: httpx.AsyncClient, role: str, verb: str
) -> None:
    me = {"Authorization": f"Bearer {TOKENS[role]}"}
    mine = await client.post("/api/v1/exclusions", json=EXCLUSION, headers=me)
    assert mine.status_code == 201 and mine.json()["status"] == "pending"
    exclusion_id = mine.json()["id"]
    response = await client.post(f"/api/v1/exclusions/{exclusion_id}/{verb}", headers=me)
    assert response.status_code == 403, response.text
    assert "their own exclusion" in response.json()["detail"]
    [after] = [
        e
        for e in (await client.get("/api/v1/exclusions", headers=me)).json()
        if e["id"] == exclusion_id
    ]
    assert (after["status"], after["counted"], after["approved_by"]) == ("pending", False, None)
