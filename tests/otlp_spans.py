"""OTLP trace requests built span by span, for the receiver's tests (issue #12)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

T0 = 1_796_119_200_000_000_000
"""2026-12-01T10:00:00Z in nanoseconds."""
MS = 1_000_000


def any_value(value: Any) -> AnyValue:
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


@dataclass
class Trace:
    """Spans of one trace: ``span(...)`` returns the new span's id for its children."""

    number: int = 1
    spans: list[Span] = field(default_factory=list)

    @property
    def trace_id(self) -> bytes:
        return self.number.to_bytes(16, "big")

    def span(
        self,
        name: str,
        start_ms: float,
        end_ms: float,
        parent: bytes = b"",
        error: bool = False,
        **attributes: Any,
    ) -> bytes:
        span_id = (self.number * 10_000 + len(self.spans) + 1).to_bytes(8, "big")
        self.spans.append(
            Span(
                trace_id=self.trace_id,
                span_id=span_id,
                parent_span_id=parent,
                name=name,
                kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=T0 + int(start_ms * MS),
                end_time_unix_nano=T0 + int(end_ms * MS),
                attributes=key_values({k.replace("__", "."): v for k, v in attributes.items()}),
                status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK),
            )
        )
        return span_id


def request(*traces: Trace, resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    """One resource (with ``resource``'s attributes) holding every span of ``traces``."""
    built = ExportTraceServiceRequest()
    resource_spans = built.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or {}))
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "voice-agent"
    for trace in traces:
        scope.spans.extend(trace.spans)
    return built


def attrs(**values: Any) -> dict[str, Any]:
    """``attrs(voice__flow="billing")`` → ``{"voice.flow": "billing"}``."""
    return {key.replace("__", "."): value for key, value in values.items()}
