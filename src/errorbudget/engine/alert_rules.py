"""The alert rules (docs/alerting.md "Rules"): what each rule says of each series, at one
instant for live alerting (:func:`alert_signals`) and at every instant of a range for replay
(:func:`decide`, over the evaluator at every minute, ``engine.minutes``).

Both forms go through :func:`decide`, which works on arrays (series × instants) of the facts
the rules read (:class:`SeriesFacts`): the live form is its one-instant case, built from a
status, so live alerting and replay cannot disagree on a rule.

Rules, per series (never a whole-SLO row of a segmented SLO: its segments are alerted on):

- ``ErrorBudgetBurn``, one alert per severity: active while any enabled catalog condition
  (tier) of that severity holds (engine/alerts.py decides the conditions, exactly); its
  ``for`` is the shortest of its tiers', its ``keep`` the longest;
- ``ErrorBudgetConsumed``, per ``budget.consumed`` entry: the period's consumed ratio is at
  least ``at``; once fired it holds until the budget period ends (rolling: one window later);
- ``ErrorBudgetLow``: less than ``budget.floor.below`` of the budget is left;
- ``ErrorBudgetExhaustion``: the forecast exhausts the budget within ``budget.exhaustion``'s
  horizon (live only: replay has no forecast at every minute);
- ``SLONoData``: traffic was expected over the last ``no_data.after`` (the schedule open for
  all of it, or no schedule) and the series' last data is at least that old;
- ``SLODataStale``: the series' data is stale (``data.max_age``);
- ``SyntheticCheckFailing`` (synthetic-check SLOs, ``source: synthetic``): the trailing
  streak of failed checks (:func:`failure_streaks`) is at least
  ``synthetic.consecutive_failures`` and the SLO's schedule is open at the instant.

Inhibition (one incident, one page): a signal is inhibited at an instant when a signal of a
higher severity (page > ticket > notice) of the same series is active then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from errorbudget.alert_records import SEVERITIES, AlertName, AlertSignal, Severity
from errorbudget.alert_settings import Alerting, minutes
from errorbudget.engine.evaluator import STATE_CODE, Instants
from errorbudget.engine.exact import complement, decimal
from errorbudget.engine.schedule import WeeklySchedule
from errorbudget.model import SLO, BudgetStatus, CalendarWindow, RollingWindow, SegmentKey

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

NO_DATA_END = np.iinfo(np.int64).min // 2
"""``data_end`` of a series that has had no data at all."""

RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}
"""Lower is higher: page 0, ticket 1, notice 2."""


@dataclass(frozen=True, slots=True)
class SeriesFacts:
    """What the rules read, as (series × instants) arrays: ``holding`` is (conditions ×
    series × instants) in ``conditions`` order (name, catalog severity); ``remaining_ratio``
    NaN without (sufficient) data; ``hold_end`` where a consumed alert fired at that instant
    stops holding; ``exhaustion_seconds`` NaN where the forecast gives none; ``data_end`` the
    last minute with data + 1 (:data:`NO_DATA_END` for none); ``expected`` whether traffic
    was expected over the whole no-data span up to the instant; ``failure_streak`` the
    trailing streak of failed synthetic checks (:func:`failure_streaks`) and
    ``schedule_open`` whether the schedule is open at the instant (the minute before it),
    both None for an SLO that is not of synthetic checks. ``spent`` and ``allowed``: the
    period's bad events and allowed bad events, both × one integer scale, so the budget
    rules decide exactly at their thresholds (None: only the float ratio is known)."""

    at: IntArray
    conditions: tuple[tuple[str, str], ...]
    holding: BoolArray
    remaining_ratio: FloatArray
    hold_end: IntArray
    exhaustion_seconds: FloatArray
    data_end: IntArray
    stale: BoolArray
    expected: BoolArray
    failure_streak: IntArray | None = None
    schedule_open: BoolArray | None = None
    spent: IntArray | None = None
    allowed: IntArray | None = None


def spent_at_least(facts: SeriesFacts, share: float) -> BoolArray:
    """Where the period's consumed ratio is at least ``share`` (a configured decimal):
    ``spent × den ≥ num × allowed`` on integers when the facts have them — exact at the
    threshold, as every decision is (docs/concepts.md) — else on the status's float ratio
    (``remaining ≤ 1 − share``, ``1 − share`` taken exactly then rounded once)."""
    remaining = facts.remaining_ratio
    known = ~np.isnan(remaining)
    if facts.spent is None or facts.allowed is None:
        bound = float(complement(share))
        found: BoolArray = known & (np.where(known, remaining, 1.0) <= bound)
        return found
    exact = decimal(share)
    spent, allowed = _wide(facts.spent, facts.allowed, exact.denominator)
    holds = np.asarray(spent * exact.denominator >= allowed * exact.numerator, dtype=bool)
    exact_found: BoolArray = known & holds
    return exact_found


def _wide(
    spent: IntArray, allowed: IntArray, factor: int
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """The two arrays, as Python integers when multiplying them by ``factor`` could overflow
    64 bits."""
    largest = max(int(np.abs(spent).max(initial=0)), int(np.abs(allowed).max(initial=0)))
    if largest * max(factor, 1) < 1 << 62:
        return spent, allowed
    return spent.astype(object), allowed.astype(object)


@dataclass(frozen=True, slots=True)
class Decision:
    """One rule of one SLO over series × instants: where it is active, its lifecycle
    settings, and where it is inhibited by a higher severity."""

    alertname: AlertName
    severity: Severity
    rule: str
    """Which rule within the alert name when it has several of one severity (a consumed
    threshold: ``consumed-0.5``); empty otherwise (AlertSignal.rule)."""
    active: BoolArray
    for_minutes: int
    keep_minutes: int
    hold_until: IntArray | None
    inhibited: BoolArray
    tiers: tuple[int, ...] = ()
    """For a burn decision: the indexes of its conditions in ``SeriesFacts.conditions``."""


def decide(facts: SeriesFacts, alerting: Alerting) -> list[Decision]:
    """Every rule of one SLO (its ``alerting`` settings) over ``facts``, inhibition decided."""
    shape = facts.remaining_ratio.shape
    found: list[Decision] = []
    none = np.zeros(shape, dtype=bool)
    by_severity: dict[Severity, list[int]] = {}
    for index, (name, catalog_severity) in enumerate(facts.conditions):
        tier = alerting.tier(name)
        if tier.enabled:
            by_severity.setdefault(tier.severity or _burn_severity(catalog_severity), []).append(
                index
            )
    for severity in SEVERITIES:
        tiers = by_severity.get(severity)
        if not tiers:
            continue
        settings = [alerting.tier(facts.conditions[i][0]) for i in tiers]
        found.append(
            Decision(
                "ErrorBudgetBurn",
                severity,
                "",
                np.asarray(facts.holding[tiers].any(axis=0), dtype=bool),
                min(minutes(s.for_) for s in settings),
                max(minutes(s.keep) for s in settings),
                None,
                none,
                tuple(tiers),
            )
        )
    budget = alerting.budget
    remaining = facts.remaining_ratio
    known = ~np.isnan(remaining)
    for consumed in budget.consumed or ():
        active = spent_at_least(facts, consumed.at)
        found.append(
            Decision(
                "ErrorBudgetConsumed",
                consumed.severity,
                f"consumed-{consumed.at:g}",
                active,
                0,
                0,
                facts.hold_end,
                none,
            )
        )
    if budget.floor is not None:
        # remaining < below ⇔ consumed > 1 − below ⇔ not (consumed ≤ 1 − below)
        if facts.spent is None or facts.allowed is None:
            active = known & (np.where(known, remaining, 1.0) < budget.floor.below)
        else:
            exact = complement(budget.floor.below)
            spent, allowed = _wide(facts.spent, facts.allowed, exact.denominator)
            over = np.asarray(spent * exact.denominator > allowed * exact.numerator, dtype=bool)
            active = known & over
        found.append(
            Decision("ErrorBudgetLow", budget.floor.severity, "", active, 0, 0, None, none)
        )
    if budget.exhaustion is not None:
        seconds = facts.exhaustion_seconds
        horizon = budget.exhaustion.within.total_seconds()
        active = ~np.isnan(seconds) & (np.where(np.isnan(seconds), math.inf, seconds) <= horizon)
        found.append(
            Decision(
                "ErrorBudgetExhaustion",
                budget.exhaustion.severity,
                "",
                active,
                0,
                0,
                None,
                none,
            )
        )
    if alerting.no_data is not None:
        after = minutes(alerting.no_data.after)
        active = facts.expected & (facts.at - facts.data_end >= after)
        found.append(Decision("SLONoData", alerting.no_data.severity, "", active, 0, 0, None, none))
    if alerting.stale is not None:
        found.append(
            Decision("SLODataStale", alerting.stale.severity, "", facts.stale, 0, 0, None, none)
        )
    if alerting.synthetic is not None and facts.failure_streak is not None:
        failing = facts.failure_streak >= alerting.synthetic.consecutive_failures
        if facts.schedule_open is not None:
            failing = failing & facts.schedule_open
        found.append(
            Decision(
                "SyntheticCheckFailing",
                alerting.synthetic.severity,
                "",
                np.asarray(failing, dtype=bool),
                0,
                0,
                None,
                none,
            )
        )
    return _inhibit(found)


def _burn_severity(severity: str) -> Severity:
    return "page" if severity == "page" else "ticket"


def _inhibit(decisions: list[Decision]) -> list[Decision]:
    """Each decision inhibited where a decision of a higher severity is active."""
    if not decisions:
        return decisions
    shape = decisions[0].active.shape
    above: dict[int, BoolArray] = {}
    for rank in range(len(SEVERITIES)):
        higher = [d.active for d in decisions if RANK[d.severity] < rank]
        above[rank] = np.logical_or.reduce(higher) if higher else np.zeros(shape, dtype=bool)
    return [
        Decision(
            d.alertname,
            d.severity,
            d.rule,
            d.active,
            d.for_minutes,
            d.keep_minutes,
            d.hold_until,
            above[RANK[d.severity]],
            d.tiers,
        )
        for d in decisions
    ]


# --- the facts, over instants (replay) ------------------------------------------------------


STREAK_LOOKBACK_MINUTES = 24 * 60
"""How far back a synthetic failure streak is counted: live alerting reads this many minutes
of a synthetic SLO's counts at each step, and replay counts over the same span, so both see
the same streak (a streak longer than a day is cut to the failures of the last day)."""


def failure_streaks(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    origin: int,
    at: IntArray,
    lookback: int = STREAK_LOOKBACK_MINUTES,
) -> IntArray:
    """The trailing streak of failed synthetic checks of each series at each instant
    (series × instants): the failed checks (total − good) of the minutes after the last
    minute with a passing check, within ``[t − lookback, t)``, from 1-minute counts from
    ``origin`` (counted minutes only: the caller has removed what a status does not count).

    A minute's checks have no order inside it: a minute with any passing check ends the
    streak there, its failures included (the pass is taken as the latest check), so an
    ambiguous minute never pages."""
    good_counts = np.rint(np.asarray(good, dtype=np.float64)).astype(np.int64)
    failed = np.maximum(
        np.rint(np.asarray(total, dtype=np.float64)).astype(np.int64) - good_counts, 0
    )
    series, width = failed.shape
    if not at.size:
        return np.zeros((series, 0), dtype=np.int64)
    summed = np.zeros((series, width + 1), dtype=np.int64)
    np.cumsum(failed, axis=1, out=summed[:, 1:])
    passed = np.where(good_counts > 0, np.arange(1, width + 1, dtype=np.int64), 0)
    after_pass = np.zeros((series, width + 1), dtype=np.int64)
    np.maximum.accumulate(passed, axis=1, out=after_pass[:, 1:])
    end = np.clip(at - origin, 0, width)
    start = np.maximum(after_pass[:, end], np.clip(at - origin - lookback, 0, width)[None, :])
    found: IntArray = summed[:, end] - np.take_along_axis(summed, start, axis=1)
    return found


def data_ends(total: npt.ArrayLike, origin: int, at: IntArray) -> IntArray:
    """Each series' last minute with events + 1 before each instant (series × instants), from
    its 1-minute totals from ``origin``; :data:`NO_DATA_END` where none (a replay reads
    events: a stored minute of zeros counts as no data there)."""
    seen = np.asarray(total) > 0
    width = seen.shape[1]
    ends = np.where(seen, np.arange(1, width + 1, dtype=np.int64), 0)
    np.maximum.accumulate(ends, axis=1, out=ends)
    index = np.clip(at - origin, 0, width)
    padded = np.concatenate((np.zeros((seen.shape[0], 1), dtype=np.int64), ends), axis=1)
    found = padded[:, index]
    result: IntArray = np.where(found > 0, found + origin, NO_DATA_END)
    return result


def instants_facts(
    instants: Instants,
    slo: SLO,
    at: IntArray,
    period_end: IntArray,
    data_end: IntArray,
    schedule: WeeklySchedule | None = None,
    failure_streak: IntArray | None = None,
) -> SeriesFacts:
    """The facts of series of ``slo`` at every instant of ``at``, from the evaluator over
    those instants (``engine.minutes.evaluate_minutes``): what :func:`status_facts` reads of
    a status at each of them. ``period_end`` per instant, ``data_end`` from
    :func:`data_ends`, ``failure_streak`` from :func:`failure_streaks` (synthetic-check
    SLOs only)."""
    insufficient = instants.state == STATE_CODE["insufficient_data"]
    ratio = instants.remaining_ratio
    ratio[insufficient] = np.nan  # a status shows no budget figures then
    series = ratio.shape[0]
    span = minutes(slo.alerting.no_data.after) if slo.alerting.no_data is not None else 1
    max_age = slo.max_data_age
    age = at[None, :] - data_end
    stale = (
        (data_end > NO_DATA_END) & (age * 60 > max_age.total_seconds())
        if max_age is not None
        else np.zeros(ratio.shape, dtype=bool)
    )
    expected = np.broadcast_to(expected_traffic(schedule, at, span), ratio.shape)
    ends = np.broadcast_to(hold_end(slo.window, at, period_end), ratio.shape)
    spends = instants.spends
    period = spends.index(instants.period)
    return SeriesFacts(
        at=at,
        conditions=tuple((c.name, c.severity) for c in instants.conditions),
        holding=instants.holding,
        remaining_ratio=ratio,
        spent=spends.bad[period] * spends.scale,
        allowed=spends.allowed[period],
        hold_end=ends,
        exhaustion_seconds=np.full((series, at.shape[0]), np.nan),
        data_end=data_end,
        stale=stale,
        expected=expected,
        failure_streak=failure_streak,
        schedule_open=None
        if failure_streak is None
        else np.broadcast_to(expected_traffic(schedule, at, 1), ratio.shape),
    )


# --- the facts, from a status (live) --------------------------------------------------------


def is_series_row(slo: SLO, segment: SegmentKey) -> bool:
    """Whether a status row is one series of ``slo`` (alerted on), not an aggregate."""
    return {key for key, _ in segment} == set(slo.segments.keys) and len(segment) == len(
        slo.segments.keys
    )


def hold_end(
    window: RollingWindow | CalendarWindow, at: IntArray, period_end: IntArray
) -> IntArray:
    """Where a consumed alert that fires at ``at`` stops holding: the end of its budget
    period; for a rolling window one window length later."""
    if isinstance(window, RollingWindow):
        found: IntArray = at + int(window.length.total_seconds() // 60)
        return found
    return period_end


def expected_traffic(schedule: WeeklySchedule | None, at: IntArray, span: int) -> BoolArray:
    """Whether the schedule was open for all of ``[t − span, t)`` at each instant ``t``
    (always without a schedule)."""
    if schedule is None or not at.size:
        return np.ones(at.shape, dtype=bool)
    first, last = int(at.min()) - span, int(at.max())
    opened = np.zeros(last - first, dtype=np.int64)
    for low, high in schedule.open_ranges(first, last).tolist():
        opened[low - first : high - first] = 1
    prefix = np.concatenate(([0], np.cumsum(opened)))
    ends = at - first
    found: BoolArray = prefix[ends] - prefix[ends - span] == span
    return found


def status_facts(
    statuses: Sequence[BudgetStatus],
    slo: SLO,
    schedule: WeeklySchedule | None = None,
    streaks: Mapping[SegmentKey, int] | None = None,
) -> SeriesFacts:
    """The facts of status rows of one SLO at one instant (series × 1 instant); every row
    has the same conditions (its SLO's catalog). ``streaks``: for a synthetic-check SLO,
    each series' trailing failure streak at that instant (:func:`failure_streaks`; a series
    absent has none)."""
    first = statuses[0]
    at = np.array([first.at], dtype=np.int64)
    span = minutes(slo.alerting.no_data.after) if slo.alerting.no_data is not None else 1
    ratios, exhaustion, ends, stale, period_ends = [], [], [], [], []
    for status in statuses:
        coverage = status.coverage
        end = coverage.end_minute if coverage is not None else None
        ratio = status.budget_remaining_ratio
        seconds = status.time_to_exhaustion_seconds
        ratios.append(math.nan if ratio is None else ratio)
        exhaustion.append(math.nan if seconds is None else seconds)
        ends.append(NO_DATA_END if end is None else end)
        stale.append(coverage is not None and coverage.stale)
        period_ends.append(status.period_end)
    count = len(statuses)
    spent, allowed = _exact_budgets(statuses)
    names = tuple((c.name, c.severity) for c in first.conditions)
    holding = np.array(
        [[c.firing for c in status.conditions] for status in statuses], dtype=bool
    ).reshape(count, len(names))
    return SeriesFacts(
        at=at,
        conditions=names,
        holding=holding.T.reshape(len(names), count, 1),
        remaining_ratio=np.array(ratios, dtype=np.float64).reshape(count, 1),
        hold_end=hold_end(slo.window, at, np.array(period_ends, dtype=np.int64)).reshape(-1, 1)
        if isinstance(slo.window, CalendarWindow)
        else np.broadcast_to(hold_end(slo.window, at, at), (count, 1)),
        exhaustion_seconds=np.array(exhaustion, dtype=np.float64).reshape(count, 1),
        data_end=np.array(ends, dtype=np.int64).reshape(count, 1),
        stale=np.array(stale, dtype=bool).reshape(count, 1),
        expected=np.broadcast_to(expected_traffic(schedule, at, span), (count, 1)),
        failure_streak=None
        if streaks is None
        else np.array([streaks.get(s.segment, 0) for s in statuses], dtype=np.int64).reshape(
            count, 1
        ),
        schedule_open=None
        if streaks is None
        else np.broadcast_to(expected_traffic(schedule, at, 1), (count, 1)),
        spent=spent,
        allowed=allowed,
    )


def _exact_budgets(statuses: Sequence[BudgetStatus]) -> tuple[IntArray | None, IntArray | None]:
    """Each row's period bad events and allowed bad events (``(1 − target) × eligible``) as
    (rows × 1) integers × one scale (the targets' common denominator), as the status
    evaluated them; (None, None) if a count is not a whole number (then the float ratio
    decides)."""
    counts = [(s.bad, s.eligible) for s in statuses]
    if not all(float(b).is_integer() and float(e).is_integer() for b, e in counts):
        return None, None
    targets = [decimal(s.target) for s in statuses]
    scale = math.lcm(*(t.denominator for t in targets))
    spent = [int(b) * scale for b, _ in counts]
    allowed = [
        (t.denominator - t.numerator) * (scale // t.denominator) * int(e)
        for t, (_, e) in zip(targets, counts, strict=True)
    ]
    if max(max(spent, default=0), max(allowed, default=0)) >= 1 << 62:
        return None, None
    return (
        np.array(spent, dtype=np.int64).reshape(-1, 1),
        np.array(allowed, dtype=np.int64).reshape(-1, 1),
    )


def alert_signals(
    statuses: Sequence[BudgetStatus],
    slos: Mapping[str, SLO],
    schedules: Mapping[str, WeeklySchedule | None] | None = None,
    streaks: Mapping[str, Mapping[SegmentKey, int]] | None = None,
) -> list[AlertSignal]:
    """Every rule's signal for every series row of ``statuses`` (one evaluation): each active
    one, and each inactive one whose rule keeps a firing alert for a while (``keep``), so
    the alert service steps each alert it knows as its rule says (an alert it is not given
    a signal for steps as inactive, with no keep). ``slos`` by id; ``schedules``
    each SLO's compiled schedule (absent: always open); ``streaks`` each synthetic-check
    SLO's failure streaks by segment (absent: its synthetic rule is not decided). The rows
    of one SLO are decided together (:func:`decide` over series)."""
    groups: dict[tuple[str, int, tuple[str, ...]], list[BudgetStatus]] = {}
    for status in statuses:
        slo = slos.get(status.slo)
        if slo is None or not is_series_row(slo, status.segment):
            continue
        key = (status.slo, status.at, tuple(c.name for c in status.conditions))
        groups.setdefault(key, []).append(status)
    found: list[AlertSignal] = []
    for (slo_id, _, _), rows in groups.items():
        slo = slos[slo_id]
        schedule = schedules.get(slo_id) if schedules is not None else None
        slo_streaks = streaks.get(slo_id) if streaks is not None else None
        facts = status_facts(rows, slo, schedule, slo_streaks)
        decisions = decide(facts, slo.alerting)
        for decision in decisions:
            active = decision.active[:, 0].tolist()
            inhibited = decision.inhibited[:, 0].tolist()
            hold = decision.hold_until[:, 0].tolist() if decision.hold_until is not None else None
            for index, status in enumerate(rows):
                now = active[index]
                if not now and decision.keep_minutes <= 0:
                    # an inactive signal without a keep says what absence says (the alert
                    # service steps an alert it knows but is not given as inactive, keep 0):
                    # not building ~8,000 of them a minute for 1,000 series saves ~20 ms
                    continue
                found.append(
                    AlertSignal(
                        alertname=decision.alertname,
                        slo=status.slo,
                        service=status.service,
                        segment=status.segment,
                        severity=decision.severity,
                        active=now,
                        for_minutes=decision.for_minutes,
                        keep_minutes=decision.keep_minutes,
                        hold_until=hold[index] if hold is not None else None,
                        inhibited=inhibited[index],
                        rule=decision.rule,
                        summary=summary(decision, status, _streak(facts, index)) if now else "",
                        details=_details(decision, status, _streak(facts, index)) if now else {},
                        runbook_url=slo.runbook_url,
                    )
                )
    return found


def _streak(facts: SeriesFacts, row: int) -> int | None:
    return None if facts.failure_streak is None else int(facts.failure_streak[row, 0])


def summary(decision: Decision, status: BudgetStatus, streak: int | None = None) -> str:
    """One line for a person: what holds, of which SLO and segment (``streak``: the failed
    synthetic checks in a row, for ``SyntheticCheckFailing``)."""
    where = status.slo + "".join(f" {k}={v}" for k, v in status.segment)
    if decision.alertname == "ErrorBudgetBurn":
        held = [c for i, c in enumerate(status.conditions) if i in decision.tiers and c.firing]
        burns = ", ".join(
            f"{c.long_window}/{c.short_window} at {_burn(c.long_burn)}×/{_burn(c.short_burn)}×"
            for c in held
        )
        return f"{where}: error budget burning ({burns})"
    texts = {
        "ErrorBudgetConsumed": f"{decision.rule.removeprefix('consumed-')} of the budget "
        "consumed this period",
        "ErrorBudgetLow": "error budget low",
        "ErrorBudgetExhaustion": "error budget exhausts within the horizon",
        "SLONoData": "no data where traffic is expected",
        "SLODataStale": "data is stale",
        "SyntheticCheckFailing": f"{streak} synthetic checks failed in a row",
    }
    return f"{where}: {texts.get(decision.alertname, decision.alertname)}"


def _burn(value: float | None) -> str:
    return "?" if value is None else f"{value:.3g}"


def _details(
    decision: Decision, status: BudgetStatus, streak: int | None = None
) -> dict[str, object]:
    found: dict[str, object] = {
        "budget_remaining_ratio": status.budget_remaining_ratio,
        "time_to_exhaustion_seconds": status.time_to_exhaustion_seconds,
        "state": status.state,
    }
    if decision.alertname == "ErrorBudgetBurn":
        found["conditions"] = [
            {
                "name": c.name,
                "long_window": c.long_window,
                "short_window": c.short_window,
                "long_burn_rate": c.long_burn,
                "short_burn_rate": c.short_burn,
                "factor": c.factor,
                "long_factor": c.long_factor if c.long_factor is not None else c.factor,
                "holds": c.firing,
            }
            for i, c in enumerate(status.conditions)
            if i in decision.tiers
        ]
    if decision.alertname == "ErrorBudgetConsumed":
        found["consumed_ratio"] = (
            None if status.budget_remaining_ratio is None else 1 - status.budget_remaining_ratio
        )
    if decision.alertname in ("SLONoData", "SLODataStale") and status.coverage is not None:
        found["data_end_minute"] = status.coverage.end_minute
        found["age_seconds"] = status.coverage.age_seconds
    if decision.alertname == "SyntheticCheckFailing":
        found["consecutive_failures"] = streak
    return found
