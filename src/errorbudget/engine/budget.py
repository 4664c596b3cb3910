"""Counts and the budget arithmetic's names (DESIGN.md "Concepts and formulas").

For a window W: eligible ``E`` = total − excluded, bad ``B`` = (total − good) − excluded bad,
SLI = (E − B) / E (no data when E = 0), allowed bad ratio ``a = 1 − T``, budget = a × E,
consumed = B / (a × E), remaining = 1 − consumed (may be negative),
burn = (B / E) / a, time to exhaustion = remaining budget events / bad-event rate.

The formulas themselves are computed in one place, exactly, over arrays: the evaluator over
instants (``engine.evaluator``: SLI, budget, consumed, remaining, burn, conditions, policy
state) and the forecast (``engine.forecast``). The seed documents' worked examples are
tested on those (tests/unit/test_engine_budget.py).
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
