"""The event model: parsing NDJSON, JSON records and Parquet into one table, with every bad
event located (sources/events/model.py, docs/sources/events.md)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from errorbudget.sources.events.fields import DIMENSIONS, FIELDS, MAX_PROBLEMS, STAGES
from errorbudget.sources.events.model import (
    EVENT_SCHEMA,
    EventParseError,
    EventProblem,
    batch_duplicates,
    parse_ndjson,
    parse_parquet,
    parse_records,
)

T0 = "2026-12-01T10:00:00.250Z"
T0_MS = int(datetime(2026, 12, 1, 10, 0, 0, 250000, tzinfo=UTC).timestamp() * 1000)


def turn(**extra: object) -> dict[str, object]:
    return {"id": "t1", "type": "turn", "time": T0, "latency_ms": 900, **extra}


def ndjson(*events: dict[str, object]) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events) + b"\n"


def problems_of(parse: object, *args: object) -> list[tuple[int, str | None, str]]:
    with pytest.raises(EventParseError) as caught:
        parse(*args)  # type: ignore[operator]
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_schema_lists_every_field_and_line() -> None:
    assert EVENT_SCHEMA.names == [*FIELDS, "line"]
    assert EVENT_SCHEMA.field("time").type == pa.timestamp("ms", tz="UTC")
    assert all(f"{stage}_ms" in FIELDS for stage in STAGES)
    assert all(FIELDS[d].common and FIELDS[d].kind == "str" for d in DIMENSIONS)
    assert FIELDS["latency_ms"].types == {"turn"} and FIELDS["latency_ms"].required == {"turn"}


def test_ndjson_parses_each_type_with_defaults() -> None:
    data = ndjson(
        {"id": "c1", "type": "call", "time": T0, "connected": True, "flow": "billing"},
        turn(id="t1", asr_ms=120, error_stage="asr"),
        {"id": "k1", "type": "task", "time": T0, "outcome": "abandoned"},
        {"id": "k2", "type": "task", "time": T0, "outcome": "completed"},
        {"id": "e1", "type": "escalation", "time": T0, "required": True, "escalated": False},
        {"id": "s1", "type": "synthetic", "time": T0, "passed": True, "check": "booking"},
    )
    table = parse_ndjson(data)
    assert table.schema == EVENT_SCHEMA
    rows = table.to_pylist()
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]
    call, turn_row, abandoned, completed = rows[:4]
    assert call["route_correct"] is True and call["test"] is False and call["flow"] == "billing"
    assert call["tool_calls"] is None  # a turn's default, not a call's
    assert turn_row["tool_calls"] == 0 and turn_row["route_correct"] is None
    assert turn_row["time"] == datetime(2026, 12, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert abandoned["agent_caused"] is True and completed["agent_caused"] is False
    assert rows[5]["check"] == "booking" and rows[5]["passed"] is True


def test_time_offsets_and_epoch_ms_are_utc() -> None:
    table = parse_ndjson(ndjson(turn(time="2026-12-01T12:00:00.250+02:00")))
    assert table.column("time").cast(pa.int64()).to_pylist() == [T0_MS]
    table = parse_ndjson(ndjson(turn(time=T0_MS)))
    assert table.column("time").cast(pa.int64()).to_pylist() == [T0_MS]
    # sub-millisecond digits and mixed forms in one file take the slower path, same result
    mixed = ndjson(turn(id="a", time="2026-12-01T10:00:00.250999Z"), turn(id="b", time=T0_MS))
    assert parse_ndjson(mixed).column("time").cast(pa.int64()).to_pylist() == [T0_MS, T0_MS]


@pytest.mark.parametrize(
    ("time", "fragment"),
    [
        ("2026-12-01T10:00:00", "no UTC offset"),
        ("yesterday", "not an RFC 3339 time"),
        (-5, "before 1970"),
        (1.5, "must be an integer"),
        (True, "RFC 3339 string or epoch milliseconds"),
    ],
)
def test_bad_times_are_located(time: object, fragment: str) -> None:
    data = ndjson(turn(id="ok"), turn(id="bad", time=time))
    found = problems_of(parse_ndjson, data)
    assert [(line, field) for line, field, _ in found] == [(2, "time")]
    assert fragment in found[0][2]


def test_naive_parquet_timestamp_is_refused() -> None:
    buffer = io.BytesIO()
    naive = pa.array([datetime(2026, 12, 1, 10)], pa.timestamp("ms"))
    pq.write_table(
        pa.table({"id": ["a"], "type": ["turn"], "time": naive, "latency_ms": [5]}), buffer
    )
    buffer.seek(0)
    assert problems_of(parse_parquet, buffer)[0][:2] == (1, "time")


def test_every_bad_event_is_located_and_nothing_kept() -> None:
    data = (
        b"\n"  # a blank first line: lines still count from the file's first
        + ndjson(
            turn(id="a", latency_ms=-5, flw="billing"),
            {"id": "b", "type": "call", "time": T0, "latency_ms": 4, "connected": "yes"},
            {"id": "c", "type": "task", "time": T0, "outcome": "faild"},
            {"id": "d", "type": "turn", "time": T0},
            {"id": "e", "type": "chat", "time": T0},
        )
        + b"{broken\n"
    )
    found = problems_of(parse_ndjson, data)
    assert (2, "flw", "is not an event field (did you mean 'flow'?)") in found
    assert (2, "latency_ms", "must be ≥ 0 (got -5)") in found
    assert (3, "connected", "must be true or false (got a string)") in found
    assert (3, "latency_ms", "is not a field of call events (it belongs to turn)") in found
    assert any(p[:2] == (4, "outcome") and "did you mean 'failed'" in p[2] for p in found)
    assert any(p[:2] == (6, "type") and "is not one of call, turn" in p[2] for p in found)
    assert any(p[:2] == (7, None) and p[2].startswith("not JSON") for p in found)
    assert [p for p in found if p[0] == 5] == [(5, "latency_ms", "is required in every turn event")]
    assert [line for line, _, _ in found] == sorted(line for line, _, _ in found)


def test_fast_path_errors_locate_lines() -> None:
    """Uniform columns (Arrow's reader) still say which line is bad, blank lines counted."""
    data = ndjson(turn(id="a")) + b"\n\n" + ndjson(turn(id="b", latency_ms=-1))
    assert problems_of(parse_ndjson, data) == [(4, "latency_ms", "must be ≥ 0 (got -1)")]


def test_problems_are_capped_but_counted() -> None:
    events = [turn(id=f"e{i}", latency_ms=-1) for i in range(MAX_PROBLEMS + 5)]
    with pytest.raises(EventParseError) as caught:
        parse_records(events)
    assert len(caught.value.problems) == MAX_PROBLEMS
    assert caught.value.problem_count == MAX_PROBLEMS + 5
    assert str(caught.value).endswith(f"(and {MAX_PROBLEMS + 4:,} more)")
    assert str(EventProblem(3, "latency_ms", "x")) == "line 3: latency_ms: x"


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ({"audio_url": "javascript:alert(1)"}, "audio_url", "http(s) URL"),
        ({"flow": ""}, "flow", "1 to 200 characters"),
        ({"flow": "x" * 201}, "flow", "1 to 200 characters"),
        ({"flow": "a\nb"}, "flow", "one line"),
        ({"wer": -0.1}, "wer", "≥ 0"),
        ({"tool_calls": 1.5}, "tool_calls", "integer"),
        ({"error_stage": "gpu"}, "error_stage", "is not one of"),
        ({"flow": {"nested": 1}}, "flow", "must be a string (got an object)"),
        ({"id": None}, "id", "is required in every event"),
    ],
)
def test_field_values_are_checked(extra: dict[str, object], field: str, fragment: str) -> None:
    for parse, data in ((parse_records, [turn(**extra)]), (parse_ndjson, ndjson(turn(**extra)))):
        found = problems_of(parse, data)
        assert [(line, f) for line, f, _ in found] == [(1, field)], found
        assert fragment in found[0][2]


def test_integral_floats_are_integers_and_nulls_are_absent() -> None:
    table = parse_records([turn(latency_ms=900.0, tool_calls=None, asr_ms=None, test=None)])
    row = table.to_pylist()[0]
    assert row["latency_ms"] == 900 and row["tool_calls"] == 0 and row["test"] is False


def test_duplicate_ids_in_a_batch_keep_the_first() -> None:
    data = ndjson(turn(id="a", latency_ms=1), turn(id="b"), turn(id="a", latency_ms=2))
    table = parse_ndjson(data)
    assert table.column("id").to_pylist() == ["a", "b"]
    assert table.column("latency_ms").to_pylist() == [1, 900]
    assert table.column("line").to_pylist() == [1, 2]
    assert batch_duplicates(table) == 1
    assert batch_duplicates(parse_ndjson(ndjson(turn(id="x")))) == 0


def test_records_first_line_and_non_objects() -> None:
    table = parse_records([turn(id="a"), turn(id="b")], first_line=0)
    assert table.column("line").to_pylist() == [0, 1]
    assert problems_of(parse_records, [turn(), [1, 2]]) == [
        (2, None, "an event is a JSON object (got a list)")
    ]
    assert problems_of(parse_ndjson, b'{"id": "a"}\n[1]\n')[0] == (
        2,
        None,
        "an event is a JSON object (got a list)",
    )


def test_empty_inputs_give_empty_tables() -> None:
    for table in (parse_ndjson(b"\n \n"), parse_records([])):
        assert table.num_rows == 0 and table.schema == EVENT_SCHEMA


def test_parquet_columns_are_fields_with_any_compatible_types() -> None:
    buffer = io.BytesIO()
    times = pa.array([T0_MS, T0_MS + 1], pa.int64())
    pq.write_table(
        pa.table(
            {
                "id": ["a", "b"],
                "type": pa.array(["turn", "call"]).dictionary_encode(),
                "time": times,
                "latency_ms": pa.array([5, None], pa.int32()),
                "connected": [None, True],
            }
        ),
        buffer,
    )
    buffer.seek(0)
    table = parse_parquet(buffer)
    assert table.column("latency_ms").to_pylist() == [5, None]
    assert table.column("line").to_pylist() == [1, 2]
    assert table.column("route_correct").to_pylist() == [None, True]

    zoned = io.BytesIO()
    berlin = pa.array([T0_MS], pa.timestamp("ms", tz="Europe/Berlin"))
    pq.write_table(
        pa.table({"id": ["a"], "type": ["turn"], "time": berlin, "latency_ms": [1]}), zoned
    )
    zoned.seek(0)
    assert parse_parquet(zoned).column("time").cast(pa.int64()).to_pylist() == [T0_MS]


def test_parquet_unknown_column_is_named() -> None:
    buffer = io.BytesIO()
    table = pa.table({"id": ["a"], "type": ["turn"], "time": [T0_MS], "latncy_ms": [5]})
    pq.write_table(table, buffer)
    buffer.seek(0)
    found = problems_of(parse_parquet, buffer)
    assert found[0][:2] == (0, "latncy_ms") and "did you mean 'latency_ms'" in found[0][2]


def test_large_ndjson_is_read_in_blocks_and_still_located() -> None:
    """Past Arrow's block size the columns come in chunks: the same table, the same lines."""
    events = [turn(id=f"e{i}", flow=f"flow-{i % 7}", asr_ms=i % 900) for i in range(20_000)]
    data = ndjson(*events)
    assert len(data) > 2 << 20
    table = parse_ndjson(data)
    assert table.column("line").to_pylist() == list(range(1, 20_001))
    assert table.drop_columns(["line"]).equals(parse_records(events).drop_columns(["line"]))
    events[19_000]["asr_ms"] = -3
    events[5]["type"] = "turns"
    found = problems_of(parse_ndjson, ndjson(*events))
    assert [(line, field) for line, field, _ in found] == [(6, "type"), (19_001, "asr_ms")]
