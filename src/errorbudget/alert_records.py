"""Alerts as every layer sees them: what a rule says at one instant, an alert's lifecycle,
silences, and the notifications sent for it (docs/alerting.md).

Plain data, no I/O. The engine turns an evaluation into :class:`AlertSignal` values (one per
rule and series: is its condition active now?) and steps each alert's :class:`AlertState`
with ``engine.lifecycle.step``; the alert service keeps the states in the store, writes
every transition to the audit log and queues a :class:`Notification` per receiver for each
transition a person should hear of; the delivery worker sends them.

An alert is identified by its :func:`fingerprint`: the rule's alert name, the SLO, the
segment and the severity. The tiers of one severity (the 1h/5m and the 6h/30m page
conditions) are one alert, so one burn pages once (docs/alerting.md, "One incident, one
page").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import orjson

from errorbudget.model import Minute, SegmentKey

Severity = Literal["page", "ticket", "notice"]
"""``page``: wake someone (PagerDuty); ``ticket``: create work (Slack, a ticket queue);
``notice``: a release-risk signal shown and sent where routed, never a page by itself."""

SEVERITIES: tuple[Severity, ...] = ("page", "ticket", "notice")
"""Highest first."""

AlertName = Literal[
    "ErrorBudgetBurn",
    "ErrorBudgetConsumed",
    "ErrorBudgetLow",
    "ErrorBudgetExhaustion",
    "SLONoData",
    "SLODataStale",
    "SyntheticCheckFailing",
]
"""The rules errorbudget evaluates (docs/alerting.md "Rules"): multiwindow burn, budget
consumed (50 % warn, 90 % freeze), budget floor, time to exhaustion under a horizon, no data
where traffic is expected, stale data, consecutive failed synthetic checks."""

Phase = Literal["inactive", "pending", "firing", "resolved"]
"""inactive → pending (active, waiting out ``for``) → firing → resolved; pending falls back
to inactive when the condition clears before ``for``."""


def fingerprint(
    alertname: str, slo: str, segment: SegmentKey, severity: str, rule: str = ""
) -> str:
    """A stable identity for one alert: 16 hex digits of the SHA-256 of its identifying
    labels (the same across restarts, processes and versions). ``rule`` tells apart the
    rules of one alert name and severity (the 50 % and 90 % consumed tickets); empty for
    the others, whose fingerprint does not include it."""
    identity: list[object] = [alertname, slo, [list(pair) for pair in segment], severity]
    if rule:
        identity.append(rule)
    canonical = orjson.dumps(identity)
    return hashlib.sha256(canonical).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AlertSignal:
    """What one rule says of one series at one instant.

    ``active``: the rule's condition holds now. ``for_minutes``: how long it must hold
    before the alert fires; ``keep_minutes``: how long a firing alert stays firing after it
    stops holding (a resolve hold, so a flapping condition does not resolve and re-fire);
    ``hold_until``: a firing alert does not resolve before this minute (``ErrorBudgetConsumed``
    fires once per budget period). ``inhibited``: a higher tier of the same SLO and segment is
    pending or firing, so this alert is not notified (docs/alerting.md).
    ``details``: the figures a person needs (burn rates of both windows, budget remaining,
    time to exhaustion, …), shown and sent as they were at this instant.
    """

    alertname: AlertName
    slo: str
    service: str
    segment: SegmentKey
    severity: Severity
    active: bool
    for_minutes: int = 0
    keep_minutes: int = 0
    hold_until: Minute | None = None
    inhibited: bool = False
    summary: str = ""
    details: Mapping[str, object] = field(default_factory=dict)
    runbook_url: str | None = None
    rule: str = ""
    """Which rule of this alert name and severity, when there are several (``consumed-0.5``
    and ``consumed-0.9`` are two alerts); part of the fingerprint when set."""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.alertname, self.slo, self.segment, self.severity, self.rule)


@dataclass(frozen=True, slots=True)
class AlertState:
    """Where one alert is in its lifecycle.

    ``active_since``: the first instant of the current run in which its condition held
    (pending or firing); ``fired_at`` when it last started firing; ``last_active`` the last
    instant its condition held; ``resolved_at`` when it last resolved. ``episode`` counts
    how many times it has fired (a notifier's dedup key is fingerprint + episode, so a
    re-fire is a new incident and a repeat of the same one is not). ``inhibited``: this
    firing episode was inhibited by a higher tier at some instant, so none of its
    notifications are sent. ``hold_until``: the signal's hold when it fired (it does not
    resolve before).
    """

    phase: Phase = "inactive"
    active_since: Minute | None = None
    fired_at: Minute | None = None
    last_active: Minute | None = None
    resolved_at: Minute | None = None
    episode: int = 0
    inhibited: bool = False
    hold_until: Minute | None = None


Transition = Literal["pending", "firing", "resolved", "cleared"]
"""What :func:`engine.lifecycle.step` reports when a phase changes: ``cleared`` is pending →
inactive (never fired, nothing to tell)."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as the store keeps it and the API shows it: its identity, its state, the
    signal it last saw, who acknowledged the current episode and whether it was silenced."""

    fingerprint: str
    alertname: AlertName
    slo: str
    service: str
    segment: SegmentKey
    severity: Severity
    state: AlertState
    summary: str
    details: Mapping[str, object]
    runbook_url: str | None
    updated_at: Minute
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    silenced: bool = False
    """A matching silence was active when the current episode fired: none of the episode's
    notifications are sent (neither its firing nor its resolve)."""


@dataclass(frozen=True, slots=True)
class AlertEpisode:
    """One firing episode of one alert, kept for its history (``alert_episodes``): when it
    fired and resolved (None while it fires), whether it was inhibited or silenced when it
    fired. Written by the alert service in the transaction of the transition."""

    fingerprint: str
    episode: int
    alertname: AlertName
    slo: str
    service: str
    segment: SegmentKey
    severity: Severity
    fired_at: Minute
    resolved_at: Minute | None
    inhibited: bool
    silenced: bool


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """A notification group's state (``alert_groups``, docs/alerting.md "Groups"): its last
    episode, the minute that episode opened and whether it is open. Kept by the alert
    service in its step's transaction, whatever the routes chose."""

    fingerprint: str
    episode: int
    opened_at: Minute
    open: bool


@dataclass(frozen=True, slots=True)
class Silence:
    """Notifications of alerts whose labels match every matcher are not sent between
    ``starts_at`` and ``ends_at`` (the alert still moves through its lifecycle and shows as
    silenced). Matchers are exact label equalities over ``alertname``, ``slo``, ``service``,
    ``severity`` and the segment's keys."""

    id: int
    matchers: Mapping[str, str]
    author: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    expired_at: datetime | None = None
    expired_by: str | None = None

    def active_at(self, at: datetime) -> bool:
        end = self.ends_at if self.expired_at is None else min(self.ends_at, self.expired_at)
        return self.starts_at <= at < end

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in self.matchers.items())


NotificationEvent = Literal["firing", "resolved", "test"]


DeliveryStatus = Literal["pending", "delivered", "failed"]
"""``failed``: given up after the receiver's retry limit (the delivery log keeps why)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for one receiver, queued in the same transaction as the transition it
    tells of, and delivered in ``id`` order per receiver, at least once; ``dedup_key``
    (fingerprint and episode) lets the receiver drop a repeat."""

    id: int
    receiver: str
    fingerprint: str
    event: NotificationEvent
    dedup_key: str
    payload: Mapping[str, object]
    created_at: datetime
    status: DeliveryStatus = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification to queue: the receiver chosen by the routes, the transition it tells of
    and the message's content (``Notification`` once stored)."""

    receiver: str
    fingerprint: str
    event: NotificationEvent
    dedup_key: str
    payload: Mapping[str, object]


def dedup_key(fingerprint: str, episode: int) -> str:
    """One incident's key at every receiver (PagerDuty's ``dedup_key``, the webhook's
    ``X-Errorbudget-Dedup-Key``): the alert and which time it fired."""
    return f"{fingerprint}-{episode}"


def alert_labels(
    alertname: str, slo: str, service: str, segment: SegmentKey, severity: str
) -> dict[str, str]:
    """The labels an alert is matched (silences, routes) and sent with: its name, SLO,
    service, severity and segment pairs (a segment key never shadows the others)."""
    labels = {key: value for key, value in segment}
    labels.update(alertname=alertname, slo=slo, service=service, severity=severity)
    return labels
