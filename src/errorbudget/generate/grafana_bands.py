"""Grafana threshold steps from an SLO's policy preset: the colour bands of its budget gauge
and of its projected period-end stat, derived from the preset's own budget thresholds
(``PolicyPreset.remaining_thresholds``, the same ones the dashboard's gauges draw), never
from constants.

Grafana colours a value by the last step whose value is at or below it (the first step,
valued ``None``, is the base). A preset's rules are exact about their edge: ``remaining_below:
0.2`` is strictly below 20 %, ``remaining_at_or_below: 0.5`` includes 50 %. A strict edge is a
step at the edge itself; an inclusive one is a step at the next float above it, so a
remaining of exactly 50 % is coloured as the state the rule gives it (watch), as ``errorbudget
status`` does.

The colour is the budget's: a rule that also needs a burn rate (``voice-agent``'s freeze is
"below 20 % *and* burning above 1") still colours below its threshold, as the dashboard's
gauge ticks do; the state itself is in the per-tier table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from errorbudget.presets import Band, PolicyPreset, StatePolicy

GRAFANA_COLOURS: dict[Band, str] = {
    "green": "green",
    "amber": "orange",
    "red": "red",
    "none": "text",
}
"""A preset band as a Grafana named colour (amber is Grafana's orange)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One Grafana threshold step: from ``value`` up (``None``: the base), colour ``band``."""

    value: float | None
    band: Band

    @property
    def colour(self) -> str:
        return GRAFANA_COLOURS[self.band]


@dataclass(frozen=True, slots=True)
class Edge:
    """A budget threshold of a preset: below it (or at it, when ``inclusive``) the series is
    in ``state``'s band."""

    remaining: float
    inclusive: bool
    state: StatePolicy


def edges(preset: PolicyPreset) -> list[Edge]:
    """The preset's budget thresholds inside (0, 1), lowest first, each with whether its rule
    includes the threshold (the first rule naming a value decides, as in
    ``remaining_thresholds``)."""
    inclusive: dict[float, bool] = {}
    for rule in preset.rules:
        if rule.remaining_below is not None:
            inclusive.setdefault(rule.remaining_below, False)
        elif rule.remaining_at_or_below is not None:
            inclusive.setdefault(rule.remaining_at_or_below, True)
    return [
        Edge(value, inclusive[value], state)
        for value, state in reversed(preset.remaining_thresholds())
    ]


def remaining_steps(preset: PolicyPreset) -> list[Step]:
    """Steps for *budget remaining* (0..1): the worst band below the lowest threshold, then
    each milder band from its threshold up, healthy above the highest."""
    found = edges(preset)
    if not found:
        return [Step(None, preset.healthy.band)]
    steps = [Step(None, found[0].state.band)]
    milder = [edge.state for edge in found[1:]] + [preset.healthy]
    for edge, state in zip(found, milder, strict=True):
        start = math.nextafter(edge.remaining, math.inf) if edge.inclusive else edge.remaining
        steps.append(Step(start, state.band))
    return steps


def consumed_steps(preset: PolicyPreset) -> list[Step]:
    """Steps for *projected consumed* (0..): the same bands mirrored (consumed = 1 −
    remaining), so a projection is coloured by the state the period would end in: healthy
    while little is consumed, each worse band from its threshold up."""
    found = edges(preset)
    steps = [Step(None, preset.healthy.band)]
    for edge in reversed(found):
        consumed = 1.0 - edge.remaining
        # remaining ≤ t ⇔ consumed ≥ 1 − t; remaining < t ⇔ consumed > 1 − t
        start = consumed if edge.inclusive else math.nextafter(consumed, math.inf)
        steps.append(Step(start, edge.state.band))
    return steps


def band_at(steps: list[Step], value: float) -> Band:
    """The band Grafana gives ``value`` under ``steps`` (the last step at or below it)."""
    band = steps[0].band
    for step in steps[1:]:
        if step.value is not None and value >= step.value:
            band = step.band
    return band
