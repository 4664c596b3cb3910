"""The App object: config + store + engine + clock, used by every surface.

Surfaces (CLI, HTTP API, dashboard, scheduler) never compute budgets themselves; they ask
the App, which reads counts from the store and hands them to the pure engine. That is what
keeps the same numbers everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from errorbudget.config import LoadedConfig, load_config
from errorbudget.engine.alerts import EffectiveCondition, effective_conditions
from errorbudget.engine.windows import nominal_length
from errorbudget.errors import InvalidRequestError
from errorbudget.evaluation import evaluate_slo
from errorbudget.model import (
    SLO,
    BudgetStatus,
    Exclusion,
    Minute,
    to_minute,
)
from errorbudget.store import SeriesInfo, Store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


class App:
    """Holds the loaded config, the open store and the clock; every surface goes through it."""

    def __init__(self, loaded: LoadedConfig, store: Store, clock: Clock = utc_now) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self._condition_cache: dict[tuple[str, float], list[EffectiveCondition]] = {}

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
        key = (slo.id, target)
        if key not in self._condition_cache:
            catalog = self.loaded.catalog(slo.alerting.catalog)
            self._condition_cache[key] = effective_conditions(
                catalog, nominal_length(slo.window), target, slo.alerting.max_burn_fraction
            )
        return self._condition_cache[key]

    def _slo_status(
        self, slo: SLO, at: Minute, exclusions: list[Exclusion], include_total: bool
    ) -> list[BudgetStatus]:
        return evaluate_slo(
            self.store,
            slo,
            self._series_of(slo),
            at,
            exclusions,
            self.loaded.policy(slo.policy),
            self._conditions,
            include_total,
        )

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
