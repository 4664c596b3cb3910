"""The fold against a naive per-event Python loop, over random events and random rules
(hypothesis): counts, kept events, dimension rows and stage rows all agree."""

from __future__ import annotations

import operator
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorbudget.model import SLO
from errorbudget.sources.events.fields import DIMENSIONS, STAGES
from errorbudget.sources.events.fold import fold_events
from errorbudget.sources.events.indicator import EventsIndicator
from errorbudget.sources.events.model import parse_records

T = 1_796_119_200_000  # 2026-12-01T10:00Z
FLOWS = ["billing", "faq", None]
VERSIONS = ["v1", "v2", None]


def _event(index: int, draw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"e{index}",
        "type": "turn",
        "time": T + draw(st.integers(0, 3 * 3_600_000)),
        "latency_ms": draw(st.integers(0, 3000)),
        "tool_calls": draw(st.integers(0, 2)),
        "test": draw(st.booleans()),
        "flow": draw(st.sampled_from(FLOWS)),
        "agent_version": draw(st.sampled_from(VERSIONS)),
        "error_stage": draw(st.sampled_from([None, "asr", "llm"])),
    }
    for stage in ("asr", "llm"):
        event[f"{stage}_ms"] = draw(st.one_of(st.none(), st.integers(0, 1500)))
    if draw(st.booleans()):
        event["wer"] = draw(st.floats(0, 1))
    return {k: v for k, v in event.items() if v is not None}


@st.composite
def events(draw: Any) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 60))
    return [_event(i, draw) for i in range(count)]


CONDITIONS = st.sampled_from(
    [
        {"latency_ms": {"le": 1200}},
        {"latency_ms": {"gt": 500, "lt": 2500}},
        {"tool_calls": {"gt": 0}},
        {"tool_calls": 0},
        {"flow": {"in": ["billing"]}},
        {"flow": {"not_in": ["billing"]}},
        {"flow": {"ne": "faq"}},
        {"agent_version": {"present": False}},
        {"wer": {"le": 0.5}},
        {"asr_ms": {"ge": 300}},
        {"any": [{"test": True}, {"error_stage": "llm"}]},
    ]
)


@st.composite
def indicators(draw: Any) -> EventsIndicator:
    exclusions = draw(st.lists(CONDITIONS, max_size=2))
    return EventsIndicator.model_validate(
        {
            "source": "events",
            "event": "turn",
            "eligible": draw(st.one_of(st.none(), CONDITIONS)),
            "good": draw(CONDITIONS),
            "exclude": [{"name": f"x{i}", "when": w} for i, w in enumerate(exclusions)],
        }
    )


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda value, values: value in values,
    "not_in": lambda value, values: value not in values,
}


def holds(rule: dict[str, Any], event: dict[str, Any]) -> bool:
    """The naive reading of a rule (docs/sources/events.md: nulls satisfy nothing)."""
    for field, condition in rule.items():
        if field == "any":
            if not any(holds(r, event) for r in condition):
                return False
            continue
        value = event.get(field)
        if field in ("tool_calls",) and value is None:
            value = 0
        if field == "test" and value is None:
            value = False
        ops = condition if isinstance(condition, dict) else {"eq": condition}
        for op, operand in ops.items():
            if op == "present":
                ok = (value is not None) == operand
            elif value is None:
                ok = False
            else:
                ok = OPERATORS[op](value, operand)
            if not ok:
                return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), indicators(), st.sampled_from([[], ["flow"], ["flow", "agent_version"]]))
def test_fold_equals_a_naive_loop(
    batch: list[dict[str, Any]], indicator: EventsIndicator, keys: list[str]
) -> None:
    slo = SLO.model_validate(
        {
            "id": "s",
            "service": "voice",
            "target": 0.9,
            "window": {"type": "rolling", "length": "28d"},
            "segments": {"keys": keys},
            "indicator": indicator,
        }
    )
    table = parse_records(batch)
    (fold,) = fold_events(table, [slo]).per_slo
    written = indicator.model_dump()

    counts: Counter[tuple[Any, int, str]] = Counter()
    kept: list[tuple[int, str, str | None, Any]] = []
    dims: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    stages: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row, event in enumerate(batch):
        if written["eligible"] is not None and not holds(written["eligible"], event):
            continue
        excluded_by = next((x["name"] for x in written["exclude"] if holds(x["when"], event)), None)
        passes = holds(written["good"], event)
        segment = tuple(sorted((k, event.get(k) or "unknown") for k in keys))
        minute = event["time"] // 60_000
        hour = minute - minute % 60
        flow = event.get("flow") or "unknown"
        if excluded_by is None:
            counts[(segment, minute, "total")] += 1
            counts[(segment, minute, "good")] += passes
        if excluded_by is not None or not passes:
            verdict = "excluded" if excluded_by is not None else "bad"
            kept.append((row, verdict, excluded_by, segment))
        classes = [excluded_by is None, excluded_by is None and not passes]
        classes += [excluded_by is not None, excluded_by is not None and not passes]
        values = {d: event.get(d) or "unknown" for d in DIMENSIONS[1:]}
        values["flow"] = flow
        if not passes:
            values["error_stage"] = event.get("error_stage") or "unknown"
        for dimension, value in values.items():
            cell = dims[(hour, flow, dimension, value)]
            for k in range(4):
                cell[k] += classes[k]
        if excluded_by is not None:  # per exclusion rule: excluded, and failing the good rule
            cell = dims[(hour, flow, "exclusion", excluded_by)]
            cell[2] += 1
            cell[3] += not passes
        if excluded_by is None:
            for stage in STAGES:
                if f"{stage}_ms" in event:
                    cell = stages[(hour, flow, stage)]
                    cell[0] += event[f"{stage}_ms"]
                    cell[1] += 1
                    if not passes:
                        cell[2] += event[f"{stage}_ms"]
                        cell[3] += 1

    got: Counter[tuple[Any, int, str]] = Counter()
    for seg, minute, good, total in zip(
        fold.seg.tolist(),
        fold.minute.tolist(),
        fold.good.tolist(),
        fold.total.tolist(),
        strict=True,
    ):
        assert 0 <= good <= total and total > 0
        got[(fold.segments[seg], minute, "total")] += total
        got[(fold.segments[seg], minute, "good")] += good
    assert +got == +counts
    assert fold.eligible == sum(v for k, v in counts.items() if k[2] == "total")

    assert [
        (row, verdict, exclusion, fold.segments[seg])
        for row, verdict, exclusion, seg in zip(
            fold.kept_rows.tolist(),
            fold.kept_verdict,
            fold.kept_exclusion,
            fold.kept_seg.tolist(),
            strict=True,
        )
    ] == kept

    got_dims = {
        (r["hour"], r["flow"], r["dimension"], r["value"]): [
            r["eligible"],
            r["bad"],
            r["excluded"],
            r["excluded_bad"],
        ]
        for r in fold.dimension_rows.to_pylist()
    }
    assert got_dims == {k: v for k, v in dims.items() if any(v)}

    got_stages = {
        (r["hour"], r["flow"], r["stage"]): [
            r["eligible_ms"],
            r["eligible_n"],
            r["bad_ms"],
            r["bad_n"],
        ]
        for r in fold.stage_rows.to_pylist()
    }
    assert got_stages == dict(stages)
