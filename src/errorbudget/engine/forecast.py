"""One forecast model for time to exhaustion and the period-end projection
(docs/concepts.md "Forecasts").

Both assume the last ``lookback`` (``forecast.lookback``, default 1d) goes on: bad events
arrive at its bad-event rate ``r_B`` and the budget grows at its allowed-bad-event rate
``r_A`` (``(1 − T) ×`` its eligible rate). With ``R`` the budget remaining now (allowed −
bad, in events), the remaining budget ``Δ`` minutes from now is:

- **calendar window** (the budget is the period to date's): ``R(Δ) = R − (r_B − r_A) Δ``.
  The budget is spent at ``Δ* = R / (r_B − r_A)`` when ``r_B > r_A``; the projection at the
  period end, ``τ`` minutes away, is ``(B + r_B τ) / (A + r_A τ)``. The two agree exactly:
  ``Δ* < τ`` ⇔ projection > 100 % (both are the one integer inequality
  ``(r_B − r_A) τ L > R L``, see :func:`calendar_forecast`), so a card never says "exhausted in
  17h" beside "93 % at period end". After the period ends the budget starts again, so an
  exhaustion later than ``τ`` is reported as "not before the period ends".
- **rolling window**: events also *leave* the window. ``R(Δ) = R − (r_B − r_A) Δ +`` the
  remaining budget carried by the events that left (their allowed − bad), taken per UTC
  day and spread evenly within the day. A series burning under 1× can still run out while
  old good days leave and bad ones stay; an old incident leaving the window gives budget
  back. The search ends at one window length: by then every event in the window is new,
  and if ``r_B > r_A`` the budget has run out.

"Spent" means remaining ≤ 0 (a policy may call only remaining < 0 *exhausted*: that is a
state, not a forecast). For a calendar window a spent budget can come back within budget by
the period's end, as the budget grows with traffic: ``recovers``. Time to exhaustion is
reported only where it means something: ``outlook`` says why there is none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from errorbudget.engine.exact import Spend
from errorbudget.model import Outlook


@dataclass(frozen=True, slots=True)
class ForecastResult:
    outlook: Outlook
    time_to_exhaustion_seconds: float | None
    projected_consumed_ratio: float | None = None
    """Calendar windows: the consumed ratio at the period end if the lookback goes on."""
    linear_projected_consumed_ratio: float | None = None
    """Calendar windows: the seed dashboard's linear projection, consumed ÷ elapsed ×
    period (labelled as such; it ignores that the budget grows with traffic)."""


NONE = ForecastResult("no_data", None)
INSUFFICIENT = ForecastResult("insufficient_data", None)


def calendar_forecast(
    period: Spend,
    lookback: Spend,
    lookback_minutes: int,
    minutes_left: int,
    elapsed_minutes: int,
    period_minutes: int,
) -> ForecastResult:
    """Time to exhaustion and period-end projections of a calendar window.

    ``period`` is the budget of the period to date, ``lookback`` the spend over the last
    ``lookback_minutes`` (same scale); ``minutes_left`` until the period ends. Decided on
    integers: spent now or spent before the period ends ⇔ projection above 100 %.
    """
    scale = period.scale
    length = lookback_minutes
    left = max(minutes_left, 0)
    projected_bad = period.bad * scale * length + lookback.bad * scale * left
    projected_allowed = period.allowed * length + lookback.allowed * left
    projected = projected_bad / projected_allowed if projected_allowed > 0 else None
    consumed = period.ratio
    linear = (
        consumed * period_minutes / elapsed_minutes
        if consumed is not None and elapsed_minutes > 0
        else None
    )
    if not period.has_data:
        return ForecastResult("no_data", None, projected, None)
    remaining = period.allowed - period.bad * scale  # R, scaled
    growth = lookback.bad * scale - lookback.allowed  # r_B − r_A, scaled, per lookback
    over_at_end = projected_bad > projected_allowed  # projection > 100 %
    if remaining <= 0:
        # spent now; the budget grows with the traffic to come, so at a low enough rate it
        # is back within budget when the period ends
        return ForecastResult("spent" if over_at_end else "recovers", 0.0, projected, linear)
    if growth <= 0 or length <= 0:
        return ForecastResult("not_at_this_rate", None, projected, linear)
    if over_at_end:  # ⇔ remaining × L < growth × τ ⇔ Δ* < τ
        seconds = remaining * length * 60 / growth
        return ForecastResult("exhausts", seconds, projected, linear)
    return ForecastResult("not_before_period_end", None, projected, linear)


def rolling_forecast(
    period: Spend,
    lookback: Spend,
    lookback_minutes: int,
    leaving: Sequence[tuple[int, int, int]],
) -> ForecastResult:
    """Time to exhaustion of a rolling window whose events ``leaving`` it are given in
    order, oldest first, as (minutes, bad, allowed) pieces — allowed scaled like
    ``period`` — that together cover the window.

    Decided on integers: over a piece of ``m`` minutes the remaining budget times the
    lookback ``L`` changes by ``(A_L − B_L) × m − L × (A_piece − B_piece)`` (what the lookback
    adds, less what leaves), all whole numbers; only the time within the piece at which it
    reaches zero is a float.
    """
    if not period.has_data:
        return NONE
    scale = period.scale
    remaining = period.allowed - period.bad * scale
    if remaining <= 0:
        return ForecastResult("spent", 0.0)
    length = lookback_minutes
    if length <= 0:
        return ForecastResult("not_at_this_rate", None)
    gain = lookback.allowed - lookback.bad * scale  # per L minutes, scaled
    elapsed = 0
    level = remaining * length  # R(Δ) × L, an integer
    for minutes, bad, allowed in leaving:
        if minutes <= 0:
            continue
        lost = allowed - bad * scale  # remaining budget that leaves with the piece
        change = gain * minutes - lost * length  # R × L moves by this over the piece
        end_level = level + change
        if end_level <= 0:  # reaches zero within the piece: linear in between
            at = elapsed + (minutes * level / -change if change < 0 else 0.0)
            return ForecastResult("exhausts", at * 60)
        level = end_level
        elapsed += minutes
    return ForecastResult("not_at_this_rate", None)


_INT64_SAFE = 2**62
"""Integer sums below this cannot overflow int64 (with one more addition of room)."""


@dataclass(frozen=True, slots=True)
class SpendColumns:
    """Many rows' spends over the period and the forecast lookback, as columns on one
    scale: what the batched forecasts take (each row as its two ``Spend`` would say)."""

    period_bad: Sequence[int]
    period_allowed: Sequence[int]
    lookback_bad: Sequence[int]
    lookback_allowed: Sequence[int]
    scale: int
    lookback_minutes: int

    def rows(self, chosen: Sequence[int]) -> SpendColumns:
        """These columns of the rows ``chosen`` only, in that order."""
        return SpendColumns(
            [self.period_bad[i] for i in chosen],
            [self.period_allowed[i] for i in chosen],
            [self.lookback_bad[i] for i in chosen],
            [self.lookback_allowed[i] for i in chosen],
            self.scale,
            self.lookback_minutes,
        )


def rolling_forecasts(
    spends: SpendColumns,
    leaving_minutes: Sequence[int],
    leaving_bad: npt.NDArray[np.int64],
    leaving_allowed: npt.NDArray[np.int64],
) -> list[ForecastResult]:
    """:func:`rolling_forecast` of many rows at once, all with the same leaving pieces
    (``leaving_minutes``; ``leaving_bad`` and ``leaving_allowed`` are rows × pieces).

    The remaining budget × L after each piece is tracked for every row together in int64
    when a bound on every sum shows none can overflow it (the usual case); the time within
    the piece where a budget runs out is then worked out as :func:`rolling_forecast` does
    (the same float). Past that bound each row goes through :func:`rolling_forecast`.
    Either way the results are :func:`rolling_forecast`'s (tests/unit/test_engine_forecast.py).
    """
    period_bad, period_allowed = spends.period_bad, spends.period_allowed
    lookback_bad, lookback_allowed = spends.lookback_bad, spends.lookback_allowed
    scale = spends.scale
    count = len(period_bad)
    if not count:
        return []
    length = spends.lookback_minutes
    n = len(leaving_minutes)
    peak_period = max(map(abs, period_allowed)) + max(map(abs, period_bad)) * scale
    peak_gain = max(map(abs, lookback_allowed)) + max(map(abs, lookback_bad)) * scale
    peak_lost = (
        int(np.abs(leaving_allowed).max(initial=0))
        + int(np.abs(leaving_bad).max(initial=0)) * scale
        if n
        else 0
    )
    widest = max(map(abs, leaving_minutes), default=0)
    largest = peak_period * abs(length) + n * (peak_gain * widest + peak_lost * abs(length))
    if largest >= _INT64_SAFE or length <= 0:
        return [
            rolling_forecast(
                Spend(bad, allowed, scale),
                Spend(lookback_b, lookback_a, scale),
                length,
                list(zip(leaving_minutes, bad_row, allowed_row, strict=True)),
            )
            for bad, allowed, lookback_b, lookback_a, bad_row, allowed_row in zip(
                period_bad, period_allowed, lookback_bad, lookback_allowed,
                leaving_bad.tolist(), leaving_allowed.tolist(), strict=True,
            )
        ]  # fmt: skip
    pieces = np.asarray(leaving_minutes, dtype=np.int64)
    allowed = np.asarray(period_allowed, dtype=np.int64)
    remaining = allowed - np.asarray(period_bad, dtype=np.int64) * scale
    gain = (
        np.asarray(lookback_allowed, dtype=np.int64)
        - np.asarray(lookback_bad, dtype=np.int64) * scale
    )
    lost = leaving_allowed - leaving_bad * scale  # the remaining budget leaving with each piece
    used = pieces > 0  # a piece of no minutes changes nothing
    change = gain[:, None] * np.where(used, pieces, 0)[None, :] - np.where(used, lost * length, 0)
    level = remaining * length  # R × L now
    levels = level[:, None] + np.cumsum(change, axis=1)  # … and after each piece
    crossed = (levels <= 0) & used[None, :]
    runs_out: npt.NDArray[np.bool_] = np.any(crossed, axis=1)
    first = crossed.argmax(axis=1) if n else np.zeros(count, dtype=np.int64)
    elapsed = np.concatenate([[0], np.cumsum(np.where(used, pieces, 0))]).tolist()
    found: list[ForecastResult] = []
    for row, (has_data, left, out, at_piece) in enumerate(
        zip(
            (allowed > 0).tolist(),
            remaining.tolist(),
            runs_out.tolist(),
            first.tolist(),
            strict=True,
        )
    ):
        if not has_data:
            found.append(NONE)
        elif left <= 0:
            found.append(ForecastResult("spent", 0.0))
        elif not out:
            found.append(ForecastResult("not_at_this_rate", None))
        else:  # as rolling_forecast: linear within the piece, from the level before it
            before = int(levels[row, at_piece - 1]) if at_piece else left * length
            moved = int(change[row, at_piece])
            minutes = int(pieces[at_piece])
            at = elapsed[at_piece] + (minutes * before / -moved if moved < 0 else 0.0)
            found.append(ForecastResult("exhausts", at * 60))
    return found


def calendar_forecasts(
    spends: SpendColumns, minutes_left: int, elapsed_minutes: int, period_minutes: int
) -> list[ForecastResult]:
    """:func:`calendar_forecast` of many rows of one calendar period at once: the same
    integers and floats, row by row, without building two ``Spend`` per row (a status of
    hundreds of series asks for hundreds). Tested against :func:`calendar_forecast`."""
    scale = spends.scale
    length = spends.lookback_minutes
    left = max(minutes_left, 0)
    found: list[ForecastResult] = []
    for bad, allowed, lookback_b, lookback_a in zip(
        spends.period_bad,
        spends.period_allowed,
        spends.lookback_bad,
        spends.lookback_allowed,
        strict=True,
    ):
        projected_bad = bad * scale * length + lookback_b * scale * left
        projected_allowed = allowed * length + lookback_a * left
        projected = projected_bad / projected_allowed if projected_allowed > 0 else None
        if allowed <= 0:  # no data: Spend.has_data, and Spend.ratio is None
            found.append(ForecastResult("no_data", None, projected, None))
            continue
        consumed = (bad * scale) / allowed
        linear = consumed * period_minutes / elapsed_minutes if elapsed_minutes > 0 else None
        remaining = allowed - bad * scale
        growth = lookback_b * scale - lookback_a
        over_at_end = projected_bad > projected_allowed
        if remaining <= 0:
            found.append(
                ForecastResult("spent" if over_at_end else "recovers", 0.0, projected, linear)
            )
        elif growth <= 0 or length <= 0:
            found.append(ForecastResult("not_at_this_rate", None, projected, linear))
        elif over_at_end:
            seconds = remaining * length * 60 / growth
            found.append(ForecastResult("exhausts", seconds, projected, linear))
        else:
            found.append(ForecastResult("not_before_period_end", None, projected, linear))
    return found
