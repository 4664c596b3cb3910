"""Alerts, silences and the notification delivery log (docs/alerting.md)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from errorbudget.alert_records import (
    Alert,
    AlertEpisode,
    AlertName,
    DeliveryStatus,
    Notification,
    NotificationEvent,
    Phase,
    Severity,
    Silence,
    alert_labels,
)
from errorbudget.model import Minute, from_minute, segment_label
from errorbudget.services.alerts import AlertHistory


def _time(minute: Minute | None) -> AwareDatetime | None:
    return None if minute is None else from_minute(minute)


class AlertStateOut(BaseModel):
    """Where an alert is in its lifecycle: inactive → pending → firing → resolved."""

    phase: Phase
    active_since: AwareDatetime | None = Field(
        description="The first instant of the current run in which its condition held."
    )
    fired_at: AwareDatetime | None = Field(description="When it last started firing.")
    last_active: AwareDatetime | None = Field(description="The last instant its condition held.")
    resolved_at: AwareDatetime | None = Field(description="When it last resolved.")
    episode: int = Field(description="How many times it has fired (fingerprint-episode: dedup).")
    inhibited: bool = Field(
        description="This episode fired while a higher severity of the same SLO and segment "
        "was active: it is never notified."
    )
    hold_until: AwareDatetime | None = Field(description="It does not resolve before this.")


class AlertOut(BaseModel):
    fingerprint: str = Field(description="The alert's identity: name, SLO, segment, severity.")
    alertname: AlertName
    slo: str
    service: str
    segment: dict[str, str]
    severity: Severity
    labels: dict[str, str] = Field(description="What silences and routes match on.")
    state: AlertStateOut
    summary: str
    details: dict[str, Any] = Field(
        description="The figures when its condition last held: burn rates of both windows, "
        "budget remaining, time to exhaustion, the conditions that hold."
    )
    runbook_url: str | None
    updated_at: AwareDatetime = Field(description="The evaluation minute it was last stepped.")
    acknowledged_by: str | None
    acknowledged_at: AwareDatetime | None
    silenced: bool = Field(
        description="A silence matched when this episode fired: none of its notifications are sent."
    )

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        state = alert.state
        return cls(
            fingerprint=alert.fingerprint,
            alertname=alert.alertname,
            slo=alert.slo,
            service=alert.service,
            segment=dict(alert.segment),
            severity=alert.severity,
            labels=alert_labels(
                alert.alertname, alert.slo, alert.service, alert.segment, alert.severity
            ),
            state=AlertStateOut(
                phase=state.phase,
                active_since=_time(state.active_since),
                fired_at=_time(state.fired_at),
                last_active=_time(state.last_active),
                resolved_at=_time(state.resolved_at),
                episode=state.episode,
                inhibited=state.inhibited,
                hold_until=_time(state.hold_until),
            ),
            summary=alert.summary,
            details=dict(alert.details),
            runbook_url=alert.runbook_url,
            updated_at=from_minute(alert.updated_at),
            acknowledged_by=alert.acknowledged_by,
            acknowledged_at=alert.acknowledged_at,
            silenced=alert.silenced,
        )


class SilenceOut(BaseModel):
    id: int
    matchers: dict[str, str] = Field(description="Exact label equalities, all of which match.")
    author: str
    reason: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    created_at: AwareDatetime
    expired_at: AwareDatetime | None = Field(description="When it was ended by hand.")
    expired_by: str | None

    @classmethod
    def of(cls, silence: Silence) -> SilenceOut:
        return cls(
            id=silence.id,
            matchers=dict(silence.matchers),
            author=silence.author,
            reason=silence.reason,
            starts_at=silence.starts_at,
            ends_at=silence.ends_at,
            created_at=silence.created_at,
            expired_at=silence.expired_at,
            expired_by=silence.expired_by,
        )


class NotificationOut(BaseModel):
    id: int
    receiver: str
    fingerprint: str
    event: NotificationEvent
    dedup_key: str = Field(description="fingerprint-episode: the same at every receiver.")
    payload: dict[str, Any]
    created_at: AwareDatetime
    status: DeliveryStatus
    attempts: int
    next_attempt_at: AwareDatetime | None
    last_error: str | None
    delivered_at: AwareDatetime | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        return cls(
            id=notification.id,
            receiver=notification.receiver,
            fingerprint=notification.fingerprint,
            event=notification.event,
            dedup_key=notification.dedup_key,
            payload=dict(notification.payload),
            created_at=notification.created_at,
            status=notification.status,
            attempts=notification.attempts,
            next_attempt_at=notification.next_attempt_at,
            last_error=notification.last_error,
            delivered_at=notification.delivered_at,
        )


class AlertEpisodeOut(BaseModel):
    """One firing episode of one alert: what the SLO page shades on its burn chart and lists
    under it."""

    fingerprint: str
    episode: int = Field(description="Which firing of this alert (fingerprint-episode: dedup).")
    alertname: AlertName
    slo: str
    service: str
    segment: dict[str, str]
    segment_label: str = Field(description="The segment in words ('all' without one).")
    severity: Severity
    fired_at: AwareDatetime
    resolved_at: AwareDatetime | None = Field(description="None while it fires.")
    duration_minutes: int | None = Field(description="resolved − fired; None while it fires.")
    inhibited: bool = Field(
        description="A higher severity of the same SLO and segment was active when it fired: "
        "never notified."
    )
    silenced: bool = Field(description="A silence matched when it fired: never notified.")

    @classmethod
    def of(cls, episode: AlertEpisode) -> AlertEpisodeOut:
        resolved = episode.resolved_at
        return cls(
            fingerprint=episode.fingerprint,
            episode=episode.episode,
            alertname=episode.alertname,
            slo=episode.slo,
            service=episode.service,
            segment=dict(episode.segment),
            segment_label=segment_label(episode.segment),
            severity=episode.severity,
            fired_at=from_minute(episode.fired_at),
            resolved_at=_time(resolved),
            duration_minutes=None if resolved is None else resolved - episode.fired_at,
            inhibited=episode.inhibited,
            silenced=episode.silenced,
        )


class AlertHistoryOut(BaseModel):
    """An SLO's alert episodes overlapping ``[since, until)``, latest fired first."""

    slo: str
    since: AwareDatetime
    until: AwareDatetime
    limit: int
    truncated: bool = Field(description="More episodes overlap the span than the limit.")
    episodes: list[AlertEpisodeOut]

    @classmethod
    def of(cls, history: AlertHistory) -> AlertHistoryOut:
        return cls(
            slo=history.slo,
            since=history.since,
            until=history.until,
            limit=history.limit,
            truncated=history.truncated,
            episodes=[AlertEpisodeOut.of(episode) for episode in history.episodes],
        )
