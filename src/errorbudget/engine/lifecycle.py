"""An alert's lifecycle: inactive → pending → firing → resolved (docs/alerting.md).

:func:`step` moves one alert by one evaluation instant; live alerting calls it once per
evaluation. :func:`episodes` gives the same answer for a whole run of instants at once,
working on runs of active instants instead of on every instant, so a replay of 35 days at
every minute costs what the changes cost; a property test holds the two equal.

Rules, decided on whole minutes:

- an inactive (or resolved) alert whose condition holds goes pending at that instant, or
  fires at once when ``for_minutes`` is 0;
- a pending alert fires at the first instant at which its condition has held since
  ``active_since`` for at least ``for_minutes``; it clears (back to inactive, nothing
  told) at the first instant its condition does not hold;
- a firing alert resolves at the first instant its condition does not hold that is more than
  ``keep_minutes`` after the last instant it held and not before ``hold_until`` (kept from
  the instant it fired); a condition that holds again before that keeps the same episode;
- whether an episode is inhibited (a higher tier of the same SLO and segment was pending or
  firing) is decided at the instant it fires, and keeps for the episode: an inhibited
  episode is told neither when it fires nor when it resolves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from errorbudget.alert_records import AlertState, Transition
from errorbudget.model import Minute

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def step(
    state: AlertState,
    *,
    at: Minute,
    active: bool,
    for_minutes: int = 0,
    keep_minutes: int = 0,
    hold_until: Minute | None = None,
    inhibited: bool = False,
) -> tuple[AlertState, Transition | None]:
    """``state`` after the evaluation at ``at`` (instants only move forward), and the
    transition it made, if any. ``hold_until`` and ``inhibited`` are the signal's at this
    instant; they are kept when the alert fires."""
    phase = state.phase
    if phase in ("inactive", "resolved"):
        if not active:
            return state, None
        started = replace(state, phase="pending", active_since=at, last_active=at)
        if for_minutes <= 0:
            return _fire(started, at, hold_until, inhibited), "firing"
        return started, "pending"
    if phase == "pending":
        if not active:
            return replace(state, phase="inactive", active_since=None), "cleared"
        since = state.active_since if state.active_since is not None else at
        if at - since >= for_minutes:
            return _fire(replace(state, last_active=at), at, hold_until, inhibited), "firing"
        return replace(state, last_active=at), None
    # firing
    if active:
        return replace(state, last_active=at), None
    last = state.last_active if state.last_active is not None else at
    if at - last > keep_minutes and (state.hold_until is None or at >= state.hold_until):
        return replace(state, phase="resolved", resolved_at=at, active_since=None), "resolved"
    return state, None


def _fire(state: AlertState, at: Minute, hold_until: Minute | None, inhibited: bool) -> AlertState:
    return replace(
        state,
        phase="firing",
        fired_at=at,
        resolved_at=None,
        episode=state.episode + 1,
        inhibited=inhibited,
        hold_until=hold_until,
    )


@dataclass(frozen=True, slots=True)
class Episode:
    """One firing of an alert: when its condition started to hold (``active_since``), when it
    fired, when it resolved (None: still firing at the last instant) and whether it was
    inhibited."""

    active_since: Minute
    fired_at: Minute
    resolved_at: Minute | None
    inhibited: bool


def episodes(
    instants: Sequence[int] | IntArray,
    active: Sequence[bool] | BoolArray,
    *,
    for_minutes: int = 0,
    keep_minutes: int = 0,
    hold_until: Sequence[int | None] | None = None,
    inhibited: Sequence[bool] | BoolArray | None = None,
) -> list[Episode]:
    """Every firing of one alert over ``instants`` (increasing minutes), starting inactive:
    what :func:`step` gives instant by instant, computed from the runs of ``active``.
    ``hold_until`` and ``inhibited`` are the signal's per instant (default: none)."""
    at = np.asarray(instants, dtype=np.int64)
    on = np.asarray(active, dtype=np.bool_)
    count = at.shape[0]
    if count == 0 or not on.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([False], on, [False])).astype(np.int8)))
    starts, ends = edges[0::2].tolist(), (edges[1::2] - 1).tolist()  # inclusive run indices
    times = at.tolist()
    found: list[Episode] = []
    run = 0
    while run < len(starts):
        first, last = starts[run], ends[run]
        since = times[first]
        fire = _first_at_or_after(at, first, last, since + max(for_minutes, 0))
        if fire is None:
            run += 1  # pending, then cleared (or still pending at the end)
            continue
        fired_at = times[fire]
        hold = hold_until[fire] if hold_until is not None else None
        was_inhibited = bool(inhibited[fire]) if inhibited is not None else False
        resolved_at: Minute | None = None
        while True:
            last_active = times[last]
            gap = last + 1
            next_start = starts[run + 1] if run + 1 < len(starts) else count
            resolve = _resolve_index(at, gap, next_start, last_active, keep_minutes, hold)
            if resolve is not None:
                resolved_at = times[resolve]
                run += 1
                break
            if run + 1 >= len(starts):
                run += 1
                break
            run += 1  # the condition holds again before the alert resolves: same episode
            last = ends[run]
        found.append(Episode(since, fired_at, resolved_at, was_inhibited))
    return found


def _first_at_or_after(at: IntArray, first: int, last: int, minute: int) -> int | None:
    """The first index in ``[first, last]`` whose instant is at or after ``minute``."""
    index = int(np.searchsorted(at, minute, side="left"))
    index = max(index, first)
    return index if index <= last else None


def _resolve_index(
    at: IntArray, gap: int, stop: int, last_active: int, keep: int, hold: int | None
) -> int | None:
    """The first inactive index in ``[gap, stop)`` at which a firing alert resolves."""
    earliest = last_active + max(keep, 0) + 1
    if hold is not None:
        earliest = max(earliest, hold)
    index = max(int(np.searchsorted(at, earliest, side="left")), gap)
    return index if index < stop else None
