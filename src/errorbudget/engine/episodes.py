"""Burn episodes: the stretches of a timeline in which budget went at paging speed.

An episode is a run of consecutive instants at which the long window of a fast-burn (page)
condition burned over that condition's factor — its 1h, 6h or 1d window, the ones a
timeline reports (``engine.timeline.TIMELINE_WINDOWS``); the short window is not checked. It
starts one step before its first burning instant (that step is when the budget went) and
resets at the first instant no window is over its factor any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from errorbudget.engine.timeline import TIMELINE_WINDOWS
from errorbudget.model import ConditionResult, Minute

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FAST_SEVERITY = "page"
"""Conditions of this severity are the fast burns (the others are slow burns)."""


@dataclass(frozen=True, slots=True)
class Episode:
    """``[start, end)`` in minutes, and the window and burn of its worst instant (the one
    furthest over its factor)."""

    start: Minute
    end: Minute
    window: str
    burn: float


def fast_burn_thresholds(conditions: Iterable[ConditionResult]) -> dict[str, float]:
    """Factor of each fast-burn (page) condition by its long window, for the windows a
    timeline reports (the lowest when two share one)."""
    found: dict[str, float] = {}
    for condition in conditions:
        window = condition.long_window
        if condition.severity == FAST_SEVERITY and window in TIMELINE_WINDOWS:
            found[window] = min(condition.factor, found.get(window, condition.factor))
    return found


def burn_episodes(
    at: IntArray,
    burn_rates: Mapping[str, FloatArray],
    thresholds: Mapping[str, float],
    step_minutes: int,
) -> list[Episode]:
    """The episodes of a timeline: ``at`` its instants, ``burn_rates`` each window's burn
    at every instant (NaN: no data, never over), ``thresholds`` the fast-burn factors by
    window (:func:`fast_burn_thresholds`)."""
    windows = [w for w, factor in thresholds.items() if factor > 0 and w in burn_rates]
    if not windows or not len(at):
        return []
    with np.errstate(invalid="ignore"):
        burns = np.stack([np.asarray(burn_rates[w], dtype=np.float64) for w in windows])
        factors = np.array([thresholds[w] for w in windows])[:, None]
        over = burns > factors  # NaN compares False: no data is never a burn
    ratio = np.where(over, burns / factors, -np.inf)
    burning = over.any(axis=0)
    # runs of burning instants: where the flag turns on and off
    edges = np.diff(np.concatenate([[0], burning.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # one past each run's last instant
    instants = at.tolist()
    episodes = []
    for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
        # at each instant the window furthest over its factor (ties: the later window
        # name, then the higher burn); the run's worst is its first instant furthest over
        per_instant = [
            max(
                (float(ratio[k, i]), windows[k], float(burns[k, i]))
                for k in range(len(windows))
                if over[k, i]
            )
            for i in range(first, stop)
        ]
        _, window, burn = max(per_instant, key=lambda item: item[0])
        episodes.append(
            Episode(
                instants[first] - step_minutes,
                instants[stop - 1],
                window,
                burn,
            )
        )
    return episodes
