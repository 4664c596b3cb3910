"""Budgets: the status of a series at one instant, its burn-rate conditions and data
coverage, the status CSV row, the configured SLOs, timelines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, Field

from errorbudget.model import (
    SLO,
    BudgetStatus,
    ConditionResult,
    DataCoverage,
    Outlook,
    PolicyState,
    from_minute,
    segment_label,
)
from errorbudget.schema.values import Count, count, instant, number
from errorbudget.wording import data_note

if TYPE_CHECKING:
    from errorbudget.engine.timeline import TimelinePoint


class ConditionOut(BaseModel):
    """One multiwindow burn-rate condition: fires when both burns exceed ``factor``."""

    severity: str = Field(description="page or ticket")
    long_window: str
    short_window: str
    factor: float | None = Field(description="The factor compared against (after adaptation).")
    long_factor: float | None = Field(
        default=None,
        description="The long window's factor when a low target splits it from the short "
        "window's (None: the same as factor).",
    )
    name: str = Field(default="", description="The condition's name in alerting.tiers.")
    catalog_factor: float | None
    adapted: bool = Field(description="Whether the factor was adapted to a low target.")
    long_burn_rate: float | None
    short_burn_rate: float | None
    firing: bool

    @classmethod
    def of(cls, condition: ConditionResult) -> ConditionOut:
        return cls(
            severity=condition.severity,
            long_window=condition.long_window,
            short_window=condition.short_window,
            factor=number(condition.factor),
            long_factor=number(condition.long_factor),
            name=condition.name,
            catalog_factor=number(condition.catalog_factor),
            adapted=condition.adapted,
            long_burn_rate=number(condition.long_burn),
            short_burn_rate=number(condition.short_burn),
            firing=condition.firing,
        )


class DataOut(BaseModel):
    """How much of the window a series' data covers and how old it is."""

    sufficient: bool = Field(description="Covers at least data.min_coverage of the window.")
    stale: bool = Field(description="Older than data.max_age: the gate never allows on it.")
    covered_minutes: int
    window_minutes: int = Field(description="The window, or a calendar window's elapsed part.")
    min_coverage: float
    first: AwareDatetime | None
    end: AwareDatetime | None = Field(description="End of the newest minute with data.")
    age_seconds: float | None
    broken_minutes: int = Field(
        description="Minutes a source reported broken: left out, never counted as bad."
    )
    max_age_seconds: float | None
    note: str | None = Field(description="What a page shows instead of a number, if anything.")

    @classmethod
    def of(cls, coverage: DataCoverage) -> DataOut:
        return cls(
            sufficient=coverage.sufficient,
            stale=coverage.stale,
            covered_minutes=coverage.covered_minutes,
            window_minutes=coverage.window_minutes,
            min_coverage=coverage.min_coverage,
            first=instant(coverage.first_minute),
            end=instant(coverage.end_minute),
            age_seconds=number(coverage.age_seconds, 1),
            broken_minutes=coverage.broken_minutes,
            max_age_seconds=number(coverage.max_age_seconds, 1),
            note=data_note(coverage),
        )


class StatusOut(BaseModel):
    """The budget of one series at one instant (the ``status --format json`` object)."""

    slo: str
    service: str
    segment: dict[str, str] = Field(description="Segment labels; {} is the whole SLO.")
    target: float | None
    window: str
    budgeting: str
    at: AwareDatetime
    period_start: AwareDatetime
    period_end: AwareDatetime
    eligible: Count
    good: Count
    bad: Count
    raw_total: Count
    raw_bad: Count
    excluded: Count = Field(description="Removed by exclusions and maintenance windows.")
    out_of_schedule: Count = Field(
        default=0,
        description="Outside the SLO's schedule: in raw_total, not eligible, not excluded.",
    )
    out_of_schedule_bad: Count = Field(default=0, description="Of those, the bad ones.")
    sli: float | None = Field(description="None: no data (never shown as 0 % or 100 %).")
    budget_total: float | None
    budget_consumed: float | None
    budget_remaining: float | None
    budget_remaining_ratio: float | None = Field(description="May be negative (overspent).")
    burn_rates: dict[str, float | None] = Field(description="Keyed 5m 30m 1h 2h 6h 1d 3d.")
    period_burn_rate: float | None
    time_to_exhaustion_seconds: float | None = Field(
        description="Only where exhaustion is forecast (exhaustion_outlook says why not)."
    )
    exhaustion_outlook: Outlook
    forecast_lookback: str
    projected_consumed_ratio: float | None = Field(
        description="Calendar windows: consumed at the period end, same forecast."
    )
    linear_projected_consumed_ratio: float | None = Field(
        description="The seed's linear projection (consumed ÷ elapsed × period)."
    )
    effective_target: float | None = Field(
        description="What the summed budgets amount to (whole rows with per-segment targets)."
    )
    meets_target: bool | None = Field(
        description="SLI ≥ target, exactly; for a whole row, every segment meets its own."
    )
    series: int
    series_missing_target: int
    policy: str = Field(description="The policy preset the state and gate come from.")
    state: PolicyState
    state_label: str = Field(description="The state in the preset's words.")
    advice: str = Field(description="The preset's release policy for this state.")
    data: DataOut | None
    alerts: list[ConditionOut] = Field(description="The conditions firing now.")

    @classmethod
    def of(cls, status: BudgetStatus) -> StatusOut:
        """The ``status --format json`` object (DESIGN.md "Public interfaces")."""
        return cls(
            slo=status.slo,
            service=status.service,
            segment=dict(status.segment),
            target=number(status.target, 9),
            window=status.window,
            budgeting=status.budgeting,
            at=from_minute(status.at),
            period_start=from_minute(status.period_start),
            period_end=from_minute(status.period_end),
            eligible=count(status.eligible),
            good=count(status.good),
            bad=count(status.bad),
            raw_total=count(status.raw_total),
            raw_bad=count(status.raw_bad),
            excluded=count(status.excluded),
            out_of_schedule=count(status.out_of_schedule),
            out_of_schedule_bad=count(status.out_of_schedule_bad),
            sli=number(status.sli, 9),
            budget_total=number(status.budget_total),
            budget_consumed=number(status.budget_consumed),
            budget_remaining=number(status.budget_remaining),
            budget_remaining_ratio=number(status.budget_remaining_ratio),
            burn_rates={name: number(rate) for name, rate in status.burn_rates.items()},
            period_burn_rate=number(status.period_burn_rate),
            time_to_exhaustion_seconds=number(status.time_to_exhaustion_seconds, 1),
            exhaustion_outlook=status.outlook,
            forecast_lookback=status.forecast_lookback,
            projected_consumed_ratio=number(status.projected_consumed_ratio),
            linear_projected_consumed_ratio=number(status.linear_projected_consumed_ratio),
            effective_target=number(status.effective_target, 9),
            meets_target=status.meets_target,
            series=status.series,
            series_missing_target=status.series_missing_target,
            policy=status.policy,
            state=status.state,
            state_label=status.state_label,
            advice=status.advice,
            data=DataOut.of(status.coverage) if status.coverage is not None else None,
            alerts=[ConditionOut.of(c) for c in status.alerts],
        )

    def csv_row(self) -> dict[str, Any]:
        """The ``status --format csv`` row (columns: ``STATUS_CSV_COLUMNS``): this model's
        values, flattened."""
        data = self.model_dump(mode="json")
        row = {key: data[key] for key in STATUS_CSV_COLUMNS if key in data}
        row["segment"] = segment_label(tuple(self.segment.items()))
        for name, rate in data["burn_rates"].items():
            row[f"burn_{name}"] = rate
        row["alerts"] = ";".join(
            f"{a.severity}:{a.long_window}/{a.short_window}" for a in self.alerts
        )
        row["data_age_seconds"] = self.data.age_seconds if self.data is not None else None
        row["data_note"] = self.data.note if self.data is not None else None
        return row


STATUS_CSV_COLUMNS = [
    "slo", "service", "segment", "target", "window", "eligible", "good", "bad", "sli",
    "budget_total", "budget_consumed", "budget_remaining_ratio",
    "burn_5m", "burn_30m", "burn_1h", "burn_2h", "burn_6h", "burn_1d", "burn_3d",
    "period_burn_rate", "time_to_exhaustion_seconds", "exhaustion_outlook",
    "projected_consumed_ratio", "linear_projected_consumed_ratio", "meets_target", "policy",
    "state", "state_label", "data_age_seconds", "data_note", "alerts",
]  # fmt: skip


class SeriesConditionsOut(BaseModel):
    """Every burn-rate condition of one series, firing or not."""

    slo: str
    service: str
    segment: dict[str, str]
    at: AwareDatetime
    state: PolicyState
    firing: bool = Field(description="Whether any condition fires.")
    conditions: list[ConditionOut]


class SLOOut(BaseModel):
    id: str
    service: str
    description: str
    owner: str
    target: float
    window: str
    budgeting: str
    segment_keys: list[str]
    policy: str
    config: dict[str, Any] = Field(description="The SLO as configured (defaults filled in).")

    @classmethod
    def of(cls, slo: SLO) -> SLOOut:
        return cls(
            id=slo.id,
            service=slo.service,
            description=slo.description,
            owner=slo.owner,
            target=slo.target,
            window=slo.window.describe(),
            budgeting=slo.budgeting,
            segment_keys=list(slo.segments.keys),
            policy=slo.policy,
            config=slo.model_dump(mode="json"),
        )


class TimelinePointOut(BaseModel):
    at: AwareDatetime
    sli: float | None = Field(description="SLI over the period to date, as status reports it.")
    burn_rates: dict[str, float | None] = Field(description="Keyed 1h 6h 1d.")
    period_burn_rate: float | None = Field(description="Consumed ratio of the period budget.")
    budget_remaining_ratio: float | None
    eligible: Count = Field(description="Budget-counting events of the period to date.")
    bad: Count
    step_eligible: Count = Field(description="Budget-counting events of the step ending here.")
    step_bad: Count

    @classmethod
    def of(cls, point: TimelinePoint) -> TimelinePointOut:
        # rounded as status rounds: prefix sums differ in the last bits
        return cls(
            at=point.at,
            sli=number(point.sli, 9),
            burn_rates={name: number(rate) for name, rate in point.burn_rates.items()},
            period_burn_rate=number(point.period_burn_rate),
            budget_remaining_ratio=number(point.budget_remaining_ratio),
            eligible=count(point.eligible),
            bad=count(point.bad),
            step_eligible=count(point.step_eligible),
            step_bad=count(point.step_bad),
        )


class TimelineOut(BaseModel):
    slo: str
    segment: dict[str, str]
    budgeting: str
    step: str
    points: list[TimelinePointOut]
