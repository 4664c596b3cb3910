"""Policy states and release-gate decisions (DESIGN.md "Policy states and the release gate").

A policy is data (:class:`~errorbudget.model.PolicyPreset`, built-ins in
``catalogs/policies.yaml``): ordered rules turn a series' budget into a state, and the
preset says what each state is called, its gauge colour, its advice and what the gate
decides for a change of each risk. Everything here reads the preset; no surface keeps a
rule of its own. Thresholds are compared exactly (engine/exact.py).

Before the budget rules, the data is judged: a series whose data covers less than the SLO's
``data.min_coverage`` is ``insufficient_data`` (its budget figures are not trusted), one
with nothing eligible is ``no_data``. Stale data (older than ``data.max_age``) keeps its
state, but the gate never allows on it (``stale_data``, default review).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from errorbudget.engine.evaluator import STATES, Spends, policy_states
from errorbudget.engine.exact import Spend
from errorbudget.model import (
    Decision,
    PolicyPreset,
    PolicyState,
    Risk,
)

__all__ = ["DECISION_ORDER", "STATE_ORDER", "Decision", "GateRule", "Risk"]

DECISION_ORDER: dict[Decision, int] = {
    "allow": 0,
    "review": 1,
    "approval_required": 2,
    "blocked": 3,
}

STATE_ORDER: dict[PolicyState, int] = {
    "no_data": 0,
    "healthy": 1,
    "insufficient_data": 2,
    "watch": 3,
    "freeze": 4,
    "exhausted": 5,
}
"""States from mildest to worst (for "the worst state of these series")."""


def policy_state(
    preset: PolicyPreset,
    period: Spend,
    windows: Mapping[str, Spend],
    firing: bool,
    sufficient: bool = True,
) -> PolicyState:
    """The state of one series (or aggregate) under ``preset``: the evaluator over
    instants (``engine.evaluator.policy_states``) at one instant.

    ``period`` is the budget of the period to date, ``windows`` the burn windows, ``firing``
    whether any burn-rate condition holds, ``sufficient`` whether its data covers enough of
    the window.
    """
    names = ("period", *windows)
    found = [period, *windows.values()]
    spends = Spends(
        names,
        np.array([s.bad for s in found], dtype=np.int64).reshape(-1, 1, 1),
        np.zeros((len(found), 1, 1), dtype=np.int64),  # eligible counts: not a criterion
        np.array([s.allowed for s in found], dtype=np.int64).reshape(-1, 1, 1),
        period.scale,
    )
    codes = policy_states(
        preset, spends, np.array([[firing]]), np.array([[sufficient]]), period="period"
    )
    return STATES[int(codes[0, 0])]


@dataclass(frozen=True, slots=True)
class GateRule:
    decision: Decision
    reason: str


def gate_rule(
    preset: PolicyPreset,
    state: PolicyState,
    change_type: str,
    risk: Risk,
    exempt: bool,
    stale: bool = False,
) -> GateRule:
    """What one series in ``state`` says about a change of ``change_type`` and ``risk``.

    ``exempt`` changes (incident fixes, security fixes, rollbacks, burn reductions: the
    config's ``gate.exempt_types``) always pass; they are still recorded. Stale data raises
    the decision to at least the preset's ``stale_data`` (never allow). A change type the
    preset lists as risky (``risky_change_types``) is judged at its ``risky_risk`` at least,
    and the reason says so.
    """
    if exempt:
        return GateRule("allow", f"{change_type} changes are exempt from budget policy")
    words = preset.state_policy(state)
    judged = preset.judged_risk(change_type, risk)
    decision = words.gate[judged]
    reason = f"{words.label}: {words.advice}"
    if judged != risk:
        reason += (
            f" ({change_type} changes are risky under the {preset.name} policy: judged as "
            f"{judged} risk, not {risk})"
        )
    if stale and DECISION_ORDER[preset.stale_data] > DECISION_ORDER[decision]:
        decision = preset.stale_data
        reason = f"data stale: the budget cannot be judged on it ({words.label} when last seen)"
    elif stale:
        reason += " (data stale)"
    return GateRule(decision, reason)


def worst(decisions: Iterable[Decision]) -> Decision:
    return max(decisions, key=DECISION_ORDER.__getitem__, default="allow")
