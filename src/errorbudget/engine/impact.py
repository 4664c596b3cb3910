"""Estimated budget impact of a change, from what past changes cost (``changes``).

Per SLO and past change at minute ``m``: the share of the period budget the series in scope
consumed over ``[m, m + horizon)``, i.e. ``burn × horizon / period length`` with
budget-counting events. Over several SLOs a change counts by its worst SLO, and the
estimate is the mean over the past changes that have data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def consumed_share(
    counted: FloatArray, targets: Sequence[float], horizon_minutes: int, period_minutes: float
) -> FloatArray:
    """Per start: the share of the period budget consumed in the horizon after it by the
    summed series, ``Σ bad × (horizon / period) / Σ (1 − Tᵢ) × eligible``; NaN where
    nothing was eligible. ``counted`` is (series × starts × [good, total])."""
    result = np.full(counted.shape[1], np.nan)
    if not counted.shape[0]:
        return result
    bad = (counted[:, :, 1] - counted[:, :, 0]).sum(axis=0)
    allowed = ((1.0 - np.asarray(targets, dtype=np.float64))[:, None] * counted[:, :, 1]).sum(
        axis=0
    )
    share = horizon_minutes / period_minutes
    np.divide(bad * share, allowed, out=result, where=allowed > 0)
    return result


@dataclass(frozen=True, slots=True)
class HistoricImpact:
    """``ratio``: the mean over past changes of their worst SLO's share (None: no past
    change had data); ``observed`` how many had; ``per_slo`` each SLO's own mean."""

    ratio: float | None
    observed: int
    per_slo: dict[str, float] = field(default_factory=dict)


def historic_impact(shares: Mapping[str, FloatArray], changes: int) -> HistoricImpact:
    """Aggregate each SLO's :func:`consumed_share` per past change (``changes`` of them):
    a change costs what its worst SLO consumed; SLOs with no data at all are left out."""
    per_slo: dict[str, float] = {}
    worst = np.full(changes, np.nan)
    for slo_id, fractions in shares.items():
        if np.all(np.isnan(fractions)):
            continue
        per_slo[slo_id] = float(np.nanmean(fractions))
        worst = np.fmax(worst, fractions)
    observed = worst[~np.isnan(worst)]
    if not observed.size:
        return HistoricImpact(None, 0, {})
    return HistoricImpact(float(observed.mean()), int(observed.size), per_slo)
