"""Issue #8 on the JSON API: a corpus of bad requests, each a 422 (or 404) that names the
field and what is allowed, and nothing written; bounded work per request (timelines); one
write per idempotency key however many requests race for it."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from errorbudget.app import App
from errorbudget.changes import ChangeRequest
from errorbudget.exclusions import ExclusionProposal
from errorbudget.model import to_minute
from errorbudget.web.app import create_app

pytestmark = pytest.mark.anyio

OPERATOR = {"Authorization": "Bearer operator-token-0001"}
ADMIN = {"Authorization": "Bearer admin-token-0000001"}
EXCLUSION = {
    "slo": "payments",
    "start": "2026-11-20T03:00:00Z",
    "end": "2026-11-20T04:00:00Z",
    "category": "maintenance",
    "reason": "db upgrade",
}
RANGE = "outside the accepted range, 2000-01-01T00:00Z to 2100-01-01T00:00Z"


@pytest.fixture
def app(budget_world):  # type: ignore[no-untyped-def]
    with budget_world.open() as opened:
        opened.changes.submit(
            ChangeRequest(service="contact-center", title="greeting", submitted_by="olga")
        )
        yield opened


def _ndjson(total: int, good: int = 1) -> bytes:
    row = {"time": "2026-11-20T11:00:00Z", "slo": "payments", "good": good, "total": total}
    return (json.dumps(row) + "\n").encode()


# (name, method, path, json body or raw bytes, location (FastAPI's loc) or None, fragment)
BAD_REQUESTS: list[tuple[str, str, str, Any, list[Any] | None, str]] = [
    # times outside 2000..2100 (year 1 and 9999 were 500s or were stored)
    ("exclusion before 1970", "POST", "/exclusions",
     {**EXCLUSION, "start": "1960-01-01T00:00:00Z"}, ["body", "start"], RANGE),
    ("exclusion into 9999", "POST", "/exclusions",
     {**EXCLUSION, "end": "9999-12-31T00:00:00Z"}, ["body", "end"], RANGE),
    ("annotation in year 1", "POST", "/annotations",
     {"kind": "deploy", "text": "v2", "at": "0001-01-01T00:00:00Z"}, ["body", "at"], RANGE),
    ("annotation in 9999", "POST", "/annotations",
     {"kind": "deploy", "text": "v2", "at": "9999-12-31T23:59:59Z"}, ["body", "at"], RANGE),
    ("status at year 1", "GET", "/status?at=0001-01-01T00:00:00Z", None, ["query", "at"], RANGE),
    ("status at 9999", "GET", "/status?at=9999-12-31T23:59:00Z", None, ["query", "at"], RANGE),
    ("ship in 2100", "POST", "/changes/1/ship", {"at": "2100-01-01T00:00:00Z"},
     ["body", "at"], RANGE),
    ("annotations from year 1", "GET", "/annotations?start=0001-01-01T00:00:00Z", None,
     ["query", "start"], RANGE),
    # ids past SQLite's integers (were 500s)
    ("change id 2**63", "GET", "/changes/9223372036854775808", None,
     ["path", "change_id"], "less than or equal to 9223372036854775807"),
    ("revoke id 10**20", "POST", "/exclusions/99999999999999999999/revoke", None,
     ["path", "exclusion_id"], "less than or equal to"),
    ("change id 0", "GET", "/changes/0/gate", None, ["path", "change_id"], "greater than"),
    # text no store can hold, blank text, empty names, too many pairs
    ("lone surrogate", "POST", "/annotations",
     b'{"kind": "deploy", "text": "\\ud800"}', ["body", "text"], "a valid string"),
    ("lone surrogate in a segment", "POST", "/changes",
     b'{"service": "billing", "title": "x", "segment": {"q": "\\udfff"}}',
     ["body", "segment", "q"], "a valid string"),
    ("blank annotation", "POST", "/annotations", {"kind": "deploy", "text": "   "},
     ["body", "text"], "the text is blank"),
    ("blank title", "POST", "/changes", {"service": "billing", "title": "\t"},
     ["body", "title"], "the text is blank"),
    ("blank reason", "POST", "/exclusions", {**EXCLUSION, "reason": " "},
     ["body", "reason"], "the text is blank"),
    ("empty segment value", "POST", "/changes",
     {"service": "billing", "title": "x", "segment": {"queue": ""}},
     ["body", "segment", "queue"], "at least 1 character"),
    ("control character in a segment key", "POST", "/exclusions",
     {**EXCLUSION, "segment": {"qu\u0000eue": "x"}}, ["body", "segment", "qu\u0000eue", "[key]"],
     "should match pattern"),
    ("21 segment pairs", "POST", "/gate/decide",
     {"service": "billing", "segment": {f"k{i}": "v" for i in range(21)}}, ["body", "segment"],
     "at most 20 items"),
    ("101 SLOs in scope", "POST", "/changes",
     {"service": "billing", "title": "x", "slos": ["payments"] * 101}, ["body", "slos"],
     "at most 100 items"),
    ("a 201-character service", "POST", "/gate/decide", {"service": "s" * 201},
     ["body", "service"], "at most 200 characters"),
    # timelines: bounded work (100000d took 74 s and 19 GB; 1000000d a 36 GiB allocation)
    ("step 100000d", "GET", "/slos/payments/timeline?step=100000d", None, ["query", "step"],
     "a step is a whole number of minutes from 1m to 31d"),
    ("step 1000000d", "GET", "/slos/payments/timeline?step=1000000d", None, ["query", "step"],
     "from 1m to 31d"),
    ("step of 20 digits", "GET", "/slos/payments/timeline?step=99999999999999999999d", None,
     ["query", "step"], "should match pattern"),
    ("step 30s", "GET", "/slos/payments/timeline?step=30s", None, ["query", "step"],
     "from 1m to 31d"),
    ("401 days", "GET",
     "/slos/payments/timeline?step=1d&start=2025-01-01T00:00:00Z&end=2026-02-06T00:00:00Z",
     None, ["query", "start"], "at most 400 days"),
    ("end before start", "GET",
     "/slos/payments/timeline?start=2026-11-02T00:00:00Z&end=2026-11-01T00:00:00Z",
     None, ["query", "end"], "end is before start"),
    ("5,001 points", "GET", "/slos/payments/timeline?step=5m&start=2026-11-01T00:00:00Z"
     "&end=2026-11-18T09:20:00Z", None, ["query", "step"], "at most 5,000"),
    # page sizes and filters
    ("annotations limit 100000", "GET", "/annotations?limit=100000", None,
     ["query", "limit"], "less than or equal to 10000"),
    ("exclusions limit 0", "GET", "/exclusions?limit=0", None, ["query", "limit"], "greater"),
    ("changes limit 1001", "GET", "/changes?limit=1001", None, ["query", "limit"], "1000"),
    ("21 segment filters", "GET",
     "/slos/answered/status?" + "&".join(f"segment=k{i}=v" for i in range(21)), None,
     ["query", "segment"], "at most 20 items"),
    ("a typo in a filter", "GET", "/changes?sevice=billing", None, ["query", "sevice"],
     "unknown query parameter (did you mean 'service'?)"),
    ("a filter given twice", "GET", "/gate/decisions?service=a&service=b", None,
     ["query", "service"], "given more than once"),
    ("a page's unknown parameter", "GET", "/api/v1/pages/overview?refesh=5", None,
     ["query", "refesh"], "did you mean 'refresh'"),
    ("a page's segment of 9000 characters", "GET",
     "/api/v1/pages/slos/answered?segment=" + "q" * 9000, None, ["query", "segment"],
     "at most"),
    # counts bodies: the cap on the JSON path, CR-only line ends (a traceback before)
    ("JSON count past int64", "POST", "/counts", [
        {"time": "2026-11-20T11:00:00Z", "slo": "payments", "good": 1, "total": 10**30}],
     None, "total 1000000000000000000000000000000 is more than 1,000,000,000"),
    ("NDJSON count at int64 max", "POST", "/counts", _ndjson(2**63 - 1), None,
     "total 9223372036854775807 is more than 1,000,000,000"),
    ("CSV with CR line ends", "POST", "/counts",
     b"time,slo,good,total\r2026-11-20T11:00:00Z,payments,1,2\r", None,
     "the line ends with a carriage return (CR) alone"),
]  # fmt: skip


async def _send(client: httpx.AsyncClient, method: str, path: str, body: Any) -> httpx.Response:
    url = path if path.startswith("/api/v1/pages") else "/api/v1" + path
    headers = dict(ADMIN)
    if isinstance(body, bytes):
        kind = "text/csv" if body.startswith(b"time,") else "application/x-ndjson"
        kind = "application/json" if body.startswith(b"{") and path != "/counts" else kind
        return await client.request(
            method, url, content=body, headers={**headers, "Content-Type": kind}
        )
    return await client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "body", "location", "fragment"),
    [pytest.param(m, p, b, loc, f, id=name) for name, m, p, b, loc, f in BAD_REQUESTS],
)
async def test_every_bad_request_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    app: App,
    method: str,
    path: str,
    body: Any,
    location: list[Any] | None,
    fragment: str,
) -> None:
    before = (app.store.revision(), len(app.store.audit_log(limit=1000)))
    response = await _send(client, method, path, body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    if location is None:  # a counts body: the problem by line
        problems = response.json()["problems"]
        assert problems[0]["line"] == 1 and fragment in problems[0]["message"], problems
    else:
        found = [e for e in detail if e["loc"] == location]
        assert found and fragment in found[0]["msg"], detail
    assert (app.store.revision(), len(app.store.audit_log(limit=1000))) == before


async def test_an_exclusion_from_the_cli_path_is_held_to_the_range_too(app: App) -> None:
    from errorbudget.errors import InvalidRequestError

    now = app.clock()
    with pytest.raises(InvalidRequestError, match=r"the exclusion's start: .* outside"):
        app.records.propose_exclusion(
            ExclusionProposal(
                slo="payments",
                start=now.replace(year=1969),
                end=now,
                category="other",
                reason="x",
                proposed_by="olga",
            )
        )


# --- bounded work -------------------------------------------------------------------------------


async def test_a_long_timeline_of_many_series_reads_in_bounded_memory(tmp_path: Path) -> None:
    """The largest grid a timeline may read: a 7m step (one-minute bins) over 24 days of a
    400-day window, for 40 series. Reading 32 series at once took ~1 GB; a request now
    reads as many series as fit 2 M cells."""
    config = tmp_path / "errorbudget.yaml"
    config.write_text(
        "version: 1\nstore: {path: eb.db}\nserver: {anonymous_read: true}\nslos:\n"
        "  - {id: yearly, service: s, target: 0.9, window: {type: rolling, length: 400d},"
        " segments: {keys: [queue]}}\n",
        encoding="utf-8",
    )
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with App.open(config, clock=lambda: at) as app:
        ids = app.store.series_ids("yearly", [(("queue", f"q{i}"),) for i in range(40)])
        minute = to_minute(at) - 60
        app.store.write_counts(ids, np.full(40, minute), np.ones(40, int), np.full(40, 2))
        transport = httpx.ASGITransport(app=create_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tracemalloc.start()
            try:
                response = await client.get(
                    "/api/v1/slos/yearly/timeline?step=7m&start=2026-10-27T12:00:00Z"
                    "&end=2026-11-20T12:00:00Z"
                )
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    assert response.status_code == 200, response.text
    points = response.json()["points"]
    assert len(points) == 4938 and points[-1]["eligible"] == 80
    assert peak < 300 << 20, f"{peak / 2**20:.0f} MiB"


# --- idempotency keys under concurrency ------------------------------------------------------


def _body(total: int) -> bytes:
    row = {"time": "2026-11-21T10:00:00Z", "slo": "answered", "queue": "sales", "good": 1}
    return (json.dumps({**row, "total": total}) + "\n").encode()


async def _race(client: httpx.AsyncClient, bodies: list[bytes]) -> list[httpx.Response]:
    headers = {**OPERATOR, "Content-Type": "application/x-ndjson", "Idempotency-Key": "k-1"}
    return list(
        await asyncio.gather(
            *(client.post("/api/v1/counts", content=body, headers=headers) for body in bodies)
        )
    )


def _stored_total(app: App) -> float:
    [series] = app.store.series_ids("answered", [(("queue", "sales"),)], create=False)
    minute = 29_920_920  # 2026-11-21T10:00Z
    return float(app.store.minute_arrays([series], minute, minute + 1)[1][0, 0])


async def test_of_20_racing_bodies_under_one_key_exactly_one_is_written(
    app: App, client: httpx.AsyncClient
) -> None:
    responses = await _race(client, [_body(total) for total in range(10, 30)])
    written = [r for r in responses if r.status_code == 200]
    assert len(written) == 1, [r.status_code for r in responses]
    assert sorted(r.status_code for r in responses if r is not written[0]) == [409] * 19
    winner = responses.index(written[0])
    assert _stored_total(app) == float(10 + winner)


async def test_of_20_racing_copies_under_one_key_one_writes_and_19_replay(
    app: App, client: httpx.AsyncClient
) -> None:
    responses = await _race(client, [_body(12)] * 20)
    assert [r.status_code for r in responses] == [200] * 20
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == 19 and replayed.count(None) == 1
    assert len({r.text for r in responses}) == 1
    assert _stored_total(app) == 12.0
