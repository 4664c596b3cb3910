"""Domain types: what an SLO is, and what evaluating one produces.

Definitions (SLO, Window, Objective, …) are pydantic models so the same types validate the
YAML config, OpenSLO imports and API bodies. Results (BudgetStatus, …) are frozen
dataclasses produced by the pure engine.

Time inside the engine and the store is an integer count of minutes since the Unix epoch
(UTC), called a *minute*; windows are half-open ``[start, end)`` minute ranges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from errorbudget.alert_settings import Alerting as Alerting
from errorbudget.durations import Duration
from errorbudget.indicators import Indicator as Indicator
from errorbudget.indicators import IndicatorSettings as IndicatorSettings
from errorbudget.indicators import IngestIndicator as IngestIndicator
from errorbudget.limits import MAX_NAME, MAX_WINDOW
from errorbudget.presets import (  # re-exported: every layer names them from here
    RISKS as RISKS,
)
from errorbudget.presets import (
    Band as Band,
)
from errorbudget.presets import (
    BudgetState as BudgetState,
)
from errorbudget.presets import (
    BurnWindowName as BurnWindowName,
)
from errorbudget.presets import (
    Decision as Decision,
)
from errorbudget.presets import (
    PolicyPreset as PolicyPreset,
)
from errorbudget.presets import (
    PolicyState as PolicyState,
)
from errorbudget.presets import (
    Risk as Risk,
)
from errorbudget.presets import (
    StatePolicy as StatePolicy,
)
from errorbudget.presets import (
    StateRule as StateRule,
)
from errorbudget.presets import (
    change_type_key as change_type_key,
)
from errorbudget.presets import (
    percent_text as percent_text,
)
from errorbudget.schedules import ScheduleRef

Minute = int
"""Minutes since 1970-01-01T00:00Z."""

SegmentKey = tuple[tuple[str, str], ...]
"""A segment as a sorted tuple of (key, value) pairs; ``()`` is the whole SLO."""

BURN_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
"""The burn-rate windows every status reports (DESIGN.md, status JSON)."""


def to_minute(moment: datetime) -> Minute:
    """The minute that contains ``moment`` (aware datetimes only)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (e.g. 2026-11-01T10:00Z)")
    return int(moment.timestamp() // 60)


def from_minute(minute: Minute) -> datetime:
    """The UTC start of ``minute``."""
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def segment_key(segment: dict[str, str]) -> SegmentKey:
    return tuple(sorted(segment.items()))


def matches(segment: SegmentKey | Mapping[str, str], selector: Mapping[str, str]) -> bool:
    """Whether every ``key=value`` of ``selector`` is a label of ``segment``."""
    labels = segment if isinstance(segment, Mapping) else dict(segment)
    return all(labels.get(k) == v for k, v in selector.items())


def segment_label(key: SegmentKey) -> str:
    """``tier=vip,queue=billing`` or ``(all)`` for the whole SLO."""
    return ",".join(f"{k}={v}" for k, v in key) if key else "(all)"


class _Model(BaseModel):
    # NaN and infinity are never a target, a fraction or a threshold (issue #8)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


RESERVED_SEGMENT_KEYS = ("time", "slo", "good", "total", "synthetic")
"""The columns of a count file: a segment key of the same name could never be ingested."""


def _segment_key_name(value: str) -> str:
    if value in RESERVED_SEGMENT_KEYS:
        raise ValueError(
            f"{value!r} is a column of count files ({', '.join(RESERVED_SEGMENT_KEYS)}): "
            "name the segment key otherwise"
        )
    return value


SegmentKeyName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64),
    AfterValidator(_segment_key_name),
]
"""A segment key: a letter or ``_``, then letters, digits, ``_`` (a column of count files
and a query parameter's key), at most 64 characters, not a count-file column."""
LabelName = Annotated[
    str,
    StringConstraints(
        pattern=r"^([A-Za-z][A-Za-z0-9_]*|_[A-Za-z0-9][A-Za-z0-9_]*)$", max_length=64
    ),
]
"""A Prometheus label name (``__`` starts Prometheus's own): ``slos[].labels`` are copied to
metrics and alerts."""
LabelValue = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=r"^[^\x00-\x1f\x7f]+$")
]
"""One line of text, 1 to 200 characters."""


# --- windows -----------------------------------------------------------------------------


class RollingWindow(_Model):
    """The last ``length`` before the evaluation time (e.g. 28d, 30d)."""

    type: Literal["rolling"] = "rolling"
    length: Duration

    @field_validator("length")
    @classmethod
    def _whole_minutes(cls, value: timedelta) -> timedelta:
        if value.total_seconds() % 60 or not timedelta(minutes=5) <= value <= MAX_WINDOW:
            raise ValueError(
                "a rolling window is a whole number of minutes from 5m to "
                f"{MAX_WINDOW.days}d (the history the store is sized for)"
            )
        return value

    def describe(self) -> str:
        from errorbudget.durations import format_duration

        return format_duration(self.length)


class CalendarWindow(_Model):
    """A calendar period (ISO week from Monday, month, quarter) in an IANA time zone."""

    type: Literal["calendar"] = "calendar"
    unit: Literal["week", "month", "quarter"]
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        return f"{self.unit} ({self.timezone})"


Window = Annotated[RollingWindow | CalendarWindow, Field(discriminator="type")]


# --- indicators: errorbudget/indicators.py (each source plugin owns its model) ------------


# --- objective, segments, alerting ---------------------------------------------------------


Target = Annotated[float, Field(gt=0.0, lt=1.0)]


class Timeslice(_Model):
    """Timeslices budgeting: a slice is good when its SLI ≥ ``target``."""

    length: Duration = timedelta(minutes=1)
    target: Target = 0.99
    no_data: Literal["ignore", "good", "bad"] = "ignore"

    @field_validator("length")
    @classmethod
    def _divides_hour(cls, value: timedelta) -> timedelta:
        minutes = value.total_seconds() / 60
        if minutes != int(minutes) or 60 % int(minutes):
            raise ValueError("a slice length is a whole number of minutes that divides 60")
        return value


class SegmentOverride(_Model):
    """A different target for the segments whose labels match ``match`` (all pairs)."""

    match: dict[str, LabelValue]
    target: Target
    name: str | None = None


class Segments(_Model):
    keys: list[SegmentKeyName] = Field(default_factory=list, max_length=20)
    overrides: list[SegmentOverride] = Field(default_factory=list)

    @field_validator("keys")
    @classmethod
    def _unique_keys(cls, keys: list[str]) -> list[str]:
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"segment key(s) {repeated} are given more than once")
        return keys

    @model_validator(mode="after")
    def _override_keys_known(self) -> Segments:
        for override in self.overrides:
            unknown = set(override.match) - set(self.keys)
            if unknown:
                raise ValueError(
                    f"override matches unknown segment key(s) {sorted(unknown)}; "
                    f"segment keys are {self.keys}"
                )
        return self


class Forecast(_Model):
    """One forecast model for time to exhaustion and the period-end projection
    (engine/forecast.py): the bad-event and budget rates of the last ``lookback``."""

    lookback: Duration = timedelta(days=1)

    @field_validator("lookback")
    @classmethod
    def _whole_minutes(cls, value: timedelta) -> timedelta:
        if value.total_seconds() % 60 or value < timedelta(minutes=1):
            raise ValueError("a lookback is a whole number of minutes, at least 1m")
        return value


class DataSettings(_Model):
    """When a series has too little data, or too old data, to be judged (docs/concepts.md)."""

    min_coverage: float = Field(default=0.1, ge=0.0, le=1.0)
    """Share of the window (for a calendar window, of the whole period) the stored data must
    span; below it the series is ``insufficient_data`` and shows no budget figures."""
    max_age: Duration | None = None
    """Data older than this is stale: the gate never allows on it. Default: by source
    (the indicator model's ``default_max_age``: 1h for ``genesys``, whose collector writes
    every minute it fetched; not judged for ``ingest``, which may have no rows in a quiet
    hour)."""


class SLO(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    service: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    description: str = ""
    owner: str = ""
    labels: dict[LabelName, LabelValue] = Field(default_factory=dict)
    indicator: Indicator = Field(default_factory=IngestIndicator)
    target: Target
    window: Window
    budgeting: Literal["occurrences", "timeslices"] = "occurrences"
    timeslice: Timeslice | None = None
    segments: Segments = Field(default_factory=Segments)
    policy: str = "contact-center"
    alerting: Alerting = Field(default_factory=Alerting)
    forecast: Forecast = Field(default_factory=Forecast)
    data: DataSettings = Field(default_factory=DataSettings)
    schedule: ScheduleRef | None = None
    """When events are eligible: a name from the config's ``schedules``, or a schedule
    written in place; None: always (errorbudget/schedules.py)."""
    runbook_url: str | None = None

    @field_validator("runbook_url")
    @classmethod
    def _http_link(cls, value: str | None) -> str | None:
        # the dashboard renders it as a link: javascript:, data:, … would run in the page
        if value is not None and not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
            raise ValueError(f"{value[:60]!r} is not an http(s) URL (the dashboard links to it)")
        return value

    @model_validator(mode="after")
    def _timeslice_settings(self) -> SLO:
        if self.budgeting == "timeslices" and self.timeslice is None:
            object.__setattr__(self, "timeslice", Timeslice())
        if self.budgeting == "occurrences" and self.timeslice is not None:
            raise ValueError("timeslice settings need budgeting: timeslices")
        return self

    @model_validator(mode="after")
    def _segment_keys_fillable(self) -> SLO:
        problem = self.indicator.segment_key_problem(list(self.segments.keys))
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def max_data_age(self) -> timedelta | None:
        """``data.max_age``, or the indicator source's default (None: not judged)."""
        if self.data.max_age is not None:
            return self.data.max_age
        return self.indicator.default_max_age

    def target_for(self, segment: SegmentKey) -> float:
        """The target of one segment: the first matching override, else the SLO's."""
        for override in self.segments.overrides:
            if matches(segment, override.match):
                return override.target
        return self.target


# --- policies and burn catalogs (catalogs are data: see errorbudget/catalogs/) ---------------


class BurnCondition(_Model):
    """One multiwindow condition of a catalog (Google SRE Workbook, ch. 5)."""

    severity: Literal["page", "ticket"]
    budget_fraction: float = Field(gt=0.0, le=1.0)
    long_window: Duration
    short_window: Duration
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    """Its name in ``alerting.tiers``; default ``{severity}-{long}-{short}``."""

    @property
    def condition_name(self) -> str:
        """:attr:`name`, or ``page-1h-5m`` style."""
        if self.name is not None:
            return self.name
        from errorbudget.durations import format_duration

        return (
            f"{self.severity}-{format_duration(self.long_window)}"
            f"-{format_duration(self.short_window)}"
        )

    @field_validator("long_window", "short_window")
    @classmethod
    def _known_window(cls, value: timedelta) -> timedelta:
        from errorbudget.durations import format_duration

        if format_duration(value) not in BURN_WINDOWS:
            raise ValueError(
                f"{format_duration(value)} is not a burn-rate window; use one of "
                + ", ".join(BURN_WINDOWS)
            )
        return value


class BurnCatalog(_Model):
    name: str
    period: Duration
    conditions: list[BurnCondition]


# --- exclusions ------------------------------------------------------------------------------


ExclusionCategory = Literal[
    "maintenance",
    "test-traffic",
    "abuse",
    "pre-greeting-hangup",
    "external-outage",
    "exceptional-incident",
    "other",
]


ExclusionStatus = Literal["pending", "approved", "rejected", "revoked"]


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An auditable record that removes events in ``[start, end)`` from budget counting,
    once approved.

    ``slo`` may be ``"*"`` for every SLO of ``service`` (or of all services when that is
    None too); ``segment`` pairs must all match a series' segment for it to apply.
    ``created_by`` proposed it; ``approved_by`` is who approved it (an approver other than
    the proposer), ``reviewed_by`` who approved or rejected it. ``legacy_approver`` is the
    name typed as its approver before approvals were verified (schema v5), None for newer
    ones. ``problem`` says why it fails verification against the audit chain; such an
    exclusion never counts.
    """

    id: int
    slo: str
    start: Minute
    end: Minute
    category: str
    reason: str
    created_by: str
    created_at: datetime
    approved_by: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    segment: dict[str, str] = field(default_factory=dict)
    service: str | None = None
    status: ExclusionStatus = "pending"
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    reviewer_role: str | None = None
    review_comment: str = ""
    revoke_reason: str = ""
    legacy_approver: str | None = None
    problem: str | None = None

    @property
    def active(self) -> bool:
        """Pending or approved: not rejected or revoked."""
        return self.status in ("pending", "approved")

    @property
    def counted(self) -> bool:
        """Whether it removes events from budgets: approved and verified."""
        return self.status == "approved" and self.problem is None

    @property
    def legacy(self) -> bool:
        """Approved before approvals were verified, and not confirmed by an approver since."""
        return self.legacy_approver is not None and self.approved_by is None

    def applies_to(self, slo: SLO, segment: SegmentKey) -> bool:
        """Whether it removes this series' events now: counted, and covering it."""
        return self.counted and self.covers(slo, segment)

    def covers(self, slo: SLO, segment: SegmentKey) -> bool:
        """Whether its scope takes in this series, whatever its status."""
        return self.scoped_to(slo) and matches(segment, self.segment)

    def scoped_to(self, slo: SLO) -> bool:
        """Whether its SLO and service scope take in ``slo`` (its segment scope aside)."""
        return (self.slo == "*" or self.slo == slo.id) and (
            self.service is None or self.service == slo.service
        )


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionResult:
    severity: str
    long_window: str
    short_window: str
    factor: float
    """The factor actually compared against (after low-target adaptation); for an adapted
    low-target condition, the short window's."""
    catalog_factor: float
    adapted: bool
    long_burn: float | None
    short_burn: float | None
    long_eligible: float
    firing: bool
    long_factor: float | None = None
    """The long window's factor when it differs (None: ``factor``)."""
    name: str = ""
    """The condition's name in ``alerting.tiers`` (``page-1h-5m`` style)."""


Outlook = Literal[
    "spent",
    "recovers",
    "exhausts",
    "not_before_period_end",
    "not_at_this_rate",
    "insufficient_data",
    "no_data",
]
"""What the forecast says about exhaustion (engine/forecast.py): the budget is ``spent``
(remaining ≤ 0), or for a calendar window spent now but back within budget by the period's
end at this rate (``recovers``); it ``exhausts`` in ``time_to_exhaustion_seconds``; for a
calendar window, not before the period ends (when the budget starts again);
``not_at_this_rate`` (bad events grow no faster than the budget, or, for a rolling window,
old ones leave fast enough); or no forecast at all."""


@dataclass(frozen=True, slots=True)
class DataCoverage:
    """How much of the window a series has data for, and how old its newest data is.

    ``covered_minutes`` runs from the first minute with stored data (inside the window, up
    to the evaluation instant) to the last one; ``window_minutes`` is the whole window — for
    a calendar window the whole period, so early in a period the data covers little of it.
    A minute "has data" when a source sent it, zeros included.
    """

    window_minutes: int
    covered_minutes: int
    first_minute: Minute | None
    end_minute: Minute | None
    """The last minute with data + 1 (None: no data at all)."""
    age_seconds: float | None
    """Evaluation instant − ``end_minute`` (0 when data reaches it; None without data)."""
    min_coverage: float
    max_age_seconds: float | None
    """Past this age the data is stale (None: staleness is not judged)."""
    sufficient: bool
    stale: bool
    broken_minutes: int = 0
    """Minutes of the window a source reported broken (a data issue: inconsistent counts,
    a skipped range, a gap): left out of budget counting, never counted as bad events."""
    broken_series: int = 0
    """For an aggregate: how many of its series have broken minutes."""

    @property
    def broken(self) -> bool:
        return self.broken_minutes > 0


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Everything ``status`` reports for one series (or an aggregate of series: the
    whole-SLO row, a tier) at one instant (DESIGN.md status JSON).

    Every decision here — ``state``, ``meets_target``, the conditions' ``firing``, the
    forecast's outlook — is made exactly on counts and decimal thresholds
    (engine/exact.py); the float figures are for display.
    """

    slo: str
    service: str
    segment: SegmentKey
    target: float
    """The configured target: the segment's override, the SLO's own for a whole-SLO row."""
    window: str
    at: Minute
    period_start: Minute
    period_end: Minute
    budgeting: str
    eligible: float
    good: float
    bad: float
    raw_total: float
    raw_bad: float
    excluded: float
    """Events removed by exclusions and maintenance windows (not those out of schedule)."""
    sli: float | None
    budget_total: float
    budget_consumed: float
    budget_remaining: float
    budget_remaining_ratio: float | None
    burn_rates: dict[str, float | None]
    period_burn_rate: float | None
    time_to_exhaustion_seconds: float | None
    projected_consumed_ratio: float | None
    linear_projected_consumed_ratio: float | None
    state: PolicyState
    conditions: tuple[ConditionResult, ...]
    effective_target: float | None = None
    """``1 − budget / eligible``: the target the row's budget amounts to (a whole-SLO row
    whose segments have their own targets is judged on the sum of their budgets)."""
    meets_target: bool | None = None
    """SLI ≥ target, exactly; for an aggregate, every series it sums meets its own target.
    None without data."""
    series: int = 1
    """How many series this row sums."""
    series_missing_target: int = 0
    """Of those, how many miss their own target."""
    outlook: Outlook = "no_data"
    forecast_lookback: str = "1d"
    policy: str = "contact-center"
    state_label: str = ""
    band: Band = "none"
    advice: str = ""
    coverage: DataCoverage | None = None
    out_of_schedule: float = 0.0
    """Events (slices, for timeslices) of the period outside the SLO's schedule: kept in
    ``raw_total``, not counted, and not in ``excluded`` (docs/concepts.md "Schedules")."""
    out_of_schedule_bad: float = 0.0
    """Of those, the bad ones."""
    broken: float = 0.0
    """Events of the period in minutes a source reported broken (data issues): kept in
    ``raw_total``, left out of budget counting, and not in ``excluded`` (an exclusion is an
    audited record; broken data is the source's own report). Occurrences budgeting only:
    for timeslices, broken minutes show in ``coverage.broken_minutes``."""
    broken_bad: float = 0.0
    """Of those, the bad ones."""
    eligible_events: float | None = None
    """Timeslices budgeting: the events in the period's counted minutes (``eligible``
    counts slices); None for occurrences, whose ``eligible`` are events."""

    @property
    def alerts(self) -> list[ConditionResult]:
        return [c for c in self.conditions if c.firing]

    @property
    def stale(self) -> bool:
        return self.coverage is not None and self.coverage.stale


# --- source health and data issues (issue #7) -------------------------------------------------


DataIssueKind = Literal["inconsistent", "gap", "partial", "throttled"]
"""Why a range of an SLO's data is known to be wrong or missing:

- ``inconsistent``: the source answered counts that cannot be right (good > total, a
  negative count); zeros were stored instead of a clamped guess;
- ``gap``: a range the source gave up on (beyond ``max_backfill``); nothing was stored;
- ``partial``: a malformed or partial answer for a range that was then skipped;
- ``throttled``: a range left unfetched because the source's rate limit held every request.
"""


@dataclass(frozen=True, slots=True)
class DataIssue:
    """A range of one SLO's data that a source knows to be wrong or missing: it is shown as
    "SLI data broken" and left out of budget counting (never counted as bad events)."""

    id: int
    source: str
    slo: str
    segment: dict[str, str]
    """Pairs a series must match; ``{}`` = every series of the SLO."""
    start: Minute
    end: Minute
    """Half-open ``[start, end)``."""
    kind: DataIssueKind
    detail: str
    detected_at: datetime
    resolved_at: datetime | None = None

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    def applies_to(self, slo_id: str, segment: SegmentKey) -> bool:
        """Unresolved, about ``slo_id``, and every pair of :attr:`segment` is a label of
        ``segment``."""
        return self.open_about(slo_id) and matches(segment, self.segment)

    def open_about(self, slo_id: str) -> bool:
        """Unresolved and about ``slo_id`` (its segment scope aside)."""
        return self.resolved_at is None and self.slo == slo_id


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """The latest collection runs of one source."""

    source: str
    """E.g. ``genesys``."""
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    """The last failed run's message (None if the last run succeeded)."""
    last_error_at: datetime | None
    """When that run ended (None if the last run succeeded)."""
    consecutive_failures: int
    """Failed runs since the last success (0 if the last run succeeded)."""
    collected_through: Minute | None
    """High-water mark (exclusive end) of what the source has stored, as recorded by its
    latest run: after a success, everything before it; a failed run records the mark it
    left, which may have moved if it stored some chunks first. Data age is
    ``now − from_minute(collected_through)``; None before anything was stored."""
    runs: int
    """Runs recorded (old ones are pruned; see ``Store.record_source_run``)."""
