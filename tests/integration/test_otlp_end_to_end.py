"""A real OpenTelemetry SDK exporting voice-agent traces to ``errorbudget serve`` over
OTLP/HTTP (issue #12, docs/sources/otlp.md).

The SDK's ``OTLPSpanExporter`` (protobuf, gzip, with ``Authorization: Bearer`` in its headers)
sends calls and turns with stage child spans through a ``BatchSpanProcessor`` to a real
``serve`` on 127.0.0.1; ``status --format json`` then counts exactly the events the spans
describe. The same spans, encoded as the OTel Collector's ``otlphttp`` exporter writes OTLP
JSON, give the same counts on a second server, and re-sent to the first are duplicates.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import serving
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

pytestmark = pytest.mark.integration

TOKEN = "otlp-operator-token-01"
CONFIG = f"""\
version: 1
store: {{path: store.db}}
server:
  tokens:
    - {{name: runtime, token: {TOKEN}, role: operator}}
slos:
  - id: connection
    service: voice-agent
    target: 0.995
    window: {{type: rolling, length: 7d}}
    indicator:
      source: events
      event: call
      good: {{connected: true}}
      exclude:
        - {{name: test-call, when: {{test: true}}}}
  - id: turn-latency
    service: voice-agent
    target: 0.95
    window: {{type: rolling, length: 7d}}
    segments: {{keys: [flow]}}
    indicator:
      source: events
      event: turn
      good: {{latency_ms: {{le: 1200}}}}
  - id: tool-turn-latency
    service: voice-agent
    target: 0.95
    window: {{type: rolling, length: 7d}}
    indicator:
      source: events
      event: turn
      eligible: {{tool_calls: {{gt: 0}}}}
      good: {{latency_ms: {{le: 2500}}}}
"""

NS = 1_000_000
FLOWS = ("billing", "faq")


def _emit(provider: TracerProvider, start: int) -> dict[str, Any]:
    """Eight calls (one not connected, one a test call), each with three turns whose
    latency, stages and tool calls vary; returns the counts status must show."""
    tracer = provider.get_tracer("voice-runtime")
    expected: dict[str, Any] = {
        "connection": [0, 0],
        "turn-latency": {flow: [0, 0] for flow in FLOWS},
        "tool": [0, 0],
    }
    for number in range(8):
        flow = FLOWS[number % 2]
        at = start + number * 120_000 * NS
        call = tracer.start_span("voice.call", start_time=at)
        call.set_attributes(
            {"voice.connected": number != 3, "voice.flow": flow, "voice.first_audio_ms": 700}
        )
        if number == 5:
            call.set_attribute("voice.test", True)  # excluded: not eligible
        else:
            expected["connection"][0] += number != 3
            expected["connection"][1] += 1
        context = set_span_in_context(call)
        for turn_number in range(3):
            turn_at = at + (5 + 10 * turn_number) * 1_000 * NS
            latency_ms = 600 + 400 * ((number + turn_number) % 4)  # 600 … 1800 ms
            tools = (number + turn_number) % 3 == 0
            turn = tracer.start_span("voice.turn", context=context, start_time=turn_at)
            turn.set_attribute("voice.flow", flow)
            below = set_span_in_context(turn)
            asr = tracer.start_span("asr", context=below, start_time=turn_at)
            asr.set_attribute("voice.stage", "asr")
            asr.end(end_time=turn_at + 150 * NS)
            chat = tracer.start_span("chat", context=below, start_time=turn_at + 150 * NS)
            chat.set_attributes(
                {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                 "gen_ai.request.model": "gpt-4o"}
            )  # fmt: skip
            if tools:
                tool = tracer.start_span(
                    "execute_tool", context=set_span_in_context(chat),
                    start_time=turn_at + 200 * NS,
                )  # fmt: skip
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_status(Status(StatusCode.OK))
                tool.end(end_time=turn_at + 300 * NS)
            chat.end(end_time=turn_at + (latency_ms - 100) * NS)
            turn.end(end_time=turn_at + latency_ms * NS)
            good = latency_ms <= 1200
            expected["turn-latency"][flow][0] += good
            expected["turn-latency"][flow][1] += 1
            if tools:
                expected["tool"][0] += latency_ms <= 2500
                expected["tool"][1] += 1
        call.end(end_time=at + 60_000 * NS)
    return expected


def _status(config: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[int, int]]:
    """(slo, segment) → (good, eligible) from ``errorbudget status --format json``."""
    done = subprocess.run(
        [sys.executable, "-m", "errorbudget", "status", "-c", str(config), "--format", "json"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    rows = json.loads(done.stdout)
    return {
        (row["slo"], tuple(sorted(row["segment"].items()))): (row["good"], row["eligible"])
        for row in rows
    }


def _otlp_json(spans: list[ReadableSpan]) -> bytes:
    """The spans as the Collector's otlphttp exporter (``encoding: json``) sends them."""
    data = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource in data["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(data).encode("utf-8")


def _world(folder: Path) -> Path:
    folder.mkdir()
    config = folder / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def test_the_sdk_exports_calls_and_turns_and_status_counts_them_exactly(tmp_path: Path) -> None:
    config = _world(tmp_path / "protobuf")
    start = time.time_ns() - 40 * 60 * 1_000_000_000  # 40 minutes ago
    with serving.serving(config) as served:
        exporter = OTLPSpanExporter(
            endpoint=f"{served.url}/v1/traces",
            headers={"Authorization": f"Bearer {TOKEN}"},
            compression=Compression.Gzip,
        )
        memory = InMemorySpanExporter()
        resource = Resource.create({"service.name": "voice-agent", "service.version": "2.4.1"})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        expected = _emit(provider, start)
        assert provider.force_flush(30_000)
        provider.shutdown()
        counts = _status(config)
        spans = list(memory.get_finished_spans())

        again = httpx.post(
            f"{served.url}/v1/traces", content=_otlp_json(spans),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )  # fmt: skip
        assert again.status_code == 200 and again.json() == {}
        assert again.headers["errorbudget-spans"] == (
            f"received={len(spans)} events=0 ignored={len(spans) - 32} rejected=0 duplicates=32"
        )
        assert _status(config) == counts  # re-sent spans are the same events

    connection_good, connection_total = expected["connection"]
    assert counts[("connection", ())] == (connection_good, connection_total) == (6, 7)
    for flow, (good, total) in expected["turn-latency"].items():
        assert counts[("turn-latency", (("flow", flow),))] == (good, total)
    assert sum(total for _, total in expected["turn-latency"].values()) == 24
    assert counts[("tool-turn-latency", ())] == tuple(expected["tool"])
    assert expected["tool"][1] > 0

    # The same spans in the OTLP JSON encoding, on a second server and store: the same counts.
    json_config = _world(tmp_path / "json")
    with serving.serving(json_config) as served:
        answer = httpx.post(
            f"{served.url}/v1/traces", content=_otlp_json(spans),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )  # fmt: skip
        assert answer.status_code == 200 and answer.json() == {}
        assert "events=32" in answer.headers["errorbudget-spans"]
    assert _status(json_config) == counts


def test_rejected_spans_are_named_and_the_others_written(tmp_path: Path) -> None:
    config = _world(tmp_path / "partial")
    now = datetime.now(tz=UTC) - timedelta(minutes=30)
    at = int(now.timestamp() * 1e9)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("voice-runtime")
    good = tracer.start_span("voice.call", start_time=at)
    good.set_attribute("voice.connected", True)
    good.end(end_time=at + NS)
    bad = tracer.start_span("voice.call", start_time=at)
    bad.set_attribute("voice.conected", True)  # misspelt: no such field
    bad.end(end_time=at + NS)
    body = encode_spans(list(memory.get_finished_spans())).SerializeToString()
    with serving.serving(config) as served:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        answer = httpx.post(
            f"{served.url}/v1/traces", content=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-protobuf"},
        )  # fmt: skip
        assert answer.status_code == 200
        partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
        assert partial.rejected_spans == 1
        bad_id = format(bad.get_span_context().span_id, "016x")
        assert partial.error_message.startswith(f"1 span rejected: span 'voice.call' {bad_id}")
        assert "conected" in partial.error_message
    assert _status(config)[("connection", ())] == (1, 1)
