"""OTLP spans → voice-agent events (sources/events/otlp.py, docs/sources/otlp.md), and the
two OTLP encodings decoded by one path (issue #12)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.datastructures import Headers

from errorbudget.sources.events.otlp import (
    decode_request,
    encode_response,
    map_request,
    parse_spans,
    problems_text,
)
from errorbudget.web.otlp_wire import encoding_of, status_response
from otlp_spans import T0, Trace, request

START_MS = T0 // 1_000_000


def _only(mapped_request: ExportTraceServiceRequest) -> dict[str, Any]:
    mapped = map_request(mapped_request)
    assert not mapped.rejected, mapped.rejected
    assert len(mapped.records) == 1, mapped.records
    return mapped.records[0]


def test_a_call_span_by_name_is_one_call_event_with_resource_dimensions() -> None:
    trace = Trace()
    trace.span(
        "voice.call", 250, 90_000, voice__connected=True, voice__first_audio_ms=640,
        voice__flow="billing", voice__end_reason="completed",
    )  # fmt: skip
    resource = {"service.name": "agent", "service.version": "2.4.1", "cloud.region": "eu-west-1"}
    record = _only(request(trace, resource=resource))
    assert record == {
        "id": f"{trace.trace_id.hex()}-{trace.spans[0].span_id.hex()}",  # unique across traces
        "type": "call",
        "time": START_MS + 250,  # a call's time is its start
        "trace_id": trace.trace_id.hex(),
        "span_id": trace.spans[0].span_id.hex(),
        "connected": True,
        "first_audio_ms": 640,
        "flow": "billing",
        "end_reason": "completed",
        "agent_version": "2.4.1",
        "region": "eu-west-1",
    }


def test_the_type_attribute_marks_any_span_and_the_id_attribute_names_the_event() -> None:
    trace = Trace()
    trace.span(
        "handle_task", 0, 5_000, voice__event__type="task", voice__event__id="task-7",
        voice__outcome="completed",
    )  # fmt: skip
    record = _only(request(trace))
    assert record["id"] == "task-7"
    assert record["type"] == "task"
    assert record["time"] == START_MS + 5_000  # a task's time is its end
    assert "event.type" not in record and "event.id" not in record


@pytest.mark.parametrize(
    ("kind", "fields", "at_end"),
    [
        ("escalation", {"voice.required": True, "voice.escalated": False}, True),
        ("synthetic", {"voice.passed": True, "voice.check": "greeting"}, True),
        ("call", {"voice.connected": False}, False),
    ],
)
def test_event_time_is_the_start_or_the_end_by_type(
    kind: str, fields: dict[str, Any], at_end: bool
) -> None:
    trace = Trace()
    trace.span(f"voice.{kind}", 100, 700, **{k.replace(".", "__"): v for k, v in fields.items()})
    record = _only(request(trace))
    assert record["time"] == START_MS + (700 if at_end else 100)
    assert {f"voice.{k}": v for k, v in record.items() if f"voice.{k}" in fields} == fields


def test_resource_voice_dimensions_fill_and_span_attributes_override() -> None:
    trace = Trace()
    trace.span(
        "voice.call", 0, 10, voice__connected=True, voice__flow="refunds",
        voice__agent_version="9.9",
    )  # fmt: skip
    resource = {"voice.flow": "billing", "voice.language": "es", "service.version": "2.4.1"}
    record = _only(request(trace, resource=resource))
    assert record["flow"] == "refunds"  # the span's own attribute wins
    assert record["agent_version"] == "9.9"  # over the resource's service.version
    assert record["language"] == "es"  # filled from the resource


def test_a_turn_takes_its_latency_from_its_duration_and_stages_from_spans_below_it() -> None:
    trace = Trace()
    call = trace.span("voice.call", 0, 60_000, voice__connected=True)
    turn = trace.span("voice.turn", 1_000, 2_100, parent=call, voice__flow="billing")
    trace.span("asr.finalize", 1_000, 1_180, parent=turn, voice__stage="asr")
    trace.span("asr.endpoint", 1_180, 1_200, parent=turn, voice__stage="asr")  # summed
    chat = trace.span(
        "chat gpt-4o", 1_200, 1_800, parent=turn, gen_ai__operation__name="chat",
        gen_ai__provider__name="openai", gen_ai__request__model="gpt-4o",
    )  # fmt: skip
    trace.span("POST /v1/chat", 1_210, 1_790, parent=chat, voice__stage="llm")  # not twice
    trace.span(
        "execute_tool lookup", 1_500, 1_650, parent=chat, gen_ai__operation__name="execute_tool"
    )  # a tool below the LLM span: its own stage
    trace.span("crm.fetch", 1_520, 1_600, parent=chat, voice__stage="crm", error=True)
    trace.span("tts.first_chunk", 1_800, 2_050, parent=turn, voice__stage="tts")
    trace.span("http GET", 1_900, 1_950, parent=turn)  # no stage: nothing
    mapped = map_request(request(trace))
    assert not mapped.rejected
    assert mapped.received == 10
    assert mapped.ignored == 8  # the stage spans and the HTTP span
    turn_record = next(r for r in mapped.records if r["type"] == "turn")
    assert turn_record == {
        "id": f"{trace.trace_id.hex()}-{turn.hex()}",
        "type": "turn",
        "time": START_MS + 1_000,  # end of the caller's speech: the turn span's start
        "trace_id": trace.trace_id.hex(),
        "span_id": turn.hex(),
        "latency_ms": 1_100,
        "asr_ms": 200,
        "llm_ms": 600,
        "tool_ms": 150,
        "crm_ms": 80,
        "tts_ms": 250,
        "tool_calls": 1,
        "error_stage": "crm",
        "model": "openai/gpt-4o",
        "flow": "billing",
    }


def test_turn_attributes_override_what_its_spans_say() -> None:
    trace = Trace()
    turn = trace.span(
        "voice.turn", 0, 900, voice__latency_ms=1_250, voice__llm_ms=400,
        voice__model="anthropic/claude", voice__tool_calls=3,
    )  # fmt: skip
    trace.span("llm", 0, 700, parent=turn, voice__stage="llm", gen_ai__request__model="x")
    record = _only(request(trace))
    assert record["latency_ms"] == 1_250
    assert record["llm_ms"] == 400
    assert record["model"] == "anthropic/claude"
    assert record["tool_calls"] == 3


def test_stage_spans_of_another_trace_or_below_a_nested_event_are_not_counted() -> None:
    first, second = Trace(1), Trace(2)
    turn = first.span("voice.turn", 0, 1_000)
    task = first.span("voice.task", 10, 900, parent=turn, voice__outcome="completed")
    first.span("tool below the task", 20, 300, parent=task, voice__stage="tool")
    second.span("same parent id, other trace", 0, 500, parent=turn, voice__stage="asr")
    mapped = map_request(request(first, second))
    turn_record = next(r for r in mapped.records if r["type"] == "turn")
    assert turn_record["tool_calls"] == 0
    assert "tool_ms" not in turn_record and "asr_ms" not in turn_record


def test_spans_that_are_not_events_are_ignored_and_bad_markers_are_rejected() -> None:
    trace = Trace()
    trace.span("GET /health", 0, 1)
    trace.span("voice.callz", 0, 1)  # not an event name: ignored
    bad = trace.span("x", 0, 1, voice__event__type="cal")
    mapped = map_request(request(trace))
    assert mapped.records == []
    assert mapped.received == 3 and mapped.ignored == 2
    [(ref, reason)] = mapped.rejected
    assert ref.span_id == bad.hex() and "voice.event.type is 'cal'" in reason
    assert problems_text(mapped.rejected).startswith("1 span rejected: span 'x' ")


def test_a_span_without_a_start_time_or_ending_before_it_starts_is_rejected() -> None:
    trace = Trace()
    trace.span("voice.turn", 5, 1)
    built = request(trace)
    no_start = built.resource_spans[0].scope_spans[0].spans.add()
    no_start.CopyFrom(trace.spans[0])
    no_start.span_id = b"\x00" * 7 + b"\x09"
    no_start.start_time_unix_nano = 0
    reasons = [reason for _, reason in map_request(built).rejected]
    assert reasons == ["the span ends before it starts", "the span has no start time"]


def test_problems_text_names_at_most_the_limit() -> None:
    trace = Trace()
    for _ in range(5):
        trace.span("s", 0, 1, voice__event__type="nope")
    text = problems_text(map_request(request(trace)).rejected, limit=2)
    assert text.startswith("5 spans rejected: ") and text.endswith("; and 3 more")
    assert text.count("voice.event.type is 'nope'") == 2


def test_events_the_model_refuses_are_rejected_by_span_and_the_others_parsed() -> None:
    trace = Trace()
    trace.span("voice.call", 0, 10, voice__connected=True, voice__flow="billing")
    misspelt = trace.span("voice.call", 0, 10, voice__conected=True)
    trace.span("voice.turn", 0, 900, voice__wer=-1.0)  # wer must not be negative
    misplaced = trace.span("voice.call", 0, 10, voice__connected=True, voice__latency_ms=5)
    trace.span("voice.turn", 100, 1_300, voice__flow="faq")
    unknown_type = trace.span("x", 0, 1, voice__event__type="handoff")
    table, sources, rejected = parse_spans(map_request(request(trace)))
    assert table is not None
    assert table.column("type").to_pylist() == ["call", "turn"]
    assert [sources[line - 1].span_id for line in table.column("line").to_pylist()] == [
        trace.spans[0].span_id.hex(),
        trace.spans[4].span_id.hex(),
    ]
    assert table.column("flow").to_pylist() == ["billing", "faq"]
    assert table.column("latency_ms").to_pylist() == [None, 1_200]
    by_span = {ref.span_id: reason for ref, reason in rejected}
    assert rejected[0][0].span_id == unknown_type.hex()  # the mapping's rejections first
    assert len(by_span) == 4
    assert by_span[misspelt.hex()].startswith("conected: is not an event field")
    assert "connected" in by_span[misspelt.hex()]  # did you mean
    assert by_span[misplaced.hex()].startswith("latency_ms: ")
    assert any(reason.startswith("wer: ") for reason in by_span.values())


def test_when_every_event_is_refused_there_is_no_table() -> None:
    trace = Trace()
    trace.span("voice.call", 0, 10)  # connected is required
    table, sources, rejected = parse_spans(map_request(request(trace)))
    assert table is None and sources == [] and len(rejected) == 1 and "connected" in rejected[0][1]


# -- the two encodings -----------------------------------------------------------------------


def _otlp_json(built: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP JSON encoding of ``built``, as the Collector's otlphttp exporter writes it:
    proto3 JSON (lowerCamelCase, int64 as strings, enums as ints) with hex ids."""
    data = json_format.MessageToDict(built, use_integers_for_enums=True)
    for resource in data["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return data


def _sample() -> ExportTraceServiceRequest:
    trace = Trace()
    call = trace.span("voice.call", 0, 9_000, voice__connected=True, voice__first_audio_ms=None)
    turn = trace.span("voice.turn", 1_000, 2_000, parent=call, voice__wer=0.125)
    trace.span("asr", 1_000, 1_300, parent=turn, voice__stage="asr")
    return request(trace, resource={"service.version": "1.0"})


def test_json_and_protobuf_bodies_decode_to_the_same_events() -> None:
    built = _sample()
    data = _otlp_json(built)
    span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert isinstance(span["startTimeUnixNano"], str)  # int64 as a string
    assert len(span["traceId"]) == 32  # hex, as OTLP JSON writes it
    from_json = decode_request(json.dumps(data).encode(), "json")
    from_protobuf = decode_request(built.SerializeToString(), "protobuf")
    assert from_json == from_protobuf == built
    assert map_request(from_json).records == map_request(built).records


def test_json_takes_snake_case_keys_and_ignores_unknown_fields() -> None:
    built = _sample()
    data = _otlp_json(built)
    span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["trace_id"] = span.pop("traceId")
    span["futureField"] = {"x": 1}
    assert decode_request(json.dumps(data).encode(), "json") == built


@pytest.mark.parametrize(
    ("body", "encoding", "says"),
    [
        (b"\xff\xff\xff", "protobuf", "not an OTLP ExportTraceServiceRequest"),
        (b"{", "json", "not JSON"),
        (b"[1]", "json", "not an OTLP JSON ExportTraceServiceRequest object"),
        (b'{"resourceSpans": 3}', "json", "not an OTLP JSON ExportTraceServiceRequest"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            "json",
            "traceId 'zz' is not 32 hex digits",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "0011"}]}]}]}',
            "json",
            "spanId '0011' is not 16 hex digits",
        ),
    ],
)
def test_undecodable_bodies_say_why(body: bytes, encoding: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        decode_request(body, encoding)


def test_responses_in_both_encodings() -> None:
    assert encode_response(0, "", "protobuf") == b""  # full success: no partial_success
    answer = encode_response(2, "2 spans rejected", "protobuf")
    parsed = ExportTraceServiceResponse.FromString(answer)
    assert parsed.partial_success.rejected_spans == 2
    assert parsed.partial_success.error_message == "2 spans rejected"
    as_json = json.loads(encode_response(2, "why", "json"))
    assert as_json == {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "why"}}
    assert json.loads(encode_response(0, "", "json")) == {}


def test_error_answers_are_google_rpc_status_in_the_request_encoding() -> None:
    message = "unknown API token — é" * 10  # a message longer than 127 bytes: 2-byte varint
    answer = status_response(401, message, "protobuf")
    status = status_pb2.Status.FromString(bytes(answer.body))
    assert (status.code, status.message) == (16, message)
    assert answer.media_type == "application/x-protobuf"
    as_json = json.loads(bytes(status_response(400, "bad", "json").body))
    assert as_json == {"code": 3, "message": "bad"}


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-protobuf", "protobuf"),
        ("Application/JSON; charset=utf-8", "json"),
        ("text/plain", None),
        ("", None),
    ],
)
def test_encoding_of_content_type(content_type: str, expected: str | None) -> None:
    assert encoding_of(Headers({"content-type": content_type})) == expected


# -- review fixes (issue #12) ----------------------------------------------------------------


def test_many_refused_spans_cost_two_parses_not_one_per_thousand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from errorbudget.sources.events import otlp

    trace = Trace()
    for index in range(3_000):
        trace.span("voice.call", 0, 10, voice__connected=True, **{f"voice__x{index}": 1})
    trace.span("voice.call", 0, 10, voice__connected=True)
    calls: list[int] = []
    real = otlp.parse_records

    def counting(records: Any, **options: Any) -> Any:
        calls.append(len(records))
        return real(records, **options)

    monkeypatch.setattr(otlp, "parse_records", counting)
    table, _, rejected = parse_spans(map_request(request(trace)))
    assert table is not None and table.num_rows == 1
    assert len(rejected) == 3_000
    assert calls == [3_001, 1]  # 1,000 problems listed a parse would need 4 parses


def test_the_default_event_id_is_unique_across_traces() -> None:
    first, second = Trace(number=1), Trace(number=2)
    first.span("voice.call", 0, 10, voice__connected=True)
    second.span("voice.call", 0, 10, voice__connected=True)
    second.spans[0].span_id = first.spans[0].span_id  # unique only within its trace
    records = map_request(request(first, second)).records
    assert len({record["id"] for record in records}) == 2


def test_deeply_nested_json_is_a_decoding_error_not_a_crash() -> None:
    body = b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ValueError, match="nested too deeply"):
        decode_request(body, "json")
