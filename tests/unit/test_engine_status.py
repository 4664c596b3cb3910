"""A series at one instant: hand-checked scenarios, burn conditions, policy and gate rules,
and every documented threshold decided exactly at its boundary."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.engine.alerts import (
    EffectiveCondition,
    effective_conditions,
    evaluate_conditions,
    max_burn_rate,
    slo_conditions,
)
from errorbudget.engine.budget import Counts
from errorbudget.engine.exact import Spend
from errorbudget.engine.policy import gate_rule, policy_state, worst
from errorbudget.engine.status import (
    aggregate_inputs,
    data_coverage,
    evaluate_aggregate,
    evaluate_batch,
    evaluate_series,
    range_counts,
    series_inputs,
)
from errorbudget.engine.windows import plan
from errorbudget.model import BURN_WINDOWS, SLO, BudgetStatus, PolicyPreset, to_minute

GOOGLE = builtin_burn_catalogs()["google-30d"]
PRESETS = builtin_policies()
CONTACT_CENTER = PRESETS["contact-center"]
VOICE_AGENT = PRESETS["voice-agent"]
TARGETS = (0.8, 0.85, 0.9, 0.95, 0.99, 0.999, 0.9995)
AT = "2026-11-16T05:00:00+00:00"


def minute(text: str) -> int:
    return to_minute(datetime.fromisoformat(text))


def voice_slo(**overrides: object) -> SLO:
    data: dict[str, object] = {
        "id": "voice-sla",
        "service": "contact-center",
        "target": 0.85,
        "window": {"type": "calendar", "unit": "month", "timezone": "America/New_York"},
        "segments": {"keys": ["tier"], "overrides": [{"match": {"tier": "vip"}, "target": 0.95}]},
    }
    data.update(overrides)
    return SLO.model_validate(data)


def conditions_for(slo: SLO, target: Fraction) -> list[EffectiveCondition]:
    catalog = builtin_burn_catalogs()[slo.alerting.catalog]
    return slo_conditions(catalog, slo, target)


def evaluate(
    slo: SLO,
    at: int,
    counted: dict[str, Counts],
    raw: dict[str, Counts] | None = None,
    segment: tuple[tuple[str, str], ...] = (),
    preset: PolicyPreset = CONTACT_CENTER,
    bounds: tuple[int, int] | None = (0, 10**9),
) -> BudgetStatus:
    """One series from counts by range name (missing names count as zero)."""
    evaluation = plan(slo.window, at, slo.forecast.lookback)

    def array(found: dict[str, Counts]) -> np.ndarray:
        rows = [found.get(name, Counts(0.0, 0.0)) for name in evaluation.names]
        return np.array([[[c.good, c.total] for c in rows]], dtype=float)

    counts = range_counts(
        array(raw or counted), array(counted), [slo.target_for(segment)], [bounds]
    )
    return evaluate_series(slo, segment, evaluation, counts, 0, preset, conditions_for)


def test_calendar_month_in_new_york_hand_checked() -> None:
    slo = voice_slo()
    at = minute(AT)  # 15 days and 1 hour into November (DST ended)
    status = evaluate(
        slo,
        at,
        counted={
            "period": Counts(good=9_250, total=10_000),
            "lookback": Counts(good=850, total=1_000),
            "1h": Counts(good=40, total=50),
            "6h": Counts(good=270, total=300),
        },
    )
    assert status.period_start == minute("2026-11-01T04:00:00+00:00")
    assert status.budget_total == pytest.approx(1_500)
    assert status.budget_remaining_ratio == pytest.approx(0.5)
    assert status.state == "watch"  # remaining ≤ 50 %
    assert status.state_label == "warning"  # seed 000's word, from the preset
    # The last day burned at exactly 1×: the budget grows as fast as it is spent.
    assert status.outlook == "not_at_this_rate"
    assert status.time_to_exhaustion_seconds is None
    # 15 days left: (750 + 150*15) / (0.15 * (10,000 + 1,000*15)) = 0.8
    assert status.projected_consumed_ratio == pytest.approx(0.8)
    elapsed, length = 15 * 1440 + 60, 30 * 1440 + 60
    assert status.linear_projected_consumed_ratio == pytest.approx(0.5 * length / elapsed)
    assert status.burn_rates["1h"] == pytest.approx((10 / 50) / 0.15)
    assert status.burn_rates["5m"] is None  # no data != 0
    assert status.meets_target is True


def test_segment_override_target_is_used() -> None:
    slo = voice_slo()
    status = evaluate(
        slo, minute(AT), {"period": Counts(9_700, 10_000)}, segment=(("tier", "vip"),)
    )
    assert status.target == 0.95
    assert status.budget_total == pytest.approx(500)
    assert status.budget_remaining_ratio == pytest.approx(0.4)


def test_exclusions_show_raw_and_counted_figures() -> None:
    slo = voice_slo()
    raw = {"period": Counts(8_000, 10_000)}
    counted = {"period": Counts(7_900, 8_500)}  # 1,500 excluded of which 1,400 bad
    status = evaluate(slo, minute(AT), counted, raw)
    assert status.raw_total == 10_000
    assert status.raw_bad == 2_000
    assert status.excluded == 1_500
    assert status.bad == 600
    assert status.eligible == 8_500


def test_no_data_state() -> None:
    status = evaluate(voice_slo(), minute(AT), {})
    assert status.state == "no_data"
    assert status.sli is None
    assert status.budget_remaining_ratio is None
    assert status.meets_target is None


# --- exact thresholds ---------------------------------------------------------------------

EVENTS = 200_000
"""Eligible events in the period: ``(1 − T) × 200,000`` is whole at every target below."""


def allowed(target: float) -> int:
    value = Fraction(repr(target))
    return int((1 - value) * EVENTS)


def at_target(
    target: float, bad: int, preset: PolicyPreset, windows: dict[str, Counts] | None = None
) -> BudgetStatus:
    slo = voice_slo(target=target, segments={}, window={"type": "rolling", "length": "30d"})
    return evaluate(
        slo, minute(AT), {"period": Counts(EVENTS - bad, EVENTS), **(windows or {})}, preset=preset
    )


@pytest.mark.parametrize("target", TARGETS)
def test_budget_exactly_spent_is_exhausted_at_every_target(target: float) -> None:
    spent = at_target(target, allowed(target), CONTACT_CENTER)
    assert spent.state == "exhausted"
    assert spent.budget_remaining_ratio == 0.0
    assert spent.meets_target is True  # SLI = target exactly: the target is met
    assert spent.outlook == "spent"
    one_less = at_target(target, allowed(target) - 1, CONTACT_CENTER)
    assert one_less.state == "freeze"
    one_more = at_target(target, allowed(target) + 1, CONTACT_CENTER)
    assert one_more.state == "exhausted" and one_more.meets_target is False


@pytest.mark.parametrize("target", TARGETS)
def test_exactly_20_and_50_percent_left_are_warning_at_every_target(target: float) -> None:
    budget = allowed(target)
    burning = {"6h": Counts(0, 100)}  # burn far above 1
    at_20 = at_target(target, budget * 4 // 5, CONTACT_CENTER, burning)
    assert at_20.budget_remaining_ratio == 0.2
    assert at_20.state == "watch"
    assert at_target(target, budget * 4 // 5 + 1, CONTACT_CENTER).state == "freeze"
    at_50 = at_target(target, budget // 2, CONTACT_CENTER)
    assert at_50.budget_remaining_ratio == 0.5
    assert at_50.state == "watch"
    assert at_target(target, budget // 2 - 1, CONTACT_CENTER).state == "healthy"
    # voice-agent: exactly 20 % left is not "under 20 %", even while burning
    assert at_target(target, budget * 4 // 5, VOICE_AGENT, burning).state == "watch"
    assert at_target(target, budget * 4 // 5 + 1, VOICE_AGENT, burning).state == "freeze"


@pytest.mark.parametrize("target", TARGETS)
def test_voice_agent_exhausted_is_below_zero(target: float) -> None:
    budget = allowed(target)
    assert at_target(target, budget, VOICE_AGENT).state != "exhausted"
    assert at_target(target, budget + 1, VOICE_AGENT).state == "exhausted"


@pytest.mark.parametrize("target", TARGETS)
def test_warn50_freeze90_freezes_only_above_90_percent_consumed(target: float) -> None:
    preset = PRESETS["warn50-freeze90"]
    budget = allowed(target)
    assert at_target(target, budget * 9 // 10, preset).state == "watch"
    assert at_target(target, budget * 9 // 10 + 1, preset).state == "freeze"
    assert at_target(target, budget // 2, preset).state == "watch"
    assert at_target(target, budget // 2 - 1, preset).state == "healthy"


@pytest.mark.parametrize("target", TARGETS)
def test_a_burn_of_exactly_3_does_not_fire_the_1d_ticket(target: float) -> None:
    budget = allowed(target)  # over EVENTS events in each window
    exactly = {"1d": Counts(EVENTS - 3 * budget, EVENTS), "2h": Counts(EVENTS - 3 * budget, EVENTS)}
    status = at_target(target, 0, CONTACT_CENTER, exactly)
    ticket = next(c for c in status.conditions if c.long_window == "1d")
    assert ticket.factor == 3.0 and status.burn_rates["1d"] == pytest.approx(3.0)
    assert not ticket.firing
    over = {name: Counts(c.good - 1, c.total) for name, c in exactly.items()}
    ticket = next(
        c for c in at_target(target, 0, CONTACT_CENTER, over).conditions if c.long_window == "1d"
    )
    assert ticket.firing


@pytest.mark.parametrize("target", TARGETS)
def test_a_burn_of_exactly_one_is_not_above_one(target: float) -> None:
    """voice-agent freeze needs the 6h burn *above* 1."""
    budget = allowed(target)
    at_one = {"6h": Counts(EVENTS - budget, EVENTS)}
    low = budget * 9 // 10  # 10 % left
    assert at_target(target, low, VOICE_AGENT, at_one).state == "watch"
    above = {"6h": Counts(EVENTS - budget - 1, EVENTS)}
    assert at_target(target, low, VOICE_AGENT, above).state == "freeze"


def test_exact_14_4_at_99_9_does_not_page_one_more_bad_event_does() -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.999)
    assert conditions[0].threshold == Fraction(72, 5)
    eligible = dict.fromkeys(BURN_WINDOWS, 10_000.0)
    exactly = dict.fromkeys(BURN_WINDOWS, Spend(144, 10 * 1000, 1000))
    assert exactly["1h"].ratio == pytest.approx(14.4)
    assert not evaluate_conditions(conditions, exactly, eligible, 20)[0].firing
    over = dict.fromkeys(BURN_WINDOWS, Spend(145, 10 * 1000, 1000))
    assert evaluate_conditions(conditions, over, eligible, 20)[0].firing
    long_only = {**over, "5m": Spend(1, 10 * 1000, 1000)}
    assert not evaluate_conditions(conditions, long_only, eligible, 20)[0].firing


# --- catalogs ------------------------------------------------------------------------------


def test_catalog_factors_for_30_days_are_the_workbook_values() -> None:
    factors = [c.catalog_factor for c in effective_conditions(GOOGLE, timedelta(days=30), 0.999)]
    assert factors == pytest.approx([14.4, 6.0, 3.0, 1.0])
    scaled = effective_conditions(GOOGLE, timedelta(days=28), 0.999)
    assert [c.catalog_factor for c in scaled] == pytest.approx([13.44, 5.6, 2.8, 28 / 30])
    assert [c.factor for c in scaled] == pytest.approx([13.44, 5.6, 2.8, 1.0])


def test_total_outage_of_an_85_percent_queue_pages_after_adaptation() -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.85, 0.9)
    page = conditions[0]
    assert not page.reachable and page.adapted
    assert page.factor == pytest.approx(0.9 * max_burn_rate(0.85))
    outage = dict.fromkeys(BURN_WINDOWS, Spend(500, 500 * 15, 100))  # every event bad
    results = evaluate_conditions(conditions, outage, dict.fromkeys(BURN_WINDOWS, 500.0), 20)
    assert [r.firing for r in results] == [True, True, True, True]
    # Without adaptation the 14.4 page could never fire at 85 %: the highest burn is 6.67.
    assert max_burn_rate(0.85) < page.catalog_factor == pytest.approx(14.4)


def test_low_target_adaptation_splits_the_windows_at_the_ceiling() -> None:
    # The rule of issue #10 (replacing "lower the factor to 0.9 × the highest burn" on both
    # windows, which paged a total outage only after 54 minutes): the short window is
    # compared against the ceiling c, the long window against c × short / long.
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.85, 0.9)
    page, slow_page, ticket, slow_ticket = conditions
    assert page.threshold == Fraction(6) and page.long_window_threshold == Fraction(1, 2)
    # 6h/30m: F = 6 is not above c = 6, so it keeps 6 on both windows
    assert slow_page.threshold == 6 and not slow_page.split
    assert page.split and page.adapted and page.name == "page-1h-5m"
    assert (ticket.threshold, ticket.long_window_threshold) == (3, 3)  # 3 ≤ 6: unchanged
    assert not ticket.split and slow_ticket.threshold == 1
    unchanged = effective_conditions(GOOGLE, timedelta(days=30), 0.999, 0.9)
    assert [c.split for c in unchanged] == [False] * 4


def _outage_minutes(minutes: int, rate: int = 10) -> dict[str, Spend]:
    """Spends of an 85 % series ``minutes`` into a total outage after a healthy hour+."""
    found = {}
    for name, length in (("5m", 5), ("30m", 30), ("1h", 60), ("2h", 120), ("6h", 360)):
        found[name] = Spend(min(minutes, length) * rate, length * rate * 15, 100)
    for name, length in (("1d", 1440), ("3d", 4320)):
        found[name] = Spend(minutes * rate, length * rate * 15, 100)
    return found


def test_a_total_outage_of_an_85_percent_queue_pages_within_5_minutes() -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.85, 0.9, min_bad_events=2)
    eligible = {"5m": 50.0, "30m": 300.0, "1h": 600.0, "2h": 1200.0, "6h": 3600.0}
    eligible |= {"1d": 14_400.0, "3d": 43_200.0}
    assert not evaluate_conditions(conditions, _outage_minutes(4), eligible, 20)[0].firing
    # 5 minutes: burn(5m) = 6.67 > 6 and burn(1h) = 0.556 > 0.5
    assert evaluate_conditions(conditions, _outage_minutes(5), eligible, 20)[0].firing
    steady = {name: Spend(2 * 15 * 10, 100 * 15 * 10, 100) for name in BURN_WINDOWS}
    results = evaluate_conditions(conditions, steady, dict.fromkeys(BURN_WINDOWS, 1000.0), 20)
    assert [r.firing for r in results] == [False, False, False, True]  # 2× burn: a ticket


def test_one_bad_event_in_the_long_window_never_fires() -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.999, min_bad_events=2)
    eligible = dict.fromkeys(BURN_WINDOWS, 60.0)
    one = dict.fromkeys(BURN_WINDOWS, Spend(1, 60, 1000))  # burn 16.7 on every window
    assert [r.firing for r in evaluate_conditions(conditions, one, eligible, 20)] == [False] * 4
    two = dict.fromkeys(BURN_WINDOWS, Spend(2, 60, 1000))
    assert evaluate_conditions(conditions, two, eligible, 20)[0].firing


def test_one_failed_call_out_of_ten_does_not_page() -> None:
    slo = voice_slo(target=0.999, window={"type": "rolling", "length": "30d"})
    windows = {name: Counts(9, 10) for name in BURN_WINDOWS}
    status = evaluate(slo, minute(AT), {"period": Counts(99_990, 100_000), **windows})
    assert status.burn_rates["1h"] == pytest.approx(100)
    assert status.alerts == []
    busy = {name: Counts(90, 100) for name in BURN_WINDOWS}
    status = evaluate(slo, minute(AT), {"period": Counts(99_990, 100_000), **busy})
    assert [a.severity for a in status.alerts][:2] == ["page", "page"]


def test_factors_never_fall_below_one() -> None:
    week = effective_conditions(GOOGLE, timedelta(days=7), 0.99)
    # 3d/6h over a week scales to 0.23: raised to 1 so on-pace spending does not ticket.
    assert week[3].catalog_factor == pytest.approx(0.1 * 168 / 72)
    assert week[3].factor == 1.0
    assert week[3].adapted


def test_timeslice_guard_scales_with_slice_length() -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.999)
    spends = dict.fromkeys(BURN_WINDOWS, Spend(1, 1, 1000))  # every slice bad
    # 5-minute slices: a 1h window holds 12, so a total outage (12 bad slices) must page.
    eligible = {"5m": 1.0, "30m": 6.0, "1h": 12.0, "2h": 24.0, "6h": 72.0, "1d": 288.0, "3d": 864.0}
    assert evaluate_conditions(conditions, spends, eligible, 20, slice_minutes=5)[0].firing
    assert not evaluate_conditions(conditions, spends, eligible, 20)[0].firing


# --- policy presets and the gate ---------------------------------------------------------


def spend_left(remaining: Fraction, events: int = 1_000) -> Spend:
    """A period spend with ``remaining`` of the budget left (budget 100 events, scale 1)."""
    bad = (1 - remaining) * 100
    assert bad.denominator == 1
    return Spend(int(bad), 100, 1)


@pytest.mark.parametrize(
    ("remaining", "burn_6h", "firing", "expected"),
    [
        (Fraction(8, 10), 50, False, "healthy"),
        (Fraction(8, 10), 50, True, "watch"),  # a burn condition holds: burn is not normal
        (Fraction(1, 2), 50, False, "watch"),
        (Fraction(3, 10), 300, False, "watch"),
        (Fraction(19, 100), 150, False, "freeze"),
        (Fraction(19, 100), 100, False, "watch"),  # burning exactly 1: not freeze
        (Fraction(0), 0, False, "watch"),  # spent but not below 0, not burning
        (Fraction(-4, 10), 0, False, "exhausted"),
    ],
)
def test_voice_agent_policy_table(
    remaining: Fraction, burn_6h: int, firing: bool, expected: str
) -> None:
    windows = {"6h": Spend(burn_6h, 100, 1)}
    assert policy_state(VOICE_AGENT, spend_left(remaining), windows, firing) == expected


@pytest.mark.parametrize(
    ("remaining", "expected", "label"),
    [
        (Fraction(51, 100), "healthy", "healthy"),
        (Fraction(1, 2), "watch", "warning"),
        (Fraction(1, 5), "watch", "warning"),
        (Fraction(19, 100), "freeze", "critical"),
        (Fraction(0), "exhausted", "critical: budget spent"),
    ],
)
def test_contact_center_policy_is_seed_000(remaining: Fraction, expected: str, label: str) -> None:
    state = policy_state(CONTACT_CENTER, spend_left(remaining), {}, firing=True)
    assert state == expected
    assert CONTACT_CENTER.state_policy(state).label == label


def test_too_little_data_and_no_data_come_before_the_budget() -> None:
    spent = spend_left(Fraction(-10))
    assert policy_state(CONTACT_CENTER, spent, {}, False, sufficient=False) == "insufficient_data"
    assert policy_state(CONTACT_CENTER, Spend(0, 0, 1), {}, False) == "no_data"


def test_gate_rules_come_from_the_preset() -> None:
    cc, va = CONTACT_CENTER, VOICE_AGENT
    assert gate_rule(cc, "healthy", "feature", "high", False).decision == "allow"
    assert gate_rule(cc, "watch", "feature", "high", False).decision == "review"
    assert gate_rule(cc, "watch", "feature", "low", False).decision == "allow"
    # seed 000: below 20 % any change needs VP approval; no hard freeze on budget alone
    assert gate_rule(cc, "freeze", "feature", "low", False).decision == "approval_required"
    assert gate_rule(cc, "exhausted", "feature", "high", False).decision == "approval_required"
    assert "change freeze recommended" in gate_rule(cc, "freeze", "x", "low", False).reason
    # seed 002: risky changes pause in freeze; exhausted ships only exempt fixes
    assert gate_rule(va, "freeze", "prompt", "medium", False).decision == "approval_required"
    assert gate_rule(va, "exhausted", "feature", "low", False).decision == "blocked"
    assert gate_rule(va, "exhausted", "incident-fix", "high", True).decision == "allow"
    # data that cannot be judged
    assert gate_rule(cc, "insufficient_data", "feature", "medium", False).decision == "review"
    assert gate_rule(cc, "no_data", "feature", "high", False).decision == "allow"
    stale = gate_rule(cc, "healthy", "feature", "low", False, stale=True)
    assert stale.decision == "review" and stale.reason.startswith("data stale")
    assert gate_rule(cc, "freeze", "x", "low", False, stale=True).decision == "approval_required"
    assert worst(["allow", "blocked", "review"]) == "blocked"
    assert worst([]) == "allow"


def test_a_preset_must_describe_every_state_its_rules_reach() -> None:
    from pydantic import ValidationError

    data = CONTACT_CENTER.model_dump()
    data["freeze"] = None
    with pytest.raises(ValidationError, match="does not describe"):
        PolicyPreset.model_validate(data)
    data = CONTACT_CENTER.model_dump()
    data["stale_data"] = "allow"
    with pytest.raises(ValidationError, match="never lets a change through"):
        PolicyPreset.model_validate(data)


# --- aggregates ----------------------------------------------------------------------------


def test_whole_slo_budget_is_the_sum_of_segment_budgets() -> None:
    # period: VIP 300 bad of 10,000 (budget 500 at 95 %), standard 3,000 of 30,000 (budget
    # 4,500 at the SLO's 85 %). The last day all traffic was VIP (1,000 calls, 50 bad): the
    # whole SLO's budget grows at VIP's 5 %, not at a blend of the month's mix.
    slo = voice_slo()
    at = minute(AT)  # 15 days left
    evaluation = plan(slo.window, at, slo.forecast.lookback)
    names = evaluation.names
    counted = np.zeros((2, len(names), 2))
    counted[0, names.index("period")] = [9_700, 10_000]
    counted[0, names.index("lookback")] = [950, 1_000]
    counted[1, names.index("period")] = [27_000, 30_000]
    segments = [(("tier", "vip"),), (("tier", "standard"),)]
    counts = range_counts(counted, counted, [slo.target_for(s) for s in segments], [(0, 10**9)] * 2)
    whole = evaluate_aggregate(slo, (), evaluation, counts, [0, 1], CONTACT_CENTER, conditions_for)
    assert whole.budget_total == pytest.approx(5_000)
    assert whole.budget_remaining == pytest.approx(5_000 - 3_300)
    assert whole.target == 0.85  # what was configured, not a traffic-weighted blend
    assert whole.effective_target == pytest.approx(1 - 5_000 / 40_000)
    # (3,300 + 50 × 15) / (5,000 + 50 × 15) — the sum of the segments' projections
    assert whole.projected_consumed_ratio == pytest.approx(4_050 / 5_750)
    # VIP spent 300 of 500 and standard 3,000 of 4,500: both meet their targets
    assert whole.meets_target is True and whole.series == 2


def test_a_whole_row_never_hides_a_segment_that_misses_its_target() -> None:
    slo = voice_slo()
    evaluation = plan(slo.window, minute(AT), slo.forecast.lookback)
    names = evaluation.names
    counted = np.zeros((2, len(names), 2))
    counted[0, names.index("period")] = [9_478, 10_000]  # VIP 94.78 % vs 95 %: missed
    counted[1, names.index("period")] = [90_000, 100_000]  # standard 90 % vs 85 %: fine
    segments = [(("tier", "vip"),), (("tier", "standard"),)]
    counts = range_counts(counted, counted, [slo.target_for(s) for s in segments], [(0, 10**9)] * 2)
    whole = evaluate_aggregate(slo, (), evaluation, counts, [0, 1], CONTACT_CENTER, conditions_for)
    assert whole.sli is not None and whole.sli > 0.85
    assert whole.meets_target is False
    assert whole.series_missing_target == 1
    # its state comes from the same summed budget as its figures (15,500 allowed, 10,522 bad)
    assert whole.budget_remaining_ratio == pytest.approx(1 - 10_522 / 15_500)
    assert whole.state == "watch"  # 32 % left
    vip = evaluate_series(slo, segments[0], evaluation, counts, 0, CONTACT_CENTER, conditions_for)
    assert vip.state == "exhausted" and vip.meets_target is False


# --- data coverage ------------------------------------------------------------------------


def test_too_little_data_says_so_instead_of_a_number() -> None:
    slo = voice_slo(target=0.999, segments={}, window={"type": "rolling", "length": "30d"})
    at = minute(AT)
    status = evaluate(
        slo,
        at,
        {"period": Counts(43, 44), **{n: Counts(4, 5) for n in BURN_WINDOWS}},
        bounds=(at - 44, at),
    )
    assert status.state == "insufficient_data"
    assert status.coverage is not None
    assert (status.coverage.covered_minutes, status.coverage.window_minutes) == (44, 43_200)
    assert status.budget_remaining_ratio is None  # not −2,172 %
    assert status.time_to_exhaustion_seconds is None
    assert status.outlook == "insufficient_data"
    assert status.meets_target is None
    from errorbudget.wording import data_note

    assert data_note(status.coverage) == "insufficient data (44 of 43,200 minutes)"
    enough = evaluate(slo, at, {"period": Counts(43, 44)}, bounds=(at - 4_320, at))
    assert enough.state != "insufficient_data"  # exactly 10 % of the window


def test_stale_data_is_flagged_by_age() -> None:
    slo = voice_slo(data={"max_age": "1h"})
    at = minute(AT)
    fresh = evaluate(slo, at, {"period": Counts(9_000, 10_000)}, bounds=(at - 20_000, at - 60))
    assert fresh.coverage is not None and fresh.coverage.age_seconds == 3600.0
    assert not fresh.stale
    old = evaluate(slo, at, {"period": Counts(9_500, 10_000)}, bounds=(at - 20_000, at - 61))
    assert old.stale
    assert old.state == "healthy"  # the budget figures stay; the gate will not allow on them
    ingest = voice_slo()  # an ingest series with no rows in a quiet hour is not judged stale
    quiet = evaluate(ingest, at, {"period": Counts(9_000, 10_000)}, bounds=(at - 20_000, at - 900))
    assert not quiet.stale


def test_a_calendar_period_is_judged_on_the_whole_period_not_its_first_minutes() -> None:
    """Ten minutes into December, two bad requests of 1,000 at 99.9 % would be −100 %: with
    40 days of history the data still covers only 10 minutes of December."""
    slo = voice_slo(target=0.999, segments={}, window={"type": "calendar", "unit": "month"})
    at = minute("2026-12-01T00:10:00+00:00")
    early = evaluate(slo, at, {"period": Counts(998, 1_000)}, bounds=(at - 40 * 1440, at))
    assert early.state == "insufficient_data"
    assert early.coverage is not None
    assert (early.coverage.covered_minutes, early.coverage.window_minutes) == (10, 44_640)
    assert early.budget_remaining_ratio is None and early.meets_target is None
    later = minute("2026-12-04T11:00:00+00:00")  # 3.5 days: over 10 % of the month
    judged = evaluate(slo, later, {"period": Counts(998, 1_000)}, bounds=(at - 40 * 1440, later))
    assert judged.state == "exhausted"


def test_a_member_with_too_little_data_neither_meets_nor_misses() -> None:
    slo = voice_slo()
    evaluation = plan(slo.window, minute(AT), slo.forecast.lookback)
    names = evaluation.names
    counted = np.zeros((2, len(names), 2))
    counted[0, names.index("period")] = [9_000, 10_000]  # 7 days, 90 % at 85 %: meets
    counted[1, names.index("period")] = [0, 30]  # 30 minutes, all bad: too little to judge
    at = minute(AT)
    bounds = [(at - 7 * 1440, at), (at - 30, at)]
    segments = [(("tier", "main"),), (("tier", "new"),)]
    counts = range_counts(counted, counted, [slo.target_for(s) for s in segments], bounds)
    new = evaluate_series(slo, segments[1], evaluation, counts, 1, CONTACT_CENTER, conditions_for)
    assert new.state == "insufficient_data"
    assert new.meets_target is None and new.series_missing_target == 0
    whole = evaluate_aggregate(slo, (), evaluation, counts, [0, 1], CONTACT_CENTER, conditions_for)
    assert whole.meets_target is True and whole.series_missing_target == 0


@pytest.mark.parametrize("seed", range(8))
def test_rows_evaluated_in_one_batch_equal_rows_evaluated_alone(seed: int) -> None:
    """Series rows, a whole-SLO row and group rows in one pass of the evaluator (budgets
    brought to one scale, here 1,000 and 20) give exactly the statuses each gets alone."""
    rng = np.random.default_rng(seed)
    slo = voice_slo()
    evaluation = plan(slo.window, minute(AT), slo.forecast.lookback)
    width = len(evaluation.names)
    total = rng.integers(0, 5_000, size=(4, width)).astype(np.float64)
    good = np.floor(total * rng.uniform(0.7, 1.0, size=(4, width)))
    counted = np.stack([good, total], axis=-1)
    segments = [(("tier", f"t{i}"),) for i in range(4)]
    targets = [0.999, 0.85, 0.95, 0.85]  # scale 1,000; the whole row's own target: 20
    bounds = [(0, 10**9), None, (minute(AT) - 600, minute(AT)), (0, 10**9)]
    counts = range_counts(counted, counted, targets, bounds)
    summed = counted[[0, 2]].sum(axis=0)
    items = [
        series_inputs(slo, segments, evaluation, counts),
        aggregate_inputs(slo, (), evaluation, counts, list(range(4))),
        aggregate_inputs(slo, (("tier", "x"),), evaluation, counts, [0, 2], (summed, summed)),
    ]
    together = evaluate_batch(items, evaluation, CONTACT_CENTER, conditions_for)
    alone = [evaluate_series(slo, s, evaluation, counts, i, CONTACT_CENTER, conditions_for)
             for i, s in enumerate(segments)]  # fmt: skip
    assert together[0] == alone
    everyone = [0, 1, 2, 3]
    assert together[1] == [
        evaluate_aggregate(slo, (), evaluation, counts, everyone, CONTACT_CENTER, conditions_for)
    ]
    assert together[2] == [
        evaluate_aggregate(
            slo, (("tier", "x"),), evaluation, counts, [0, 2], CONTACT_CENTER, conditions_for,
            (summed, summed),
        )
    ]  # fmt: skip
    assert items[2].scale == 20 and counts.scale == 1_000


@pytest.mark.parametrize("max_age", [None, "2h"])
@pytest.mark.parametrize("min_coverage", [0.0, 0.5, 0.9])
def test_series_rows_coverage_is_data_coverage_of_each_series(
    min_coverage: float, max_age: str | None
) -> None:
    """The per-series coverage built with the SLO's values worked out once equals
    ``data_coverage`` of each series alone, across bounds inside, around and without data."""
    data: dict[str, object] = {"min_coverage": min_coverage}
    if max_age is not None:
        data["max_age"] = max_age
    slo = voice_slo(data=data)
    at = minute(AT)
    evaluation = plan(slo.window, at, slo.forecast.lookback)
    start = evaluation.intervals["period"][0]
    bounds = [
        None,
        (0, 10**9),
        (start, at),
        (start + 7, at - 300),
        (at - 60, at - 59),
        (start - 500, start - 10),
        (at + 5, at + 50),
    ]
    names = len(evaluation.names)
    shape = (len(bounds), names, 2)
    counts = range_counts(
        np.zeros(shape), np.zeros(shape), [slo.target] * len(bounds), bounds,
        broken_minutes=list(range(len(bounds))),
    )  # fmt: skip
    segments = [(("tier", f"t{i}"),) for i in range(len(bounds))]
    rows = series_inputs(slo, segments, evaluation, counts).rows
    expected = [
        data_coverage(evaluation, found, min_coverage, slo.max_data_age, index)
        for index, found in enumerate(bounds)
    ]
    assert [row.coverage for row in rows] == expected
    assert [row.segment for row in rows] == segments
