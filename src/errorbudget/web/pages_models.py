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

from pydantic import BaseModel, ConfigDict, Field

from errorbudget.model import Band, Decision, Outlook, PolicyState, Risk
from errorbudget.schema.alerts import AlertHistoryOut

__all__ = ["Band"]

Tone = Literal["good", "warn", "bad", "neutral"]
"""How an answer reads at a glance (with a text label, never colour alone)."""

BurnKind = Literal["fast", "slow"]
"""Fast burn = a ``page`` condition of the burn catalog, slow burn = a ``ticket`` one."""


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SloRef(View):
    """What every page says about an SLO it mentions, as configured."""

    id: str
    service: str
    description: str
    owner: str
    window: str
    budgeting: str
    url: str
    target: float
    """The SLO's configured target (never a traffic-weighted blend)."""
    target_overrides: list[str]
    """Per-segment targets, e.g. ``tier=vip 95%``."""
    judged: str
    """How the whole-SLO row is judged, in words."""
    policy: str
    policy_description: str


class DataView(View):
    """Whether a row has enough, and fresh enough, data to be judged (docs/concepts.md
    "Too little or stale data")."""

    sufficient: bool
    stale: bool
    covered_minutes: int
    window_minutes: int
    age_seconds: float | None
    broken_minutes: int
    """Minutes a source reported broken (left out of budget counting)."""
    note: str | None
    """``insufficient data (44 of 43,200 minutes)``, ``data stale: …``, ``SLI data broken:
    …`` or None."""


class Gauge(View):
    """One radial gauge: budget remaining of one SLI (its whole-SLO row), coloured and
    worded by the SLO's policy preset for the row's state."""

    remaining_ratio: float | None
    band: Band
    state: PolicyState
    state_label: str
    advice: str
    """The preset's release policy for this state (e.g. "change freeze recommended; every
    change needs VP-level approval")."""
    note: str | None
    """Shown instead of a number when the data cannot be judged."""
    thresholds: list[float]
    """The preset's budget-remaining thresholds (gauge ticks)."""


class SloCard(View):
    """SLO health: one card per SLO with its gauge and the numbers under it."""

    slo: SloRef
    gauge: Gauge
    target: float
    effective_target: float | None
    """What the summed segment budgets amount to (shown as such, never as the target)."""
    sli: float | None
    meets_target: bool | None
    series_missing_target: int
    state: PolicyState
    state_label: str
    burn_1h: float | None
    burn_6h: float | None
    burn_1d: float | None
    time_to_exhaustion_seconds: float | None
    outlook: Outlook
    forecast_lookback: str
    projected_consumed_ratio: float | None
    linear_projected_consumed_ratio: float | None
    calendar: bool
    data: DataView
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
    state_label: str


class SeriesRow(View):
    """One series (SLO x segment) in a table, or an aggregate of several (tier, group)."""

    label: str
    segment: dict[str, str]
    series: int
    target: float
    eligible: float
    bad: float
    sli: float | None
    meets_target: bool | None
    series_missing_target: int
    budget_remaining_ratio: float | None
    band: Band
    state: PolicyState
    state_label: str
    burn_1h: float | None
    burn_1d: float | None
    time_to_exhaustion_seconds: float | None
    outlook: Outlook
    data: DataView
    firing: list[str]
    """Firing conditions as ``kind burn long/short`` (of the row itself: an aggregate is
    evaluated on its summed counts)."""
    worst_segment: str | None = None
    """For an aggregate: its member series with the least budget remaining."""


class TierRow(View):
    """Per-tier table (VIP, standard, digital): one row per tier and SLO."""

    tier: str
    slo: SloRef
    row: SeriesRow


class Projection(View):
    """Projected period-end consumption of one calendar-window SLO, from the same forecast
    as its time to exhaustion (engine/forecast.py), beside the seed's linear projection."""

    slo: SloRef
    projected_consumed_ratio: float | None
    linear_projected_consumed_ratio: float | None
    period_end: datetime
    outlook: Outlook
    time_to_exhaustion_seconds: float | None
    note: str | None
    """Why there is no projection (insufficient data)."""


class SourceRow(View):
    """One source's collection runs (``Store.source_health``): is it working, since when
    not, and how far its data reaches."""

    source: str
    ok: bool
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    collected_through: datetime | None
    data_age_seconds: float | None
    """The page's instant − ``collected_through``."""
    summary: str
    """``ok: data 2m old`` or ``failing: 12 runs since 14:02 UTC, data 30h 5m old``."""


class DataRow(View):
    """Per SLO: its source, how much of the window its data covers, and how old it is."""

    slo: SloRef
    source: str
    data: DataView
    oldest_series: str | None
    oldest_age_seconds: float | None
    stale_series: int


class ServiceGate(View):
    """What the release gate says now, for a change of each risk to one service."""

    service: str
    decisions: dict[Risk, Decision]
    reason: str
    """The reason behind the medium-risk decision (its worst binding series)."""
    blocking: list[str]
    """Binding series that do not simply allow a medium-risk change, as
    ``slo segment: state``."""
    below_minimum: list[str]
    """Segments below the gate's minimum volume that would say worse (shown, not binding)."""


class ApprovalView(View):
    approver: str
    role: str
    decision: str
    comment: str
    at: datetime


class ChangeRow(View):
    """One change with its scope, estimate, gate decision and approvals
    (``app.changes.find`` / ``app.changes.judge``)."""

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
    approvable: bool
    """Whether an approval could let it ship (pending, and not blocked by the budget)."""
    reasons: list[str]
    approvals: list[ApprovalView]


class Answer(View):
    """One of the four questions the overview answers first, in order."""

    question: str
    verdict: str
    tone: Tone
    details: list[str]


class AlertRow(View):
    """One alert the alert service keeps (``app.alerts``): a firing one on the overview, an
    episode in an SLO's alert history."""

    fingerprint: str
    alertname: str
    slo: str
    segment_label: str
    severity: str
    phase: str
    since: datetime | None
    """When it fired (pending: when its condition started to hold)."""
    resolved_at: datetime | None
    episode: int
    summary: str
    runbook_url: str | None
    acknowledged_by: str | None
    silenced: bool
    inhibited: bool


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
    alerts_firing: list[AlertRow]
    """The alerts firing now (the alert service's stored states), pages first."""
    headline_projection: Projection | None
    projections: list[Projection]
    tiers: list[TierRow]
    gates: list[ServiceGate]
    pending_changes: list[ChangeRow]
    pending_total: int
    series_total: int
    data: list[DataRow]
    sources: list[SourceRow]
    leader: str | None = None
    """Which ``serve`` replica leads (runs the collectors, alerts and notifiers) and which
    one served the page; None outside ``serve``."""


class TimelinePoint(View):
    """One hour of the timeline (``app.evaluations.timeline``): burn rates over the hour,
    6 hours and day before ``at``, and the budget remaining of the period at ``at``."""

    at: datetime
    burn_1h: float | None
    burn_6h: float | None
    burn_1d: float | None
    budget_remaining_ratio: float | None


class Annotation(View):
    """Something drawn on the detail charts: an exclusion or burn episode (a range), or a
    deploy, config or model change, incident or other note (an instant, ``end`` None)."""

    number: int
    kind: Literal[
        "exclusion", "maintenance", "burn_episode", "deploy", "config", "model", "incident", "other"
    ]
    start: datetime
    end: datetime | None
    label: str
    detail: str


class ExclusionRow(View):
    """An exclusion over the page's range, whatever its status: only approved (and
    verified) ones are counted and shaded on the charts."""

    id: int
    category: str
    reason: str
    start: datetime
    end: datetime
    segment: dict[str, str]
    status: str = Field(description="pending, approved, rejected or revoked")
    counted: bool
    created_by: str = Field(description="Who proposed it.")
    approved_by: str | None = Field(description="The approver who approved it.")
    reviewed_by: str | None
    revoked_by: str | None
    legacy_approver: str | None = Field(
        description="The name typed as its approver before approvals were verified (v5)."
    )
    problem: str | None = Field(description="Why it fails verification (then never counted).")
    status_text: str = Field(description="Its status and who decided it, in words.")


class FailureBreakdown(View):
    """Raw vs budget-counting figures of the period to date (whole SLO): raw = excluded
    (exclusions and maintenance windows) + out of schedule + budget-counting."""

    raw_total: float
    raw_bad: float
    excluded_total: float
    excluded_bad: float
    eligible: float
    bad: float
    out_of_schedule_total: float = 0.0
    out_of_schedule_bad: float = 0.0
    schedule: str | None = None
    """The SLO's schedule in words, when it has one."""


class SegmentGroup(View):
    """The series of an SLO grouped by one segment key (queue, tier, flow, agent version)."""

    key: str
    rows: list[SeriesRow]


class Threshold(View):
    """A budget-remaining threshold of the SLO's policy preset (a line on the budget chart)."""

    remaining_ratio: float
    label: str
    band: Band


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
    thresholds: list[Threshold]
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
    alerts: list[AlertRow]
    """The SLO's alerts, each at its latest episode (firing, pending, resolved), beside the
    burn chart."""
    alert_history: AlertHistoryOut
    """The SLO's alert episodes over the burn chart's span (``app.alerts.history``, the
    read ``/api/v1/alerts/history`` answers with): shaded on the chart, listed under it."""
    source: SourceRow | None
    """The health of the source this SLO's counts come from (None: it has no runs, e.g.
    ``ingest``)."""
    voice_url: str | None = None
    """The voice-agent page of an events SLO (``/slos/{id}/voice``); None for another
    source."""


class ExecRow(View):
    """One line per service: are we inside policy this month?"""

    service: str
    description: str
    owner: str
    slos: int
    slos_meeting_target: int
    """SLOs every series of which meets its own target (exactly); an SLO whose data cannot
    be judged counts as not meeting it."""
    slos_unjudged: int
    """SLOs with too little data to say."""
    missing: list[str]
    """Every series that misses its own target: ``voice-sla queue=vip-billing: 94.78% vs
    95%``."""
    within_budget: bool | None
    """No series of the service has overspent its budget (every one meets its target);
    None when none misses but an SLO has too little data to judge."""
    worst: SloRef | None
    """The SLO of the lowest budget the gate acts on (a whole row, or a segment with
    enough volume)."""
    worst_segment: str
    """That budget's segment (``queue=vip-billing``), or empty for a whole-SLO row."""
    worst_remaining_ratio: float | None
    worst_band: Band
    worst_state_label: str
    state: PolicyState
    advice: str
    """The release policy of the worst state, in its preset's words."""
    projected_consumed_ratio: float | None
    """The highest projected period-end consumption among its calendar-window SLOs."""
    decision_medium_risk: Decision
    stale_sources: list[str]
    """SLOs whose data is stale (the gate will not allow on them)."""


class ExecPage(View):
    """``/exec`` and ``/api/v1/pages/exec``."""

    title: str
    at: datetime
    refresh_seconds: int
    period_label: str
    services_within_budget: int
    """Services none of whose series (segments included) has overspent its budget, every
    SLO judged."""
    services_unjudged: int
    """Services none of whose series misses but with an SLO too short of data to judge."""
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
