"""``POST /api/v1/events``: voice-agent events over HTTP (issue #12; docs/events-ingest.md).

The body is a JSON array of event objects (or ``{"events": [...]}``), or NDJSON. The
token is checked before the body is read (``web.admission``: 401 unread) and the body is
capped while it streams (``server.body_limits.events_body``, 413); a body with more than
``events.max_request_events`` events is answered 413 before it is parsed (counted from its
bytes: NDJSON lines, or JSON objects outside strings). The events
then go through the event ingest service in a worker thread (parsing and the store's
transaction never run on the event loop):

- any bad event: **422** with every problem located (``line`` = the array index + 1 or the
  NDJSON line, ``field``, ``message``), nothing written;
- otherwise **200** with what was written. Events are idempotent by id: a batch sent again
  answers 200 with its events counted as ``duplicates`` and writes nothing twice, so a
  client retries a timed-out request safely without an idempotency key.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from errorbudget.app import App
from errorbudget.schema.events import EventIngestOut
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import errors
from errorbudget.web.auth import Operator

routes = router("events")

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})

_BODY_SCHEMA = {
    "description": "Events: a JSON array of event objects, or NDJSON (one a line).",
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": {"type": "object", "additionalProperties": True}}
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
    "required": True,
}


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


@routes.post(
    "/events",
    response_model=EventIngestOut,
    summary="Ingest voice-agent events",
    openapi_extra={"requestBody": _BODY_SCHEMA},
    responses=errors(401, 403, 413, 415, 422, 503),
)
async def ingest_events(request: Request, app: EB, caller: Operator) -> JSONResponse:
    """Events (calls, turns, tasks, escalations, synthetic checks) folded into the counts
    of every events SLO; bad and excluded ones kept for review. Needs the operator role.
    Idempotent by event id (and minute): a re-sent event is counted in ``duplicates``."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES | NDJSON_TYPES:
        known = ", ".join(sorted(JSON_TYPES | NDJSON_TYPES))
        return _error(415, f"send the events as one of {known}, not {media or 'no content type'}")
    body = await request.body()  # at most server.body_limits.events_body (web.admission)
    if not body.strip():
        return _error(422, "the body is empty: send at least one event")
    return await run_in_threadpool(_answer, app, body, media in JSON_TYPES)


def _answer(app: App, body: bytes, is_json: bool) -> JSONResponse:
    """Parse and write the body's events (in a worker thread)."""
    from errorbudget.sources.events import EventParseError, parse_ndjson, parse_records

    cap = app.loaded.config.events.max_request_events
    try:
        if is_json:
            objects = _json_object_count(body, cap)
            if objects > cap:
                return _too_many(objects, cap)
            records = _json_events(body)
            table = parse_records(records)
        else:
            count = _ndjson_count(body, cap)
            if count > cap:
                return _too_many(count, cap)
            table = parse_ndjson(body)
        report = app.events.ingest(table)
    except EventParseError as exc:
        noun = "problem" if exc.problem_count == 1 else "problems"
        problems = [{"line": p.line, "field": p.field, "message": p.message} for p in exc.problems]
        return _error(422, f"nothing was written: {exc.problem_count:,} {noun}", problems=problems)
    except ValueError as exc:
        return _error(422, f"nothing was written: {exc}")
    return JSONResponse(EventIngestOut.of(report).model_dump())


def _too_many(count: int, cap: int) -> JSONResponse:
    return _error(
        413,
        f"the body has {count:,} events, more than the {cap:,} one request may send "
        "(events.max_request_events): split it",
    )


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _json_object_count(body: bytes, cap: int) -> int:
    """The JSON objects of ``body`` outside its strings (the ``{"events": ...}`` wrapper not
    counted), from the bytes, before anything is parsed: a small body of many tiny objects
    (``[{},{},…]``) would otherwise become millions of dicts. Counted exactly only when the
    braces may pass ``cap``; a valid body's events are flat objects, so this is their number."""
    upper = body.count(b"{")
    if upper <= cap:
        return upper
    outside = _JSON_STRING.sub(b"", body)
    wrapper = 1 if outside.lstrip().startswith(b"{") else 0
    return outside.count(b"{") - wrapper


def _json_events(body: bytes) -> list[dict[str, Any]]:
    """A JSON array of event objects (or ``{"events": [...]}``)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if isinstance(data, dict) and set(data) == {"events"}:
        data = data["events"]
    if not isinstance(data, list):
        raise ValueError('send a JSON array of event objects (or {"events": [...]})')
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"item {index + 1} of the array is not an event object")
    return data


def _ndjson_count(body: bytes, cap: int) -> int:
    """The number of events (non-blank lines), counted exactly only when it may pass ``cap``."""
    upper = body.count(b"\n") + 1
    if upper <= cap:
        return upper
    return sum(1 for line in body.split(b"\n") if line.strip())
