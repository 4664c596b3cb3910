"""View-models of the dashboard pages: one pydantic model per page.

Each page is built once per request from the App (``web.pages_build``, ``web.pages_detail``)
and then used twice: the Jinja2 template renders it to HTML, and its JSON twin under
``/api/v1/pages/…`` returns ``model_dump(mode="json")`` of the very same object. So the
JSON twin is exactly what the page shows, and a test of one is a test of the other.

Ratios are fractions (0.225 = 22.5 %); burn rates are multiples of the budget pace (1 spends
the budget exactly over the window); times are aware UTC datetimes. ``None`` means "no data"
(never shown as 0 % or 100 %).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from errorbudget.engine.policy import Decision, Risk
from errorbudget.model import PolicyState

Band = Literal["green", "amber", "red", "none"]
"""Gauge colour band by budget remaining: green above 50 %, amber 20–50 %, red below 20 %,
none without data (the seed dashboard's Panel 1)."""

Tone = Literal["good", "warn", "bad", "neutral"]
"""How an answer reads at a glance (with a text label, never colour alone)."""

BurnKind = Literal["fast", "slow"]
"""Fast burn = a ``page`` condition of the burn catalog, slow burn = a ``ticket`` one."""


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SloRef(View):
    """What every page says about an SLO it mentions."""

    id: str
    service: str
    description: str
    owner: str
    window: str
    budgeting: str
    url: str


class Gauge(View):
    """One radial gauge: budget remaining of one SLI (its whole-SLO row)."""

    remaining_ratio: float | None
    band: Band
    band_label: str
    freeze_recommended: bool


class SloCard(View):
    """SLO health: one card per SLO with its gauge and the numbers under it."""

    slo: SloRef
    gauge: Gauge
    target: float
    sli: float | None
    state: PolicyState
    burn_1h: float | None
    burn_6h: float | None
    burn_1d: float | None
    time_to_exhaustion_seconds: float | None
    projected_consumed_ratio: float | None
    series: int
    fast_burns: int
    slow_burns: int


class ConditionCell(View):
    """One multiwindow condition of one SLO, over all its series."""

    severity: str
    kind: BurnKind
    long_window: str
    short_window: str
    factor: float
    """The factor of the worst series (after low-target adaptation)."""
    firing_series: int
    worst_segment: str | None
    worst_long_burn: float | None
    worst_short_burn: float | None


class ConditionRow(View):
    slo: SloRef
    cells: list[ConditionCell]


class FiringCondition(View):
    """A condition that holds right now on one series."""

    slo: SloRef
    segment: dict[str, str]
    segment_label: str
    kind: BurnKind
    severity: str
    long_window: str
    short_window: str
    factor: float
    long_burn: float | None
    short_burn: float | None
    budget_remaining_ratio: float | None
    state: PolicyState


class SeriesRow(View):
    """One series (SLO x segment) in a table, or an aggregate of several (tier, group)."""

    label: str
    segment: dict[str, str]
    series: int
    target: float
    eligible: float
    bad: float
    sli: float | None
    budget_remaining_ratio: float | None
    band: Band
    state: PolicyState
    burn_1h: float | None
    burn_1d: float | None
    time_to_exhaustion_seconds: float | None
    firing: list[str]
    """Firing conditions as ``severity long/short``; for an aggregate, of its worst series."""
    worst_segment: str | None = None
    """For an aggregate: the series with the least budget remaining."""


class TierRow(View):
    """Per-tier table (VIP, standard, digital): one row per tier and SLO."""

    tier: str
    slo: SloRef
    row: SeriesRow


class Projection(View):
    """Projected period-end consumption of one calendar-window SLO."""

    slo: SloRef
    projected_consumed_ratio: float | None
    linear_projected_consumed_ratio: float | None
    period_end: datetime


class ServiceGate(View):
    """What the release gate says now, for a change of each risk to one service."""

    service: str
    decisions: dict[Risk, Decision]
    reason: str
    """The reason behind the medium-risk decision (its worst series)."""
    blocking: list[str]
    """Series that do not simply allow a medium-risk change, as ``slo segment: state``."""


class ApprovalView(View):
    approver: str
    role: str
    decision: str
    comment: str
    at: datetime


class ChangeRow(View):
    """One change with its scope, estimate, gate decision and approvals
    (``App.changes`` / ``App.change_gate``)."""

    id: int
    title: str
    description: str
    service: str
    slos: list[str]
    segment: dict[str, str]
    scope: str
    change_type: str
    risk: str
    estimated_impact_ratio: float
    """Share of the period budget the change is expected to consume in its first 24 hours."""
    impact_basis: str
    submitted_by: str
    submitted_at: datetime
    status: str
    status_by: str
    status_at: datetime
    decision: Decision
    """The gate decision for the change's scope: now for open changes, else as stored."""
    decided_at: datetime
    judged_now: bool
    needs: str
    approved: bool
    effective: Decision
    """What ``errorbudget gate --change ID`` answers: the decision with approvals applied."""
    reasons: list[str]
    approvals: list[ApprovalView]


class Answer(View):
    """One of the four questions the overview answers first, in order."""

    question: str
    verdict: str
    tone: Tone
    details: list[str]


class OverviewPage(View):
    """``/`` and ``/api/v1/pages/overview``."""

    title: str
    at: datetime
    refresh_seconds: int
    answers: list[Answer]
    cards: list[SloCard]
    conditions: list[ConditionRow]
    firing: list[FiringCondition]
    firing_total: int
    headline_projection: Projection | None
    projections: list[Projection]
    tiers: list[TierRow]
    gates: list[ServiceGate]
    pending_changes: list[ChangeRow]
    pending_total: int
    series_total: int


class TimelinePoint(View):
    """One hour of the timeline (``App.timeline``): burn rates over the hour, 6 hours and
    day before ``at``, and the budget remaining of the period at ``at``."""

    at: datetime
    burn_1h: float | None
    burn_6h: float | None
    burn_1d: float | None
    budget_remaining_ratio: float | None


class Annotation(View):
    """Something drawn on the detail charts: an exclusion or burn episode (a range), or a
    deploy, config or model change, incident or other note (an instant, ``end`` None)."""

    number: int
    kind: Literal["exclusion", "burn_episode", "deploy", "config", "model", "incident", "other"]
    start: datetime
    end: datetime | None
    label: str
    detail: str


class ExclusionRow(View):
    id: int
    category: str
    reason: str
    start: datetime
    end: datetime
    segment: dict[str, str]
    created_by: str
    approved_by: str | None


class FailureBreakdown(View):
    """Raw vs budget-counting figures of the period to date (whole SLO)."""

    raw_total: float
    raw_bad: float
    excluded_total: float
    excluded_bad: float
    eligible: float
    bad: float


class SegmentGroup(View):
    """The series of an SLO grouped by one segment key (queue, tier, flow, agent version)."""

    key: str
    rows: list[SeriesRow]


class SloDetailPage(View):
    """``/slos/{id}`` and ``/api/v1/pages/slos/{id}``."""

    title: str
    at: datetime
    refresh_seconds: int
    slo: SloRef
    runbook_url: str | None
    segment: dict[str, str]
    """The series the page follows (empty: the whole SLO)."""
    segment_label: str
    card: SloCard
    conditions: list[ConditionCell]
    timeline_start: datetime
    timeline_end: datetime
    timeline_step_seconds: int
    fast_burn_thresholds: dict[str, float]
    """Factor of each fast-burn (page) condition by long window (1h, 6h, 1d): burn episodes
    are the hours in which one of those windows burned over its factor."""
    timeline: list[TimelinePoint]
    annotations: list[Annotation]
    segment_keys: list[str]
    segments: list[SeriesRow]
    groups: list[SegmentGroup]
    failures: FailureBreakdown
    exclusions: list[ExclusionRow]


class ExecRow(View):
    """One line per service: are we inside policy this month?"""

    service: str
    description: str
    owner: str
    slos: int
    slos_meeting_target: int
    worst: SloRef | None
    worst_remaining_ratio: float | None
    worst_band: Band
    state: PolicyState
    projected_consumed_ratio: float | None
    """The highest projected period-end consumption among its calendar-window SLOs."""
    decision_medium_risk: Decision


class ExecPage(View):
    """``/exec`` and ``/api/v1/pages/exec``."""

    title: str
    at: datetime
    refresh_seconds: int
    period_label: str
    services_within_budget: int
    """Services none of whose SLOs has exhausted its budget."""
    services_shipping_freely: int
    """Services where a medium-risk change may ship without review or approval."""
    rows: list[ExecRow]


class ChangesPage(View):
    """``/changes`` and ``/api/v1/pages/changes``."""

    title: str
    at: datetime
    refresh_seconds: int
    enforcement: str
    open: list[ChangeRow]
    """Pending changes, and approved ones not shipped yet, judged by the gate now."""
    closed: list[ChangeRow]
    """The most recent rejected, withdrawn and shipped changes."""
    gates: list[ServiceGate]
    services: list[str]
    change_types: list[str]
    exempt_types: list[str]
