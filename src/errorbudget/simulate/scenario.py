"""A contact-center scenario as data: queues, IVR flows, arrivals, staffing, incidents.

Everything the simulator needs is in a :class:`Scenario` (pydantic, so a scenario can be
written as YAML/JSON and validated with errors that name the field). Times of day and days
of the week are in the scenario's ``timezone`` (the contact center's local time).

Arrival rate of a queue (direct arrivals) or a flow at local time t::

    rate(t) = peak_per_hour × intraday[hour(t)] × weekly[weekday(t)] × incident factors

interpolated linearly between hour midpoints. Queues also receive the callers who leave an
IVR flow for them (``FlowSpec.exit_queues``). Staffing is one agent count per hour of the
week (168 values, Monday 00:00 first).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MediaType = Literal["voice", "chat", "message", "email", "callback"]
Tier = Literal["vip", "standard", "digital"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Factor = Annotated[float, Field(ge=0.0)]

HOURS_PER_WEEK = 168
MAX_IVR_SECONDS = 600
"""An IVR visit never lasts longer than this (so a flow exit lands in the same or the next
15-minute block of its queue: blocks stay independent)."""

SIM_NAMESPACE = uuid.UUID("5b3f9b7e-2d55-4d0c-9a57-8f3f4f1c9e21")


def stable_id(kind: str, name: str) -> str:
    """A stable UUID for a named queue or flow (uuid5), so ids survive restarts."""
    return str(uuid.uuid5(SIM_NAMESPACE, f"{kind}:{name}"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Seasonality(_Model):
    """Relative arrival intensity by local hour of day (24) and weekday (7, Monday first)."""

    intraday: list[Factor] = Field(min_length=24, max_length=24)
    weekly: list[Factor] = Field(default=[1.0] * 7, min_length=7, max_length=7)


class ServiceLevelSettings(_Model):
    """The organization's service-level calculation setting (Genesys Cloud admin, "Service
    level calculation"): service level = (answered − answered over target) / (answered +
    abandoned [+ flow-outs if ``include_flow_outs``] [− short abandons if
    ``exclude_short_abandons``])."""

    include_flow_outs: bool = False
    exclude_short_abandons: bool = True


class QueueSpec(_Model):
    """One ACD queue serving one media type."""

    id: str = ""
    """UUID; derived from the name when empty."""
    name: str = Field(min_length=1)
    media_type: MediaType
    tier: Tier
    sl_target_seconds: int = Field(gt=0)
    sl_target_percent: float = Field(gt=0.0, le=100.0)
    peak_per_hour: Factor
    """Direct arrivals per hour at a seasonality factor of 1 (callers from IVR flows add)."""
    seasonality: Seasonality
    staffing: list[int] = Field(min_length=HOURS_PER_WEEK, max_length=HOURS_PER_WEEK)
    """Agents on queue for each hour of the week, local time, Monday 00:00 first."""
    mean_handle_seconds: float = Field(gt=0.0)
    mean_patience_seconds: float | None = Field(default=None, gt=0.0)
    """Mean caller patience (exponential); ``None``: nobody abandons (email)."""
    short_abandon_seconds: int = Field(default=10, ge=0)
    flow_out_probability: Probability = 0.0
    """Share of waiting callers who take an in-queue option (callback, voicemail) …"""
    mean_flow_out_seconds: float = Field(default=90.0, gt=0.0)
    """… after this mean time in queue (exponential)."""
    max_wait_seconds: int = Field(default=3600, gt=0)
    """In-queue timeout: a caller still waiting then is flowed out (e.g. to voicemail)."""
    members: int = Field(default=0, ge=0)
    """Queue members (agents able to log in); 0 means the schedule's maximum."""
    after_hours: Literal["reject", "wait"] | None = None
    """Outside staffed hours: ``reject`` (no direct arrivals; IVR callers hear a closed
    message and hang up in the flow) or ``wait`` (queued until opening). Default: ``wait``
    for email and callback, ``reject`` otherwise."""

    @model_validator(mode="after")
    def _fill_id(self) -> QueueSpec:
        if not self.id:
            object.__setattr__(self, "id", stable_id("queue", self.name))
        uuid.UUID(self.id)
        if any(n < 0 for n in self.staffing):
            raise ValueError("staffing values are agent counts (>= 0)")
        return self

    @property
    def member_count(self) -> int:
        return self.members or max(self.staffing)

    @property
    def rejects_after_hours(self) -> bool:
        if self.after_hours is None:
            return self.media_type not in ("email", "callback")
        return self.after_hours == "reject"


class FlowSpec(_Model):
    """One inbound IVR (Architect) flow.

    Each entry ends in exactly one way: ``success`` (the main flow outcome, ``outcomes[0]``,
    succeeds and the caller hangs up in the flow), ``failure`` (the main outcome fails; the
    caller is transferred to a queue, or with ``p_failure_disconnect`` the flow hangs up),
    ``disconnect`` (hang-up in the IVR before the main outcome) or ``exit`` (the caller asks
    for an agent and is transferred to a queue without the main outcome). A transfer to a
    queue that is closed (after hours) does not happen: the flow plays its closed message —
    the main outcome succeeds — and the caller hangs up in the flow.

    A visit can also reach one more, earlier outcome (``p_extra_outcome``: one of
    ``outcomes[1:]``, e.g. "Authenticate" before "Pay bill"), which fails with
    ``p_extra_failed`` — whatever the ending. So a visit has zero, one or two outcomes, and a
    failed outcome need not transfer. These draws use a random stream of their own: a
    scenario without them generates exactly what it generated before they existed.
    """

    id: str = ""
    name: str = Field(min_length=1)
    peak_per_hour: Factor
    seasonality: Seasonality
    p_success: Probability
    p_failure: Probability
    p_disconnect: Probability
    p_exit: Probability
    mean_seconds: float = Field(default=75.0, gt=0.0, le=MAX_IVR_SECONDS)
    exit_queues: dict[str, float] = Field(default_factory=dict)
    """Queue name → share of the callers transferred to a queue (failure or exit)."""
    language: str = "en-us"
    outcomes: list[str] = Field(default_factory=lambda: ["Self-service"], min_length=1)
    """Flow outcome names (Architect "Set Flow Outcome"); the first is the main outcome."""
    p_extra_outcome: Probability = 0.0
    """Share of entries that reach one of ``outcomes[1:]`` before their ending."""
    p_extra_failed: Probability = 0.0
    """Share of those extra outcomes that fail."""
    p_failure_disconnect: Probability = 0.0
    """Share of ``failure`` entries that the flow disconnects instead of transferring."""

    @model_validator(mode="after")
    def _check(self) -> FlowSpec:
        if not self.id:
            object.__setattr__(self, "id", stable_id("flow", self.name))
        uuid.UUID(self.id)
        total = self.p_success + self.p_failure + self.p_disconnect + self.p_exit
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"outcome probabilities add up to {total}, not 1")
        if self.p_extra_outcome > 0 and len(self.outcomes) < 2:
            raise ValueError("p_extra_outcome needs two or more outcomes")
        if len(set(self.outcomes)) != len(self.outcomes):
            raise ValueError("outcome names must be unique")
        if (self.p_failure + self.p_exit) > 0 and not self.exit_queues:
            raise ValueError("a flow that transfers callers needs exit_queues")
        if any(share < 0 for share in self.exit_queues.values()):
            raise ValueError("exit_queues shares are >= 0")
        return self

    @property
    def outcome_ids(self) -> list[str]:
        """Stable ids of ``outcomes`` (flow outcomes are org-wide objects, named once)."""
        return [stable_id("flow-outcome", name) for name in self.outcomes]


class Incident(_Model):
    """A platform incident: a window of simulated time and what it does.

    Targets: ``queues``/``flows`` (names) and ``tiers``/``media_types``; all empty = all.
    Effects multiply (factors) or override (probabilities). ``api_error_rate`` makes the
    fake API answer that share of requests with 5xx; ``component`` and ``impact`` set the
    status page (``/api/v2/summary.json``).
    """

    name: str
    start: datetime
    end: datetime
    queues: list[str] = Field(default_factory=list)
    flows: list[str] = Field(default_factory=list)
    tiers: list[Tier] = Field(default_factory=list)
    media_types: list[MediaType] = Field(default_factory=list)
    staffing_factor: Factor = 1.0
    arrival_factor: Factor = 1.0
    patience_factor: Factor = 1.0
    handle_factor: Factor = 1.0
    ivr_failure: Probability | None = None
    """Share of flow entries that fail (taken from success first, then the others)."""
    api_error_rate: Probability = 0.0
    component: str = "Voice"
    impact: Literal["none", "minor", "major", "critical"] = "major"

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("incident times need a time zone (e.g. 2026-11-02T14:00Z)")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _order(self) -> Incident:
        if self.end <= self.start:
            raise ValueError("an incident ends after it starts")
        return self

    def active(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def targets_queue(self, queue: QueueSpec) -> bool:
        return (
            (not self.queues or queue.name in self.queues)
            and (not self.tiers or queue.tier in self.tiers)
            and (not self.media_types or queue.media_type in self.media_types)
            and not (self.flows and not self.queues)
        )

    def targets_flow(self, flow: FlowSpec) -> bool:
        if self.queues or self.tiers:
            return False
        if self.media_types and "voice" not in self.media_types:
            return False
        return not self.flows or flow.name in self.flows


class Scenario(_Model):
    """A whole contact center: its queues, IVR flows, incidents and settings."""

    name: str = "contact-center"
    timezone: str = "America/New_York"
    service_level: ServiceLevelSettings = ServiceLevelSettings()
    queues: list[QueueSpec] = Field(min_length=1)
    flows: list[FlowSpec] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)
    division_id: str = "5d5d9c38-4c1f-4b7e-9f0b-3d1e0b6b6a11"
    division_name: str = "Home"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names) or len({q.id for q in self.queues}) != len(names):
            raise ValueError("queue names and ids must be unique")
        if len({f.id for f in self.flows}) != len(self.flows):
            raise ValueError("flow ids must be unique")
        for flow in self.flows:
            unknown = set(flow.exit_queues) - set(names)
            if unknown:
                raise ValueError(f"flow {flow.name!r} exits to unknown queue(s) {sorted(unknown)}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def queue(self, key: str) -> QueueSpec:
        """A queue by id or name (KeyError otherwise)."""
        for queue in self.queues:
            if key in (queue.id, queue.name):
                return queue
        raise KeyError(key)

    def flow(self, key: str) -> FlowSpec:
        for flow in self.flows:
            if key in (flow.id, flow.name):
                return flow
        raise KeyError(key)
