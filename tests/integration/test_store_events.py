"""``EventRecords`` (issue #12), held against every store backend through the protocol:
claimed event ids, kept events, hourly rollups that add up, and pruning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from errorbudget.errors import StoreError
from errorbudget.event_records import DimensionCount, KeptBatch, StageSum
from errorbudget.store import Store

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60
H0 = M0 - M0 % 60


@pytest.fixture
def store_clock() -> Callable[[], datetime]:
    return lambda: T0


def test_claims_are_new_once_per_id_and_minute(store: Store) -> None:
    first = store.claim_event_ids(["a", "b", "c"], [M0, M0, M0 + 1])
    assert first.tolist() == [True, True, True]
    again = store.claim_event_ids(["c", "d", "a", "d"], [M0 + 1, M0 + 1, M0, M0 + 1])
    assert again.tolist() == [False, True, False, False]  # the second "d" repeats the first
    assert store.claim_event_ids(["a"], [M0 + 5]).tolist() == [True]  # another minute


def test_claims_in_any_order_are_kept_by_their_minute(store: Store) -> None:
    assert store.claim_event_ids(["x", "y", "z", "w"], [M0 + 2, M0, M0 + 2, M0 + 1]).all()
    for event_id, minute in (("x", M0 + 2), ("y", M0), ("z", M0 + 2), ("w", M0 + 1)):
        assert store.claim_event_ids([event_id], [minute]).tolist() == [False]
    assert store.claim_event_ids(["y", "x"], [M0 + 2, M0]).tolist() == [True, True]


def test_claims_compare_whole_ids_however_long_or_unusual(store: Store) -> None:
    ids = ["x" * 200, "é" * 200, "x" * 199, "line\nbreak", "ü", "😀"]
    assert store.claim_event_ids(ids, [M0] * len(ids)).all()
    assert not store.claim_event_ids(ids, [M0] * len(ids)).any()
    assert store.claim_event_ids(["x" * 198, "e" * 200], [M0, M0]).all()


def test_claims_take_arrow_arrays_and_many_minutes(store: Store) -> None:
    ids = pa.chunked_array([[f"e{i}" for i in range(500)], [f"e{i}" for i in range(500, 1000)]])
    minutes = [M0 + i // 7 for i in range(1000)]
    assert int(store.claim_event_ids(ids, minutes).sum()) == 1000
    mixed = pa.array([f"e{i}" for i in range(990, 1010)]).dictionary_encode()
    new = store.claim_event_ids(mixed, [M0 + i // 7 for i in range(990, 1010)])
    assert new.tolist() == [False] * 10 + [True] * 10


def test_a_rolled_back_transaction_forgets_its_claims(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        assert store.claim_event_ids(["a", "b"], [M0, M0]).all()
        raise RuntimeError("the write failed")
    assert store.claim_event_ids(["a", "b"], [M0, M0]).all()


def test_bad_claims_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="same length"):
        store.claim_event_ids(["a", "b"], [M0])
    with pytest.raises(StoreError, match="missing"):
        store.claim_event_ids(pa.array(["a", None]), [M0, M0])
    assert store.claim_event_ids([], []).tolist() == []


def _events(*events: dict[str, object]) -> pa.Table:
    """Events as the parser gives them: ``time`` a UTC timestamp, a ``line`` column."""
    rows = [{"type": "turn", **event, "line": i + 1} for i, event in enumerate(events)]
    names = list(dict.fromkeys(name for row in rows for name in row))
    table = pa.table({name: [row.get(name) for row in rows] for name in names})
    millis = pa.array([int(event["time"]) for event in events], pa.int64())  # type: ignore[call-overload]
    index = table.column_names.index("time")
    return table.set_column(index, "time", millis.cast(pa.timestamp("ms", tz="UTC")))


def _at(minute: int, seconds: int = 0) -> int:
    return minute * 60_000 + seconds * 1000


def test_kept_events_are_read_by_slo_range_verdict_and_segment(store: Store) -> None:
    spanish, english = store.series_ids(
        "turn-latency", [(("flow", "billing"), ("language", "es")), (("flow", "faq"),)]
    )
    batch = KeptBatch(
        events=_events(
            {
                "id": "t1",
                "time": _at(M0),
                "latency_ms": 3100,
                "asr_ms": 900,
                "flow": "billing",
                "trace_id": "ab",
            },
            {"id": "t2", "time": _at(M0 + 1), "latency_ms": 800, "test": True, "flow": "faq"},
            {
                "id": "t3",
                "time": _at(M0 + 70, 5),
                "latency_ms": 2900,
                "error_stage": "llm",
                "audio_url": "https://a/3",
            },
        ),
        series=[spanish, english, spanish],
        verdicts=["bad", "excluded", "bad"],
        exclusions=[None, "test-call", None],
    )
    assert store.save_kept_events("turn-latency", batch) == 3
    kept = store.kept_events("turn-latency", M0, M0 + 120)
    assert [k.event_id for k in kept] == ["t3", "t2", "t1"]  # newest first
    first = kept[-1]
    assert first.segment == {"flow": "billing", "language": "es"}
    assert (first.series, first.minute, first.verdict, first.exclusion) == (
        spanish,
        M0,
        "bad",
        None,
    )
    assert first.time == T0 and first.type == "turn" and first.trace_id == "ab"
    assert first.latency_ms == 3100 and first.stages["asr"] == 900 and first.stages["llm"] is None
    assert first.dimensions["flow"] == "billing" and first.dimensions["model"] == "unknown"
    assert "line" not in first.event and first.event["time"] == _at(M0)
    assert kept[0].error_stage == "llm" and kept[0].audio_url == "https://a/3"
    assert kept[0].minute == M0 + 70
    assert kept[1].exclusion == "test-call" and kept[1].event["test"] is True
    bad = store.kept_events("turn-latency", M0, M0 + 120, verdict="bad")
    assert [k.event_id for k in bad] == ["t3", "t1"]
    by_flow = store.kept_events("turn-latency", M0, M0 + 120, segment={"flow": "faq"})
    assert [k.event_id for k in by_flow] == ["t2"]
    assert [k.event_id for k in store.kept_events("turn-latency", M0 + 1, M0 + 2)] == ["t2"]
    assert [k.event_id for k in store.kept_events("turn-latency", M0 + 70, M0 + 71)] == ["t3"]
    assert len(store.kept_events("turn-latency", M0, M0 + 120, limit=1)) == 1
    assert store.kept_events("other-slo", M0, M0 + 120) == []
    assert store.kept_events("turn-latency", M0, M0 + 120, segment={"flow": "nope"}) == []
    # a later write of the same hour adds a chunk; reads merge them
    store.save_kept_events(
        "turn-latency",
        KeptBatch(
            events=_events({"id": "t4", "time": _at(M0, 30), "model": "openai/gpt-4o"}),
            series=[english],
            verdicts=["bad"],
            exclusions=[None],
        ),
    )
    merged = store.kept_events("turn-latency", M0, M0 + 1)
    assert [k.event_id for k in merged] == ["t4", "t1"]
    assert merged[0].dimensions["model"] == "openai/gpt-4o" and merged[1].trace_id == "ab"


def test_kept_events_need_known_series_verdicts_and_times(store: Store) -> None:
    [series] = store.series_ids("s", [()])
    events = _events({"id": "e", "time": _at(M0)})
    with pytest.raises(StoreError, match="verdict"):
        store.save_kept_events("s", KeptBatch(events, [series], ["fine"], [None]))  # type: ignore[list-item]
    with pytest.raises(StoreError, match="unknown series"):
        store.save_kept_events("s", KeptBatch(events, [series + 99], ["bad"], [None]))
    with pytest.raises(StoreError, match="time"):
        store.save_kept_events(
            "s", KeptBatch(events.drop_columns(["time"]), [series], ["bad"], [None])
        )
    with pytest.raises(ValueError, match="same length"):
        KeptBatch(events, [series, series], ["bad"], [None])


def _dimensions(*rows: tuple[int, str, str, str, int, int, int, int]) -> pa.Table:
    names = ["hour", "flow", "dimension", "value", "eligible", "bad", "excluded", "excluded_bad"]
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})


def test_dimension_counts_add_up_per_hour_flow_dimension_and_value(store: Store) -> None:
    rows = _dimensions(
        (H0, "billing", "model", "openai/gpt-4o", 10, 2, 1, 1),
        (H0, "billing", "flow", "billing", 10, 2, 1, 1),
        (H0 + 60, "faq", "model", "openai/gpt-4o", 5, 0, 0, 0),
    )
    assert store.add_dimension_counts("turn", rows) == 3
    store.add_dimension_counts(
        "turn", _dimensions((H0, "billing", "model", "openai/gpt-4o", 4, 1, 2, 0))
    )
    store.add_dimension_counts("other", _dimensions((H0, "billing", "model", "x", 1, 1, 0, 0)))
    assert store.dimension_counts("turn", H0, H0 + 120) == [
        DimensionCount(H0, "billing", "flow", "billing", 10, 2, 1, 1),
        DimensionCount(H0, "billing", "model", "openai/gpt-4o", 14, 3, 3, 1),
        DimensionCount(H0 + 60, "faq", "model", "openai/gpt-4o", 5, 0, 0, 0),
    ]
    assert [d.flow for d in store.dimension_counts("turn", H0, H0 + 120, flow="faq")] == ["faq"]
    assert len(store.dimension_counts("turn", H0, H0 + 120, dimension="model")) == 2
    assert len(store.dimension_counts("turn", H0 + 60, H0 + 120)) == 1
    with pytest.raises(StoreError, match="lack the column"):
        store.add_dimension_counts("turn", pa.table({"hour": [H0]}))


def test_stage_sums_add_up_per_hour_flow_and_stage(store: Store) -> None:
    def rows(*values: tuple[int, str, str, int, int, int, int]) -> pa.Table:
        names = ["hour", "flow", "stage", "eligible_ms", "eligible_n", "bad_ms", "bad_n"]
        return pa.table({name: [v[i] for v in values] for i, name in enumerate(names)})

    store.add_stage_sums(
        "turn",
        rows((H0, "billing", "asr", 3000, 10, 900, 2), (H0, "billing", "llm", 5000, 10, 2000, 2)),
    )
    assert store.add_stage_sums("turn", rows((H0, "billing", "asr", 300, 1, 300, 1))) == 1
    assert store.stage_sums("turn", H0, H0 + 60) == [
        StageSum(H0, "billing", "asr", 3300, 11, 1200, 3),
        StageSum(H0, "billing", "llm", 5000, 10, 2000, 2),
    ]
    assert store.stage_sums("turn", H0, H0 + 60, flow="faq") == []


def test_prune_forgets_old_claims_and_kept_events_but_not_rollups(store: Store) -> None:
    [series] = store.series_ids("s", [()])
    old = H0 - 120  # an hour that ended before the horizon
    store.claim_event_ids(["old1", "old2", "new"], [old, old + 5, M0])
    store.save_kept_events(
        "s",
        KeptBatch(
            events=_events({"id": "old1", "time": _at(old)}, {"id": "new", "time": _at(M0)}),
            series=[series, series],
            verdicts=["bad", "bad"],
            exclusions=[None, None],
        ),
    )
    store.add_dimension_counts("s", _dimensions((old, "f", "flow", "f", 1, 1, 0, 0)))
    assert store.prune_events(H0 - 60) == 3  # two claimed ids, one kept event
    assert [k.event_id for k in store.kept_events("s", old, M0 + 1)] == ["new"]
    assert store.claim_event_ids(["old1", "new"], [old, M0]).tolist() == [True, False]
    assert len(store.dimension_counts("s", old, H0)) == 1
    assert store.prune_events(H0 - 60) == 1  # old1 was claimed again
    # claims go by the minute, kept events with whole hours (once the hour has ended)
    assert store.prune_events(M0 + 1) == 1  # the claim of "new"
    assert [k.event_id for k in store.kept_events("s", old, M0 + 1)] == ["new"]
    assert store.prune_events(H0 + 60) == 1
    assert store.kept_events("s", old, M0 + 1) == []


def test_an_id_at_two_minutes_in_one_claim_is_two_events(store: Store) -> None:
    assert store.claim_event_ids(["a", "a", "a"], [M0, M0 + 1, M0]).tolist() == [True, True, False]
    assert store.claim_event_ids(["a", "a"], [M0 + 1, M0 + 2]).tolist() == [False, True]


def test_streamed_claims_of_one_minute_stay_a_few_chunks(tmp_path: Path) -> None:
    from errorbudget.store import open_store
    from errorbudget.store.sqlite.events import COMPACT_CHUNKS

    with open_store(tmp_path / "claims.db") as store:
        for request in range(60):  # a request a second, each its own write
            with store.transaction():
                ids = [f"r{request}-{i}" for i in range(3)]
                assert store.claim_event_ids(ids, [M0] * 3).all()
        connection = store._connection  # type: ignore[attr-defined]
        chunks = connection.execute(
            "SELECT count(*), sum(count) FROM event_claims WHERE minute = ?", (M0,)
        ).fetchone()
        assert chunks[0] <= COMPACT_CHUNKS and chunks[1] == 180  # not 60 chunks to read
        everyone = [f"r{request}-{i}" for request in range(60) for i in range(3)]
        assert not store.claim_event_ids(everyone, [M0] * 180).any()
        assert store.claim_event_ids(["r0-0", "new"], [M0 + 1, M0]).all()
