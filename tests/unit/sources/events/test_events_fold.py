"""Rule evaluation and the fold, on worked examples (sources/events/rules.py, fold.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from errorbudget.config import parse_config
from errorbudget.model import SLO
from errorbudget.sources.events.fold import fold_events
from errorbudget.sources.events.indicator import EventsIndicator, parse_rule
from errorbudget.sources.events.model import parse_records
from errorbudget.sources.events.rules import compile_sli, rule_mask

T = int(datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp() * 1000)
M = T // 60_000  # the minute of T
H = M  # 10:00 is an hour start

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
        - {name: outage, when: {external_outage: true}}
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


def slos() -> list[SLO]:
    return list(parse_config(SLOS, "cfg.yaml", {}).config.slos)


def turn(id: str, latency: int, offset_s: int = 0, **extra: object) -> dict[str, object]:
    return {"id": id, "type": "turn", "time": T + offset_s * 1000, "latency_ms": latency, **extra}


EVENTS = [
    turn("t1", 500, flow="billing", asr_ms=100, llm_ms=300),
    turn("t2", 1500, 1, flow="billing", asr_ms=700, error_stage="asr"),
    turn("t3", 1500, 61, test=True, flow="billing"),  # excluded (and failing)
    turn("t4", 100, 3600, flow="faq", model="openai/gpt-4o"),
    turn("t5", 900, 62, test=True, external_outage=True, flow="faq"),  # excluded, passing
    {"id": "c1", "type": "call", "time": T, "connected": True, "first_audio_ms": 800},
    {"id": "c2", "type": "call", "time": T + 5000, "connected": True},  # dead air: bad
]


def table() -> pa.Table:
    return parse_records(EVENTS)


def test_masks_and_null_semantics() -> None:
    events = table()
    indicator = slos()[0].indicator
    assert isinstance(indicator, EventsIndicator)
    masks = compile_sli(indicator).masks(events)
    assert masks.considered.tolist() == [True] * 5 + [False] * 2
    assert masks.excluded_by.tolist() == [-1, -1, 0, -1, 0, -1, -1]  # the first rule wins
    assert masks.eligible.tolist() == [True, True, False, True, False, False, False]
    assert masks.good.tolist() == [True, False, False, True, False, False, False]
    # nulls satisfy no comparison, ne included; present: false is the only match
    for written, expected in [
        ({"asr_ms": {"ne": 100}}, [False, True, False, False, False, False, False]),
        ({"asr_ms": {"lt": 1000}}, [True, True] + [False] * 5),
        ({"model": {"not_in": ["x"]}}, [False, False, False, True, False, False, False]),
        ({"asr_ms": {"present": False}}, [False, False, True, True, True, True, True]),
        (
            {"any": [{"flow": "faq"}, {"asr_ms": {"gt": 600}}]},
            [False, True, False, True, True, False, False],
        ),
        (
            {"latency_ms": {"gt": 400, "lt": 1000.5}},
            [True, False, False, False, True, False, False],
        ),
    ]:
        assert rule_mask(events, parse_rule(written)).tolist() == expected, written


def test_fold_counts_kept_events_and_segments() -> None:
    fold = fold_events(table(), slos())
    assert [f.slo for f in fold.per_slo] == ["turn-latency", "connection-success"]
    turns, calls = fold.per_slo
    assert turns.segments == [(("flow", "billing"),), (("flow", "faq"),)]
    rows = list(
        zip(
            turns.seg.tolist(),
            (turns.minute - M).tolist(),
            turns.good.tolist(),
            turns.total.tolist(),
            strict=True,
        )
    )
    assert rows == [(0, 0, 1, 2), (1, 60, 1, 1)]
    assert turns.kept_rows.tolist() == [1, 2, 4]
    assert turns.kept_verdict == ["bad", "excluded", "excluded"]
    assert turns.kept_exclusion == [None, "test-call", "test-call"]
    assert turns.kept_seg.tolist() == [0, 0, 1]
    assert turns.eligible == 3 and turns.bad == 1

    assert calls.segments == [()]
    assert (calls.minute - M).tolist() == [0] and calls.good.tolist() == [1]
    assert calls.total.tolist() == [2]
    assert calls.kept_rows.tolist() == [6] and calls.kept_verdict == ["bad"]
    assert calls.stage_rows.num_rows == 0


def test_dimension_rows() -> None:
    turns = fold_events(table(), slos()).per_slo[0]
    rows = {
        (r["hour"] - H, r["flow"], r["dimension"], r["value"]): (
            r["eligible"],
            r["bad"],
            r["excluded"],
            r["excluded_bad"],
        )
        for r in turns.dimension_rows.to_pylist()
    }
    assert rows[(0, "billing", "flow", "billing")] == (2, 1, 1, 1)
    assert rows[(0, "faq", "flow", "faq")] == (0, 0, 1, 0)
    assert rows[(60, "faq", "flow", "faq")] == (1, 0, 0, 0)
    assert rows[(60, "faq", "model", "openai/gpt-4o")] == (1, 0, 0, 0)
    assert rows[(0, "billing", "model", "unknown")] == (2, 1, 1, 1)
    # error_stage: failures only (bad, and excluded failing), null as "unknown"
    stages = {k: v for k, v in rows.items() if k[2] == "error_stage"}
    assert stages == {
        (0, "billing", "error_stage", "asr"): (1, 1, 0, 0),
        (0, "billing", "error_stage", "unknown"): (0, 0, 1, 1),
    }
    dims = {k[2] for k in rows}
    assert dims == {
        "intent",
        "route",
        "agent_version",
        "prompt_version",
        "model",
        "asr_provider",
        "tts_provider",
        "language",
        "risk_tier",
        "region",
        "flow",
        "error_stage",
        "exclusion",
    }
    # exclusion: per rule, the events it excluded and those of them failing the good rule
    exclusions = {k: v for k, v in rows.items() if k[2] == "exclusion"}
    assert exclusions == {
        (0, "billing", "exclusion", "test-call"): (0, 0, 1, 1),
        (0, "faq", "exclusion", "test-call"): (0, 0, 1, 0),
    }
    # every dimension partitions the same events: its rows sum to the flow rows
    for dimension in dims - {"error_stage", "exclusion"}:
        total = np.sum([v for k, v in rows.items() if k[2] == dimension], axis=0)
        assert total.tolist() == [3, 1, 2, 1], dimension


def test_stage_rows() -> None:
    turns = fold_events(table(), slos()).per_slo[0]
    rows = sorted(
        (
            r["hour"] - H,
            r["flow"],
            r["stage"],
            r["eligible_ms"],
            r["eligible_n"],
            r["bad_ms"],
            r["bad_n"],
        )
        for r in turns.stage_rows.to_pylist()
    )
    assert rows == [(0, "billing", "asr", 800, 2, 700, 1), (0, "billing", "llm", 300, 1, 0, 0)]


def test_empty_table_folds_to_nothing() -> None:
    fold = fold_events(parse_records([]), slos())
    for slo_fold in fold.per_slo:
        assert slo_fold.total.size == 0 and slo_fold.kept_rows.size == 0
        assert slo_fold.dimension_rows.num_rows == 0 and slo_fold.stage_rows.num_rows == 0


def test_chunked_and_filtered_tables_fold_the_same() -> None:
    """The store folds what is left after dropping re-sent ids: a filtered, chunked table."""
    whole = table()
    chunked = pa.concat_tables([parse_records(EVENTS[:3]), parse_records(EVENTS[3:])])
    assert chunked.column("id").num_chunks == 2
    for left, right in zip(
        fold_events(whole, slos()).per_slo, fold_events(chunked, slos()).per_slo, strict=True
    ):
        assert left.segments == right.segments
        assert left.total.tolist() == right.total.tolist()
        assert left.good.tolist() == right.good.tolist()
        assert left.kept_rows.tolist() == right.kept_rows.tolist()
        assert left.dimension_rows.equals(right.dimension_rows)
        assert left.stage_rows.equals(right.stage_rows)
    kept = np.ones(whole.num_rows, dtype=bool)
    kept[1] = False  # t2, the one bad turn, was a re-sent id
    turns = fold_events(chunked.filter(pa.array(kept)), slos()).per_slo[0]
    assert turns.total.tolist() == [1, 1] and turns.good.tolist() == [1, 1]
    assert turns.kept_verdict == ["excluded", "excluded"]
