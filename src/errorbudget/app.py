"""The App object: config + store + engine + clock, used by every surface.

Surfaces (CLI, HTTP API, dashboard, scheduler) never compute budgets themselves; they ask
the App, which reads counts from the store and hands them to the pure engine. That is what
keeps the same numbers everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from errorbudget.config import LoadedConfig, load_config
from errorbudget.engine.alerts import EffectiveCondition, effective_conditions
from errorbudget.engine.budget import Counts
from errorbudget.engine.status import (
    blended_targets,
    counts_from_sums,
    evaluate_series,
    timeslice_counts,
)
from errorbudget.engine.windows import Plan, clip, merge_ranges, nominal_length, plan
from errorbudget.errors import InvalidRequestError
from errorbudget.model import (
    SLO,
    BudgetStatus,
    Exclusion,
    Minute,
    SegmentKey,
    to_minute,
)
from errorbudget.store import SeriesInfo, Store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass(frozen=True, slots=True)
class _Series:
    id: int | None
    segment: SegmentKey


class App:
    """Holds the loaded config, the open store and the clock; every surface goes through it."""

    def __init__(self, loaded: LoadedConfig, store: Store, clock: Clock = utc_now) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock

    @classmethod
    def open(cls, config_path: str | Path | None = None, clock: Clock = utc_now) -> App:
        loaded = load_config(config_path)
        return cls(loaded, Store.open(loaded.store_path), clock)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- SLOs ------------------------------------------------------------------------------

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

    def status(
        self,
        at: datetime | None = None,
        slo_ids: Sequence[str] | None = None,
        service: str | None = None,
        include_total: bool = True,
    ) -> list[BudgetStatus]:
        """Status of every series of the chosen SLOs at ``at`` (default: now).

        An SLO with segments also gets a whole-SLO row (segment ``()``) at its base target,
        unless ``include_total`` is False.
        """
        at_minute = self.now_minute(at)
        exclusions = self.store.list_exclusions()
        statuses: list[BudgetStatus] = []
        for slo in self.select_slos(slo_ids, service):
            statuses.extend(self._slo_status(slo, at_minute, exclusions, include_total))
        return statuses

    def _series_of(self, slo: SLO) -> list[SeriesInfo]:
        keys = set(slo.segments.keys)
        return [
            info for info in self.store.list_series(slo.id) if {k for k, _ in info.segment} == keys
        ]

    def _conditions(self, slo: SLO, target: float) -> list[EffectiveCondition]:
        catalog = self.loaded.catalog(slo.alerting.catalog)
        return effective_conditions(
            catalog, nominal_length(slo.window), target, slo.alerting.max_burn_fraction
        )

    def _slo_status(
        self, slo: SLO, at: Minute, exclusions: list[Exclusion], include_total: bool
    ) -> list[BudgetStatus]:
        evaluation = plan(
            slo.window, at, slo.forecast.exhaustion_lookback, slo.forecast.projection_lookback
        )
        series = self._series_of(slo)
        preset = self.loaded.policy(slo.policy)
        if slo.budgeting == "timeslices":
            per_series = self._timeslice_series(slo, evaluation, series, exclusions)
        else:
            per_series = self._occurrence_series(slo, evaluation, series, exclusions)
        statuses = []
        for info, (raw, counted) in zip(series, per_series, strict=True):
            target = slo.target_for(info.segment)
            statuses.append(
                evaluate_series(
                    slo,
                    info.segment,
                    evaluation,
                    raw,
                    counted,
                    preset,
                    self._conditions(slo, target),
                )
            )
        if include_total and (bool(slo.segments.keys) or not series):
            raw_total, counted_total = self._whole_slo(
                slo, evaluation, series, per_series, exclusions
            )
            targets = None
            if slo.segments.overrides and slo.budgeting == "occurrences":
                targets = blended_targets(
                    [
                        (slo.target_for(info.segment), counted)
                        for info, (_, counted) in zip(series, per_series, strict=True)
                    ],
                    evaluation.names,
                    slo.target,
                )
            whole_target = targets["period"] if targets else slo.target
            statuses.insert(
                0,
                evaluate_series(
                    slo,
                    (),
                    evaluation,
                    raw_total,
                    counted_total,
                    preset,
                    self._conditions(slo, whole_target),
                    targets,
                ),
            )
        return statuses

    def _whole_slo(
        self,
        slo: SLO,
        evaluation: Plan,
        series: list[SeriesInfo],
        per_series: list[tuple[dict[str, Counts], dict[str, Counts]]],
        exclusions: list[Exclusion],
    ) -> tuple[dict[str, Counts], dict[str, Counts]]:
        if slo.budgeting == "timeslices" and series:
            # Slices of the whole SLO are judged on summed minutes, not by adding slices.
            origin, good, total, excluded = self._minute_matrix(slo, evaluation, series, exclusions)
            merged_excluded = None if excluded is None else np.all(excluded, axis=0).astype(bool)
            return timeslice_counts(
                slo,
                (),
                evaluation,
                good.sum(axis=0),
                total.sum(axis=0),
                origin,
                merged_excluded,
            )
        zero = Counts(0.0, 0.0)
        raw = dict.fromkeys(evaluation.intervals, zero)
        counted = dict.fromkeys(evaluation.intervals, zero)
        for series_raw, series_counted in per_series:
            for name in evaluation.intervals:
                raw[name] = raw[name] + series_raw[name]
                counted[name] = counted[name] + series_counted[name]
        return raw, counted

    def _excluded_ranges(
        self, slo: SLO, segment: SegmentKey, exclusions: list[Exclusion]
    ) -> list[tuple[Minute, Minute]]:
        return merge_ranges([(e.start, e.end) for e in exclusions if e.applies_to(slo, segment)])

    def _occurrence_series(
        self, slo: SLO, evaluation: Plan, series: list[SeriesInfo], exclusions: list[Exclusion]
    ) -> list[tuple[dict[str, Counts], dict[str, Counts]]]:
        if not series:
            return []
        names = evaluation.names
        sums = self.store.sums([s.id for s in series], [evaluation.intervals[n] for n in names])
        result = []
        for index, info in enumerate(series):
            raw = counts_from_sums(names, sums[index])
            ranges = self._excluded_ranges(slo, info.segment, exclusions)
            counted = raw
            if ranges:
                counted = dict(raw)
                for name in names:
                    parts = clip(evaluation.intervals[name], ranges)
                    if parts:
                        excluded = self.store.sums([info.id], parts)[0].sum(axis=0)
                        counted[name] = raw[name] - Counts(float(excluded[0]), float(excluded[1]))
            result.append((raw, counted))
        return result

    def _minute_matrix(
        self, slo: SLO, evaluation: Plan, series: list[SeriesInfo], exclusions: list[Exclusion]
    ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray | None]:
        assert slo.timeslice is not None
        length = int(slo.timeslice.length.total_seconds() // 60)
        origin = evaluation.earliest()
        origin -= origin % length
        good, total = self.store.minute_arrays([s.id for s in series], origin, evaluation.at)
        excluded = None
        for index, info in enumerate(series):
            ranges = self._excluded_ranges(slo, info.segment, exclusions)
            if not ranges:
                continue
            if excluded is None:
                excluded = np.zeros(good.shape, dtype=bool)
            for start, end in clip((origin, evaluation.at), ranges):
                excluded[index, start - origin : end - origin] = True
        return origin, good, total, excluded

    def _timeslice_series(
        self, slo: SLO, evaluation: Plan, series: list[SeriesInfo], exclusions: list[Exclusion]
    ) -> list[tuple[dict[str, Counts], dict[str, Counts]]]:
        if not series:
            return []
        origin, good, total, excluded = self._minute_matrix(slo, evaluation, series, exclusions)
        return [
            timeslice_counts(
                slo,
                info.segment,
                evaluation,
                good[index],
                total[index],
                origin,
                None if excluded is None else excluded[index],
            )
            for index, info in enumerate(series)
        ]

    # --- exclusions ------------------------------------------------------------------------

    def add_exclusion(
        self,
        *,
        slo: str,
        start: datetime,
        end: datetime,
        category: str,
        reason: str,
        created_by: str,
        approved_by: str | None = None,
        segment: dict[str, str] | None = None,
    ) -> Exclusion:
        """Record an exclusion for one SLO (``"*"``: every SLO); the raw counts stay."""
        if slo != "*":
            self.loaded.slo(slo)
        start_minute, end_minute = to_minute(start), to_minute(end)
        if end_minute <= start_minute:
            raise InvalidRequestError("an exclusion must end after it starts")
        return self.store.add_exclusion(
            slo=slo,
            start=start_minute,
            end=end_minute,
            category=category,
            reason=reason,
            created_by=created_by,
            approved_by=approved_by,
            segment=segment or {},
        )
