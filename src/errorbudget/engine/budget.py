"""Budget arithmetic (DESIGN.md "Concepts and formulas").

For a window W: eligible ``E`` = total − excluded, bad ``B`` = (total − good) − excluded bad,
SLI = (E − B) / E (no data when E = 0), allowed bad ratio ``a = 1 − T``, budget = a × E,
consumed = B / (a × E), remaining = 1 − consumed (may be negative),
burn = (B / E) / a, time to exhaustion = remaining budget events / bad-event rate.
"""

from __future__ import annotations

from typing import NamedTuple


class Counts(NamedTuple):
    """Good and total events (or slices) over some range.

    A named tuple rather than a dataclass: a status builds tens of thousands of these, and
    tuple construction is several times cheaper.
    """

    good: float
    total: float

    def __add__(self, other: object) -> Counts:
        if not isinstance(other, Counts):
            return NotImplemented
        return Counts(self.good + other.good, self.total + other.total)

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.good - other.good, self.total - other.total)

    @property
    def bad(self) -> float:
        return self.total - self.good


ZERO = Counts(0.0, 0.0)


def sli(counted: Counts) -> float | None:
    """(E − B) / E, or None (no data) when nothing is eligible."""
    if counted.total <= 0:
        return None
    return counted.good / counted.total


def burn_rate(counted: Counts, target: float) -> float | None:
    """``(B / E) / (1 − T)``: 1 spends exactly the budget over the window; None if no data."""
    if counted.total <= 0:
        return None
    return (counted.bad / counted.total) / (1.0 - target)


def spent_ratio(bad: float, allowed: float) -> float | None:
    """Bad events over allowed bad events: over a window this is the burn rate
    ``(B / E) / (1 − T)``, over the period the consumed ratio. None when nothing is allowed
    (no data)."""
    if allowed <= 0:
        return None
    return bad / allowed


def budget_total(counted: Counts, target: float) -> float:
    """Allowed bad events: ``(1 − T) × E``."""
    return (1.0 - target) * counted.total


def consumed_ratio(counted: Counts, target: float) -> float | None:
    """``B / ((1 − T) × E)``; None when nothing is eligible."""
    allowed = budget_total(counted, target)
    if allowed <= 0:
        return None
    return counted.bad / allowed


def time_to_exhaustion_seconds(
    remaining_events: float, lookback: Counts, lookback_seconds: float
) -> float | None:
    """Remaining budget events ÷ bad-event rate over the lookback.

    0 when the budget is already spent; None (never, at this rate) when nothing bad
    happened in the lookback.
    """
    if remaining_events <= 0:
        return 0.0
    if lookback.bad <= 0 or lookback_seconds <= 0:
        return None
    return remaining_events / (lookback.bad / lookback_seconds)


def projected_consumed_ratio(
    bad: float,
    allowed: float,
    lookback_bad: float,
    lookback_allowed: float,
    lookback_minutes: int,
    minutes_left: int,
) -> float | None:
    """Period-end consumption if the lookback's rates hold until the period ends.

    ``(B + bad rate × time left) / (budget + budget rate × time left)``: both the bad events
    and the budget grow with the traffic still to come (for one target the budget rate is
    ``(1 − T) × eligible rate``).
    """
    scale = max(minutes_left, 0) / lookback_minutes if lookback_minutes > 0 else 0.0
    return spent_ratio(bad + lookback_bad * scale, allowed + lookback_allowed * scale)


def linear_projected_consumed_ratio(
    consumed: float | None, elapsed_minutes: int, period_minutes: int
) -> float | None:
    """The seed documents' projection: consumed ÷ elapsed time × period length."""
    if consumed is None or elapsed_minutes <= 0:
        return None
    return consumed * period_minutes / elapsed_minutes
