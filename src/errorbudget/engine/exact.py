"""Exact threshold decisions: a value on a documented boundary lands on the documented side,
whatever the target.

In binary floating point ``1 − 0.85`` is ``0.15000000000000002``, so 15 bad calls out of 100
at an 85 % target "consume" 0.9999999999999999 of the budget and the budget is not spent —
while at 80 % the same arithmetic lands on the other side. Decisions are therefore made on
rationals:

- a configured number (target, threshold, budget fraction) is the decimal it was written
  as: :func:`decimal` reads ``0.85`` as ``17/20``;
- counts are whole numbers (the store keeps integers; float64 holds them exactly);
- a budget is kept as an integer *scaled* by a common denominator of the targets involved:
  at ``T = P/Q`` the budget of ``E`` eligible events is ``(Q − P) × E / Q``, stored as the
  integer ``(Q − P) × E`` with scale ``Q`` (:class:`Spend`).

A comparison then is integer cross-multiplication, exact at every boundary. The float
figures shown on pages are computed from the same integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

ZERO = Fraction(0)
ONE = Fraction(1)


@cache
def decimal(value: float) -> Fraction:
    """The decimal a configured float was written as: ``0.85`` → ``17/20`` (its shortest
    round-tripping spelling, which is what YAML and JSON give)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return Fraction(repr(float(value)))


@cache
def complement(value: float) -> Fraction:
    """``1 − value`` exactly (a remaining-budget threshold as a consumed ratio)."""
    return ONE - decimal(value)


def common_scale(values: list[float]) -> int:
    """The least common denominator of ``values`` read as decimals (1 for none)."""
    scale = 1
    for value in values:
        scale = math.lcm(scale, decimal(value).denominator)
    return scale


@cache
def allowed_per_event(target: float, scale: int) -> int:
    """``(1 − T) × scale`` as an integer; ``scale`` must be a multiple of T's denominator."""
    allowed = (ONE - decimal(target)) * scale
    if allowed.denominator != 1:
        raise ValueError(f"scale {scale} is not a multiple of the denominator of {target!r}")
    return allowed.numerator


@dataclass(frozen=True, slots=True)
class Spend:
    """Bad events against the allowed bad events of one range, exactly.

    ``allowed`` is the allowed number of bad events times ``scale`` (an integer). The
    consumed ratio (over a burn window: the burn rate) is ``bad × scale / allowed``.
    """

    bad: int
    allowed: int
    scale: int

    @property
    def has_data(self) -> bool:
        return self.allowed > 0

    @property
    def ratio(self) -> float | None:
        """The consumed ratio or burn rate as a float (correctly rounded), None without
        data."""
        if self.allowed <= 0:
            return None
        return (self.bad * self.scale) / self.allowed

    def ratio_above(self, threshold: Fraction) -> bool:
        """``ratio > threshold`` exactly; False without data."""
        return (
            self.allowed > 0
            and self.bad * self.scale * threshold.denominator > threshold.numerator * self.allowed
        )

    def ratio_at_least(self, threshold: Fraction) -> bool:
        """``ratio ≥ threshold`` exactly; False without data."""
        return (
            self.allowed > 0
            and self.bad * self.scale * threshold.denominator >= threshold.numerator * self.allowed
        )

    @property
    def within(self) -> bool | None:
        """Whether the bad events fit the budget (SLI ≥ target); None without data."""
        if self.allowed <= 0:
            return None
        return self.bad * self.scale <= self.allowed
