"""Review fixes of the event model (issue #12): linear location of unknown fields, times
within the store's range, durations bounded, and an event identified by (id, minute)."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from errorbudget.sources.events.fields import MAX_MS, MAX_TIME_MS, STAGES
from errorbudget.sources.events.model import (
    EventParseError,
    _read_json_columns,
    batch_duplicates,
    parse_ndjson,
    parse_parquet,
    parse_records,
)

CALL = {"type": "call", "time": 1_796_122_800_000, "connected": True}


class _CountingDict(dict[str, Any]):
    """A record that counts every look-up and walk of its keys."""

    touched = 0

    def __contains__(self, key: object) -> bool:
        _CountingDict.touched += 1
        return super().__contains__(key)

    def __iter__(self) -> Any:
        _CountingDict.touched += 1
        return super().__iter__()


def test_unknown_fields_are_located_in_one_pass_over_the_records() -> None:
    count = 2_000
    records = [_CountingDict(id=f"s{i}", **CALL, **{f"x{i}": 1}) for i in range(count)]
    _CountingDict.touched = 0
    with pytest.raises(EventParseError) as caught:
        parse_records(records)
    assert caught.value.problem_count == count
    assert caught.value.problems[0].field == "x0"
    assert caught.value.problems[0].message.startswith("is not an event field")
    # a scan per distinct name touches records count × count times (4,000,000 here)
    assert _CountingDict.touched < 20 * count


def test_ndjson_with_a_stray_key_is_not_read_into_an_inferred_column() -> None:
    data = orjson.dumps({"id": "a", **CALL, "stray": 1}) + b"\n"
    assert _read_json_columns(data) is None  # the line-by-line reader says where
    with pytest.raises(EventParseError) as caught:
        parse_ndjson(data)
    assert [(p.line, p.field) for p in caught.value.problems] == [(1, "stray")]


def test_max_problems_none_lists_every_problem() -> None:
    records = [{"id": f"s{i}", **CALL, "nope": 1} for i in range(1_500)]
    with pytest.raises(EventParseError) as limited:
        parse_records(records)
    with pytest.raises(EventParseError) as every:
        parse_records(records, max_problems=None)
    assert len(limited.value.problems) == 1_000
    assert len(every.value.problems) == every.value.problem_count == 1_500


@pytest.mark.parametrize(
    "time",
    ["2100-01-01T00:00:00Z", "2150-01-01T00:00:00.5Z", MAX_TIME_MS + 1, 253_402_300_799_999],
)
def test_times_from_2100_on_are_located_problems(time: object) -> None:
    with pytest.raises(EventParseError) as caught:
        parse_records([{"id": "a", **CALL, "time": time}])
    (problem,) = caught.value.problems
    assert problem.field == "time" and "after 2099" in problem.message


def test_the_last_millisecond_before_2100_is_a_time() -> None:
    table = parse_records([{"id": "a", **CALL, "time": "2099-12-31T23:59:59.999Z"}])
    assert table.column("time").cast("int64").to_pylist() == [MAX_TIME_MS]


def test_a_parquet_timestamp_after_2099_is_located(tmp_path: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "late.parquet"
    table = pa.table(
        {
            "id": ["a", "b"],
            "type": ["call", "call"],
            "time": pa.array([0, 4_200_000_000_000], pa.timestamp("ms", tz="UTC")),
            "connected": [True, True],
        }
    )
    pq.write_table(table, path)
    with pytest.raises(EventParseError) as caught:
        parse_parquet(path)
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "time")]


@pytest.mark.parametrize("field", ["latency_ms", *(f"{stage}_ms" for stage in STAGES)])
def test_turn_durations_are_at_most_a_day(field: str) -> None:
    turn = {"id": "t", "type": "turn", "time": 0, "latency_ms": 10}
    parse_records([{**turn, field: MAX_MS}])
    with pytest.raises(EventParseError) as caught:
        parse_records([{**turn, field: 2**62}])
    (problem,) = caught.value.problems
    assert problem.field == field and problem.message.startswith("must be ≤ 86,400,000")


def test_first_audio_is_at_most_a_day() -> None:
    with pytest.raises(EventParseError) as caught:
        parse_records([{"id": "a", **CALL, "first_audio_ms": MAX_MS + 1}])
    assert [p.field for p in caught.value.problems] == ["first_audio_ms"]


def test_a_resent_event_in_a_batch_is_dropped_as_a_duplicate() -> None:
    at = CALL["time"]
    table = parse_records(
        [{"id": "a", **CALL}, {"id": "a", **CALL, "time": at + 59_000}, {"id": "b", **CALL}]
    )
    assert table.column("id").to_pylist() == ["a", "b"]
    assert batch_duplicates(table) == 1


def test_the_same_id_at_another_minute_rejects_the_batch() -> None:
    records = [{"id": "a", **CALL}, {"id": "b", **CALL}, {"id": "a", **CALL, "time": 0}]
    with pytest.raises(EventParseError) as caught:
        parse_records(records)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (3, "id")
    assert problem.message == "id 'a' repeated with another time (line 1)"
    with pytest.raises(EventParseError):
        parse_ndjson(b"\n".join(orjson.dumps(r) for r in records))


def test_stage_sums_add_integers_exactly() -> None:
    from errorbudget.sources.events.fold import _sum

    groups = np.zeros(3, dtype=np.intp)
    values = np.asarray([2**53 - 1, 2, 2**40], dtype=np.int64)  # float64 would round
    assert _sum(groups, 1, values).tolist() == [2**53 + 1 + 2**40]
    assert _sum(np.asarray([0, 1, 1]), 2, np.asarray([True, True, False])).tolist() == [1, 1]
