"""``EventRecords`` (issue #12), held against every store backend through the protocol:
claimed event ids, kept events, hourly rollups that add up, and pruning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
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


def _event(event_id: str, minute: int, **fields: object) -> bytes:
    return orjson.dumps({"id": event_id, "type": "turn", "time": minute * 60_000, **fields})


def test_kept_events_are_read_by_slo_range_verdict_and_segment(store: Store) -> None:
    spanish, english = store.series_ids(
        "turn-latency", [(("flow", "billing"), ("language", "es")), (("flow", "faq"),)]
    )
    batch = KeptBatch(
        series=[spanish, english, spanish],
        minutes=[M0, M0 + 1, M0 + 2],
        event_ids=["t1", "t2", "t3"],
        verdicts=["bad", "excluded", "bad"],
        exclusions=[None, "test-call", None],
        events=[
            _event("t1", M0, latency_ms=3100, asr_ms=900, flow="billing", trace_id="ab"),
            _event("t2", M0 + 1, latency_ms=800, test=True, flow="faq"),
            _event("t3", M0 + 2, latency_ms=2900, error_stage="llm", audio_url="https://a/3"),
        ],
    )
    assert store.save_kept_events("turn-latency", batch) == 3
    kept = store.kept_events("turn-latency", M0, M0 + 60)
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
    assert kept[0].error_stage == "llm" and kept[0].audio_url == "https://a/3"
    assert kept[1].exclusion == "test-call" and kept[1].event["test"] is True
    assert [k.event_id for k in store.kept_events("turn-latency", M0, M0 + 60, verdict="bad")] == [
        "t3",
        "t1",
    ]
    by_flow = store.kept_events("turn-latency", M0, M0 + 60, segment={"flow": "faq"})
    assert [k.event_id for k in by_flow] == ["t2"]
    assert store.kept_events("turn-latency", M0 + 1, M0 + 2)[0].event_id == "t2"
    assert len(store.kept_events("turn-latency", M0, M0 + 60, limit=1)) == 1
    assert store.kept_events("other-slo", M0, M0 + 60) == []
    assert store.kept_events("turn-latency", M0, M0 + 60, segment={"flow": "nope"}) == []


def test_kept_events_need_known_series_and_verdicts(store: Store) -> None:
    [series] = store.series_ids("s", [()])
    good = {"series": [series], "minutes": [M0], "event_ids": ["e"], "exclusions": [None]}
    with pytest.raises(StoreError, match="verdict"):
        store.save_kept_events("s", KeptBatch(**good, verdicts=["fine"], events=[b"{}"]))  # type: ignore[list-item]
    with pytest.raises(StoreError, match="unknown series"):
        store.save_kept_events(
            "s", KeptBatch(**{**good, "series": [series + 99]}, verdicts=["bad"], events=[b"{}"])
        )
    with pytest.raises(ValueError, match="same length"):
        KeptBatch(
            series=[1, 2],
            minutes=[M0],
            event_ids=["e"],
            verdicts=["bad"],
            exclusions=[None],
            events=[b"{}"],
        )


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
    store.claim_event_ids(["old1", "old2", "new"], [M0 - 100, M0 - 100, M0])
    store.save_kept_events(
        "s",
        KeptBatch(
            series=[series, series],
            minutes=[M0 - 100, M0],
            event_ids=["old1", "new"],
            verdicts=["bad", "bad"],
            exclusions=[None, None],
            events=[_event("old1", M0 - 100), _event("new", M0)],
        ),
    )
    store.add_dimension_counts("s", _dimensions((H0 - 120, "f", "flow", "f", 1, 1, 0, 0)))
    assert store.prune_events(M0 - 50) == 3  # two claimed ids, one kept event
    assert [k.event_id for k in store.kept_events("s", M0 - 200, M0 + 1)] == ["new"]
    assert store.claim_event_ids(["old1", "new"], [M0 - 100, M0]).tolist() == [True, False]
    assert len(store.dimension_counts("s", H0 - 120, H0)) == 1
    assert store.prune_events(M0 - 50) == 1  # old1 was claimed again
