"""The evaluation service: owns "now"'s evaluation and its cache, and publishes it.

Every surface (API, pages, ``/metrics``, the gate) reads statuses from here, so the same
numbers are served everywhere and evaluated once per minute and store revision. Listeners
registered with :meth:`EvaluationService.subscribe` hear of each new evaluation of "now";
:meth:`EvaluationService.run` is the warmer ``errorbudget serve`` schedules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar, cast

from errorbudget.clock import Clock
from errorbudget.config import LoadedConfig
from errorbudget.engine.alerts import slo_conditions
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.timeline import DEFAULT_SPAN as DEFAULT_TIMELINE_SPAN
from errorbudget.engine.timeline import Timeline
from errorbudget.engine.windows import nominal_length
from errorbudget.errors import ErrorBudgetError
from errorbudget.evaluation import SloEvaluation, SloInputs, SloMemo, evaluate_slos
from errorbudget.history import read_timeline
from errorbudget.model import (
    SLO,
    BudgetStatus,
    ConditionResult,
    Minute,
    PolicyPreset,
    PolicyState,
    SegmentKey,
    to_minute,
)
from errorbudget.process_memory import collector_paused
from errorbudget.store import SeriesInfo, Store

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")

log = logging.getLogger("errorbudget.services.evaluations")

EvaluationListener = Callable[["Evaluation"], None]
"""Called with each new evaluation of "now", in the thread that evaluated it."""

MEMO_EVALUATIONS = 2
"""Evaluations whose derived results :meth:`EvaluationService.memo` keeps: the latest and
the one before (served while the next is computed); older ones' results are dropped."""
MEMO_ENTRIES = 256
"""At most this many memoised results in all (the oldest go first): a result can be a whole
status response, so distinct queries must not pile up."""
STALE_MINUTES = 2
"""With a warmer, "now" is served from the last evaluation while it is at most this many
minutes old; an older one (a warmer that fell behind or died) is not served: the caller
evaluates."""


EvaluationKey = tuple[Minute, int]
"""The evaluation minute and the store's revision (``Store.revision``)."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The statuses of every series at one minute and store revision (whole-SLO rows first
    within each SLO, SLOs in config order), and the group rows of SLOs with several segment
    keys (``evaluation.SloEvaluation``)."""

    key: EvaluationKey
    statuses: list[BudgetStatus]
    groups: dict[str, list[BudgetStatus]] = field(default_factory=dict)

    @property
    def minute(self) -> Minute:
        return self.key[0]

    def select(self, slo_ids: Iterable[str]) -> list[BudgetStatus]:
        wanted = set(slo_ids)
        return [status for status in self.statuses if status.slo in wanted]


@dataclass(frozen=True, slots=True)
class SeriesConditions:
    """The burn-rate conditions of one series at one instant (from its BudgetStatus):
    which multiwindow pairs are over their factor."""

    slo: str
    service: str
    segment: SegmentKey
    at: Minute
    state: PolicyState
    conditions: tuple[ConditionResult, ...]

    @property
    def firing(self) -> list[ConditionResult]:
        return [c for c in self.conditions if c.firing]


class EvaluationService:
    """The statuses of every series, evaluated from the store by the pure engine and cached
    by minute and store revision; "now"'s evaluation is published to subscribers."""

    def __init__(self, loaded: LoadedConfig, store: Store, clock: Clock) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self._condition_cache: dict[tuple[str, Fraction], list[EffectiveCondition]] = {}
        self._shared_conditions: dict[tuple[object, ...], list[EffectiveCondition]] = {}
        self._slo_memo = SloMemo()  # each SLO's plan key and words, once per SLO object
        self._status_lock = threading.Lock()
        self._latest: Evaluation | None = None
        self._history: dict[EvaluationKey, Evaluation] = {}
        self._refresher: Callable[[], None] | None = None
        self._memo: dict[tuple[Hashable, EvaluationKey], object] = {}
        self._memo_bases: dict[EvaluationKey, None] = {}
        """The evaluations with memoised results, oldest first."""
        self._memo_lock = threading.Lock()
        self._listeners: list[EvaluationListener] = []

    def subscribe(self, listener: EvaluationListener) -> Callable[[], None]:
        """Call ``listener`` with every new evaluation of "now" from here on; return the
        function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def latest(self) -> Evaluation | None:
        """The last published evaluation of "now" (None before the first)."""
        return self._latest

    async def run(self, stop: asyncio.Event, every: float = 0.5) -> None:
        """The warmer: evaluate "now" in a worker thread as soon as the minute or the data
        moves (checked every ``every`` seconds, and woken by the first caller that notices),
        while callers are served the last evaluation; until ``stop`` is set."""
        import asyncio  # only the warmer needs it: a CLI status does not load it

        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notice() -> None:  # called from request handlers, on the loop or in its pool
            if not wake.is_set():
                loop.call_soon_threadsafe(wake.set)

        self.refresh_in_background(notice)
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    await asyncio.to_thread(self.refresh)
                except ErrorBudgetError as exc:
                    log.warning("status evaluation failed: %s", exc)
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
                try:
                    await asyncio.wait(waits, timeout=every, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiting in waits:
                        waiting.cancel()
        finally:
            self.refresh_in_background(None)

    @property
    def slos(self) -> list[SLO]:
        return list(self.loaded.config.slos)

    def select_slos(
        self, slo_ids: Sequence[str] | None = None, service: str | None = None
    ) -> list[SLO]:
        """SLOs by id (each must exist) and/or service, in config order."""
        chosen = [self.loaded.slo(slo_id) for slo_id in slo_ids] if slo_ids else self.slos
        if service is not None:
            chosen = [slo for slo in chosen if slo.service == service]
        return chosen

    def now_minute(self, at: datetime | None = None) -> Minute:
        return to_minute(at or self.clock())

    # --- status ----------------------------------------------------------------------------

    def evaluation(self, at: datetime | None = None) -> Evaluation:
        """The statuses of every series of every SLO at ``at`` (default: now), whole-SLO
        rows included, from the cache when the minute and the stored data have not moved.

        An explicit ``at`` always gets its own minute, evaluated by the caller. For "now",
        when the minute or the data has moved since the last evaluation, the last one is
        served rather than stalling the caller: while another thread evaluates the new one,
        or always once :meth:`refresh_in_background` has handed the work to a warmer
        (``errorbudget serve``). It is then at most one evaluation old and never more than
        ``STALE_MINUTES`` behind, and its ``at`` says which minute it is; results derived
        from it are memoised by its key (:meth:`memo`).

        Evaluate before opening a store transaction, not inside one: evaluating takes this
        App's status lock and then the store's, and a transaction holds the store's.
        """
        at_minute = self.now_minute(at)
        key = (at_minute, self.store.revision())
        if at is not None:
            return self._evaluation_at(key)
        latest = self._latest
        if latest is not None and latest.key == key:
            return latest
        recent = latest is not None and at_minute - latest.minute <= STALE_MINUTES
        if recent and self._refresher is not None:
            assert latest is not None
            self._refresher()
            return latest
        # Without a warmer the caller evaluates; while another thread evaluates, a recent
        # last evaluation is served meanwhile, an older one (or none) is waited for.
        if not self._status_lock.acquire(blocking=not recent):
            assert latest is not None
            return latest
        try:
            return self._refresh_latest(key)
        finally:
            self._status_lock.release()

    def refresh(self) -> Evaluation:
        """Evaluate "now" if the minute or the data moved since the last evaluation (the
        warmer's call: it blocks while another thread evaluates)."""
        key = (self.now_minute(), self.store.revision())
        with self._status_lock:
            return self._refresh_latest(key)

    def refresh_in_background(self, wake: Callable[[], None] | None) -> None:
        """Hand the evaluation of "now" to a warmer: from here on a caller that finds the
        minute or the data moved calls ``wake()`` and is served the last evaluation, and
        the warmer calls :meth:`refresh`. ``None`` hands the work back to the callers."""
        self._refresher = wake

    def _refresh_latest(self, key: EvaluationKey) -> Evaluation:
        latest = self._latest
        if latest is None or latest.key != key:
            latest = self._evaluation(key)
            self._latest = latest
            for listener in list(self._listeners):
                listener(latest)
        return latest

    def _evaluation_at(self, key: EvaluationKey) -> Evaluation:
        """An explicit minute: the last 8 are kept (the oldest evicted first); the current
        minute is "now"'s evaluation, shared with it rather than evaluated twice."""
        with self._status_lock:
            if self._latest is not None and self._latest.key == key:
                return self._latest
            if key[0] == self.now_minute():  # key was read just now: it is "now"'s
                return self._refresh_latest(key)
            found = self._history.get(key)
            if found is None:
                found = self._evaluation(key)
                self._history[key] = found
                while len(self._history) > 8:
                    self._history.pop(next(iter(self._history)))
            return found

    def status(
        self,
        at: datetime | None = None,
        slo_ids: Sequence[str] | None = None,
        service: str | None = None,
        include_total: bool = True,
    ) -> list[BudgetStatus]:
        """Status of every series of the chosen SLOs at ``at`` (default: now).

        An SLO with segments also gets a whole-SLO row (segment ``()``) first, whose budget
        is the sum of its segments' budgets, unless ``include_total`` is False. Served from
        :meth:`evaluation` (see there for when "now" may be one evaluation old).
        """
        chosen = self.select_slos(slo_ids, service)
        if not include_total:
            found = self._evaluate(chosen, self.now_minute(at), include_total=False)
            return [status for result in found.values() for status in result.statuses]
        return self.evaluation(at).select(slo.id for slo in chosen)

    def memo(self, key: Hashable, basis: EvaluationKey, compute: Callable[[], T]) -> T:
        """``compute()`` cached under ``key`` for the evaluation ``basis`` (an
        :attr:`Evaluation.key`): for results derived from its statuses, e.g. the HTTP API's
        encoded status responses, which would otherwise cost more than evaluating. Keyed by
        the evaluation, not by the clock, so a result computed from an evaluation served
        while the next one runs is never filed under the next one. Only the results of the
        latest :data:`MEMO_EVALUATIONS` evaluations are kept, at most :data:`MEMO_ENTRIES`
        in all: a status response of 1,000 series is about a megabyte, and one per minute
        kept for 4,096 minutes was gigabytes."""
        full_key = (key, basis)
        with self._memo_lock:
            if full_key in self._memo:
                return cast(T, self._memo[full_key])
        value = compute()
        with self._memo_lock:
            self._memo[full_key] = value
            self._memo_bases.pop(basis, None)
            self._memo_bases[basis] = None  # the newest last
            while len(self._memo_bases) > MEMO_EVALUATIONS:
                oldest = next(iter(self._memo_bases))
                del self._memo_bases[oldest]
                for stale in [k for k in self._memo if k[1] == oldest]:
                    del self._memo[stale]
            while len(self._memo) > MEMO_ENTRIES:
                self._memo.pop(next(iter(self._memo)))
        return value

    def _evaluation(self, key: EvaluationKey) -> Evaluation:
        found = self._evaluate(self.slos, key[0], True)
        return Evaluation(
            key,
            [status for result in found.values() for status in result.statuses],
            {slo_id: result.groups for slo_id, result in found.items() if result.groups},
        )

    def _evaluate(
        self, slos: Sequence[SLO], at_minute: Minute, include_total: bool
    ) -> dict[str, SloEvaluation]:
        exclusions = self.store.list_exclusions()
        issues = self.store.list_data_issues()
        series = self._series_by_slo(slos) if slos else {}
        inputs = [
            SloInputs(
                slo,
                series.get(slo.id, []),
                self.loaded.policy(slo.policy),
                self.loaded.eligibility(slo),
            )
            for slo in slos
        ]
        with collector_paused():  # its ~60,000 objects set off no collection (process_memory)
            return evaluate_slos(
                self.store,
                inputs,
                at_minute,
                exclusions,
                self._conditions,
                include_total,
                issues,
                self._slo_memo,
            )

    def preset(self, slo_id: str) -> PolicyPreset:
        """The policy preset an SLO is judged by (its ``policy``)."""
        return self.loaded.policy(self.loaded.slo(slo_id).policy)

    def series_by_slo(self, slos: Sequence[SLO]) -> dict[str, list[SeriesInfo]]:
        """The stored series a status evaluates, by SLO id (see ``_series_by_slo``)."""
        return self._series_by_slo(slos)

    def _series_by_slo(self, slos: Sequence[SLO]) -> dict[str, list[SeriesInfo]]:
        """Stored series of each SLO whose labels are exactly the SLO's segment keys (series
        left over from an earlier segmentation are not evaluated)."""
        stored = self.store.list_series(slos[0].id if len(slos) == 1 else None)
        keys = {slo.id: set(slo.segments.keys) for slo in slos}
        grouped: dict[str, list[SeriesInfo]] = {}
        # whether a series' labels are its SLO's keys, asked once per SLO and label names
        matches: dict[tuple[str, tuple[str, ...]], bool] = {}
        for info in stored:
            names = (info.slo, tuple([k for k, _ in info.segment]))
            found = matches.get(names)
            if found is None:
                found = matches[names] = info.slo in keys and set(names[1]) == keys[info.slo]
            if found:
                grouped.setdefault(info.slo, []).append(info)
        return grouped

    def _conditions(self, slo: SLO, target: Fraction) -> list[EffectiveCondition]:
        """Conditions scaled to ``slo`` at ``target`` (exact), cached: a whole-SLO row's
        effective target follows its traffic mix, so the cache is bounded."""
        key = (slo.id, target)
        cached = self._condition_cache.get(key)
        if cached is not None:
            return cached
        # SLOs whose conditions come out the same get the same list: a status built over
        # many one-series SLOs then reads one set of conditions, not one per SLO
        alerting = slo.alerting
        inputs = (
            alerting.catalog,
            nominal_length(slo.window),
            target,
            alerting.max_burn_fraction,
            alerting.min_bad_events,
        )
        conditions = self._shared_conditions.get(inputs)
        if conditions is None:
            conditions = slo_conditions(self.loaded.catalog(alerting.catalog), slo, target)
        if len(self._condition_cache) > 4096:
            self._condition_cache.clear()
            self._shared_conditions.clear()
        self._condition_cache[key] = self._shared_conditions[inputs] = conditions
        return conditions

    # --- time series and conditions ------------------------------------------------------------

    def timeline(
        self,
        slo_id: str,
        segment: Mapping[str, str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        step: timedelta = timedelta(hours=1),
    ) -> Timeline:
        """SLI, burn rates (1h, 6h, 1d, period) and budget remaining of one series at every
        ``step`` from ``start`` to ``end`` (both included; default: the 30 days before now).

        ``segment`` empty or None is the whole SLO (budget = sum of its segments' budgets,
        as in :meth:`status`); otherwise it names every segment key of one stored series
        (NotFoundError if none is stored). Each point equals what :meth:`status` reports at
        that instant. Counts are read once, at step resolution, and windows are prefix-sum
        differences (``engine.timeline``). At most ``MAX_POINTS`` (5,000) points.
        """
        slo = self.loaded.slo(slo_id)
        until = end or self.clock()
        since = start or until - DEFAULT_TIMELINE_SPAN
        return read_timeline(
            self.store,
            slo,
            segment or {},
            to_minute(since),
            to_minute(until),
            step,
            self.store.list_exclusions(),
            self.loaded.eligibility(slo),
            self.store.list_data_issues(),
        )

    def conditions(
        self,
        at: datetime | None = None,
        slo_ids: Sequence[str] | None = None,
        service: str | None = None,
        firing_only: bool = False,
    ) -> list[SeriesConditions]:
        """Burn-rate conditions of every series (whole-SLO rows included) at ``at``, from the
        statuses' multiwindow evaluation; ``firing_only`` keeps series with a firing one."""
        found = [
            SeriesConditions(s.slo, s.service, s.segment, s.at, s.state, s.conditions)
            for s in self.status(at=at, slo_ids=slo_ids, service=service)
        ]
        return [c for c in found if c.firing] if firing_only else found
