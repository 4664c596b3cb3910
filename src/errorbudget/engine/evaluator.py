"""The evaluator over instants: what a status decides on, for many series at many instants at
once (DESIGN.md "Concepts and formulas", "Burn-rate alerts", "Policy states").

Input: budget-counting counts per series, instant and named range (the burn windows, the
period to date, the forecast lookback …) as whole numbers, and each series' allowed bad
events per event. Output, per series and instant: SLI, budget, consumed and remaining
ratios, the burn rate of every window, which multiwindow burn-rate conditions hold and the
policy state. A status (``engine.status``) is the one-instant case; alert replay and
backtests are loops over this with many instants; :mod:`engine.minutes` runs it at every
minute of a range.

Every decision is made on integers (engine/exact.py): a budget is ``(1 − T) × E`` times the
scale (the targets' common denominator), and ``burn > factor`` is
``bad × scale × q > p × allowed`` for ``factor = p/q``. The floats shown (burn rates, ratios)
are computed from the same integers and round as Python's ``int / int`` does. Counts too
large for 64-bit products are decided on Python integers (object arrays): exact, slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from errorbudget.engine.exact import complement, decimal
from errorbudget.model import PolicyPreset, PolicyState, StateRule

if TYPE_CHECKING:
    from errorbudget.engine.conditions import EffectiveCondition

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StateArray = npt.NDArray[np.int8]

STATES: tuple[PolicyState, ...] = (
    "no_data",
    "insufficient_data",
    "healthy",
    "watch",
    "freeze",
    "exhausted",
)
"""The policy states in the order of their codes in :attr:`Instants.state`."""
STATE_CODE: dict[PolicyState, int] = {state: code for code, state in enumerate(STATES)}

_INT64_SAFE = 1 << 62
"""Products below this fit an int64 (with room for one addition)."""
_FLOAT_EXACT = 1 << 53
"""Integers below this convert to float64 exactly, so ``a / b`` rounds as ``int / int``."""


def _largest(values: npt.NDArray[np.generic]) -> int:
    """The largest magnitude in ``values`` (0 for none)."""
    if not values.size:
        return 0
    return max(int(values.max()), -int(values.min()))


def _widen(values: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """The same integers as Python ints (object array): exact products of any size."""
    return values.astype(object)


class Spends:
    """Bad events against allowed bad events per range, series and instant, exactly.

    ``bad``, ``total`` and ``allowed`` are (ranges × series × instants) integers, ranges in
    ``names`` order (each range's figures contiguous); ``allowed`` is the allowed bad
    events × ``scale``. The consumed ratio over a range (over a burn window: its burn rate)
    is ``bad × scale / allowed``.
    """

    __slots__ = ("_largest_allowed", "_largest_bad", "allowed", "bad", "names", "scale", "total")

    def __init__(
        self, names: Sequence[str], bad: IntArray, total: IntArray, allowed: IntArray, scale: int
    ) -> None:
        self.names = tuple(names)
        self.bad = bad
        self.total = total
        self.allowed = allowed
        self.scale = scale
        self._largest_bad = _largest(bad)
        self._largest_allowed = _largest(allowed)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def good(self, name: str) -> IntArray:
        at = self.index(name)
        found: IntArray = self.total[at] - self.bad[at]
        return found

    def has_data(self, name: str) -> BoolArray:
        found: BoolArray = self.allowed[self.index(name)] > 0
        return found

    def ratio(self, name: str) -> FloatArray:
        """``bad × scale / allowed`` (series × instants); NaN where nothing is allowed (no
        data)."""
        at = self.index(name)
        numerator = self.bad[at] * self.scale
        allowed = self.allowed[at]
        out = np.full(numerator.shape, np.nan)
        if max(self._largest_bad * self.scale, self._largest_allowed) >= _FLOAT_EXACT:
            positive = allowed > 0
            out[positive] = [
                int(a) / int(b)
                for a, b in zip(
                    numerator[positive].tolist(), allowed[positive].tolist(), strict=True
                )
            ]
            return out
        np.divide(numerator, allowed, out=out, where=allowed > 0)
        return out

    def compare(
        self,
        name: str,
        numerator: npt.NDArray[np.generic] | int,
        denominator: npt.NDArray[np.generic] | int,
        *,
        strict: bool = True,
    ) -> BoolArray:
        """``ratio > p/q`` (``≥`` unless ``strict``) exactly, False without data; ``p`` and
        ``q`` may be per series (shape (series,))."""
        at = self.index(name)
        bad: npt.NDArray[np.generic] = self.bad[at]
        allowed: npt.NDArray[np.generic] = self.allowed[at]
        p = np.asarray(numerator, dtype=object if _is_object(numerator) else np.int64)
        q = np.asarray(denominator, dtype=object if _is_object(denominator) else np.int64)
        if p.ndim:
            p = p.reshape(-1, *([1] * (bad.ndim - 1)))
            q = q.reshape(-1, *([1] * (bad.ndim - 1)))
        left_bound = self._largest_bad * self.scale * _largest(q)
        right_bound = _largest(p) * self._largest_allowed
        if max(left_bound, right_bound) >= _INT64_SAFE or p.dtype == object:
            bad, allowed = _widen(bad), _widen(allowed)
            p, q = _widen(p), _widen(q)
        left: npt.NDArray[np.generic] = (
            bad * (self.scale * q) if q.ndim else bad * (self.scale * int(q))
        )
        right: npt.NDArray[np.generic] = p * allowed if p.ndim else int(p) * allowed
        holds = np.greater(left, right) if strict else np.greater_equal(left, right)
        found: BoolArray = np.asarray(holds, dtype=bool) & (self.allowed[at] > 0)
        return found


def _is_object(value: object) -> bool:
    return isinstance(value, np.ndarray) and value.dtype == object


def spends(
    names: Sequence[str],
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    per_event: Sequence[int] | IntArray,
    scale: int,
) -> Spends:
    """:class:`Spends` from whole-number counts (ranges × series × instants) and each
    series' allowed bad events per event × ``scale`` (``engine.exact.allowed_per_event``)."""
    good_counts = np.rint(np.asarray(good, dtype=np.float64)).astype(np.int64)
    total_counts = np.rint(np.asarray(total, dtype=np.float64)).astype(np.int64)
    per = np.asarray(per_event, dtype=np.int64).reshape(-1, *([1] * (total_counts.ndim - 2)))
    return Spends(names, total_counts - good_counts, total_counts, per * total_counts, scale)


@dataclass(frozen=True, slots=True)
class Condition:
    """One multiwindow condition for a set of series: its windows and, per series, the
    factor ``numerators / denominators`` the short window's burn must exceed and
    ``long_numerators / long_denominators`` the long window's (the same but for a
    low-target adapted condition; each series' factors are adapted to its own target,
    engine/alerts.py), and the bad events its long window needs (the low-traffic guard)."""

    severity: str
    long_name: str
    short_name: str
    long_minutes: int
    numerators: npt.NDArray[np.generic]
    denominators: npt.NDArray[np.generic]
    long_numerators: npt.NDArray[np.generic] | None = None
    long_denominators: npt.NDArray[np.generic] | None = None
    min_bad: IntArray | None = None
    name: str = ""


def conditions_per_series(per_series: Sequence[Sequence[EffectiveCondition]]) -> list[Condition]:
    """Stack each series' effective conditions (the same catalog scaled to each series'
    target) into one :class:`Condition` per catalog row.

    Series of one SLO at one target share their list of conditions (the same object):
    each distinct list is read once and its values spread to its series by index."""
    if not per_series:
        return []
    place: dict[int, int] = {}
    distinct: list[Sequence[EffectiveCondition]] = []
    spread = np.empty(len(per_series), dtype=np.int64)
    for position, conditions in enumerate(per_series):
        found_at = place.get(id(conditions))
        if found_at is None:
            found_at = place[id(conditions)] = len(distinct)
            distinct.append(conditions)
        spread[position] = found_at
    windows = [(c.long_name, c.short_name) for c in per_series[0]]
    for conditions in distinct:
        if [(c.long_name, c.short_name) for c in conditions] != windows:
            raise ValueError(
                "series evaluated together must share their burn catalog's conditions "
                "(engine.status.batch_key)"
            )
    found = []
    for index, first in enumerate(per_series[0]):
        rows = [conditions[index] for conditions in distinct]
        numerators, denominators = _fraction_arrays([row.threshold for row in rows], spread)
        split = any(row.split for row in rows)
        long_numerators, long_denominators = (
            _fraction_arrays([row.long_window_threshold for row in rows], spread)
            if split
            else (None, None)
        )
        min_bad = [row.min_bad_events for row in rows]
        found.append(
            Condition(
                severity=first.severity,
                long_name=first.long_name,
                short_name=first.short_name,
                long_minutes=int(first.long_window.total_seconds()) // 60,
                numerators=numerators,
                denominators=denominators,
                long_numerators=long_numerators,
                long_denominators=long_denominators,
                min_bad=np.array(min_bad, dtype=np.int64)[spread] if any(min_bad) else None,
                name=first.name,
            )
        )
    return found


def _fraction_arrays(
    values: Sequence[Fraction], spread: IntArray
) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]]:
    """Numerators and denominators of ``values[spread]`` (int64, or Python ints when too
    large)."""
    numerators = [v.numerator for v in values]
    denominators = [v.denominator for v in values]
    wide = max(max(numerators), max(denominators)) >= _INT64_SAFE
    dtype = object if wide else np.int64
    return (
        np.array(numerators, dtype=dtype)[spread],
        np.array(denominators, dtype=dtype)[spread],
    )


def condition_holds(
    spends: Spends,
    condition: Condition,
    min_events: int,
    slice_minutes: int | None = None,
) -> BoolArray:
    """Where ``burn(long) > long factor and burn(short) > factor`` with at least the minimum
    of eligible events, and the condition's minimum of bad events, in the long window
    (series × instants). For timeslices the counts are slices, and the eligible guard at most
    half the slices the long window holds."""
    guard = float(min_events)
    if slice_minutes:
        guard = min(guard, condition.long_minutes / slice_minutes / 2)
    at = spends.index(condition.long_name)
    eligible = spends.total[at]
    long_numerators = (
        condition.numerators if condition.long_numerators is None else condition.long_numerators
    )
    long_denominators = (
        condition.denominators
        if condition.long_denominators is None
        else condition.long_denominators
    )
    holds: BoolArray = (
        (eligible >= guard)
        & spends.compare(condition.long_name, long_numerators, long_denominators)
        & spends.compare(condition.short_name, condition.numerators, condition.denominators)
    )
    if condition.min_bad is not None:
        holds &= spends.bad[at] >= condition.min_bad.reshape(-1, *([1] * (holds.ndim - 1)))
    return holds


def _rule_holds(rule: StateRule, spends: Spends, period: str, firing: BoolArray) -> BoolArray:
    """Where every criterion of ``rule`` holds (engine/policy.py ``rule_holds``, over
    arrays): remaining < x ⇔ consumed > 1 − x; remaining ≤ x ⇔ consumed ≥ 1 − x."""
    holds = np.ones(firing.shape, dtype=bool)
    if rule.remaining_below is not None:
        bound = complement(rule.remaining_below)
        holds &= spends.compare(period, bound.numerator, bound.denominator)
    if rule.remaining_at_or_below is not None:
        bound = complement(rule.remaining_at_or_below)
        holds &= spends.compare(period, bound.numerator, bound.denominator, strict=False)
    if rule.burn_above is not None:
        window = period if rule.burn_window == "period" else rule.burn_window
        if window not in spends.names:
            return np.zeros(firing.shape, dtype=bool)
        bound = decimal(rule.burn_above)
        holds &= spends.compare(window, bound.numerator, bound.denominator)
    if rule.condition_firing:
        holds &= firing
    return holds


def policy_states(
    preset: PolicyPreset,
    spends: Spends,
    firing: BoolArray,
    sufficient: BoolArray,
    period: str = "period",
) -> StateArray:
    """The state of every series at every instant under ``preset`` (codes into
    :data:`STATES`): insufficient data first, then no data, then the first rule that holds,
    else healthy (engine/policy.py ``policy_state``)."""
    state = np.full(firing.shape, STATE_CODE["healthy"], dtype=np.int8)
    undecided = np.ones(firing.shape, dtype=bool)
    for rule in preset.rules:
        holds = _rule_holds(rule, spends, period, firing) & undecided
        state[holds] = STATE_CODE[rule.state]
        undecided &= ~holds
    state[~spends.has_data(period)] = STATE_CODE["no_data"]
    state[~sufficient] = STATE_CODE["insufficient_data"]
    return state


@dataclass(frozen=True, slots=True)
class Instants:
    """Series × instants evaluated: the spends, the conditions and which of them hold
    (conditions × series × instants), the state codes (:data:`STATES`)."""

    spends: Spends
    conditions: list[Condition]
    holding: BoolArray
    state: StateArray
    period: str = "period"

    @property
    def firing(self) -> BoolArray:
        """Whether any condition holds (series × instants)."""
        found: BoolArray = np.asarray(self.holding.any(axis=0))
        return found

    @property
    def eligible(self) -> IntArray:
        found: IntArray = self.spends.total[self.spends.index(self.period)]
        return found

    @property
    def sli(self) -> FloatArray:
        """``good / eligible`` over the period; NaN (no data) where nothing is eligible."""
        good = self.spends.good(self.period)
        total = self.spends.total[self.spends.index(self.period)]
        out = np.full(total.shape, np.nan)
        np.divide(good, total, out=out, where=total > 0)
        return out

    @property
    def budget_total(self) -> FloatArray:
        """Allowed bad events ``(1 − T) × E`` over the period."""
        found: FloatArray = self.spends.allowed[self.spends.index(self.period)] / float(
            self.spends.scale
        )
        return found

    @property
    def budget_remaining(self) -> FloatArray:
        """Allowed bad events left over the period, ``(1 − T) × E − B`` (may be
        negative)."""
        at = self.spends.index(self.period)
        scale = self.spends.scale
        left = self.spends.allowed[at] - self.spends.bad[at] * scale
        found: FloatArray = left / float(scale)
        return found

    @property
    def consumed_ratio(self) -> FloatArray:
        """``B / ((1 − T) × E)`` over the period; NaN without data."""
        return self.spends.ratio(self.period)

    @property
    def remaining_ratio(self) -> FloatArray:
        """``(allowed − bad) / allowed`` over the period (may be negative); NaN without
        data."""
        at = self.spends.index(self.period)
        allowed = self.spends.allowed[at]
        left = allowed - self.spends.bad[at] * self.spends.scale
        out = np.full(allowed.shape, np.nan)
        np.divide(left, allowed, out=out, where=allowed > 0)
        return out

    def burn_rate(self, window: str) -> FloatArray:
        """``(B_w / E_w) / (1 − T)``; NaN without data."""
        return self.spends.ratio(window)

    def states(self) -> npt.NDArray[np.object_]:
        """The state names (series × instants)."""
        found: npt.NDArray[np.object_] = np.array(STATES, dtype=object)[self.state]
        return found


def evaluate(
    spends: Spends,
    conditions: Sequence[Condition],
    preset: PolicyPreset,
    *,
    min_events: int,
    slice_minutes: int | None = None,
    sufficient: BoolArray | bool = True,
    alerting: bool = True,
    period: str = "period",
) -> Instants:
    """Every series of ``spends`` at every instant: which conditions hold (none when
    ``alerting`` is off) and the policy state; ``sufficient`` says where the data covers
    enough of the window to judge (else the state is ``insufficient_data``)."""
    shape = spends.total.shape[1:]
    if alerting and conditions:
        holding = np.stack(
            [condition_holds(spends, c, min_events, slice_minutes) for c in conditions]
        )
    else:
        holding = np.zeros((len(conditions), *shape), dtype=bool)
    firing: BoolArray = (
        np.asarray(holding.any(axis=0)) if len(conditions) else np.zeros(shape, dtype=bool)
    )
    enough: BoolArray = np.broadcast_to(np.asarray(sufficient, dtype=bool), shape)
    state = policy_states(preset, spends, firing, enough, period)
    return Instants(spends, list(conditions), holding, state, period)
