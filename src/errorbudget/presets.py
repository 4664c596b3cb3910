"""Policy presets: how a budget turns into a state, what each state is called and what the
release gate decides in it (DESIGN.md "Policy states and the release gate").

Presets are data (``catalogs/policies.yaml``, or ``policies:`` in the config); the engine
(``engine/policy.py``) reads them, and every surface takes its words and decisions from
the SLO's preset. The canonical states and decisions live here so every layer shares them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Risk = Literal["low", "medium", "high"]
Decision = Literal["allow", "review", "approval_required", "blocked"]
RISKS: tuple[Risk, ...] = ("low", "medium", "high")

PolicyState = Literal["no_data", "insufficient_data", "healthy", "watch", "freeze", "exhausted"]
"""The canonical states, mildest first after the two data states. A preset names them in its
own words (``contact-center`` says *warning* and *critical*), but machines and every
surface use these values."""

BudgetState = Literal["watch", "freeze", "exhausted"]
Band = Literal["green", "amber", "red", "none"]
"""Gauge colour band of a state (the seed dashboard's Panel 1)."""

BurnWindowName = Literal["5m", "30m", "1h", "2h", "6h", "1d", "3d", "period"]


class StateRule(_Model):
    """One row of a policy table: ``state`` holds when *every* criterion given holds.

    Rules are tried in order and the first that holds wins; a preset lists its worst state
    first. Several rules for one state mean "or". Thresholds are compared exactly, as the
    decimals they are written as (engine/exact.py).
    """

    state: BudgetState
    remaining_below: float | None = Field(default=None, le=1.0)
    """Budget remaining strictly below this share (0.2 = 20 %)."""
    remaining_at_or_below: float | None = Field(default=None, le=1.0)
    """Budget remaining at or below this share (0 = the budget is spent)."""
    burn_above: float | None = Field(default=None, ge=0.0)
    """The burn rate over ``burn_window`` strictly above this."""
    burn_window: BurnWindowName = "6h"
    condition_firing: bool = False
    """A multiwindow burn-rate condition holds (a fast or slow burn persists)."""

    @model_validator(mode="after")
    def _criteria(self) -> StateRule:
        if self.remaining_below is not None and self.remaining_at_or_below is not None:
            raise ValueError("give at most one of remaining_below and remaining_at_or_below")
        if (
            self.remaining_below is None
            and self.remaining_at_or_below is None
            and self.burn_above is None
            and not self.condition_firing
        ):
            raise ValueError(
                "a rule needs a criterion: remaining_below, remaining_at_or_below, "
                "burn_above or condition_firing"
            )
        return self

    def describe(self) -> str:
        """``remaining < 20% and burn(6h) > 1``."""
        parts = []
        if self.remaining_below is not None:
            parts.append(f"remaining < {percent_text(self.remaining_below)}")
        if self.remaining_at_or_below is not None:
            parts.append(f"remaining ≤ {percent_text(self.remaining_at_or_below)}")
        if self.burn_above is not None:
            parts.append(f"burn({self.burn_window}) > {self.burn_above:g}")
        if self.condition_firing:
            parts.append("a burn-rate condition holds")
        return " and ".join(parts)


CHANGE_TYPE_ALIASES: dict[str, str] = {"provider": "model"}
"""Change types that mean another (seed 002 "model/provider changes")."""


def change_type_key(change_type: str) -> str:
    """The spelling a change type is compared by: lower case, ``_`` as ``-``, an alias
    (:data:`CHANGE_TYPE_ALIASES`) as what it means — ``Tool_Schema`` is ``tool-schema``,
    ``provider`` is ``model``."""
    key = change_type.strip().lower().replace("_", "-")
    return CHANGE_TYPE_ALIASES.get(key, key)


def percent_text(ratio: float) -> str:
    """``20%``, ``99.95%``: a ratio as the percentage it was written as."""
    return f"{ratio * 100:.4f}".rstrip("0").rstrip(".") + "%"


def _covers(earlier: StateRule, later: StateRule) -> bool:
    """Whether ``earlier`` holds for every budget ``later`` could hold for: ``earlier`` is a
    pure budget-remaining rule whose range contains ``later``'s."""
    if earlier.burn_above is not None or earlier.condition_firing:
        return False
    bound, inclusive = (
        (earlier.remaining_below, False)
        if earlier.remaining_below is not None
        else (earlier.remaining_at_or_below, True)
    )
    if bound is None:
        return False
    if later.remaining_below is not None:
        return later.remaining_below <= bound
    if later.remaining_at_or_below is not None:
        value = later.remaining_at_or_below
        return value < bound or (value == bound and inclusive)
    return False


class StatePolicy(_Model):
    """What one state means under a preset: its word, colour, advice and gate decisions."""

    label: str = Field(min_length=1)
    band: Band
    advice: str = Field(min_length=1)
    """The release policy in one sentence, shown on gauges, tables, the exec view and in
    every gate reason."""
    gate: dict[Risk, Decision]
    """The gate's decision for a (non-exempt) change of each risk in this state."""

    @field_validator("gate")
    @classmethod
    def _every_risk(cls, value: dict[Risk, Decision]) -> dict[Risk, Decision]:
        missing = [risk for risk in RISKS if risk not in value]
        if missing:
            raise ValueError(f"gate needs a decision for every risk (missing: {missing})")
        return value


def _data_state(label: str, advice: str, medium: Decision) -> StatePolicy:
    return StatePolicy(
        label=label,
        band="none",
        advice=advice,
        gate={"low": "allow", "medium": medium, "high": medium},
    )


class PolicyPreset(_Model):
    """A named error-budget policy (DESIGN.md "Policy states and the release gate"): from
    it come the state of every series, the gauge's colour and words, the gate's decision
    and the exec view — no surface keeps a rule of its own. Built-in presets are in
    ``catalogs/policies.yaml``; a config may add or replace presets."""

    name: str
    description: str = ""
    rules: list[StateRule] = Field(min_length=1)
    healthy: StatePolicy
    watch: StatePolicy | None = None
    freeze: StatePolicy | None = None
    exhausted: StatePolicy | None = None
    no_data: StatePolicy = _data_state(
        "no data", "nothing eligible in the window: the budget does not object", "allow"
    )
    insufficient_data: StatePolicy = _data_state(
        "insufficient data",
        "too little data to judge the budget: risky changes need owner review",
        "review",
    )
    stale_data: Decision = "review"
    """The least a change gets when a series in its scope has stale data (never allow)."""
    risky_change_types: list[str] = Field(default_factory=list)
    """Change types that are risky under this preset whatever risk they are submitted with
    (seed 002: prompt, model/provider, ASR, TTS, routing, tool schema, knowledge base): the
    gate judges them at ``risky_risk`` at least, and its reason says so."""
    risky_risk: Risk = "medium"
    """The least risk a change of one of ``risky_change_types`` is judged at."""

    def judged_risk(self, change_type: str, risk: Risk) -> Risk:
        """The risk the gate judges a change of ``change_type`` submitted at ``risk`` at:
        raised to ``risky_risk`` for a risky change type (compared by :func:`change_type_key`:
        ``Prompt``, ``tool_schema`` and ``provider`` are risky when ``prompt``,
        ``tool-schema`` and ``model`` are listed), else ``risk``."""
        risky = {change_type_key(t) for t in self.risky_change_types}
        if change_type_key(change_type) in risky and RISKS.index(risk) < RISKS.index(
            self.risky_risk
        ):
            return self.risky_risk
        return risk

    @model_validator(mode="after")
    def _rules_reachable(self) -> PolicyPreset:
        severity = {"exhausted": 3, "freeze": 2, "watch": 1}
        for index, (before, after) in enumerate(zip(self.rules, self.rules[1:], strict=False)):
            if severity[after.state] > severity[before.state]:
                raise ValueError(
                    f"rules[{index + 1}] ({after.state}) comes after a milder state "
                    f"({before.state}): list the worst state first"
                )
        for index, rule in enumerate(self.rules):
            for earlier in self.rules[:index]:
                if _covers(earlier, rule):
                    raise ValueError(
                        f"rules[{index}] ({rule.state}: {rule.describe()}) can never hold: "
                        f"an earlier rule ({earlier.state}: {earlier.describe()}) takes every "
                        "budget it would"
                    )
        return self

    @model_validator(mode="after")
    def _states_described(self) -> PolicyPreset:
        used = {rule.state for rule in self.rules}
        missing = sorted(state for state in used if getattr(self, state) is None)
        if missing:
            raise ValueError(f"rules reach state(s) {missing}, which the preset does not describe")
        if self.stale_data == "allow":
            raise ValueError("stale_data cannot be allow: stale data never lets a change through")
        return self

    def remaining_thresholds(self) -> list[tuple[float, StatePolicy]]:
        """The budget-remaining thresholds its rules use inside (0, 1), highest first, each
        with the state it leads to (for gauge ticks and chart lines)."""
        found: dict[float, StatePolicy] = {}
        for rule in self.rules:
            value = rule.remaining_below
            if value is None:
                value = rule.remaining_at_or_below
            if value is not None and 0.0 < value < 1.0 and value not in found:
                found[value] = self.state_policy(rule.state)
        return sorted(found.items(), key=lambda item: -item[0])

    def state_policy(self, state: PolicyState) -> StatePolicy:
        """The description of ``state``; states the rules cannot reach fall back to the
        nearest milder one that is described."""
        order: list[PolicyState] = ["exhausted", "freeze", "watch", "healthy"]
        if state in ("no_data", "insufficient_data"):
            found = getattr(self, state)
            assert isinstance(found, StatePolicy)
            return found
        for candidate in order[order.index(state) :]:
            found = getattr(self, candidate)
            if found is not None:
                assert isinstance(found, StatePolicy)
                return found
        return self.healthy
