"""The contact-center simulator: scenario, Erlang-A waits, determinism, ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from errorbudget.simulate import (
    FlowSpec,
    Incident,
    ManualClock,
    QueueSpec,
    Scenario,
    Seasonality,
    SimClock,
    Simulation,
    default_scenario,
    flow_ground_truth,
    ground_truth,
)
from errorbudget.simulate.engine import BLOCK_MS, DAY_MS
from errorbudget.simulate.erlang import ErlangA, square_root_staffing
from errorbudget.simulate.records import ABANDONED, ANSWERED, QueueArrays

ANCHOR = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 in New York
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return Simulation(default_scenario(ANCHOR), seed=7)


def _day(moment: datetime) -> int:
    return int(moment.timestamp() * 1000) // DAY_MS


def _same(a: QueueArrays, b: QueueArrays) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in QueueArrays.__slots__)


# --- scenario -----------------------------------------------------------------------------


def test_default_scenario_has_the_queues_and_flows_the_demo_needs() -> None:
    scenario = default_scenario(ANCHOR)
    tiers = Counter((q.tier, q.media_type) for q in scenario.queues)
    assert tiers[("vip", "voice")] == 1
    assert tiers[("standard", "voice")] >= 2
    assert {("digital", "chat"), ("digital", "email")} <= set(tiers)
    assert {f.name for f in scenario.flows} == {"Main Menu", "Billing ES"}
    assert all(len(q.staffing) == 168 for q in scenario.queues)
    # ids are stable UUIDs, the same for every anchor and run
    assert default_scenario(ANCHOR + 5 * DAY).queues[0].id == scenario.queues[0].id


def test_scenario_validation_names_the_problem() -> None:
    base = default_scenario(ANCHOR)
    flow = base.flows[0].model_dump()
    flow["p_success"] = 0.9
    with pytest.raises(ValidationError, match="add up to"):
        FlowSpec.model_validate(flow)
    flow = base.flows[0].model_dump() | {"exit_queues": {"Nowhere": 1.0}}
    with pytest.raises(ValidationError, match="unknown queue"):
        Scenario(queues=base.queues, flows=[FlowSpec.model_validate(flow)])
    with pytest.raises(ValidationError, match="time zone"):
        Incident(name="x", start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
    with pytest.raises(ValidationError, match="168"):
        QueueSpec.model_validate(base.queues[0].model_dump() | {"staffing": [1] * 24})


# --- seasonality and Erlang-A -----------------------------------------------------------------


def test_arrivals_follow_intraday_and_weekly_seasonality(sim: Simulation) -> None:
    support = 2
    monday = datetime(2026, 11, 9, 5, 0, tzinfo=UTC)  # Monday 00:00 New York

    def entered(day_offset: int, local_hour: int) -> int:
        start = monday + timedelta(days=day_offset, hours=local_hour)
        first = int(start.timestamp() * 1000) // BLOCK_MS
        return sum(len(sim.queue_block(support, first + i)) for i in range(4))

    weekday_peak = sum(entered(d, 11) for d in range(5))
    weekday_night = sum(entered(d, 3) for d in range(5))
    weekend_peak = sum(entered(d, 11) for d in (5, 6))
    assert weekday_peak > 20 * max(weekday_night, 1)
    assert weekday_peak / 5 > 1.8 * weekend_peak / 2


def test_erlang_a_more_agents_fewer_abandons_shorter_waits() -> None:
    rng = np.random.default_rng(1)
    patience = rng.exponential(120, size=20_000)
    results = []
    for agents in (8, 10, 12, 14):
        model = ErlangA(
            arrival_rate=100 / 3600, agents=agents, service_rate=1 / 300, abandon_rate=1 / 120
        )
        waits = model.sample_offered_waits(np.random.default_rng(2), 20_000)
        abandoned = (patience < waits).mean()
        results.append((abandoned, np.minimum(waits, patience).mean()))
    abandons = [a for a, _ in results]
    mean_waits = [w for _, w in results]
    assert abandons == sorted(abandons, reverse=True) and abandons[0] > 2 * abandons[-1]
    assert mean_waits == sorted(mean_waits, reverse=True)


def test_erlang_a_without_abandonment_matches_erlang_c() -> None:
    # M/M/2, λ = 1.5, μ = 1: P(wait) = Erlang C = 0.6428…
    model = ErlangA(arrival_rate=1.5, agents=2, service_rate=1.0, abandon_rate=0.0)
    probabilities = model.state_probabilities()
    assert probabilities[2:].sum() == pytest.approx(0.642857, abs=1e-3)
    waits = model.sample_offered_waits(np.random.default_rng(3), 50_000)
    assert (waits > 0).mean() == pytest.approx(0.6429, abs=0.01)
    # mean wait = C / (nμ − λ) = 0.6429 / 0.5
    assert waits.mean() == pytest.approx(1.2857, rel=0.05)


def test_square_root_staffing() -> None:
    assert square_root_staffing(0.0, 1.0) == 0
    assert square_root_staffing(0.0, 1.0, minimum=2) == 2
    assert square_root_staffing(16.0, 1.0) == 20


def test_no_agents_means_nobody_is_answered() -> None:
    model = ErlangA(arrival_rate=0.01, agents=0, service_rate=0.01, abandon_rate=0.01)
    assert np.isinf(model.sample_offered_waits(np.random.default_rng(0), 5)).all()


# --- determinism and random access ------------------------------------------------------------


def test_same_seed_same_conversations_other_seed_different() -> None:
    day = _day(ANCHOR) - 1
    a = Simulation(default_scenario(ANCHOR), seed=11).queue_day(2, day)
    b = Simulation(default_scenario(ANCHOR), seed=11).queue_day(2, day)
    c = Simulation(default_scenario(ANCHOR), seed=12).queue_day(2, day)
    assert _same(a, b)
    assert not _same(a, c)


def test_block_independence_one_day_alone_equals_slice_of_three() -> None:
    day = _day(ANCHOR) - 2
    alone = Simulation(default_scenario(ANCHOR), seed=5)
    together = Simulation(default_scenario(ANCHOR), seed=5)
    for queue in range(len(together.scenario.queues)):
        for d in (day - 1, day, day + 1):  # generate days 0–2 in order, day 1 in the middle
            together.queue_day(queue, d)
    for queue in reversed(range(len(alone.scenario.queues))):  # other order, day 1 only
        assert _same(alone.queue_day(queue, day), together.queue_day(queue, day))
    for flow in range(len(alone.scenario.flows)):
        first, second = alone.flow_day(flow, day), together.flow_day(flow, day)
        assert np.array_equal(first.start_ms, second.start_ms)
        assert np.array_equal(first.outcome, second.outcome)


def test_conversation_records_are_consistent(sim: Simulation) -> None:
    start = ANCHOR - DAY
    records = sim.conversations(start, start + timedelta(hours=2))
    assert records and records == sorted(records, key=lambda c: (c.start, c.id))
    assert len({c.id for c in records}) == len(records)
    queue_ids = {q.id for q in sim.scenario.queues}
    for record in records:
        assert start <= record.start < start + timedelta(hours=2)
        if record.queue_id is None:  # IVR only: success, hang-up, or closed message
            assert record.ivr_outcome in ("success", "disconnect")
            continue
        assert record.queue_id in queue_ids
        assert record.queue_entry is not None and record.ended_waiting is not None
        assert record.queue_entry >= record.start
        assert record.ended_waiting - record.queue_entry == timedelta(milliseconds=record.wait_ms)
        assert (record.handle_ms > 0) == (record.outcome == "answered")
        assert not record.short_abandon or record.outcome == "abandoned"
        if record.flow_id:
            assert record.ivr_outcome in ("failure", "exit")
    assert sim.conversations(start, start + timedelta(hours=2)) == records


# --- incidents and after-hours -----------------------------------------------------------------


def test_staffing_incident_raises_abandons(sim: Simulation) -> None:
    degraded = next(i for i in sim.scenario.incidents if i.name.startswith("Carrier"))
    calm = degraded.start - 7 * DAY  # same weekday and hour a week earlier

    def abandon_ratio(start: datetime) -> float:
        truth = ground_truth(sim, start, start + (degraded.end - degraded.start))
        voice = [c for (_, media, _), c in truth.items() if media == "voice"]
        return sum(c.abandoned for c in voice) / max(1, sum(c.offered for c in voice))

    assert abandon_ratio(degraded.start) > 2 * abandon_ratio(calm)


def test_ivr_incident_raises_failures(sim: Simulation) -> None:
    billing = sim.scenario.flow("Billing ES")
    before = flow_ground_truth(sim, ANCHOR - 9 * DAY, ANCHOR - 8 * DAY, interval=DAY)
    during = flow_ground_truth(sim, ANCHOR - DAY, ANCHOR, interval=DAY)
    failed = [
        sum(c.failed_outcomes for (f, _), c in truth.items() if f == billing.id)
        / sum(c.entries for (f, _), c in truth.items() if f == billing.id)
        for truth in (before, during)
    ]
    assert failed[0] < 0.08 < 0.25 < failed[1]


def test_closed_voice_queue_gets_no_callers_email_waits_for_opening(sim: Simulation) -> None:
    sales = sim.scenario.queues.index(sim.scenario.queue("Sales"))
    email = sim.scenario.queues.index(sim.scenario.queue("Email"))
    night = int(datetime(2026, 11, 9, 8, 0, tzinfo=UTC).timestamp() * 1000)  # 03:00 local
    assert not sim.is_open(sales, night)
    assert len(sim.queue_block(sales, night // BLOCK_MS)) == 0
    overnight = QueueArrays.concat(
        [sim.queue_block(email, night // BLOCK_MS + i) for i in range(16)]
    )
    opening = int(datetime(2026, 11, 9, 13, 0, tzinfo=UTC).timestamp() * 1000)  # 08:00 local
    assert len(overnight) and (overnight.entry_ms + overnight.wait_ms >= opening).all()


def test_after_hours_ivr_callers_hear_the_closed_message_not_a_failure(sim: Simulation) -> None:
    """Issue #7: with the queues closed, Main Menu's callers were counted as hang-ups before
    any outcome (IVR completion 40–47 % every night, 87 % by day). After hours the flow
    plays its closed message: a completed visit."""
    main = sim.scenario.flow("Main Menu")
    week = flow_ground_truth(sim, ANCHOR - 8 * DAY, ANCHOR - DAY, interval=timedelta(hours=1))
    night: list[int] = [0, 0]
    day: list[int] = [0, 0]
    for (flow, start), counts in week.items():
        if flow != main.id or not counts.ended:
            continue
        hour = start.hour  # UTC; New York is UTC−5 in November
        bucket = night if 3 <= hour < 12 else day if 14 <= hour < 23 else None
        if bucket is not None:
            bucket[0] += counts.good
            bucket[1] += counts.ended
    assert night[1] > 500 and day[1] > 5_000
    night_ratio, day_ratio = night[0] / night[1], day[0] / day[1]
    assert night_ratio > 0.8 and day_ratio > 0.8
    assert abs(night_ratio - day_ratio) < 0.08


# --- ground truth ------------------------------------------------------------------------------


def test_ground_truth_matches_the_conversation_records(sim: Simulation) -> None:
    start, end = ANCHOR - DAY, ANCHOR - DAY + timedelta(hours=6)
    settings = sim.scenario.service_level
    truth = ground_truth(sim, start, end, timedelta(minutes=15), answered_within=[20])
    expected: dict[tuple[str, datetime], Counter[str]] = {}
    for record in sim.conversations(start - 3 * DAY, end):
        if record.queue_entry is None or record.ended_waiting is None:
            continue
        for event, moment in (
            ("offered", record.queue_entry),
            (record.outcome, record.ended_waiting),
        ):
            if start <= moment < end:
                slot = moment - timedelta(
                    minutes=moment.minute % 15,
                    seconds=moment.second,
                    microseconds=moment.microsecond,
                )
                counts = expected.setdefault((record.queue_id or "", slot), Counter())
                counts[str(event)] += 1
                if event == "answered":
                    counts["over"] += record.over_sla
                    counts["within_20"] += record.wait_ms < 20_000
                if event == "abandoned":
                    counts["short"] += record.short_abandon
    assert len(truth) == len(expected)
    for (queue_id, _, slot), counts in truth.items():
        want = expected[(queue_id, slot)]
        assert (counts.offered, counts.answered, counts.abandoned, counts.flow_outs) == (
            want["offered"],
            want["answered"],
            want["abandoned"],
            want["flow_out"],
        )
        assert (counts.short_abandoned, counts.over_sla) == (want["short"], want["over"])
        assert counts.answered_within[20] == want["within_20"]
        assert counts.sl_denominator(settings) == (
            counts.answered + counts.abandoned - counts.short_abandoned
        )


def test_ground_truth_as_of_hides_the_future(sim: Simulation) -> None:
    start = ANCHOR
    partial = ground_truth(
        sim, start, start + timedelta(minutes=15), as_of=start + timedelta(minutes=7)
    )
    full = ground_truth(sim, start, start + timedelta(minutes=15))
    assert sum(c.offered for c in partial.values()) < sum(c.offered for c in full.values())


# --- clocks --------------------------------------------------------------------------------------


def test_sim_clock_runs_at_speed() -> None:
    clock = SimClock(start=ANCHOR, speed=3600)
    assert ANCHOR <= clock.now() < ANCHOR + timedelta(hours=1)
    assert clock.real_seconds(timedelta(hours=2)) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        SimClock(start=datetime(2026, 1, 1), speed=1)
    manual = ManualClock(ANCHOR)
    assert manual.advance(timedelta(minutes=5)) == manual() == ANCHOR + timedelta(minutes=5)


def test_seasonality_is_data() -> None:
    with pytest.raises(ValidationError):
        Seasonality(intraday=[1.0] * 23)


def _weeks(sim: Simulation, name: str, weeks: int = 2) -> tuple[int, QueueArrays]:
    """The queue's index and its conversations over ``weeks`` weeks before ANCHOR."""
    queue = sim.scenario.queues.index(sim.scenario.queue(name))
    first = _day(ANCHOR - timedelta(weeks=weeks))
    days = [sim.queue_day(queue, day) for day in range(first, _day(ANCHOR))]
    return queue, QueueArrays.concat(days)


def test_email_held_overnight_is_answered_within_its_service_level(sim: Simulation) -> None:
    # The Email queue closes 14 hours a night and carries its mail over: its service level
    # is one business day, so the morning's answers to last night's mail are not all late
    # (with 4 h, every email received after 18:00 missed it, all counted in the first
    # open hour: a page every morning in the demo).
    email, arrays = _weeks(sim, "Email")
    overnight = np.array([not sim.is_open(email, int(ms)) for ms in arrays.entry_ms])
    answered = overnight & (arrays.outcome == ANSWERED)
    assert answered.sum() > 100
    assert arrays.over_sla[answered].mean() < 0.05


def test_vip_billing_is_staffed_for_its_tier_objective(sim: Simulation) -> None:
    # The demo's VIP tier promises 95 % of calls answered within 30 s; the queue is staffed
    # with a margin over it (at β 1.6 it delivered 95.6 %: its whole budget spent by an
    # ordinary month, a page for any busy hour).
    _, arrays = _weeks(sim, "VIP Billing")
    answered = arrays.outcome == ANSWERED
    counted = answered | ((arrays.outcome == ABANDONED) & ~arrays.short_abandon)
    within = answered & (arrays.wait_ms <= 30_000)
    assert within.sum() / counted.sum() > 0.965
