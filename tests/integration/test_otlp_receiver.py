"""``POST /v1/traces`` in process: the OTLP/HTTP answers (issue #12, docs/sources/otlp.md).

The token before the body (401 with the body unread), roles (403), content types (415),
undecodable bodies (400), caps as sent and once decompressed (413), every error a
``google.rpc.Status`` in the request's encoding."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from errorbudget.app import App
from errorbudget.web.otlp_wire import TRACES_PATH
from otlp_spans import T0, Trace, request

pytestmark = pytest.mark.anyio

OLGA = "Bearer operator-token-0001"
PROTOBUF = {"Authorization": OLGA, "Content-Type": "application/x-protobuf"}
JSON = {"Authorization": OLGA, "Content-Type": "application/json"}


@pytest.fixture
def app(budget_world) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """The seeded budget world, taking at most three events and six spans per request."""
    config = budget_world.config
    limits = "events: {max_request_events: 3, max_request_spans: 6}\n"
    config.write_text(config.read_text() + limits)
    with budget_world.open() as opened:
        yield opened


def _status(response: httpx.Response) -> tuple[int, str]:
    if response.headers["content-type"].startswith("application/x-protobuf"):
        status = status_pb2.Status.FromString(response.content)
        return status.code, status.message
    body = response.json()
    return body["code"], body["message"]


def _body() -> bytes:
    trace = Trace()
    trace.span("GET /", 0, 1)
    return request(trace).SerializeToString()


async def test_no_token_is_401_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    read = False

    async def body():  # type: ignore[no-untyped-def]
        nonlocal read
        read = True
        yield _body()

    headers = {"Content-Type": "application/x-protobuf"}
    response = await client.post(TRACES_PATH, content=body(), headers=headers)
    assert response.status_code == 401 and not read
    assert response.headers["www-authenticate"] == "Bearer"
    assert _status(response) == (16, "this needs an API token with the operator role")
    unknown = {**headers, "Authorization": "Bearer not-a-known-token-0000"}
    response = await client.post(TRACES_PATH, content=_body(), headers=unknown)
    assert response.status_code == 401 and _status(response) == (16, "unknown API token")
    response = await client.post(TRACES_PATH, content=b"{}", headers={"Content-Type": "x/y"})
    assert response.status_code == 401  # the token first, whatever the body


async def test_a_viewer_token_is_403(client: httpx.AsyncClient) -> None:
    vic = {**JSON, "Authorization": "Bearer viewer-token-000001"}
    response = await client.post(TRACES_PATH, content=b"{}", headers=vic)
    assert response.status_code == 403
    assert _status(response) == (7, "this needs the operator role; vic has the viewer role")


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"Content-Type": "text/plain"}, "not text/plain"),
        ({"Content-Type": "application/x-protobuf", "Content-Encoding": "br"}, "'br'"),
    ],
)
async def test_other_types_and_encodings_are_415(
    client: httpx.AsyncClient, headers: dict[str, str], says: str
) -> None:
    response = await client.post(
        TRACES_PATH, content=_body(), headers={"Authorization": OLGA, **headers}
    )
    assert response.status_code == 415
    code, message = _status(response)
    assert code == 3 and says in message


@pytest.mark.parametrize(
    ("headers", "body", "says"),
    [
        (PROTOBUF, b"\xff\xff\xff", "not an OTLP ExportTraceServiceRequest"),
        (JSON, b'{"resourceSpans": [', "not JSON"),
        ({**PROTOBUF, "Content-Encoding": "gzip"}, b"not gzip", "not valid gzip"),
        ({**PROTOBUF, "Content-Encoding": "gzip"}, gzip.compress(b"x" * 100)[:-9], "ends early"),
    ],
)
async def test_undecodable_bodies_are_400_in_the_request_encoding(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes, says: str
) -> None:
    response = await client.post(TRACES_PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(headers["Content-Type"])
    code, message = _status(response)
    assert code == 3 and says in message


async def test_bodies_over_the_cap_are_413_as_sent_and_once_decompressed(
    app,
    client: httpx.AsyncClient,  # type: ignore[no-untyped-def]
) -> None:
    cap = int(app.loaded.config.server.body_limits.ingest_body)
    response = await client.post(TRACES_PATH, content=b"\0" * (cap + 1), headers=PROTOBUF)
    assert response.status_code == 413
    assert "server.body_limits.ingest_body" in _status(response)[1]
    bomb = gzip.compress(b"\0" * (cap + 1))  # ~65 KiB expanding past the cap
    assert len(bomb) < cap // 100
    response = await client.post(
        TRACES_PATH, content=bomb, headers={**JSON, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    code, message = _status(response)
    assert code == 8 and "decompressed body is larger than the limit of 64 MiB" in message


async def test_spans_that_are_not_events_are_taken_and_counted(client: httpx.AsyncClient) -> None:
    response = await client.post(TRACES_PATH, content=_body(), headers=PROTOBUF)
    assert response.status_code == 200
    assert response.content == b""  # an ExportTraceServiceResponse with nothing to say
    assert response.headers["errorbudget-spans"] == (
        "received=1 events=0 ignored=1 rejected=0 duplicates=0"
    )
    response = await client.post(TRACES_PATH, content=json.dumps({}).encode(), headers=JSON)
    assert response.status_code == 200 and response.json() == {}


def _ms_before_now(app: App, delta: timedelta) -> float:
    """``delta`` before the app's clock, in ms after ``otlp_spans.T0``."""
    return ((app.clock() - delta).timestamp() * 1e9 - T0) / 1e6


async def test_events_past_the_retention_are_rejected_by_span_and_the_others_written(
    app: App, client: httpx.AsyncClient
) -> None:
    trace = Trace()
    old_at = _ms_before_now(app, timedelta(days=40))
    old = trace.span("voice.call", old_at, old_at + 10, voice__connected=True)
    recent = _ms_before_now(app, timedelta(hours=1))
    trace.span("voice.call", recent, recent + 10, voice__connected=True)
    trace.span("voice.call", recent, recent + 10, voice__event__type="call")  # no connected
    body = request(trace).SerializeToString()
    response = await client.post(TRACES_PATH, content=body, headers=PROTOBUF)
    assert response.status_code == 200
    assert response.headers["errorbudget-spans"] == (
        "received=3 events=1 ignored=0 rejected=2 duplicates=0"
    )
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 2
    assert partial.error_message.startswith("2 spans rejected: span 'voice.call' ")
    assert f"{old.hex()} (trace {trace.trace_id.hex()}): time: is older than the events" in (
        partial.error_message
    )
    assert "connected" in partial.error_message
    again = await client.post(TRACES_PATH, content=body, headers=PROTOBUF)
    assert again.headers["errorbudget-spans"] == (
        "received=3 events=0 ignored=0 rejected=2 duplicates=1"
    )


async def test_more_event_spans_than_max_request_events_is_413(
    client: httpx.AsyncClient,
) -> None:
    trace = Trace()
    for _ in range(4):
        trace.span("voice.synthetic", 0, 10, voice__passed=True)
    trace.span("GET /", 0, 1)
    response = await client.post(
        TRACES_PATH, content=request(trace).SerializeToString(), headers=PROTOBUF
    )
    assert response.status_code == 413
    assert "4 event spans, more than events.max_request_events (3)" in _status(response)[1]


async def test_more_spans_than_max_request_spans_is_413_before_mapping(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from errorbudget.web import api_otlp

    def refuse(*args: object) -> None:
        raise AssertionError("mapped")

    monkeypatch.setattr(api_otlp, "map_request", refuse)
    trace = Trace()
    for _ in range(7):
        trace.span("GET /", 0, 1)  # no event among them
    body = gzip.compress(request(trace).SerializeToString())
    headers = {**PROTOBUF, "Content-Encoding": "gzip"}
    response = await client.post(TRACES_PATH, content=body, headers=headers)
    assert response.status_code == 413
    assert "7 spans, more than events.max_request_spans (6)" in _status(response)[1]


async def test_future_spans_are_rejected_by_span_and_the_others_written(
    app: App, client: httpx.AsyncClient
) -> None:
    trace = Trace()
    recent = _ms_before_now(app, timedelta(minutes=10))
    trace.span("voice.call", recent, recent + 10, voice__connected=True)
    ahead = _ms_before_now(app, timedelta(hours=-2))
    future = trace.span("voice.call", ahead, ahead + 10, voice__connected=True)
    late = (4_200_000_000 * 10**9 - T0) / 1e6  # 2103
    beyond = trace.span("voice.call", late, late + 10, voice__connected=True)
    response = await client.post(
        TRACES_PATH, content=request(trace).SerializeToString(), headers=PROTOBUF
    )
    assert response.status_code == 200
    assert response.headers["errorbudget-spans"] == (
        "received=3 events=1 ignored=0 rejected=2 duplicates=0"
    )
    message = ExportTraceServiceResponse.FromString(response.content).partial_success.error_message
    assert f"{future.hex()} (trace {trace.trace_id.hex()}): time: is more than 1h after now" in (
        message
    )
    assert f"{beyond.hex()} (trace {trace.trace_id.hex()}): time: " in message


async def test_every_member_of_a_multi_member_gzip_body_is_read(
    app: App, client: httpx.AsyncClient
) -> None:
    members = b""
    for number in (1, 2):
        trace = Trace(number=number)
        at = _ms_before_now(app, timedelta(minutes=number))
        trace.span("voice.call", at, at + 10, voice__connected=True)
        members += gzip.compress(request(trace).SerializeToString())
    headers = {**PROTOBUF, "Content-Encoding": "gzip"}
    response = await client.post(TRACES_PATH, content=members, headers=headers)
    assert response.status_code == 200
    assert response.headers["errorbudget-spans"].startswith("received=2 events=2 ")
    cap = int(app.loaded.config.server.body_limits.ingest_body)
    half = gzip.compress(b"\0" * (cap // 2 + 1))
    response = await client.post(TRACES_PATH, content=half + half, headers=headers)
    assert response.status_code == 413  # the cap holds across members


async def test_deeply_nested_json_is_400(client: httpx.AsyncClient) -> None:
    body = b'{"resourceSpans": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = await client.post(TRACES_PATH, content=body, headers=JSON)
    assert response.status_code == 400
    assert _status(response) == (3, "the body is not OTLP JSON: it is nested too deeply")
