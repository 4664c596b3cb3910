"""Voice-agent views of an events SLO: pure math over arrays (docs/concepts.md "Voice agents").

Every budget figure here is a *split* of a figure the evaluation already computed — the
budget an SLO consumed (bad events, ``BudgetStatus.budget_consumed``), the allowed bad
events of a series (``BudgetStatus.budget_total``), a burn rate — never a budget of its own:

- **shares** (:func:`shares`): ``wᵢ / Σ w``; no shares (NaN) when ``Σ w = 0``.
- **error attribution** (:func:`error_stage_weights`): a stage's weight is the bad events
  whose ``error_stage`` is that stage.
- **latency attribution** (:func:`latency_stage_weights`): a stage's weight is
  ``bad_n × max(0, bad_ms / bad_n − eligible_ms / eligible_n)`` — how many bad events, times
  how much slower that stage was in them than in eligible events on average.
- **budget consumed by** a flow or stage: its share × the budget consumed (bad events), so
  the parts add up to the evaluation's figure (:func:`split`).
- **burn before/after** a change: the engine's burn over a window, ``(B / E) / a``, summed
  over series as ``Σ B / Σ a·E`` (``engine.impact.consumed_share`` with the horizon equal to
  the period, :func:`window_burn`).
- **an event's budget impact** (:func:`event_impacts`): ``1 / (a × E)`` of its series over
  the SLO's window — the share of that series' budget one bad event spends; a call's impact
  is the sum over the SLOs it failed (:func:`call_impacts`).
- **first seen** (:func:`first_seen`): per key, the earliest hour with eligible events.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from errorbudget.engine.impact import consumed_share

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "call_impacts",
    "error_stage_weights",
    "event_impacts",
    "first_seen",
    "group_sums",
    "latency_stage_weights",
    "rank",
    "ratio",
    "shares",
    "split",
    "window_burn",
]


def shares(weights: npt.ArrayLike) -> FloatArray:
    """``wᵢ / Σ w`` (weights must not be negative); all NaN when the weights sum to 0 — no
    attribution is possible, which is not the same as an even split."""
    w = np.asarray(weights, dtype=np.float64)
    if w.size and np.any(w < 0):
        raise ValueError("weights must not be negative")
    total = float(w.sum())
    if total <= 0.0:
        return np.full(w.shape, np.nan)
    result: FloatArray = w / total
    return result


def split(weights: npt.ArrayLike, consumed: float) -> FloatArray:
    """The budget ``consumed`` (bad events) split by ``weights``: ``shares(w) × consumed``;
    the parts sum to ``consumed`` (NaN when the weights sum to 0)."""
    result: FloatArray = shares(weights) * consumed
    return result


def error_stage_weights(stage_codes: npt.ArrayLike, bad: npt.ArrayLike, stages: int) -> FloatArray:
    """Bad events per stage (``stages`` of them) from rows of (stage code, bad count); rows
    with a code outside ``[0, stages)`` (no stage recorded) are left out."""
    codes = np.asarray(stage_codes, dtype=np.int64)
    counts = np.asarray(bad, dtype=np.float64)
    keep = (codes >= 0) & (codes < stages)
    result: FloatArray = np.bincount(codes[keep], weights=counts[keep], minlength=stages).astype(
        np.float64
    )
    return result


def latency_stage_weights(
    bad_n: npt.ArrayLike,
    bad_ms: npt.ArrayLike,
    eligible_n: npt.ArrayLike,
    eligible_ms: npt.ArrayLike,
) -> FloatArray:
    """Per stage: ``bad_n × max(0, bad_ms / bad_n − eligible_ms / eligible_n)`` — the bad
    events times how much longer the stage took in them than in eligible events on average
    (0 without bad or eligible events that timed the stage)."""
    bn = np.asarray(bad_n, dtype=np.float64)
    bms = np.asarray(bad_ms, dtype=np.float64)
    en = np.asarray(eligible_n, dtype=np.float64)
    ems = np.asarray(eligible_ms, dtype=np.float64)
    bad_mean = np.divide(bms, bn, out=np.zeros_like(bms), where=bn > 0)
    eligible_mean = np.divide(ems, en, out=np.zeros_like(ems), where=en > 0)
    excess = np.maximum(0.0, bad_mean - eligible_mean)
    result: FloatArray = np.where((bn > 0) & (en > 0), bn * excess, 0.0)
    return result


def window_burn(counted: FloatArray, targets: Sequence[float]) -> float | None:
    """The burn over one window of the summed series, ``Σ B / Σ (1 − Tᵢ) × Eᵢ`` — the
    engine's ``(B / E) / a`` for one series (``engine.impact.consumed_share`` with the
    horizon equal to the period). ``counted`` is (series × [good, eligible]) of
    budget-counting events; None when nothing was eligible."""
    if not counted.shape[0]:
        return None
    burn = consumed_share(counted[:, None, :], targets, 1, 1.0)[0]
    return None if np.isnan(burn) else float(burn)


def ratio(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> FloatArray:
    """``n / d`` element-wise; NaN where ``d = 0`` (no data, never 0 % or 100 %)."""
    n = np.asarray(numerator, dtype=np.float64)
    d = np.asarray(denominator, dtype=np.float64)
    result: FloatArray = np.divide(n, d, out=np.full(n.shape, np.nan), where=d > 0)
    return result


def event_impacts(allowed_bad: npt.ArrayLike) -> FloatArray:
    """Per bad event: ``1 / (a × E)`` of its series over the SLO's window (``allowed_bad``),
    the share of that budget one bad event spends; NaN where nothing is allowed (no data,
    or a 100 % target: the impact cannot be stated as a share)."""
    allowed = np.asarray(allowed_bad, dtype=np.float64)
    return ratio(np.ones_like(allowed), allowed)


def call_impacts(call_codes: npt.ArrayLike, impacts: npt.ArrayLike, calls: int) -> FloatArray:
    """Per call (``calls`` of them): the sum of its events' impacts (NaN impacts count 0);
    ``call_codes[i]`` is event *i*'s call."""
    codes = np.asarray(call_codes, dtype=np.int64)
    values = np.nan_to_num(np.asarray(impacts, dtype=np.float64), nan=0.0)
    result: FloatArray = np.bincount(codes, weights=values, minlength=calls).astype(np.float64)
    return result


def rank(impacts: npt.ArrayLike, times: npt.ArrayLike) -> IntArray:
    """Indices by impact, highest first; equal impacts latest first (``times`` comparable
    numbers, e.g. epoch minutes)."""
    values = np.asarray(impacts, dtype=np.float64)
    when = np.asarray(times, dtype=np.float64)
    order: IntArray = np.lexsort((-when, -np.nan_to_num(values, nan=-np.inf))).astype(np.int64)
    return order


def group_sums(codes: npt.ArrayLike, values: npt.ArrayLike, groups: int) -> FloatArray:
    """Per group (``groups`` of them), the sums of each column of ``values``
    (rows × columns): ``(groups × columns)``."""
    index = np.asarray(codes, dtype=np.int64)
    table = np.asarray(values, dtype=np.float64)
    if table.ndim == 1:
        table = table[:, None]
    result: FloatArray = np.zeros((groups, table.shape[1]))
    np.add.at(result, index, table)
    return result


def first_seen(codes: npt.ArrayLike, hours: npt.ArrayLike, groups: int) -> IntArray:
    """Per key code (``groups`` of them): the earliest hour among its rows; −1 for a key
    without rows."""
    index = np.asarray(codes, dtype=np.int64)
    when = np.asarray(hours, dtype=np.int64)
    result: IntArray = np.full(groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(result, index, when)
    result[result == np.iinfo(np.int64).max] = -1
    return result
