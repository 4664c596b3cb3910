"""The alert rules' decisions (engine/alert_rules.py) on hand-made facts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from errorbudget.alert_records import fingerprint
from errorbudget.alert_settings import Alerting
from errorbudget.engine.alert_rules import NO_DATA_END, SeriesFacts, decide

CONDITIONS = (
    ("page-1h-5m", "page"),
    ("page-6h-30m", "page"),
    ("ticket-1d-2h", "ticket"),
    ("ticket-3d-6h", "ticket"),
)


def facts(holding: list[list[bool]], remaining: list[float], **extra: object) -> SeriesFacts:
    """One series over instants 100, 101, …; ``holding`` per condition."""
    count = len(remaining)
    at = np.arange(100, 100 + count, dtype=np.int64)
    fields: dict[str, object] = {
        "at": at,
        "conditions": CONDITIONS,
        "holding": np.array(holding, dtype=bool).reshape(len(CONDITIONS), 1, count),
        "remaining_ratio": np.array([remaining], dtype=np.float64),
        "hold_end": np.full((1, count), 5000, dtype=np.int64),
        "exhaustion_seconds": np.full((1, count), math.nan),
        "data_end": at[None, :].copy(),
        "stale": np.zeros((1, count), dtype=bool),
        "expected": np.ones((1, count), dtype=bool),
    }
    fields.update(extra)
    return SeriesFacts(**fields)  # type: ignore[arg-type]


def by_name(decisions: list, alertname: str, severity: str, rule: str = "") -> object:  # type: ignore[type-arg]
    return next(
        d for d in decisions if (d.alertname, d.severity, d.rule) == (alertname, severity, rule)
    )


def test_tiers_of_one_severity_are_one_alert_and_a_page_inhibits_tickets() -> None:
    holding = [[False, True, True], [False, False, True], [True, True, True], [False] * 3]
    decisions = decide(facts(holding, [0.9, 0.9, 0.9]), Alerting())
    page = by_name(decisions, "ErrorBudgetBurn", "page")
    ticket = by_name(decisions, "ErrorBudgetBurn", "ticket")
    assert page.active[0].tolist() == [False, True, True]  # type: ignore[attr-defined]
    assert page.tiers == (0, 1)  # type: ignore[attr-defined]
    assert ticket.active[0].tolist() == [True, True, True]  # type: ignore[attr-defined]
    assert ticket.inhibited[0].tolist() == [False, True, True]  # type: ignore[attr-defined]
    assert not page.inhibited.any()  # type: ignore[attr-defined]


def test_a_tier_can_be_turned_off_or_moved_to_another_severity() -> None:
    holding = [[True], [False], [True], [False]]
    settings = Alerting.model_validate(
        {"tiers": {"page-1h-5m": {"enabled": False}, "ticket-1d-2h": {"severity": "page",
                                                                       "for": "5m"}}}
    )  # fmt: skip
    decisions = decide(facts(holding, [0.9]), settings)
    burns = [d for d in decisions if d.alertname == "ErrorBudgetBurn"]
    assert [(d.severity, d.tiers, d.for_minutes) for d in burns] == [
        ("page", (1, 2), 0),  # for: the shortest of its tiers'
        ("ticket", (3,), 0),
    ]
    assert burns[0].active[0].tolist() == [True]


def test_consumed_thresholds_are_met_exactly_and_hold_to_the_period_end() -> None:
    decisions = decide(facts([[False] * 3] * 4, [0.5, 0.1, math.nan]), Alerting())
    half = by_name(decisions, "ErrorBudgetConsumed", "ticket", "consumed-0.5")
    most = by_name(decisions, "ErrorBudgetConsumed", "ticket", "consumed-0.9")
    assert half.active[0].tolist() == [True, True, False]  # type: ignore[attr-defined]
    assert most.active[0].tolist() == [False, True, False]  # 10 % left is 90 % consumed
    assert most.hold_until[0].tolist() == [5000] * 3  # type: ignore[attr-defined]
    low = by_name(decisions, "ErrorBudgetLow", "notice")
    assert low.active[0].tolist() == [False, True, False]  # type: ignore[attr-defined]
    assert low.inhibited[0].tolist() == [True, True, False]  # a ticket is active at both
    a, b = (fingerprint("ErrorBudgetConsumed", "s", (), "ticket", r) for r in ("c-0.5", "c-0.9"))
    assert a != b and fingerprint("X", "s", (), "page") == fingerprint("X", "s", (), "page", "")


def test_budget_thresholds_are_decided_on_integers_where_floats_cannot_tell() -> None:
    """30 % consumed, exactly at and one bad event short of it, with 10^17 allowed: the
    float ratio rounds both to 0.7 left; the integers tell them apart (a threshold decision
    is exact at the boundary)."""
    allowed = 10**17
    spent = np.array([[3 * 10**16, 3 * 10**16 - 1]], dtype=np.int64)
    remaining = [(allowed - int(x)) / allowed for x in spent[0]]
    assert remaining == [0.7, 0.7]  # what a float sees
    settings = Alerting.model_validate(
        {"budget": {"consumed": [{"at": 0.3}], "floor": {"below": 0.7}}}
    )
    exact = decide(
        facts([[False] * 2] * 4, remaining, spent=spent, allowed=np.full((1, 2), allowed)),
        settings,
    )
    rounded = decide(facts([[False] * 2] * 4, remaining), settings)
    rule = ("ErrorBudgetConsumed", "ticket", "consumed-0.3")
    assert by_name(exact, *rule).active[0].tolist() == [True, False]  # type: ignore[attr-defined]
    assert by_name(rounded, *rule).active[0].tolist() == [True, True]  # type: ignore[attr-defined]
    # floor: less than 70 % left ⇔ more than 30 % consumed: neither is
    low = by_name(exact, "ErrorBudgetLow", "notice")
    assert low.active[0].tolist() == [False, False]  # type: ignore[attr-defined]


def test_no_data_needs_expected_traffic_for_the_whole_span() -> None:
    at = np.arange(100, 103, dtype=np.int64)
    ends = np.array([[85, 85, NO_DATA_END]], dtype=np.int64)
    expected = np.array([[True, True, False]])
    decisions = decide(
        facts([[False] * 3] * 4, [0.9] * 3, data_end=ends, expected=expected, at=at),
        Alerting(),
    )
    no_data = by_name(decisions, "SLONoData", "ticket")
    assert no_data.active[0].tolist() == [True, True, False]  # type: ignore[attr-defined]
    off = decide(facts([[False]] * 4, [0.9]), Alerting.model_validate({"no_data": None}))
    assert not [d for d in off if d.alertname == "SLONoData"]


def test_a_consumed_threshold_given_twice_is_refused_at_load() -> None:
    """Each threshold is its own alert (``consumed-0.5``); two alike would be one alert with
    two signals, which the alert service refuses every minute."""
    with pytest.raises(ValidationError, match=r"consumed threshold\(s\) 0.5 given more than once"):
        Alerting.model_validate(
            {"budget": {"consumed": [{"at": 0.5}, {"at": 0.5, "severity": "notice"}]}}
        )
