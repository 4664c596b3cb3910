"""The dashboard's view-model parts, from synthetic statuses (no store, no web)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from errorbudget.catalogs import builtin_policies
from errorbudget.model import (
    SLO,
    BudgetStatus,
    ConditionResult,
    PolicyPreset,
    PolicyState,
    SourceHealth,
    to_minute,
)
from errorbudget.web.pages_models import FiringCondition
from errorbudget.web.pages_overview import answers, ship_answer
from errorbudget.web.pages_rows import (
    condition_cells,
    firing_conditions,
    firing_order,
    series_row,
    service_gate,
    slo_card,
    slo_ref,
    source_row,
    tier_of,
    tier_sort_key,
)

PRESETS = builtin_policies()
CC = PRESETS["contact-center"]
VA = PRESETS["voice-agent"]

SLO_DEF = SLO.model_validate(
    {
        "id": "voice-sla",
        "service": "contact-center",
        "target": 0.85,
        "window": {"type": "calendar", "unit": "month"},
        "segments": {"keys": ["tier", "queue"]},
    }
)


def condition(
    severity: str = "ticket",
    long_window: str = "3d",
    short_window: str = "6h",
    factor: float = 1.0,
    long_burn: float | None = 0.5,
    short_burn: float | None = 0.5,
    firing: bool = False,
) -> ConditionResult:
    return ConditionResult(
        severity=severity,
        long_window=long_window,
        short_window=short_window,
        factor=factor,
        catalog_factor=factor,
        adapted=False,
        long_burn=long_burn,
        short_burn=short_burn,
        long_eligible=1000.0,
        firing=firing,
    )


QUIET = (
    condition("page", "1h", "5m", 5.4),
    condition("page", "6h", "30m", 5.4),
    condition("ticket", "1d", "2h", 3.0),
    condition("ticket", "3d", "6h", 1.0),
)


def status(
    segment: dict[str, str] | None = None,
    *,
    budget_total: float = 100.0,
    consumed: float = 30.0,
    eligible: float = 1000.0,
    state: PolicyState = "healthy",
    burn_1h: float | None = 0.5,
    tte: float | None = 3600.0,
    conditions: tuple[ConditionResult, ...] = QUIET,
    preset: PolicyPreset = CC,
    **changes: Any,
) -> BudgetStatus:
    """A synthetic status worded by ``preset`` for ``state`` (as the engine words it)."""
    remaining = 1.0 - consumed / budget_total if budget_total else None
    words = preset.state_policy(state)
    base = BudgetStatus(
        slo="voice-sla",
        service="contact-center",
        segment=tuple(sorted((segment or {}).items())),
        target=0.9,
        window="month (UTC)",
        at=29_000_000,
        period_start=28_990_000,
        period_end=29_030_000,
        budgeting="occurrences",
        eligible=eligible,
        good=eligible - consumed,
        bad=consumed,
        raw_total=eligible,
        raw_bad=consumed,
        excluded=0.0,
        sli=(eligible - consumed) / eligible if eligible else None,
        budget_total=budget_total,
        budget_consumed=consumed,
        budget_remaining=budget_total - consumed,
        budget_remaining_ratio=remaining,
        burn_rates={"1h": burn_1h, "6h": 0.5, "1d": 0.6},
        period_burn_rate=1.0 - remaining if remaining is not None else None,
        time_to_exhaustion_seconds=tte,
        projected_consumed_ratio=None,
        linear_projected_consumed_ratio=None,
        state=state,
        conditions=conditions,
        outlook="exhausts" if tte else "not_at_this_rate",
        policy=preset.name,
        state_label=words.label,
        band=words.band,
        advice=words.advice,
        meets_target=consumed <= budget_total if eligible else None,
    )
    return replace(base, **changes)


def test_an_aggregate_row_shows_its_own_evaluation_and_names_its_lowest_member() -> None:
    """A tier row is the engine's aggregate: its burn, exhaustion and state are its own (of
    the summed counts), never borrowed from its worst member."""
    members = [
        status({"tier": "standard", "queue": "sales"}, budget_total=100, consumed=30),
        status(
            {"tier": "standard", "queue": "support"},
            budget_total=50,
            consumed=45,
            state="freeze",
            burn_1h=1.4,
            tte=600.0,
        ),
    ]
    tier = status(
        {"tier": "standard"}, budget_total=150, consumed=75, state="watch", burn_1h=0.8,
        tte=7200.0, series=2, series_missing_target=0,
    )  # fmt: skip
    row = series_row(tier, "standard", members)
    assert row.label == "standard" and row.series == 2
    assert row.budget_remaining_ratio == pytest.approx(0.5)
    assert (row.state, row.state_label, row.band) == ("watch", "warning", "amber")
    assert row.burn_1h == 0.8 and row.time_to_exhaustion_seconds == 7200.0
    assert row.worst_segment == "queue=support,tier=standard"


def slo(**fields: Any) -> SLO:
    base: dict[str, Any] = {
        "id": "x",
        "service": "s",
        "target": 0.9,
        "window": {"type": "rolling", "length": "30d"},
    }
    return SLO.model_validate({**base, **fields})


def test_tier_of() -> None:
    assert tier_of(SLO_DEF, {"tier": "vip", "queue": "a"}) == "vip"
    assert tier_of(slo(labels={"tier": "standard"}), {}) == "standard"
    assert tier_of(slo(labels={"media": "message"}), {"queue": "chat"}) == "digital"
    assert tier_of(slo(labels={"media": "voice"}), {"queue": "a"}) is None
    genesys = slo(indicator={"source": "genesys", "metric": "digital_sla"})
    assert tier_of(genesys, {}) == "digital"
    voice = slo(indicator={"source": "genesys", "metric": "voice_sla"})
    assert tier_of(voice, {}) is None
    assert sorted(["other", "digital", "vip", "standard"], key=tier_sort_key) == [
        "vip",
        "standard",
        "digital",
        "other",
    ]


def test_condition_cells_count_firing_series_and_name_the_worst() -> None:
    firing = (*QUIET[:3], condition("ticket", "3d", "6h", 1.0, 1.2, 1.1, firing=True))
    rows = [
        status({"tier": "standard", "queue": "sales"}),
        status({"tier": "standard", "queue": "support"}, conditions=firing),
    ]
    cells = condition_cells(rows)
    assert [c.kind for c in cells] == ["fast", "fast", "slow", "slow"]
    assert cells[3].firing_series == 1
    assert cells[3].worst_segment == "queue=support,tier=standard"
    assert cells[3].worst_long_burn == 1.2
    assert cells[0].firing_series == 0


def test_slo_card_counts_alerts_of_every_row() -> None:
    fast = (condition("page", "1h", "5m", 5.4, 9.0, 9.5, firing=True), *QUIET[1:])
    whole = status(budget_total=150, consumed=140, state="freeze", conditions=fast)
    rows = [status({"tier": "vip", "queue": "a"}, conditions=fast), status({"tier": "x"})]
    card = slo_card(SLO_DEF, CC, whole, rows)
    assert card.gauge.band == "red"
    assert card.gauge.advice.startswith("change freeze recommended")
    assert card.fast_burns == 2 and card.slow_burns == 0 and card.series == 2


def test_the_gauge_says_what_the_state_says() -> None:
    """16.2 % left, burning under 1× under the voice-agent preset: watch, and the gauge
    says watch too — no "change freeze recommended" beside a watch state."""
    whole = status(budget_total=1000, consumed=838, state="watch", preset=VA)
    card = slo_card(SLO_DEF, VA, whole, [whole])
    assert card.state == "watch" == card.gauge.state
    assert card.gauge.band == "amber" and card.gauge.state_label == "watch"
    assert "freeze" not in card.gauge.advice
    assert card.gauge.thresholds == [0.5, 0.2]
    # the same numbers under the contact-center preset are critical, and say so
    critical = status(budget_total=1000, consumed=838, state="freeze")
    card = slo_card(SLO_DEF, CC, critical, [critical])
    assert card.gauge.band == "red" and card.gauge.state_label == "critical"
    assert "VP-level approval" in card.gauge.advice


def test_slo_ref_shows_the_configured_target_and_how_the_whole_row_is_judged() -> None:
    segmented = SLO.model_validate(
        {
            **SLO_DEF.model_dump(),
            "segments": {
                "keys": ["tier", "queue"],
                "overrides": [
                    {"match": {"tier": "vip"}, "target": 0.95, "name": "VIP tier"},
                    {"match": {"tier": "standard"}, "target": 0.8},
                ],
            },
        }
    )
    ref = slo_ref(segmented, CC)
    assert ref.target == 0.85
    assert ref.target_overrides == ["VIP tier 95%", "tier=standard 80%"]
    assert "sum of its segments' budgets" in ref.judged
    assert ref.policy == "contact-center"


@pytest.mark.parametrize(
    ("state", "low", "medium", "high"),
    [
        ("healthy", "allow", "allow", "allow"),
        ("watch", "allow", "review", "review"),
        ("freeze", "approval_required", "approval_required", "approval_required"),
        ("exhausted", "approval_required", "approval_required", "approval_required"),
    ],
)
def test_service_gate_follows_the_preset(
    state: PolicyState, low: str, medium: str, high: str
) -> None:
    words = CC.state_policy(state)
    gate = service_gate(
        "contact-center", [status(), status({"queue": "q"}, state=state)], PRESETS, 0.05
    )
    assert gate.decisions == {"low": low, "medium": medium, "high": high}
    if medium != "allow":
        assert gate.blocking == [f"voice-sla queue=q: {words.label}"]


def test_a_small_segment_cannot_decide_for_the_whole_service_alone() -> None:
    whole = status(eligible=10_000.0)
    small = status({"queue": "q"}, state="exhausted", eligible=499.0, preset=VA)
    gate = service_gate("contact-center", [whole, small], PRESETS, 0.05)
    assert gate.decisions["medium"] == "allow"
    assert gate.below_minimum == ["voice-sla queue=q: exhausted"]
    big = status({"queue": "q"}, state="exhausted", eligible=500.0, preset=VA)
    gate = service_gate("contact-center", [whole, big], PRESETS, 0.05)
    assert gate.decisions["medium"] == "blocked"  # exactly 5 % is enough volume


def firing_item(kind: str, burn: float, segment: dict[str, str]) -> FiringCondition:
    ref = slo_ref(SLO_DEF, CC)
    return FiringCondition(
        slo=ref,
        segment=segment,
        segment_label=",".join(f"{k}={v}" for k, v in segment.items()) or "(all)",
        kind=kind,  # type: ignore[arg-type]
        severity="page" if kind == "fast" else "ticket",
        long_window="1h",
        short_window="5m",
        factor=5.0,
        long_burn=burn,
        short_burn=burn,
        budget_remaining_ratio=0.1,
        state="freeze",
        state_label="critical",
    )


def test_firing_order_puts_fast_burns_first() -> None:
    items = [
        firing_item("slow", 9.0, {"queue": "a"}),
        firing_item("fast", 6.0, {"queue": "b"}),
        firing_item("fast", 8.0, {"queue": "c"}),
    ]
    assert [i.segment["queue"] for i in sorted(items, key=firing_order)] == ["c", "b", "a"]


def test_answers_in_order() -> None:
    whole = status()
    card = slo_card(SLO_DEF, CC, whole, [whole])
    gate = service_gate("contact-center", [status(state="freeze")], PRESETS, 0.05)
    quiet = answers([card], [], [gate])
    assert [a.question for a in quiet] == [
        "Are callers affected now?",
        "Which SLO is burning?",
        "Which segment or change is responsible?",
        "Should we ship?",
    ]
    assert quiet[0].tone == "good" and quiet[0].verdict.startswith("No fast burn")
    assert quiet[3].tone == "bad" and "VP-level approval" in quiet[3].verdict

    burning = [firing_item("fast", 9.0, {"queue": "support"})]
    loud = answers([card], burning, [gate], ["Nov 17 12:00 deploy (voice-sla): v2"])
    assert loud[0].tone == "bad" and loud[0].verdict.startswith("Yes")
    assert loud[1].verdict == "voice-sla"
    assert loud[2].verdict == "queue=support (voice-sla)"
    assert loud[2].details[0] == "recent change: Nov 17 12:00 deploy (voice-sla): v2"

    blind = answers([card], [], [gate], [], ["voice-sla: data stale: newest is 30h 0m old"])
    assert blind[0].tone == "bad" and blind[0].verdict.startswith("Unknown: data is stale")


def test_ship_answer_names_each_service_when_they_differ() -> None:
    gates = [
        service_gate("contact-center", [status(state="freeze")], PRESETS, 0.05),
        service_gate("platform", [status(state="exhausted", preset=VA)], PRESETS, 0.05),
    ]
    answer = ship_answer(gates)
    assert answer.verdict == "platform: no · contact-center: with VP approval"
    assert ship_answer([service_gate("a", [status()], PRESETS, 0.05)]).verdict == (
        "Yes: ship normally"
    )


def test_firing_conditions_of_one_slo() -> None:
    hot = (condition("page", "1h", "5m", 5.4, 9.0, 9.5, firing=True), *QUIET[1:])
    found = firing_conditions(SLO_DEF, CC, [status(), status({"queue": "q"}, conditions=hot)])
    assert len(found) == 1
    assert found[0].kind == "fast" and found[0].segment == {"queue": "q"}


def test_the_minimum_volume_of_a_timeslices_slo_is_counted_in_events() -> None:
    """Slices are minutes: an endpoint with one call in most minutes holds most of the
    whole row's slices but a sliver of its events — it cannot block alone."""
    whole = status(eligible=43_000.0, eligible_events=1_000_000.0)
    tiny = status(
        {"endpoint": "rare"}, state="exhausted", eligible=40_000.0, eligible_events=40_000.0,
        preset=VA,
    )  # fmt: skip
    gate = service_gate("platform", [whole, tiny], PRESETS, 0.05)
    assert gate.decisions["medium"] == "allow"
    assert gate.below_minimum == ["voice-sla endpoint=rare: exhausted"]


@pytest.mark.parametrize(
    ("behind", "failures", "summary"),
    [
        (timedelta(0), 0, "ok: data current"),
        (timedelta(minutes=1), 0, "ok: data current"),
        (timedelta(minutes=2), 0, "ok: data 2m old"),
        (timedelta(hours=30), 1, "failing: 1 run in a row since Nov 19 06:00 UTC, data 1d 6h old"),
    ],
)
def test_a_source_says_how_old_its_data_is(behind: timedelta, failures: int, summary: str) -> None:
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    health = SourceHealth(
        source="genesys",
        last_run_at=at,
        last_success_at=at - behind,
        last_error="timed out" if failures else None,
        last_error_at=at if failures else None,
        consecutive_failures=failures,
        collected_through=to_minute(at - behind),
        runs=3,
    )
    assert source_row(health, at).summary == summary
