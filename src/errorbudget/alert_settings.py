"""An SLO's ``alerting:`` settings (docs/alerting.md "Rules", docs/config.md): which burn
catalog, the low-target ceiling and the low-traffic guard, each catalog condition (tier) on or
off with its severity, ``for`` and ``keep``, the budget alerts, no data, stale data and
failed synthetic checks.

``model.Alerting`` re-exports :class:`Alerting`, so configs and code naming it there work
unchanged. Plain models, no I/O; the rules that read them are ``engine.alert_rules``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from errorbudget.durations import Duration

BurnSeverity = Literal["page", "ticket"]
AlertSeverity = Literal["page", "ticket", "notice"]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _whole_minutes(value: timedelta) -> timedelta:
    if value.total_seconds() % 60 or value < timedelta(0):
        raise ValueError("a whole, non-negative number of minutes")
    return value


def minutes(value: timedelta) -> int:
    """A whole-minute duration in minutes."""
    return int(value.total_seconds() // 60)


class Tier(_Settings):
    """One catalog condition as this SLO alerts on it (``alerting.tiers.<name>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    enabled: bool = True
    severity: BurnSeverity | None = None
    """None: the catalog's severity."""
    for_: Duration = Field(default=timedelta(0), alias="for")
    """How long the condition must hold before the alert fires."""
    keep: Duration = timedelta(0)
    """How long a firing alert stays firing after the condition stops holding."""

    _minutes = field_validator("for_", "keep")(_whole_minutes)


class ConsumedAlert(_Settings):
    """``ErrorBudgetConsumed``: the period's consumed ratio reached ``at`` (once per period)."""

    at: float = Field(gt=0.0, le=1.0)
    severity: AlertSeverity = "ticket"


class FloorAlert(_Settings):
    """``ErrorBudgetLow``: less than ``below`` of the budget left (a release-risk notice)."""

    below: float = Field(default=0.2, gt=0.0, le=1.0)
    severity: AlertSeverity = "notice"


class ExhaustionAlert(_Settings):
    """``ErrorBudgetExhaustion``: the forecast exhausts the budget within ``within``."""

    within: Duration = timedelta(days=3)
    severity: AlertSeverity = "ticket"

    _minutes = field_validator("within")(_whole_minutes)


def _default_consumed() -> list[ConsumedAlert]:
    return [ConsumedAlert(at=0.5), ConsumedAlert(at=0.9)]


class BudgetAlerts(_Settings):
    """The budget alerts; each can be ``null`` to turn it off."""

    consumed: list[ConsumedAlert] | None = Field(default_factory=_default_consumed)
    floor: FloorAlert | None = Field(default_factory=FloorAlert)
    exhaustion: ExhaustionAlert | None = Field(default_factory=ExhaustionAlert)

    @field_validator("consumed")
    @classmethod
    def _distinct_thresholds(cls, value: list[ConsumedAlert] | None) -> list[ConsumedAlert] | None:
        # each threshold is its own alert, named by its share (``consumed-0.5``): two alike
        # would be one alert told twice
        shares = [f"{entry.at:g}" for entry in value or ()]
        repeated = sorted({share for share in shares if shares.count(share) > 1})
        if repeated:
            raise ValueError(f"consumed threshold(s) {', '.join(repeated)} given more than once")
        return value


class NoDataAlert(_Settings):
    """``SLONoData``: a series that should have traffic (its schedule open, or always without
    a schedule) has had no events for ``after``."""

    after: Duration = timedelta(minutes=15)
    severity: AlertSeverity = "ticket"

    @field_validator("after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() % 60 or value < timedelta(minutes=1):
            raise ValueError("a whole number of minutes, at least 1m")
        return value


class StaleAlert(_Settings):
    """``SLODataStale``: the series' data is older than its ``data.max_age``."""

    severity: AlertSeverity = "ticket"


class SyntheticAlert(_Settings):
    """``SyntheticCheckFailing`` (synthetic-check SLOs only): this many failed checks in a
    row, counted inside the SLO's schedule, while the schedule is open."""

    consecutive_failures: int = Field(default=3, ge=1, le=10_000)
    severity: AlertSeverity = "page"


class Alerting(_Settings):
    enabled: bool = True
    catalog: str = "google-30d"
    min_events: int = Field(default=20, ge=0, le=10**12)
    """A condition needs at least this many eligible events in its long window."""
    min_bad_events: int = Field(default=2, ge=0, le=10**12)
    """A condition needs at least this many bad events in its long window: one failed call
    never pages, whatever the target (docs/concepts.md, the low-traffic guard)."""
    max_burn_fraction: float = Field(default=0.9, gt=0.0, lt=1.0)
    """Low-target adaptation: a condition whose factor exceeds this share of the highest burn
    compares its short window against that ceiling and its long window against
    ``ceiling × short / long`` (engine/alerts.py)."""
    tiers: dict[str, Tier] = Field(default_factory=dict)
    """Per catalog condition (``page-1h-5m`` style names): on or off, severity, for, keep."""
    budget: BudgetAlerts = Field(default_factory=BudgetAlerts)
    no_data: NoDataAlert | None = Field(default_factory=NoDataAlert)
    stale: StaleAlert | None = Field(default_factory=StaleAlert)
    synthetic: SyntheticAlert | None = Field(default_factory=SyntheticAlert)
    """Consecutive failed synthetic checks; read only for an SLO whose indicator is
    ``source: synthetic`` (``validate`` warns when set on another)."""

    def tier(self, name: str) -> Tier:
        """The settings of the catalog condition ``name`` (defaults when not configured)."""
        return self.tiers.get(name) or _DEFAULT_TIER


_DEFAULT_TIER = Tier()
