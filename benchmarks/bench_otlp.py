"""The issue #12 OTLP benchmark: voice-agent traces into ``errorbudget serve`` over OTLP/HTTP.

A real ``errorbudget serve`` on 127.0.0.1 with three events SLOs (connection, turn latency,
tool-turn latency) receives ``POST /v1/traces`` requests of 512 spans each (the OpenTelemetry
SDKs' default export batch) from four concurrent keep-alive connections: calls, each with
four turns whose stage spans (ASR, a GenAI chat span, TTS, and a tool span on every other
turn) sit below them, as a voice runtime traces them — about one span in four is an event.
Measured: spans/s (and events/s) from the first request sent to the last answer, for the
protobuf encoding (what the SDK exporters send) and for OTLP JSON (the Collector's
``otlphttp`` with ``encoding: json``), each into a fresh store; the server's CPU time; and
that ``status`` then counts every call sent (the spans were really written).

Run by ``benchmarks/run.py --only otlp`` (``make bench``), or alone::

    python benchmarks/bench_otlp.py            # prints the section
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HEADING = "## Issue #12 — OTLP ingestion"
SPANS_PER_REQUEST = 512
CONNECTIONS = 4
TOKEN = "bench-operator-token-01"
TURNS_PER_CALL = 4
CONFIG = f"""\
version: 1
store: {{path: store.db}}
server:
  tokens: [{{name: runtime, token: {TOKEN}, role: operator}}]
slos:
  - id: connection
    service: voice-agent
    target: 0.995
    window: {{type: rolling, length: 7d}}
    indicator: {{source: events, event: call, good: {{connected: true}}}}
  - id: turn-latency
    service: voice-agent
    target: 0.95
    window: {{type: rolling, length: 7d}}
    segments: {{keys: [flow]}}
    indicator: {{source: events, event: turn, good: {{latency_ms: {{le: 1200}}}}}}
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


def build_requests(spans: int, seed: int) -> tuple[list[bytes], int, int]:
    """Protobuf ``ExportTraceServiceRequest`` bodies of about ``SPANS_PER_REQUEST`` spans
    (whole calls), the events in them, and the calls."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    def kv(key: str, value: Any) -> KeyValue:
        if isinstance(value, bool):
            return KeyValue(key=key, value=AnyValue(bool_value=value))
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=value))

    now = time.time_ns() - 65 * 60 * 1_000_000_000  # calls over 50 minutes, ending 15 ago
    ms = 1_000_000
    bodies: list[bytes] = []
    events = calls = made = 0
    ids = iter(range((seed << 40) + 1, (seed + 1) << 40))

    def add(out: Any, trace: bytes, name: str, parent: bytes, start: int, end: int,
            **attributes: Any) -> bytes:  # fmt: skip
        span_id = next(ids).to_bytes(8, "big")
        out.append(
            Span(
                trace_id=trace, span_id=span_id, parent_span_id=parent, name=name,
                kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start, end_time_unix_nano=end,
                attributes=[kv(k.replace("__", "."), v) for k, v in attributes.items()],
            )
        )  # fmt: skip
        return span_id

    while made < spans:
        request = ExportTraceServiceRequest()
        resource = request.resource_spans.add()
        resource.resource.attributes.extend(
            [kv("service.name", "voice-agent"), kv("service.version", "2.4.1")]
        )
        out = resource.scope_spans.add().spans
        while len(out) < SPANS_PER_REQUEST - 20 and made + len(out) < spans:
            calls += 1
            trace = next(ids).to_bytes(16, "big")
            at = now + (calls % 3000) * 1000 * ms
            flow = ("billing", "faq", "booking")[calls % 3]
            call = add(
                out, trace, "voice.call", b"", at, at + 90_000 * ms,
                voice__connected=calls % 97 != 0, voice__first_audio_ms=600 + calls % 900,
                voice__flow=flow,
            )  # fmt: skip
            events += 1
            for turn_number in range(TURNS_PER_CALL):
                start = at + (5 + 15 * turn_number) * 1000 * ms
                latency = 500 + (calls * 7 + turn_number * 131) % 1500
                end = start + latency * ms
                turn = add(out, trace, "voice.turn", call, start, end, voice__flow=flow)
                events += 1
                add(out, trace, "asr", turn, start, start + 120 * ms, voice__stage="asr")
                chat = add(
                    out, trace, "chat gpt-4o", turn, start + 120 * ms, end - 150 * ms,
                    gen_ai__operation__name="chat", gen_ai__provider__name="openai",
                    gen_ai__request__model="gpt-4o",
                )  # fmt: skip
                if turn_number % 2:
                    add(
                        out, trace, "execute_tool", chat, start + 200 * ms, start + 320 * ms,
                        gen_ai__operation__name="execute_tool",
                    )  # fmt: skip
                add(out, trace, "tts", turn, end - 150 * ms, end, voice__stage="tts")
        made += len(out)
        bodies.append(request.SerializeToString())
    return bodies, events, calls


def as_otlp_json(body: bytes) -> bytes:
    """A protobuf body re-encoded as OTLP JSON (hex ids, lowerCamelCase, int64 strings)."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    data = json_format.MessageToDict(
        ExportTraceServiceRequest.FromString(body), use_integers_for_enums=True
    )
    for resource in data["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(data).encode("utf-8")


async def send(url: str, bodies: list[bytes], media: str) -> tuple[float, list[str]]:
    """Post every body over ``CONNECTIONS`` keep-alive connections; seconds and summaries."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": media}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    summaries: list[str] = []
    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                answer = await client.post(url, content=body, headers=headers)
                if answer.status_code != 200 or answer.content not in (b"", b"{}"):
                    raise SystemExit(f"{answer.status_code}: {answer.text[:500]}")
                summaries.append(answer.headers["errorbudget-spans"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        return time.perf_counter() - started, summaries


def run_once(workdir: Path, bodies: list[bytes], media: str) -> dict[str, Any]:
    import web  # benchmarks/web.py: the server subprocess

    workdir.mkdir(parents=True)
    config = workdir / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    with web.Server("serve", config, workdir) as server:
        server.wait_ready()
        cpu_before = web.cpu_seconds(server.process.pid)
        seconds, summaries = asyncio.run(send(f"{server.base_url}/v1/traces", bodies, media))
        cpu_after = web.cpu_seconds(server.process.pid)
    counted = {
        key: sum(int(s.split(f"{key}=")[1].split()[0]) for s in summaries)
        for key in ("received", "events", "rejected", "duplicates")
    }
    status = subprocess.run(
        [sys.executable, "-m", "errorbudget", "status", "-c", str(config), "--format", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = json.loads(status.stdout)
    calls_counted = sum(
        r["eligible"] for r in rows if r["slo"] == "connection" and not r["segment"]
    )
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {"seconds": seconds, "cpu": cpu, "calls_counted": calls_counted, **counted}


def run_section(spans: int = 200_000) -> str:
    bodies, _, calls = build_requests(spans, seed=1)
    json_protobuf, json_events, _ = build_requests(spans // 4, seed=2)
    json_bodies = [as_otlp_json(body) for body in json_protobuf]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="errorbudget-bench-otlp-") as folder:
        proto = run_once(Path(folder) / "protobuf", bodies, "application/x-protobuf")
        as_json = run_once(Path(folder) / "json", json_bodies, "application/json")
    load_after = os.getloadavg()
    if proto["calls_counted"] != calls or proto["rejected"]:
        raise SystemExit(f"status counts {proto['calls_counted']} calls of {calls} sent: {proto}")
    rate = proto["received"] / proto["seconds"]
    protobuf_text = (
        f"**{rate:,.0f} spans/s** ({proto['received']:,} spans, {proto['events']:,} events in "
        f"{proto['seconds']:.1f} s; {proto['events'] / proto['seconds']:,.0f} events/s)"
    )
    json_text = (
        f"{as_json['received'] / as_json['seconds']:,.0f} spans/s ({as_json['received']:,} "
        f"spans, {json_events:,} events, {as_json['seconds']:.1f} s)"
    )
    size = sum(map(len, bodies)) / len(bodies) / 1024
    cpu = f"{proto['cpu']:.1f} s" if proto["cpu"] is not None else "n/a"
    return f"""{HEADING}

`benchmarks/bench_otlp.py`: a real `errorbudget serve` on 127.0.0.1 with three events SLOs
receives `POST /v1/traces` of {SPANS_PER_REQUEST} spans each (the SDKs' default export
batch) from {CONNECTIONS} concurrent keep-alive connections. Each call is one call span and
{TURNS_PER_CALL} turns, each turn with ASR, GenAI chat and TTS stage spans below it and a tool
span on every other turn (about one span in four is an event). Time from the first request
sent to the last answer; every request is decoded, mapped, parsed, deduplicated, folded and
written (one transaction each) before it is answered.

| measure | target | result |
|---|---|---|
| OTLP protobuf ingestion through `serve` | ≥ 20,000 spans/s | {protobuf_text} |
| OTLP JSON ingestion through `serve` | — | {json_text} |
| server CPU time, protobuf run | — | {cpu} for {proto["seconds"]:.1f} s of wall time |
| request size (protobuf) | — | {size:,.0f} KiB for {SPANS_PER_REQUEST} spans |
| calls counted by `status` afterwards | all sent | {proto["calls_counted"]:,} of {calls:,} |

Load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} (2 cores shared with
other work). The client (httpx, in this process) shares the machine's cores with the server.
"""


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(run_section(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
