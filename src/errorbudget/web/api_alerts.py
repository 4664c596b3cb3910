"""Alerts (list, one, acknowledge), silences (list, create, expire) and the notification
delivery log (rules and lifecycle in ``services.alerts``; docs/alerting.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from errorbudget.alert_records import DeliveryStatus, Phase, Severity
from errorbudget.limits import MAX_NAME, MAX_PAGE
from errorbudget.schema.alerts import AlertHistoryOut, AlertOut, NotificationOut, SilenceOut
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import READ, WRITE, errors
from errorbudget.web.api_inputs import Comment, Instant, Name, Reason, RecordId, SegmentLabels
from errorbudget.web.auth import Operator, Viewer

routes = router("alerts and silences")

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many.")]
Fingerprint = Annotated[
    str,
    Path(pattern=r"^[0-9a-f]{16}$", description="An alert's fingerprint: 16 hex digits."),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcknowledgeIn(_In):
    comment: Comment = ""


class SilenceIn(_In):
    """Silence the alerts whose labels (alertname, slo, service, severity, segment keys)
    equal every matcher, from ``starts_at`` (default: now) until ``ends_at``."""

    matchers: SegmentLabels = Field(
        description="Label equalities, at least one, e.g. {'slo': 'answered', 'queue': 'sales'}."
    )
    reason: Reason
    ends_at: Instant
    starts_at: Instant | None = None


@routes.get("/alerts", response_model=list[AlertOut], summary="Alerts", responses=errors(*READ))
def list_alerts(
    app: EB,
    caller: Viewer,
    state: Annotated[list[Phase], Query(max_length=4, description="Only these phases.")] = [],  # noqa: B006
    slo: Annotated[Name | None, Query(description="Only this SLO's.")] = None,
    severity: Annotated[Severity | None, Query(description="Only this severity.")] = None,
    limit: Limit = 1000,
) -> list[AlertOut]:
    """Alerts the service keeps: firing first, then pending, then resolved and inactive;
    the most recently stepped first within each."""
    found = app.alerts.alerts(phases=state or None, slo=slo, severity=severity, limit=limit)
    return [AlertOut.of(alert) for alert in found]


HISTORY_DEFAULT = timedelta(days=30)
"""The span of an alert history without ``since``: the SLO page's burn chart's."""


@routes.get(
    "/alerts/history",
    response_model=AlertHistoryOut,
    summary="An SLO's alert history",
    responses=errors(*READ, 404),
)
def alert_history(
    app: EB,
    caller: Viewer,
    slo: Annotated[Name, Query(description="The SLO.")],
    since: Annotated[
        Instant | None, Query(description="From (default: 30 days before until).")
    ] = None,
    until: Annotated[Instant | None, Query(description="To, excluded (default: now).")] = None,
    limit: Limit = 1000,
) -> AlertHistoryOut:
    """The SLO's firing episodes overlapping ``[since, until)`` — fired before ``until``
    and not resolved by ``since`` — latest fired first: when each fired and resolved (or
    that it still fires), its severity, segment, and whether it was inhibited or silenced.
    The SLO page draws the same list on its burn chart. 422 for a span not after its start
    or longer than the timeline's bound (400 days, ``limits.MAX_TIMELINE_SPAN``); 404
    for an unknown SLO."""
    end = until if until is not None else app.clock()
    start = since if since is not None else end - HISTORY_DEFAULT
    return AlertHistoryOut.of(app.alerts.history(slo, start, end, limit))


@routes.get(
    "/alerts/{fingerprint}",
    response_model=AlertOut,
    summary="One alert",
    responses=errors(*READ, 404),
)
def get_alert(app: EB, caller: Viewer, fingerprint: Fingerprint) -> AlertOut:
    return AlertOut.of(app.alerts.alert(fingerprint))


@routes.post(
    "/alerts/{fingerprint}/acknowledge",
    response_model=AlertOut,
    summary="Acknowledge an alert",
    responses=errors(*WRITE, 404, 409),
)
def acknowledge_alert(
    app: EB, caller: Operator, fingerprint: Fingerprint, body: AcknowledgeIn | None = None
) -> AlertOut:
    """Acknowledge a pending or firing alert's current episode (409 otherwise); the caller
    is recorded in the audit log (``alert.acknowledged``). Needs operator."""
    comment = body.comment if body is not None else ""
    return AlertOut.of(app.alerts.acknowledge(fingerprint, actor=caller.name, comment=comment))


@routes.get(
    "/silences", response_model=list[SilenceOut], summary="Silences", responses=errors(*READ)
)
def list_silences(
    app: EB,
    caller: Viewer,
    include_expired: Annotated[
        bool, Query(description="Also silences that have ended (default: current and future).")
    ] = False,
    limit: Limit = 1000,
) -> list[SilenceOut]:
    """Silences, newest first."""
    found = app.alerts.silences(include_expired=include_expired, limit=limit)
    return [SilenceOut.of(silence) for silence in found]


@routes.post(
    "/silences",
    response_model=SilenceOut,
    status_code=201,
    summary="Create a silence",
    responses=errors(*WRITE),
)
def create_silence(app: EB, caller: Operator, body: SilenceIn) -> SilenceOut:
    """While it is active, no notification is sent for a matching alert (it still moves
    through its lifecycle and shows as silenced); an episode that fired silenced stays
    unsent, its resolve too. The caller is its author (``silence.created`` in the audit
    log). Needs operator; 422 without a matcher or for an end not after the start and now."""
    silence = app.alerts.add_silence(
        matchers=body.matchers,
        author=caller.name,
        reason=body.reason,
        ends_at=body.ends_at,
        starts_at=body.starts_at,
    )
    return SilenceOut.of(silence)


@routes.post(
    "/silences/{silence_id}/expire",
    response_model=SilenceOut,
    summary="Expire a silence",
    responses=errors(*WRITE, 404, 409),
)
def expire_silence(app: EB, caller: Operator, silence_id: RecordId) -> SilenceOut:
    """End a silence now (409 when it has already ended); audited (``silence.expired``)."""
    return SilenceOut.of(app.alerts.expire_silence(silence_id, actor=caller.name))


@routes.get(
    "/notifications",
    response_model=list[NotificationOut],
    summary="Notification delivery log",
    responses=errors(*READ),
)
def list_notifications(
    app: EB,
    caller: Viewer,
    receiver: Annotated[
        str | None, Query(min_length=1, max_length=MAX_NAME, description="Only this receiver's.")
    ] = None,
    fingerprint: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{16}$", description="Only this alert's.")
    ] = None,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[NotificationOut]:
    """Every notification queued for a receiver, newest first, with its delivery status,
    attempts, last error and when it was delivered."""
    found = app.store.list_notifications(
        receiver=receiver, fingerprint=fingerprint, status=status, limit=limit
    )
    return [NotificationOut.of(notification) for notification in found]
