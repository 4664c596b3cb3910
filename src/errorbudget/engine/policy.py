"""Policy states and release-gate decisions (DESIGN.md "Policy states and the release gate").

- healthy: remaining > 50 % and no burn condition holds → ship normally
- watch: remaining ≤ 50 %, or a burn condition holds → owner review for risky changes
- freeze: remaining < 20 % and the 6h burn rate > 1 → risky changes need VP-level approval
- exhausted: remaining ≤ 0 → only incident, security and burn-reducing fixes

(default preset; other presets move the thresholds, see catalogs/policies.yaml)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from errorbudget.model import ConditionResult, PolicyPreset, PolicyState

Risk = Literal["low", "medium", "high"]
Decision = Literal["allow", "review", "approval_required", "blocked"]

DECISION_ORDER: dict[Decision, int] = {
    "allow": 0,
    "review": 1,
    "approval_required": 2,
    "blocked": 3,
}


def policy_state(
    preset: PolicyPreset,
    remaining_ratio: float | None,
    burn_rates: Mapping[str, float | None],
    conditions: Iterable[ConditionResult],
) -> PolicyState:
    """The state of one series under ``preset``."""
    if remaining_ratio is None:
        return "no_data"
    if remaining_ratio <= 0:
        return "exhausted"
    if remaining_ratio < preset.freeze_below_remaining:
        burn = burn_rates.get(preset.freeze_burn_window)
        if preset.freeze_min_burn is None or (burn is not None and burn > preset.freeze_min_burn):
            return "freeze"
    if remaining_ratio <= preset.watch_below_remaining:
        return "watch"
    if preset.watch_on_slow_burn and any(c.firing for c in conditions):
        return "watch"
    return "healthy"


@dataclass(frozen=True, slots=True)
class GateRule:
    decision: Decision
    reason: str


def gate_rule(state: PolicyState, change_type: str, risk: Risk, exempt: bool) -> GateRule:
    """What one series in ``state`` says about a change of ``change_type`` and ``risk``.

    ``exempt`` changes (incident fixes, security fixes, rollbacks, burn reductions) are the
    ones the policy always lets through; they are still recorded.
    """
    risky = risk in ("medium", "high")
    if exempt:
        return GateRule("allow", f"{change_type} changes are exempt from budget policy")
    if state == "exhausted":
        return GateRule(
            "blocked",
            "budget exhausted: only incident, security and burn-reducing fixes may ship",
        )
    if state == "freeze":
        if risky:
            return GateRule(
                "approval_required",
                f"change freeze: a {risk}-risk change needs VP-level (approver) approval",
            )
        return GateRule("review", "change freeze: low-risk changes need owner review")
    if state == "watch":
        if risky:
            return GateRule("review", "budget on watch: risky changes need owner review")
        return GateRule("allow", "budget on watch: low-risk changes may ship")
    if state == "no_data":
        return GateRule("allow", "no data in the window: the budget does not object")
    return GateRule("allow", "budget healthy: ship normally")


def worst(decisions: Iterable[Decision]) -> Decision:
    return max(decisions, key=DECISION_ORDER.__getitem__, default="allow")
