"""IVR completion counted visit by visit: the collector's three flow queries, answered by the
fake API over a simulator whose visits reach several outcomes and whose failed outcomes do
not always transfer, give exactly the simulator's good and total visits per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from errorbudget.model import SLO, to_minute
from errorbudget.simulate import FlowSpec, QueueSpec, Scenario, Seasonality, Simulation
from errorbudget.simulate.genesys_api.analytics import flow_aggregates
from errorbudget.simulate.records import FAILURE
from errorbudget.simulate.truth import flow_ground_truth
from errorbudget.sources.genesys.queries import (
    FlowQuery,
    IntervalCounts,
    merge_flow_answers,
    parse_aggregates,
)
from errorbudget.sources.genesys.slis import Names, flow_counts, flow_good_total

DAY_START = datetime(2026, 11, 10, tzinfo=UTC)
NOW = DAY_START + timedelta(days=1, hours=1)
FLAT = Seasonality(intraday=[1.0] * 24)


def scenario() -> Scenario:
    queue = QueueSpec(
        name="Support", media_type="voice", tier="standard", sl_target_seconds=20,
        sl_target_percent=80, peak_per_hour=10, seasonality=FLAT, staffing=[5] * 168,
        mean_handle_seconds=240, mean_patience_seconds=120,
    )  # fmt: skip
    flows = [
        FlowSpec(
            name="Payments", peak_per_hour=400, seasonality=FLAT, p_success=0.45,
            p_failure=0.2, p_disconnect=0.1, p_exit=0.25, exit_queues={"Support": 1.0},
            outcomes=["Pay bill", "Authenticate", "Check balance"], p_extra_outcome=0.5,
            p_extra_failed=0.3, p_failure_disconnect=0.5,
        ),
        FlowSpec(
            name="Plain", peak_per_hour=200, seasonality=FLAT, p_success=0.4, p_failure=0.1,
            p_disconnect=0.2, p_exit=0.3, exit_queues={"Support": 1.0},
        ),
    ]  # fmt: skip
    return Scenario(queues=[queue], flows=flows)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return Simulation(scenario(), seed=5)


def fetch(sim: Simulation, start: datetime, end: datetime) -> list[IntervalCounts]:
    """What the collector fetches for ``[start, end)``: its three queries, merged."""
    bodies = FlowQuery(None).bodies(to_minute(start), to_minute(end), timedelta(minutes=15))
    answers = [parse_aggregates(flow_aggregates(sim, body, NOW), "test") for body in bodies]
    rows = answers[0]
    merge_flow_answers(rows, answers[1:])
    return rows


def old_formula(row: IntervalCounts) -> tuple[int, int]:
    """main's formula before #7: outcome counts taken for visits."""
    disconnects = row.get("tFlowDisconnect")
    total = disconnects + row.get("tFlowExit")
    failed = row.get("nFlowOutcomeFailed")
    bad = failed + max(0, disconnects - (row.get("nFlowOutcome") - failed))
    return total - max(0, min(bad, total)), total


def test_the_simulator_makes_multi_outcome_visits_and_failures_that_hang_up(
    sim: Simulation,
) -> None:
    day = sim.flow_day(0, int(DAY_START.timestamp()) // 86_400)
    outcomes = day.reached_main.astype(int) + day.has_extra.astype(int)
    assert (outcomes == 2).sum() > 1000 and (outcomes == 0).sum() > 100
    failed_no_transfer = day.any_failed & ~day.exited
    assert failed_no_transfer.sum() > 500
    assert (day.any_failed & day.any_success).sum() > 100
    assert ((day.outcome == FAILURE) & day.exited).sum() > 500  # and some still transfer
    # the plain flow has neither: one outcome at most, every failure transfers
    plain = sim.flow_day(1, int(DAY_START.timestamp()) // 86_400)
    assert not plain.has_extra.any()
    assert not ((plain.outcome == FAILURE) & ~plain.exited).any()


def test_ivr_completion_equals_the_simulator_visit_by_visit(sim: Simulation) -> None:
    rows = fetch(sim, DAY_START, DAY_START + timedelta(days=1))
    truth = flow_ground_truth(sim, DAY_START, DAY_START + timedelta(days=1), as_of=NOW)
    compared = 0
    totals = {"truth": [0, 0], "new": [0, 0], "old": [0, 0]}
    for row in rows:
        flow_id = row.group["flowId"]
        expected = truth[(flow_id, datetime.fromtimestamp(row.start * 60, tz=UTC))]
        assert flow_good_total(row) == (expected.good, expected.ended), row.group
        for name, (good, total) in (
            ("truth", (expected.good, expected.ended)),
            ("new", flow_good_total(row)),
            ("old", old_formula(row)),
        ):
            totals[name][0] += good
            totals[name][1] += total
        compared += 1
    assert compared == 2 * 96
    assert totals["new"] == totals["truth"]
    assert totals["old"] != totals["truth"]  # the outcome-based formula was wrong here
    print(f"\nIVR completion over a day (good, total): {totals}")


def test_flow_counts_per_segment(sim: Simulation) -> None:
    slo = SLO.model_validate(
        {"id": "ivr", "service": "cc", "target": 0.8,
         "window": {"type": "rolling", "length": "7d"},
         "indicator": {"source": "genesys", "metric": "ivr_completion",
                       "flows": {"names": ["Payments"]}},
         "segments": {"keys": ["flow"]}}
    )  # fmt: skip
    rows = fetch(sim, DAY_START, DAY_START + timedelta(hours=6))
    counts = flow_counts(slo, rows, Names({}, {}))
    assert {segment for segment, _ in counts} == {(("flow", "Payments"),)}
    truth = flow_ground_truth(sim, DAY_START, DAY_START + timedelta(hours=6), as_of=NOW)
    payments = sim.scenario.flow("Payments").id
    good = sum(c.good for (f, _), c in truth.items() if f == payments)
    total = sum(c.ended for (f, _), c in truth.items() if f == payments)
    assert np.sum([v for v in counts.values()], axis=0).tolist() == [good, total]


def test_outcome_filters_of_the_fake_select_outcomes_or_visits(sim: Simulation) -> None:
    """A filter on an outcome dimension: outcome metrics count the matching outcomes, visit
    metrics the visits with at least one (``notExists``: none)."""
    interval = "2026-11-10T00:00:00.000Z/2026-11-11T00:00:00.000Z"
    flow = sim.scenario.flow("Payments")
    day = sim.flow_day(0, int(DAY_START.timestamp()) // 86_400)
    ended = (day.end_ms >= 0) & (day.end_ms < int(DAY_START.timestamp() * 1000) + 86_400_000)
    ended &= day.end_ms >= int(DAY_START.timestamp() * 1000)

    def ask(predicate: dict[str, str], metrics: list[str]) -> dict[str, int]:
        body = {
            "interval": interval,
            "filter": {"type": "and", "predicates": [predicate],
                       "clauses": [{"type": "or", "predicates": [
                           {"dimension": "flowId", "value": flow.id}]}]},
            "metrics": metrics,
        }  # fmt: skip
        answer = flow_aggregates(sim, body, NOW)
        (result,) = answer["results"]
        return {m["metric"]: m["stats"]["count"] for m in result["data"][0]["metrics"]}

    authenticate = flow.outcome_ids[1]
    failed_auth = ask(
        {"dimension": "flowOutcome", "value": f"{authenticate}:FAILURE"},
        ["nFlowOutcome", "tFlow"],
    )
    extra_auth_failed = day.has_extra & day.extra_failed & (day.extra_outcome == 1)
    assert failed_auth["tFlow"] == int((extra_auth_failed & ended).sum())
    no_outcome = ask({"dimension": "flowOutcomeId", "operator": "notExists"}, ["tFlow"])
    assert no_outcome["tFlow"] == int((~day.any_outcome & ended).sum())


def test_flow_spec_outcome_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="p_extra_outcome needs two or more outcomes"):
        FlowSpec(
            name="x", peak_per_hour=1, seasonality=FLAT, p_success=1, p_failure=0,
            p_disconnect=0, p_exit=0, p_extra_outcome=0.1,
        )  # fmt: skip
    spec = scenario().flow("Payments")
    assert len(set(spec.outcome_ids)) == 3
