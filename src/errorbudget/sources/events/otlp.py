"""OpenTelemetry traces → voice-agent events: decoding OTLP requests and mapping spans.

Pure: bytes in, event records (plan #12's event format, as ``parse_records`` takes them) out;
nothing is stored here. The receiver (``web/api_otlp.py``, ``POST /v1/traces``) decodes a
request with :func:`decode_request`, maps it with :func:`map_request`, parses and ingests
the records, and answers with :func:`encode_response`.

Both OTLP/HTTP encodings take one path: the protobuf body is parsed by the generated
``ExportTraceServiceRequest`` class, the JSON body by the same class through
``google.protobuf.json_format`` after its hex trace and span ids are turned into the
base64 the proto3 JSON mapping expects for bytes (the OTLP JSON encoding's one deviation:
https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).

The mapping (docs/sources/otlp.md, the reference): a span is an event when its attribute
``voice.event.type`` or its name ``voice.<type>`` names an event type; every other span is
ignored, except as a stage of a turn: a turn's stage timings are the summed durations of
the spans below it in its trace whose ``voice.stage`` names a stage (GenAI semantic
convention spans count as ``llm``, ``execute_tool`` ones as ``tool``). Fields come from the
span's ``voice.<field>`` attributes, which override anything derived; dimensions missing on
the span are filled from the OpenTelemetry GenAI attributes and the resource.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from errorbudget.sources.events.fields import DIMENSIONS, EVENT_TYPES, STAGES
from errorbudget.sources.events.model import EventParseError, parse_records

Encoding = Literal["protobuf", "json"]

PREFIX = "voice."
TYPE_ATTRIBUTE = "voice.event.type"
ID_ATTRIBUTE = "voice.event.id"
STAGE_ATTRIBUTE = "voice.stage"
RESERVED = frozenset({TYPE_ATTRIBUTE, ID_ATTRIBUTE, STAGE_ATTRIBUTE})
"""``voice.`` attributes that say what a span is rather than carry an event field."""

SPAN_NAMES = {f"{PREFIX}{kind}": kind for kind in EVENT_TYPES}
"""Span names that make a span an event without ``voice.event.type``."""

TIME_AT_END = frozenset({"task", "escalation", "synthetic"})
"""Event types whose time is the span's end (the outcome, the decision, the check's result);
a call's is its start (the call starts) and a turn's its start (the caller stops speaking:
the turn span measures the response latency, end of caller speech → first agent audio)."""

RESOURCE_DIMENSIONS = {"service.version": "agent_version", "cloud.region": "region"}
"""Resource attributes of the OpenTelemetry semantic conventions that fill a dimension the
span leaves empty (after the resource's own ``voice.<dimension>``)."""

GEN_AI_MODEL = ("gen_ai.request.model", "gen_ai.response.model")
GEN_AI_PROVIDER = ("gen_ai.provider.name", "gen_ai.system")
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_TOOL_OPERATION = "execute_tool"


@dataclass(frozen=True, slots=True)
class SpanRef:
    """Which span an event came from, for the receiver's answer."""

    name: str
    trace_id: str
    span_id: str

    def text(self) -> str:
        return f"span {self.name!r} {self.span_id} (trace {self.trace_id})"


@dataclass(slots=True)
class MappedSpans:
    """A request's spans as events: ``records[i]`` came from ``sources[i]``."""

    received: int = 0
    """Spans in the request."""
    records: list[dict[str, Any]] = field(default_factory=list)
    sources: list[SpanRef] = field(default_factory=list)
    rejected: list[tuple[SpanRef, str]] = field(default_factory=list)
    """Spans marked as events that could not be mapped, with why."""

    @property
    def ignored(self) -> int:
        """Spans that are not voice events (stage spans, HTTP spans, …): not errors."""
        return self.received - len(self.records) - len(self.rejected)


# -- decoding --------------------------------------------------------------------------------


def decode_request(body: bytes, encoding: Encoding) -> ExportTraceServiceRequest:
    """The request in ``body``; ValueError with one sentence when it cannot be decoded."""
    request = ExportTraceServiceRequest()
    if encoding == "protobuf":
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise ValueError(f"the body is not an OTLP ExportTraceServiceRequest: {exc}") from exc
        return request
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ValueError("the body is not OTLP JSON: it is nested too deeply") from exc
    if not isinstance(data, dict):
        raise ValueError("the body is not an OTLP JSON ExportTraceServiceRequest object")
    _hex_ids_to_base64(data)
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except RecursionError as exc:
        raise ValueError("the body is not OTLP JSON: it is nested too deeply") from exc
    except json_format.ParseError as exc:
        raise ValueError(f"the body is not an OTLP JSON ExportTraceServiceRequest: {exc}") from exc
    return request


_ID_KEYS = {
    "traceId": 16,
    "trace_id": 16,
    "spanId": 8,
    "span_id": 8,
    "parentSpanId": 8,
    "parent_span_id": 8,
}


def _hex_ids_to_base64(data: dict[str, Any]) -> None:
    """OTLP JSON writes trace and span ids as hex; proto3 JSON reads bytes as base64."""
    for resource in _objects(data, "resourceSpans", "resource_spans"):
        for scope in _objects(resource, "scopeSpans", "scope_spans"):
            for span in _objects(scope, "spans"):
                _convert_ids(span)
                for link in _objects(span, "links"):
                    _convert_ids(link)


def _objects(parent: Any, *keys: str) -> Iterable[dict[str, Any]]:
    if not isinstance(parent, dict):
        return ()
    for key in keys:
        value = parent.get(key)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
    return ()


def _convert_ids(item: dict[str, Any]) -> None:
    for key, size in _ID_KEYS.items():
        value = item.get(key)
        if not isinstance(value, str) or not value:
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) != size:
            raise ValueError(f"{key} {value[:80]!r} is not {size * 2} hex digits")
        item[key] = base64.b64encode(raw).decode("ascii")


# -- answers ---------------------------------------------------------------------------------


def encode_response(rejected: int, message: str, encoding: Encoding) -> bytes:
    """An ``ExportTraceServiceResponse``: ``partial_success`` only when spans were rejected
    (or there is a warning to give), as the OTLP/HTTP specification asks."""
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if encoding == "protobuf":
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode("utf-8")


# -- mapping ---------------------------------------------------------------------------------


class _Span:
    """One span, classified once: its event type (or why its marker is refused), or else
    its stage; its attributes kept as OTLP values, converted only where they are read."""

    __slots__ = ("attributes", "kind", "model", "resource", "span", "stage")

    def __init__(self, span: Span, resource: Mapping[str, Any]) -> None:
        self.span = span
        self.resource = resource
        self.attributes: dict[str, AnyValue] = {kv.key: kv.value for kv in span.attributes}
        self.kind: str | _Rejected | None = None
        self.stage: str | None = None
        self.model: str | None = None
        marked = self.attributes.get(TYPE_ATTRIBUTE)
        if marked is not None:
            value = _value(marked)
            self.kind = (
                str(value)
                if value in EVENT_TYPES
                else _Rejected(
                    f"{TYPE_ATTRIBUTE} is {value!r}: it must be one of {', '.join(EVENT_TYPES)}"
                )
            )
        else:
            self.kind = SPAN_NAMES.get(span.name)
        if self.kind is None:
            self.stage = _stage(self.attributes)
            if self.stage == "llm":
                self.model = _gen_ai_model(self.attributes)

    def ref(self) -> SpanRef:
        span = self.span
        return SpanRef(span.name, span.trace_id.hex(), span.span_id.hex())

    def values(self) -> dict[str, Any]:
        return {key: _value(value) for key, value in self.attributes.items()}


@dataclass(frozen=True, slots=True)
class _Rejected:
    reason: str


def map_request(request: ExportTraceServiceRequest) -> MappedSpans:
    """Every span of ``request`` that is a voice event, as an event record."""
    mapped = MappedSpans()
    spans: list[_Span] = []
    for resource_spans in request.resource_spans:
        resource = _resource_dimensions(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            spans.extend(_Span(span, resource) for span in scope_spans.spans)
    mapped.received = len(spans)
    children: dict[bytes, list[_Span]] | None = None
    for item in spans:
        kind = item.kind
        if kind is None:
            continue
        ref = item.ref()
        if isinstance(kind, _Rejected):
            mapped.rejected.append((ref, kind.reason))
            continue
        if kind == "turn" and children is None:
            children = _children(spans)
        try:
            record = _record(item, kind, ref, children or {})
        except ValueError as exc:
            mapped.rejected.append((ref, str(exc)))
            continue
        mapped.records.append(record)
        mapped.sources.append(ref)
    return mapped


def _record(
    item: _Span, kind: str, ref: SpanRef, children: Mapping[bytes, list[_Span]]
) -> dict[str, Any]:
    span = item.span
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if start == 0:
        raise ValueError("the span has no start time")
    if end < start:
        raise ValueError("the span ends before it starts")
    record: dict[str, Any] = {
        "id": f"{ref.trace_id}-{ref.span_id}",
        "type": kind,
        "time": (end if kind in TIME_AT_END else start) // 1_000_000,
        "trace_id": ref.trace_id,
        "span_id": ref.span_id,
    }
    model = _gen_ai_model(item.attributes)
    if kind == "turn":
        record["latency_ms"] = _milliseconds(end - start)
        stages = _turn_stages(item, children)
        record.update(stages.fields())
        model = model or stages.model
    if model is not None:
        record["model"] = model
    for name, value in item.resource.items():
        record.setdefault(name, value)
    for key, value in item.values().items():
        if key == ID_ATTRIBUTE:
            record["id"] = value
        elif key.startswith(PREFIX) and key not in RESERVED:
            record[key[len(PREFIX) :]] = value
    return record


@dataclass(slots=True)
class _Stages:
    nanos: dict[str, int] = field(default_factory=dict)
    tool_calls: int = 0
    error_stage: str | None = None
    error_at: int = 0
    model: str | None = None
    model_at: int = 0

    def fields(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            f"{stage}_ms": _milliseconds(total) for stage, total in self.nanos.items()
        }
        found["tool_calls"] = self.tool_calls
        if self.error_stage is not None:
            found["error_stage"] = self.error_stage
        return found


def _turn_stages(turn: _Span, children: Mapping[bytes, list[_Span]]) -> _Stages:
    """Stage spans below the turn (not below a nested event span): durations summed per
    stage, a span counted only when no span between it and the turn has the same stage (an
    LLM span's own HTTP child tagged ``llm`` is not counted twice); ``tool_calls`` = the tool
    spans counted; ``error_stage`` = the stage of the earliest stage span whose status is
    ERROR; the model of the earliest GenAI span."""
    found = _Stages()
    trace = turn.span.trace_id
    nothing: frozenset[str] = frozenset()
    pending = [(child, nothing) for child in children.get(trace + turn.span.span_id, ())]
    while pending:
        item, above = pending.pop()
        if item.kind is not None:
            continue  # another event's spans are its own
        span = item.span
        stage = item.stage
        begins = span.start_time_unix_nano
        if stage is not None and stage not in above:
            duration = max(0, span.end_time_unix_nano - begins)
            found.nanos[stage] = found.nanos.get(stage, 0) + duration
            if stage == "tool":
                found.tool_calls += 1
            failed = span.status.code == Status.STATUS_CODE_ERROR
            if failed and (found.error_stage is None or begins < found.error_at):
                found.error_stage, found.error_at = stage, begins
        if item.model is not None and (found.model is None or begins < found.model_at):
            found.model, found.model_at = item.model, begins
        below = above | {stage} if stage is not None else above
        pending.extend((child, below) for child in children.get(trace + span.span_id, ()))
    return found


def _stage(attributes: Mapping[str, AnyValue]) -> str | None:
    marked = attributes.get(STAGE_ATTRIBUTE)
    if marked is not None:
        stage = _value(marked)
        if stage in STAGES:
            return str(stage)
    operation = attributes.get(GEN_AI_OPERATION)
    if operation is not None and _value(operation) == GEN_AI_TOOL_OPERATION:
        return "tool"
    if operation is not None or any(key in attributes for key in GEN_AI_MODEL):
        return "llm"
    return None


def _gen_ai_model(attributes: Mapping[str, AnyValue]) -> str | None:
    """``provider/model`` from the GenAI semantic conventions (``openai/gpt-4o``), or the
    model alone when no provider is named."""
    model = next((_value(attributes[key]) for key in GEN_AI_MODEL if key in attributes), None)
    if not isinstance(model, str) or not model:
        return None
    provider = next((_value(attributes[key]) for key in GEN_AI_PROVIDER if key in attributes), None)
    if isinstance(provider, str) and provider and "/" not in model:
        return f"{provider}/{model}"
    return model


def _children(spans: list[_Span]) -> dict[bytes, list[_Span]]:
    """Spans by (trace id + parent span id)."""
    children: dict[bytes, list[_Span]] = {}
    for item in spans:
        parent = item.span.parent_span_id
        if parent:
            children.setdefault(item.span.trace_id + parent, []).append(item)
    return children


def _resource_dimensions(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """Dimensions a resource gives every event of its spans: ``voice.<dimension>``, then
    the semantic conventions' ``service.version`` (agent_version), ``cloud.region``."""
    values = _attributes(attributes)
    found = {
        key[len(PREFIX) :]: value
        for key, value in values.items()
        if key.startswith(PREFIX) and key[len(PREFIX) :] in DIMENSIONS
    }
    for key, dimension in RESOURCE_DIMENSIONS.items():
        if key in values:
            found.setdefault(dimension, values[key])
    return found


def _attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    return {attribute.key: _value(attribute.value) for attribute in attributes}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _value(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode("ascii")
    return None


def _milliseconds(nanos: int) -> int:
    return (nanos + 500_000) // 1_000_000


def parse_spans(
    mapped: MappedSpans,
) -> tuple[pa.Table | None, list[SpanRef], list[tuple[SpanRef, str]]]:
    """The mapped events as the event model's table, the span of each of its ``line``s
    (``line`` n came from ``sources[n - 1]``), and every span rejected with why: the
    mapping's rejections, then the events ``parse_records`` refuses (each by its own
    problems; the others are parsed again without them, so one bad span never costs the
    request's good ones). Each parse lists every problem, so a second parse normally
    finishes: the work stays linear in the spans however many are bad. No table when no
    event is left."""
    records, sources = mapped.records, mapped.sources
    rejected = list(mapped.rejected)
    while records:
        try:
            return parse_records(records, max_problems=None), sources, rejected
        except EventParseError as exc:
            reasons = reasons_by_line(exc, len(records))
            if not reasons:  # a problem of the whole batch: no span can be told apart
                return None, [], rejected + [(source, str(exc)) for source in sources]
            rejected += [(sources[line - 1], text) for line, text in sorted(reasons.items())]
            records = [record for row, record in enumerate(records, 1) if row not in reasons]
            sources = [source for row, source in enumerate(sources, 1) if row not in reasons]
    return None, [], rejected


def span_count(request: ExportTraceServiceRequest) -> int:
    """The spans of a decoded request (counted before any is mapped)."""
    return sum(len(scope.spans) for res in request.resource_spans for scope in res.scope_spans)


def reasons_by_line(exc: EventParseError, lines: int) -> dict[int, str]:
    """The problems of ``exc`` joined per line (1 … ``lines``), ``field: message``."""
    reasons: dict[int, list[str]] = {}
    for problem in exc.problems:
        if 1 <= problem.line <= lines:
            text = f"{problem.field}: {problem.message}" if problem.field else problem.message
            reasons.setdefault(problem.line, []).append(text)
    return {line: "; ".join(texts) for line, texts in reasons.items()}


def problems_text(rejected: list[tuple[SpanRef, str]], *, limit: int = 20) -> str:
    """The partial-success message: how many spans were rejected, and why, by span."""
    count = len(rejected)
    noun = "span" if count == 1 else "spans"
    shown = "; ".join(f"{ref.text()}: {reason}" for ref, reason in rejected[:limit])
    more = f"; and {count - limit:,} more" if count > limit else ""
    return f"{count:,} {noun} rejected: {shown}{more}"
