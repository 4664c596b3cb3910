"""A series at one instant: hand-checked scenarios, burn conditions, policy and gate rules."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.engine.alerts import effective_conditions, evaluate_conditions, max_burn_rate
from errorbudget.engine.budget import Counts
from errorbudget.engine.policy import gate_rule, policy_state, worst
from errorbudget.engine.status import evaluate_series
from errorbudget.engine.windows import nominal_length, plan
from errorbudget.model import BURN_WINDOWS, SLO, to_minute

GOOGLE = builtin_burn_catalogs()["google-30d"]
DEFAULT = builtin_policies()["default"]


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


def evaluate(
    slo: SLO,
    at: int,
    counted: dict[str, Counts],
    raw: dict[str, Counts] | None = None,
    segment: tuple[tuple[str, str], ...] = (),
) -> object:
    evaluation = plan(
        slo.window, at, slo.forecast.exhaustion_lookback, slo.forecast.projection_lookback
    )
    target = slo.target_for(segment)
    conditions = effective_conditions(
        GOOGLE, nominal_length(slo.window), target, slo.alerting.max_burn_fraction
    )
    return evaluate_series(slo, segment, evaluation, raw or counted, counted, DEFAULT, conditions)


def test_calendar_month_in_new_york_hand_checked() -> None:
    slo = voice_slo()
    at = minute("2026-11-16T05:00:00+00:00")  # 15 days and 1 hour into November (DST ended)
    status = evaluate(
        slo,
        at,
        counted={
            "period": Counts(good=9_250, total=10_000),
            "lookback:projection": Counts(good=850, total=1_000),
            "lookback:exhaustion": Counts(good=40, total=50),
            "1h": Counts(good=40, total=50),
            "6h": Counts(good=270, total=300),
        },
    )
    assert status.period_start == minute("2026-11-01T04:00:00+00:00")  # type: ignore[attr-defined]
    assert status.budget_total == pytest.approx(1_500)  # type: ignore[attr-defined]
    assert status.budget_remaining_ratio == pytest.approx(0.5)  # type: ignore[attr-defined]
    assert status.state == "watch"  # type: ignore[attr-defined]  # remaining ≤ 50 %
    # 750 events left at 10 bad per hour -> 75 hours
    assert status.time_to_exhaustion_seconds == pytest.approx(75 * 3600)  # type: ignore[attr-defined]
    # 15 days left: (750 + 150*15) / (0.15 * (10,000 + 1,000*15)) = 0.8
    assert status.projected_consumed_ratio == pytest.approx(0.8)  # type: ignore[attr-defined]
    elapsed, length = 15 * 1440 + 60, 30 * 1440 + 60
    assert status.linear_projected_consumed_ratio == pytest.approx(0.5 * length / elapsed)  # type: ignore[attr-defined]
    assert status.burn_rates["1h"] == pytest.approx((10 / 50) / 0.15)  # type: ignore[attr-defined]
    assert status.burn_rates["5m"] is None  # type: ignore[attr-defined]  # no data != 0


def test_segment_override_target_is_used() -> None:
    slo = voice_slo()
    at = minute("2026-11-16T05:00:00+00:00")
    status = evaluate(slo, at, {"period": Counts(9_700, 10_000)}, segment=(("tier", "vip"),))
    assert status.target == 0.95  # type: ignore[attr-defined]
    assert status.budget_total == pytest.approx(500)  # type: ignore[attr-defined]
    assert status.budget_remaining_ratio == pytest.approx(0.4)  # type: ignore[attr-defined]


def test_exclusions_show_raw_and_counted_figures() -> None:
    slo = voice_slo()
    at = minute("2026-11-16T05:00:00+00:00")
    raw = {"period": Counts(8_000, 10_000)}
    counted = {"period": Counts(7_900, 8_500)}  # 1,500 excluded of which 1,400 bad
    status = evaluate(slo, at, counted, raw)
    assert status.raw_total == 10_000  # type: ignore[attr-defined]
    assert status.raw_bad == 2_000  # type: ignore[attr-defined]
    assert status.excluded == 1_500  # type: ignore[attr-defined]
    assert status.bad == 600  # type: ignore[attr-defined]
    assert status.eligible == 8_500  # type: ignore[attr-defined]


def test_no_data_state() -> None:
    status = evaluate(voice_slo(), minute("2026-11-16T05:00:00+00:00"), {})
    assert status.state == "no_data"  # type: ignore[attr-defined]
    assert status.sli is None  # type: ignore[attr-defined]
    assert status.budget_remaining_ratio is None  # type: ignore[attr-defined]


def all_windows(good: float, total: float) -> dict[str, Counts]:
    return {name: Counts(good, total) for name in BURN_WINDOWS}


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
    rates = {name: 1 / 0.15 for name in BURN_WINDOWS}
    results = evaluate_conditions(conditions, rates, dict.fromkeys(BURN_WINDOWS, 500.0), 20)
    assert [r.firing for r in results] == [True, True, True, True]
    # Without adaptation the 14.4 page could never fire at 85 %: the highest burn is 6.67.
    assert max(rates.values()) < page.catalog_factor == pytest.approx(14.4)


def test_conditions_compare_strictly_and_need_both_windows() -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.999)
    eligible = dict.fromkeys(BURN_WINDOWS, 10_000.0)
    exactly = {name: 14.4 for name in BURN_WINDOWS}
    assert not evaluate_conditions(conditions, exactly, eligible, 20)[0].firing
    long_only = {**exactly, "1h": 15.0, "5m": 2.0}
    assert not evaluate_conditions(conditions, long_only, eligible, 20)[0].firing
    both = {**exactly, "1h": 14.400001, "5m": 14.400001}
    assert evaluate_conditions(conditions, both, eligible, 20)[0].firing


def test_one_failed_call_out_of_ten_does_not_page() -> None:
    slo = voice_slo(target=0.999, window={"type": "rolling", "length": "30d"})
    status = evaluate(
        slo,
        minute("2026-11-16T05:00:00+00:00"),
        {"period": Counts(99_990, 100_000), **all_windows(9, 10)},
    )
    assert status.burn_rates["1h"] == pytest.approx(100)  # type: ignore[attr-defined]
    assert status.alerts == []  # type: ignore[attr-defined]
    busy = evaluate(
        slo,
        minute("2026-11-16T05:00:00+00:00"),
        {"period": Counts(99_990, 100_000), **all_windows(90, 100)},
    )
    assert [a.severity for a in busy.alerts][:2] == ["page", "page"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("remaining", "burn_6h", "firing", "expected"),
    [
        (0.8, 0.5, False, "healthy"),
        (0.8, 0.5, True, "watch"),  # a burn condition holds: burn is not normal
        (0.5, 0.5, False, "watch"),
        (0.3, 3.0, False, "watch"),
        (0.19, 1.5, False, "freeze"),
        (0.19, 1.0, False, "watch"),  # low but not burning: watch, not freeze
        (0.19, None, False, "watch"),
        (0.0, 0.0, False, "exhausted"),
        (-0.4, 0.0, False, "exhausted"),
        (None, None, False, "no_data"),
    ],
)
def test_default_policy_table(
    remaining: float | None, burn_6h: float | None, firing: bool, expected: str
) -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.99)
    results = evaluate_conditions(
        conditions,
        {n: (20.0 if firing else 0.0) for n in BURN_WINDOWS},
        dict.fromkeys(BURN_WINDOWS, 1_000.0),
        20,
    )
    assert policy_state(DEFAULT, remaining, {"6h": burn_6h}, results) == expected


def test_warn50_freeze90_preset() -> None:
    preset = builtin_policies()["warn50-freeze90"]
    assert policy_state(preset, 0.09, {"6h": 0.0}, ()) == "freeze"
    assert policy_state(preset, 0.45, {"6h": 0.0}, ()) == "watch"
    assert policy_state(preset, 0.55, {"6h": 0.0}, ()) == "healthy"


def test_gate_rules_follow_the_policy_table() -> None:
    assert gate_rule("healthy", "feature", "high", False).decision == "allow"
    assert gate_rule("watch", "feature", "high", False).decision == "review"
    assert gate_rule("watch", "feature", "low", False).decision == "allow"
    assert gate_rule("freeze", "prompt", "medium", False).decision == "approval_required"
    assert gate_rule("freeze", "prompt", "low", False).decision == "review"
    assert gate_rule("exhausted", "feature", "low", False).decision == "blocked"
    assert gate_rule("exhausted", "incident-fix", "high", True).decision == "allow"
    assert worst(["allow", "blocked", "review"]) == "blocked"
    assert worst([]) == "allow"


def test_whole_slo_budget_is_the_sum_of_segment_budgets() -> None:
    import numpy as np

    from errorbudget.engine.status import segment_allowances

    # period: VIP 300 bad of 10,000 (budget 500 at 95 %), standard 3,000 of 30,000 (6,000).
    # The last day all traffic was VIP (1,000 calls, 50 bad): the whole SLO's budget rate is
    # VIP's 5 %, not a blend of the month's mix.
    counted = np.array(
        [
            [[9_700, 10_000], [950, 1_000]],
            [[27_000, 30_000], [0, 0]],
        ],
        dtype=float,
    )
    names = ["period", "lookback:projection"]
    allowances = segment_allowances(np.array([0.95, 0.80]), counted, names)
    assert allowances == pytest.approx({"period": 6_500, "lookback:projection": 50})
    slo = voice_slo()  # calendar month in New York
    at = minute("2026-11-16T05:00:00+00:00")  # 15 days left
    whole = evaluate_series(
        slo,
        (),
        plan(slo.window, at, timedelta(hours=1), timedelta(days=1)),
        {"period": Counts(36_700, 40_000)},
        {"period": Counts(36_700, 40_000), "lookback:projection": Counts(950, 1_000)},
        DEFAULT,
        [],
        allowances,
    )
    assert whole.budget_total == pytest.approx(6_500)
    assert whole.budget_remaining == pytest.approx(6_500 - 3_300)
    assert whole.target == pytest.approx(1 - 6_500 / 40_000)
    # (3,300 + 50 × 15) / (6,500 + 50 × 15) — the sum of the segments' projections
    assert whole.projected_consumed_ratio == pytest.approx(4_050 / 7_250)


def test_factors_never_fall_below_one() -> None:
    week = effective_conditions(GOOGLE, timedelta(days=7), 0.99)
    # 3d/6h over a week scales to 0.23: raised to 1 so on-pace spending does not ticket.
    assert week[3].catalog_factor == pytest.approx(0.1 * 168 / 72)
    assert week[3].factor == 1.0
    assert week[3].adapted


def test_timeslice_guard_scales_with_slice_length() -> None:
    conditions = effective_conditions(GOOGLE, timedelta(days=30), 0.999)
    rates = {name: 1_000.0 for name in BURN_WINDOWS}
    # 5-minute slices: a 1h window holds 12, so a total outage (12 bad slices) must page.
    eligible = {"5m": 1.0, "30m": 6.0, "1h": 12.0, "2h": 24.0, "6h": 72.0, "1d": 288.0, "3d": 864.0}
    results = evaluate_conditions(conditions, rates, eligible, 20, slice_minutes=5)
    assert results[0].firing
    assert not evaluate_conditions(conditions, rates, eligible, 20)[0].firing
