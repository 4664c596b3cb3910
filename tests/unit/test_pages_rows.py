"""The dashboard's view-model parts, from synthetic statuses (no store, no web)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from errorbudget.model import SLO, BudgetStatus, ConditionResult, PolicyState
from errorbudget.web.pages_models import FiringCondition, SloRef
from errorbudget.web.pages_overview import answers, ship_answer
from errorbudget.web.pages_rows import (
    aggregate_row,
    condition_cells,
    firing_conditions,
    firing_order,
    service_gate,
    slo_card,
    tier_of,
    tier_sort_key,
)

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
    **changes: Any,
) -> BudgetStatus:
    remaining = 1.0 - consumed / budget_total if budget_total else None
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
    )
    return replace(base, **changes)


def test_aggregate_row_sums_budgets_like_a_whole_slo_row() -> None:
    rows = [
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
    row = aggregate_row("standard", {"tier": "standard"}, rows)
    assert row.series == 2
    assert row.budget_remaining_ratio == pytest.approx(1 - 75 / 150)
    assert row.band == "amber"
    assert row.eligible == 2000 and row.bad == 75
    assert row.sli == pytest.approx(1 - 75 / 2000)
    assert row.target == pytest.approx(1 - 150 / 2000)
    # Burn rates and exhaustion of the worst series, never a blended invention.
    assert row.worst_segment == "queue=support,tier=standard"
    assert row.burn_1h == 1.4
    assert row.time_to_exhaustion_seconds == 600.0
    assert row.state == "freeze"


def test_aggregate_of_one_series_is_that_series() -> None:
    one = status({"tier": "vip", "queue": "vip-billing"}, budget_total=40, consumed=10)
    row = aggregate_row("vip", {"tier": "vip"}, [one])
    assert row.budget_remaining_ratio == pytest.approx(0.75)
    assert row.label == "vip" and row.series == 1
    assert row.worst_segment == "queue=vip-billing,tier=vip"


def test_aggregate_without_budget_is_no_data() -> None:
    row = aggregate_row("x", {}, [status(budget_total=0, consumed=0, eligible=0), status()])
    assert row.budget_remaining_ratio == pytest.approx(0.7)
    empty = aggregate_row("x", {}, [status(budget_total=0, consumed=0, eligible=0)] * 2)
    assert empty.budget_remaining_ratio is None and empty.band == "none" and empty.sli is None


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
    card = slo_card(SLO_DEF, whole, rows)
    assert card.gauge.band == "red" and card.gauge.freeze_recommended
    assert card.fast_burns == 2 and card.slow_burns == 0 and card.series == 2


@pytest.mark.parametrize(
    ("state", "low", "medium", "high"),
    [
        ("healthy", "allow", "allow", "allow"),
        ("watch", "allow", "review", "review"),
        ("freeze", "review", "approval_required", "approval_required"),
        ("exhausted", "blocked", "blocked", "blocked"),
    ],
)
def test_service_gate_follows_the_gate_rules(
    state: PolicyState, low: str, medium: str, high: str
) -> None:
    gate = service_gate("contact-center", [status(), status({"queue": "q"}, state=state)])
    assert gate.decisions == {"low": low, "medium": medium, "high": high}
    if medium != "allow":
        assert gate.blocking == [f"voice-sla queue=q: {state}"]


def firing_item(kind: str, burn: float, segment: dict[str, str]) -> FiringCondition:
    ref = SloRef(
        id="voice-sla",
        service="contact-center",
        description="",
        owner="",
        window="30d",
        budgeting="occurrences",
        url="/slos/voice-sla",
    )
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
    card = slo_card(SLO_DEF, whole, [whole])
    gate = service_gate("contact-center", [status(state="freeze")])
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


def test_ship_answer_names_each_service_when_they_differ() -> None:
    gates = [
        service_gate("contact-center", [status(state="freeze")]),
        service_gate("platform", [status(state="exhausted")]),
    ]
    answer = ship_answer(gates)
    assert answer.verdict == "platform: no · contact-center: with VP approval"
    assert ship_answer([service_gate("a", [status()])]).verdict == "Yes: ship normally"


def test_firing_conditions_of_one_slo() -> None:
    hot = (condition("page", "1h", "5m", 5.4, 9.0, 9.5, firing=True), *QUIET[1:])
    found = firing_conditions(SLO_DEF, [status(), status({"queue": "q"}, conditions=hot)])
    assert len(found) == 1
    assert found[0].kind == "fast" and found[0].segment == {"queue": "q"}
