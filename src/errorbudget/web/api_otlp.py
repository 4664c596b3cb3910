"""``POST /v1/traces``: OpenTelemetry traces in over OTLP/HTTP, as voice-agent events.

The OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp) on ``serve``:
point an OpenTelemetry exporter's traces endpoint at ``http://HOST:PORT/v1/traces`` with
``Authorization: Bearer <operator token>`` (``OTEL_EXPORTER_OTLP_HEADERS``).

- Bodies: ``application/x-protobuf`` or ``application/json`` (the OTLP JSON encoding), as
  sent or ``Content-Encoding: gzip``; another type is 415. The token is checked before the
  body is read (``web.admission``: 401); the body is capped while it streams and again once
  decompressed (``server.body_limits.ingest_body``: 413); an undecodable body is 400.
- Spans → events by the documented mapping (``sources/events/otlp.py``, docs/sources/otlp.md),
  parsed by the event model and ingested by the events ingest service, all in a worker
  thread: the event loop never decompresses, decodes or touches the store.
- Answer 200 with an ``ExportTraceServiceResponse`` in the request's encoding. Spans marked
  as events that cannot be taken (unmappable, or refused by the event model) are rejected
  by span, the others written: ``partial_success`` says how many were rejected and why, by
  span id. Spans that are not events are ignored, not errors; the counts are in the
  ``Errorbudget-Spans`` header (received, events, ignored, rejected, duplicates). Errors
  are a ``google.rpc.Status`` in the request's encoding (``web.otlp_wire``).
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from errorbudget.app import App
from errorbudget.sources.events.model import EventParseError
from errorbudget.sources.events.otlp import (
    MappedSpans,
    SpanRef,
    decode_request,
    encode_response,
    map_request,
    parse_spans,
    problems_text,
    reasons_by_line,
    span_count,
)
from errorbudget.web.admission import size_text
from errorbudget.web.api_common import EB
from errorbudget.web.auth import authenticator
from errorbudget.web.otlp_wire import (
    MEDIA_TYPES,
    TRACES_PATH,
    Encoding,
    encoding_of,
    media_type,
    status_response,
)

routes = APIRouter(tags=["otlp"])

_STATUS: dict[str, object] = {
    "description": "A google.rpc.Status, in the request's encoding.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
            }
        },
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
    },
}
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "An ExportTraceServiceResponse in the request's encoding "
        "(partialSuccess when spans were rejected).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **{code: _STATUS for code in (400, 401, 403, 413, 415, 503)},
}
_BODY = {
    "description": "An OTLP ExportTraceServiceRequest (protobuf, or the OTLP JSON encoding).",
    "content": {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object"}},
    },
    "required": True,
}


@routes.post(
    TRACES_PATH,
    summary="OTLP/HTTP traces as voice-agent events",
    response_class=Response,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _BODY},
)
async def export_traces(request: Request, app: EB) -> Response:
    """OpenTelemetry spans (OTLP/HTTP) → voice-agent events, by the mapping of
    docs/sources/otlp.md. Needs the operator role."""
    encoding = encoding_of(request.headers)
    if encoding is None:
        found = media_type(request.headers) or "no content type"
        known = " or ".join(MEDIA_TYPES)
        return status_response(415, f"send OTLP traces as {known}, not {found}", None)
    refused = _not_an_operator(request, encoding)
    if refused is not None:
        return refused
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    if coding not in ("gzip", "identity"):
        return status_response(415, f"Content-Encoding {coding!r}: send gzip or none", encoding)
    body = await request.body()  # capped while it streams (web.admission)
    cap = int(app.loaded.config.server.body_limits.ingest_body)
    return await run_in_threadpool(_export, app, body, encoding, coding == "gzip", cap)


def _not_an_operator(request: Request, encoding: Encoding) -> Response | None:
    """403 for a token below the operator role (web.admission has refused unknown ones)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    caller = authenticator(request).identify(token.strip()) if scheme.lower() == "bearer" else None
    if caller is None:
        message = "this needs an API token with the operator role"
        return status_response(401, message, encoding, {"WWW-Authenticate": "Bearer"})
    if not caller.allows("operator"):
        message = f"this needs the operator role; {caller.name} has the {caller.role} role"
        return status_response(403, message, encoding)
    return None


def _export(app: App, body: bytes, encoding: Encoding, gzipped: bool, cap: int) -> Response:
    """Decompress, decode, map, ingest and answer (in a worker thread)."""
    if gzipped:
        try:
            body = _gunzip(body, cap)
        except OverflowError:
            detail = (
                f"the decompressed body is larger than the limit of {size_text(cap)} "
                "(server.body_limits.ingest_body): send smaller batches"
            )
            return status_response(413, detail, encoding)
        except zlib.error as exc:
            return status_response(400, f"the body is not valid gzip: {exc}", encoding)
    try:
        request = decode_request(body, encoding)
    except ValueError as exc:
        return status_response(400, str(exc), encoding)
    spans = span_count(request)
    span_limit = app.loaded.config.events.max_request_spans
    if spans > span_limit:
        detail = (
            f"the request carries {spans:,} spans, more than events.max_request_spans "
            f"({span_limit:,}): send smaller batches"
        )
        return status_response(413, detail, encoding)
    mapped = map_request(request)
    limit = app.loaded.config.events.max_request_events
    if len(mapped.records) > limit:
        detail = (
            f"the request carries {len(mapped.records):,} event spans, more than "
            f"events.max_request_events ({limit:,}): send smaller batches"
        )
        return status_response(413, detail, encoding)
    written, duplicates, rejected = ingest_events(app, mapped)
    message = problems_text(rejected) if rejected else ""
    summary = (
        f"received={mapped.received} events={written} ignored={mapped.ignored} "
        f"rejected={len(rejected)} duplicates={duplicates}"
    )
    media = "application/x-protobuf" if encoding == "protobuf" else "application/json"
    return Response(
        encode_response(len(rejected), message, encoding),
        media_type=media,
        headers={"Errorbudget-Spans": summary},
    )


def _gunzip(body: bytes, cap: int) -> bytes:
    """The gzip body decompressed, every member of it (RFC 1952: a gzip file may be several
    members one after another); OverflowError past ``cap`` bytes in all (a small body may
    expand a thousandfold), zlib.error when it is not gzip or is cut short."""
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(rest, cap - size + 1)
        if size + len(out) > cap or inflater.unconsumed_tail:
            raise OverflowError(cap)
        out += inflater.flush()
        size += len(out)
        if size > cap:
            raise OverflowError(cap)
        if not inflater.eof:
            raise zlib.error("the gzip stream ends early")
        parts.append(out)
        rest = inflater.unused_data
        if not rest.strip(b"\0"):  # trailing zero padding is allowed after the last member
            return b"".join(parts)


def ingest_events(app: App, mapped: MappedSpans) -> tuple[int, int, list[tuple[SpanRef, str]]]:
    """Parse the mapped events and write them through the events ingest service (one
    transaction); the events written, the duplicates, and the spans rejected with why.
    Events the service refuses (older than ``events.retention``) are rejected by span and
    the rest written again: the service writes all or nothing, so nothing was kept."""
    table, sources, rejected = parse_spans(mapped)
    while table is not None and table.num_rows:
        try:
            report = app.events.ingest(table)
        except EventParseError as exc:
            reasons = reasons_by_line(exc, len(sources))
            if not reasons:
                lines = table.column("line").to_pylist()
                return 0, 0, rejected + [(sources[line - 1], str(exc)) for line in lines]
            rejected += [(sources[line - 1], text) for line, text in sorted(reasons.items())]
            lines = table.column("line").to_numpy()
            table = table.filter(pa.array(~np.isin(lines, list(reasons))))
            continue
        return report.written_events, report.duplicates, rejected
    return 0, 0, rejected


def register(web: FastAPI) -> None:
    """Add the OTLP receiver to ``web`` (called by ``web.app.create_app``)."""
    web.include_router(routes)
