"""``EventIngestService`` (issue #12) on every store backend: one transaction from claimed
ids to counts, kept events and rollups; idempotent; all or nothing; retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from errorbudget.config import parse_config
from errorbudget.errors import StoreError
from errorbudget.model import SLO
from errorbudget.services.event_ingest import EVENTS_SOURCE, EventIngestService
from errorbudget.sources.events import EventParseError, parse_records
from errorbudget.store import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
T = int(datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp() * 1000)
M = T // 60_000

SLOS = """\
slos:
  - id: turn-latency
    service: voice-agent
    target: 0.95
    window: {type: rolling, length: 28d}
    segments: {keys: [flow]}
    indicator:
      source: events
      event: turn
      good: {latency_ms: {le: 1200}}
      exclude:
        - {name: test-call, when: {test: true}}
  - id: connection-success
    service: voice-agent
    target: 0.995
    window: {type: rolling, length: 28d}
    indicator:
      source: events
      event: call
      good: {connected: true, first_audio_ms: {present: true}}
  - id: counts
    service: voice-agent
    target: 0.9
    window: {type: rolling, length: 28d}
"""


def turn(id: str, latency: int, offset_s: int = 0, **extra: object) -> dict[str, object]:
    return {"id": id, "type": "turn", "time": T + offset_s * 1000, "latency_ms": latency, **extra}


EVENTS = [
    turn("t1", 500, flow="billing", asr_ms=100, llm_ms=300),
    turn("t2", 1500, 1, flow="billing", asr_ms=700, error_stage="asr"),
    turn("t3", 1500, 61, test=True, flow="billing"),
    turn("t4", 100, 3600, flow="faq", model="openai/gpt-4o"),
    {"id": "c1", "type": "call", "time": T, "connected": True, "first_audio_ms": 800},
    {"id": "c2", "type": "call", "time": T + 5000, "connected": True},
]


@pytest.fixture
def store_clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
def slos() -> list[SLO]:
    return list(parse_config(SLOS, "cfg.yaml", {}).config.slos)


@pytest.fixture
def service(store: Store, slos: list[SLO]) -> EventIngestService:
    return EventIngestService(store, slos, lambda: NOW, retention=timedelta(days=30))


def _sums(store: Store, slo: str) -> dict[tuple[tuple[str, str], ...], list[float]]:
    found = {info.segment: info.id for info in store.list_series(slo)}
    sums = store.sums(list(found.values()), [(M - 60, M + 180)])
    return {segment: sums[i, 0].tolist() for i, segment in enumerate(found)}


def test_events_become_counts_kept_events_and_rollups(
    store: Store, service: EventIngestService
) -> None:
    report = service.ingest(parse_records(EVENTS))
    assert (report.received, report.duplicates, report.written_events) == (6, 0, 6)
    assert (report.kept, report.counts_rows) == (3, 3)  # t2 bad, t3 excluded, c2 bad
    assert report.per_slo["turn-latency"].eligible == 3
    assert report.per_slo["turn-latency"].good == 2
    assert report.per_slo["connection-success"].kept == 1
    assert "counts" not in report.per_slo
    assert _sums(store, "turn-latency") == {
        (("flow", "billing"),): [1.0, 2.0],
        (("flow", "faq"),): [1.0, 1.0],
    }
    assert _sums(store, "connection-success") == {(): [1.0, 2.0]}
    [billing] = [s.id for s in store.list_series("turn-latency") if s.segment[0][1] == "billing"]
    assert store.series_bounds([billing]) == [(M, M + 1)]  # t3 was excluded, at M + 1
    kept = store.kept_events("turn-latency", M - 60, M + 120)
    assert {(k.event_id, k.verdict, k.exclusion) for k in kept} == {
        ("t2", "bad", None),
        ("t3", "excluded", "test-call"),
    }
    t2 = next(k for k in kept if k.event_id == "t2")
    assert t2.stages["asr"] == 700 and t2.error_stage == "asr" and t2.segment == {"flow": "billing"}
    assert t2.time == datetime.fromtimestamp((T + 1000) / 1000, UTC)
    assert "line" not in t2.event and t2.event["latency_ms"] == 1500
    flows = store.dimension_counts("turn-latency", M - 60, M + 120, dimension="flow")
    assert [(d.value, d.eligible, d.bad, d.excluded, d.excluded_bad) for d in flows] == [
        ("billing", 2, 1, 1, 1),
        ("faq", 1, 0, 0, 0),
    ]
    asr = [s for s in store.stage_sums("turn-latency", M - 60, M + 120) if s.stage == "asr"]
    assert [(s.eligible_ms, s.eligible_n, s.bad_ms, s.bad_n) for s in asr] == [(800, 2, 700, 1)]


def test_a_batch_sent_again_writes_nothing_twice(store: Store, service: EventIngestService) -> None:
    service.ingest(parse_records(EVENTS))
    before = (
        _sums(store, "turn-latency"),
        store.dimension_counts("turn-latency", M - 60, M + 120),
        store.stage_sums("turn-latency", M - 60, M + 120),
        len(store.kept_events("turn-latency", M - 60, M + 120)),
    )
    again = service.ingest(parse_records([*EVENTS, turn("t9", 2000, 2, flow="faq")]))
    assert (again.received, again.duplicates, again.written_events, again.kept) == (7, 6, 1, 1)
    assert _sums(store, "turn-latency")[(("flow", "faq"),)] == [1.0, 2.0]
    assert _sums(store, "turn-latency")[(("flow", "billing"),)] == before[0][(("flow", "billing"),)]
    billing = [d for d in store.dimension_counts("turn-latency", M - 60, M + 120, flow="billing")]
    assert billing == [d for d in before[1] if d.flow == "billing"]
    assert len(store.kept_events("turn-latency", M - 60, M + 120)) == before[3] + 1
    repeats = service.ingest(parse_records([turn("r1", 100), turn("r1", 100)]))
    assert (repeats.received, repeats.duplicates, repeats.written_events) == (2, 1, 1)


def test_a_failing_write_leaves_nothing_behind(
    store: Store, service: EventIngestService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> int:
        raise StoreError("the disk is full")

    monkeypatch.setattr(store, "add_stage_sums", fail)
    with pytest.raises(StoreError, match="disk is full"):
        service.ingest(parse_records(EVENTS))
    assert store.kept_events("turn-latency", M - 60, M + 120) == []
    assert store.dimension_counts("turn-latency", M - 60, M + 120) == []
    assert all(v == [0.0, 0.0] for v in _sums(store, "turn-latency").values())
    monkeypatch.undo()
    assert service.ingest(parse_records(EVENTS)).written_events == 6  # nothing was claimed


def test_events_older_than_the_retention_are_refused_by_line(store: Store, slos: list[SLO]) -> None:
    service = EventIngestService(store, slos, lambda: NOW + timedelta(days=40))
    with pytest.raises(EventParseError) as caught:
        service.ingest(parse_records(EVENTS[:2], first_line=7))
    assert [(p.line, p.field) for p in caught.value.problems] == [(7, "time"), (8, "time")]
    assert "events.retention" in caught.value.problems[0].message
    assert store.claim_event_ids(["t1"], [M]).tolist() == [True]


def test_each_ingest_prunes_what_the_retention_let_go(store: Store, slos: list[SLO]) -> None:
    EventIngestService(store, slos, lambda: NOW).ingest(parse_records(EVENTS))
    later = EventIngestService(store, slos, lambda: NOW + timedelta(days=30, hours=1))
    report = later.ingest(parse_records([turn("late", 100, 30 * 86_400 + 3600)]))
    assert report.pruned == 6 + 3  # six claimed ids, three kept events
    assert store.kept_events("turn-latency", M - 60, M + 120) == []
    assert EVENTS_SOURCE == "events"


def test_events_without_an_id_type_or_time_are_refused_by_line(
    store: Store, service: EventIngestService
) -> None:
    table = parse_records(EVENTS[:2])
    ids = pa.array(["t1", None], pa.string())
    types = table.column("type").cast(pa.string()).to_pylist()
    incomplete = table.set_column(0, "id", ids).set_column(
        table.column_names.index("type"), "type", pa.array([None, types[1]], pa.string())
    )
    with pytest.raises(EventParseError) as caught:
        service.ingest(incomplete)
    assert [(p.line, p.field) for p in caught.value.problems] == [(1, "type"), (2, "id")]
    assert store.claim_event_ids(["t1"], [M]).tolist() == [True]


def test_segments_past_max_segments_count_under_other(store: Store, slos: list[SLO]) -> None:
    service = EventIngestService(store, slos, lambda: NOW, max_segments=3)
    first = [turn(f"a{i}", 500, i, flow=f"flow{i % 2}") for i in range(4)]
    assert service.ingest(parse_records(first)).per_slo["turn-latency"].overflow == 0
    many = [turn(f"b{i}", 1500 if i % 5 == 0 else 500, i, flow=f"f{i}") for i in range(200)]
    many += [turn(f"c{i}", 500, i, flow="f7") for i in range(10)]  # the busiest new flow
    report = service.ingest(parse_records(many))
    assert report.per_slo["turn-latency"].overflow == 199  # f7 kept its own series
    sums = _sums(store, "turn-latency")
    assert set(sums) == {(("flow", v),) for v in ("flow0", "flow1", "f7", "other")}
    assert sums[(("flow", "other"),)] == [159.0, 199.0]
    assert sums[(("flow", "f7"),)] == [11.0, 11.0]
    again = [turn("d1", 500, 0, flow="brand-new")]
    assert service.ingest(parse_records(again)).per_slo["turn-latency"].overflow == 1
    assert len(store.list_series("turn-latency")) == 4  # 3 + other, however many flows come
    kept = store.kept_events("turn-latency", M - 60, M + 60, limit=1000)
    assert {event.segment["flow"] for event in kept} == {"other"}


def test_dimension_values_past_the_cap_are_summed_under_other(
    store: Store, slos: list[SLO]
) -> None:
    service = EventIngestService(store, slos, lambda: NOW, max_dimension_values=3)
    events = [turn(f"e{i}", 500, i, flow="billing", intent=f"i{i}") for i in range(50)]
    events += [turn(f"g{i}", 500, i, flow="billing", intent="top") for i in range(5)]
    report = service.ingest(parse_records(events))
    assert report.per_slo["turn-latency"].overflow == 49
    rows = store.dimension_counts("turn-latency", M - 60, M + 60, dimension="intent")
    assert {row.value: row.eligible for row in rows} == {"top": 5, "other": 49, "i0": 1}
