"""The App object: config + store + engine + clock, used by every surface.

Surfaces (CLI, HTTP API, dashboard, scheduler) never compute budgets themselves; they ask
the App, which reads counts from the store and hands them to the pure engine. That is what
keeps the same numbers everywhere.
"""

from __future__ import annotations

import getpass
import hashlib
import os
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
from errorbudget.yamlsource import did_you_mean

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def current_user() -> str:
    """Who is acting, for the audit log: the OS user, else ``$USER``, else ``unknown``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


class App:
    """Holds the loaded config, the open store and the clock; every surface goes through it."""

    def __init__(self, loaded: LoadedConfig, store: Store, clock: Clock = utc_now) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self._condition_cache: dict[tuple[str, float], list[EffectiveCondition]] = {}

    @classmethod
    def open(cls, config_path: str | Path | None = None, clock: Clock = utc_now) -> App:
        """Load the config, open its store, and record the config if it changed."""
        loaded = load_config(config_path)
        app = cls(loaded, Store.open(loaded.store_path), clock)
        try:
            app.record_config()
        except BaseException:
            app.close()
            raise
        return app

    def record_config(self, actor: str | None = None) -> int | None:
        """Append a ``config.apply`` audit entry when the config differs from the last one
        applied to this store (by content, not layout); return its id, or None."""
        canonical = self.loaded.config.model_dump_json()
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        previous = self.store.audit_log(limit=1, action="config.apply")
        before: list[str] = []
        if previous:
            if previous[0].details.get("sha256") == digest:
                return None
            listed = previous[0].details.get("slos")
            before = [str(x) for x in listed] if isinstance(listed, list) else []
        slo_ids = [slo.id for slo in self.slos]
        return self.store.audit(
            actor=actor or current_user(),
            action="config.apply",
            subject=str(self.loaded.path),
            details={
                "sha256": digest,
                "slos": slo_ids,
                "added": sorted(set(slo_ids) - set(before)),
                "removed": sorted(set(before) - set(slo_ids)),
            },
        )

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

        An SLO with segments also gets a whole-SLO row (segment ``()``) first, whose budget
        is the sum of its segments' budgets, unless ``include_total`` is False.
        """
        at_minute = self.now_minute(at)
        exclusions = self.store.list_exclusions()
        chosen = self.select_slos(slo_ids, service)
        series = self._series_by_slo(chosen)
        statuses: list[BudgetStatus] = []
        for slo in chosen:
            statuses.extend(
                evaluate_slo(
                    self.store,
                    slo,
                    series.get(slo.id, []),
                    at_minute,
                    exclusions,
                    self.loaded.policy(slo.policy),
                    self._conditions,
                    include_total,
                )
            )
        return statuses

    def _series_by_slo(self, slos: Sequence[SLO]) -> dict[str, list[SeriesInfo]]:
        """Stored series of each SLO whose labels are exactly the SLO's segment keys (series
        left over from an earlier segmentation are not evaluated)."""
        stored = self.store.list_series(slos[0].id if len(slos) == 1 else None)
        keys = {slo.id: set(slo.segments.keys) for slo in slos}
        grouped: dict[str, list[SeriesInfo]] = {}
        for info in stored:
            if info.slo in keys and {k for k, _ in info.segment} == keys[info.slo]:
                grouped.setdefault(info.slo, []).append(info)
        return grouped

    def _conditions(self, slo: SLO, target: float) -> list[EffectiveCondition]:
        """Conditions scaled to ``slo`` at ``target``; cached for the configured targets
        (a whole-SLO row's target follows its traffic mix and would grow the cache)."""
        key = (slo.id, target)
        cached = self._condition_cache.get(key)
        if cached is not None:
            return cached
        catalog = self.loaded.catalog(slo.alerting.catalog)
        conditions = effective_conditions(
            catalog, nominal_length(slo.window), target, slo.alerting.max_burn_fraction
        )
        if target == slo.target or any(o.target == target for o in slo.segments.overrides):
            self._condition_cache[key] = conditions
        return conditions

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
        service: str | None = None,
    ) -> Exclusion:
        """Record an exclusion for one SLO (``"*"``: every SLO, of ``service`` if given);
        the raw counts stay. Segment keys must be ones the SLO(s) segment by."""
        segment = segment or {}
        if slo != "*":
            keys = set(self.loaded.slo(slo).segments.keys)
        else:
            scoped = self.select_slos(service=service)
            if service is not None and not scoped:
                raise InvalidRequestError(f"no SLO belongs to service {service!r}")
            keys = {key for s in scoped for key in s.segments.keys}
        unknown = sorted(set(segment) - keys)
        if unknown:
            hint = did_you_mean(unknown[0], sorted(keys))
            raise InvalidRequestError(
                f"segment key {unknown[0]!r} is not one the SLO segments by "
                f"({', '.join(sorted(keys)) or 'none'}){hint}"
            )
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
            segment=segment,
            service=service,
        )

    def matching_series(self, exclusion: Exclusion) -> list[SeriesInfo]:
        """The stored series an exclusion applies to (none yet is legal: data may follow)."""
        slos = {slo.id: slo for slo in self.slos}
        return [
            info
            for info in self.store.list_series(None if exclusion.slo == "*" else exclusion.slo)
            if info.slo in slos and exclusion.applies_to(slos[info.slo], info.segment)
        ]
