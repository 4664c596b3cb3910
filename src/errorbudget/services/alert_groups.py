"""Notifications grouped per rule, SLO, service and severity (docs/alerting.md, "Groups").

Alerts are fingerprinted per series; people are told per group. A group is the told firing
alerts (not inhibited, not silenced when they fired) of one rule (``alertname``), SLO,
service and severity: an outage that burns ten queue segments of one SLO is one page, not
ten. A group has its own episodes and dedup key (``<group fingerprint>-<episode>``):

- it **opens** (a ``firing`` notification) when a member fires while the group is closed
  and no active silence matches that member;
- a member that fires while it is open sends an **update** (``firing`` again, the same
  dedup key: PagerDuty adds it to the open incident, Alertmanager gets the new alert);
- it **resolves** (``resolved``, the same key) when its last member stops firing — always,
  even under a silence: an incident a person was told of is closed for them.

Whether a group is open is read from the outbox (its last notification), so it survives a
restart with the alerts' states. Notifications are routed on the group's labels
(``alertname``, ``slo``, ``service``, ``severity``); each member's labels, segment
included, are in the payload's ``alerts``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson

from errorbudget.alert_records import Alert, NewNotification, Notification, Silence, Transition
from errorbudget.model import Minute, from_minute, segment_label

GroupKey = tuple[str, str, str, str]
"""(alertname, slo, service, severity)."""

MAX_SUMMARY_SEGMENTS = 5
"""A group's summary names at most this many of its series."""


def group_key(alert: Alert) -> GroupKey:
    return (alert.alertname, alert.slo, alert.service, alert.severity)


def group_labels(key: GroupKey) -> dict[str, str]:
    alertname, slo, service, severity = key
    return {"alertname": alertname, "slo": slo, "service": service, "severity": severity}


def group_fingerprint(key: GroupKey) -> str:
    """16 hex digits of the SHA-256 of the group's labels (distinct from every alert's
    fingerprint: the list starts with ``group``)."""
    return hashlib.sha256(orjson.dumps(["group", *key])).hexdigest()[:16]


def told(alert: Alert) -> bool:
    """A member of its group: firing, not inhibited, not silenced when it fired."""
    return alert.state.phase == "firing" and not alert.state.inhibited and not alert.silenced


@dataclass(frozen=True, slots=True)
class GroupEvent:
    """One group notification to queue for the receivers of the group's route."""

    key: GroupKey
    event: Transition
    dedup_key: str
    members: list[Alert]
    """Firing: every member firing now; resolved: the members that just resolved."""
    fired_at: str | None
    """When the group opened (ISO 8601)."""


def group_events(
    at: Minute,
    before: Mapping[str, Alert],
    after: Mapping[str, Alert],
    transitions: Mapping[str, Transition],
    silences: Sequence[Silence],
    last_notification: Callable[[str], Notification | None],
    labels_of: Callable[[Alert], Mapping[str, str]],
) -> list[GroupEvent]:
    """The group notifications of one step: ``before`` and ``after`` are every alert in
    play by fingerprint before and after it, ``transitions`` what each alert did,
    ``last_notification(group fingerprint)`` the outbox's newest notification of a group
    (None: never told)."""
    touched: dict[GroupKey, None] = {}
    for fingerprint, transition in transitions.items():
        if transition in ("firing", "resolved"):
            touched[group_key(after[fingerprint])] = None
    events: list[GroupEvent] = []
    for key in touched:
        members = _ordered(a for a in after.values() if group_key(a) == key and told(a))
        fired_now = [
            a
            for a in members
            if transitions.get(a.fingerprint) == "firing"
            and not any(s.matches(labels_of(a)) for s in silences)
        ]
        fingerprint = group_fingerprint(key)
        last = last_notification(fingerprint)
        is_open = last is not None and last.event == "firing"
        if not is_open:
            if fired_now:
                episode = _episode(last) + 1
                events.append(
                    GroupEvent(
                        key, "firing", f"{fingerprint}-{episode}", members, _iso(at_first(members))
                    )
                )
            continue
        assert last is not None
        opened = _text(last.payload.get("fired_at"))
        if not members:
            resolved = _ordered(
                after[fp]
                for fp, t in transitions.items()
                if t == "resolved" and group_key(after[fp]) == key and fp in before
            )
            events.append(GroupEvent(key, "resolved", last.dedup_key, resolved, opened))
        elif fired_now:
            events.append(GroupEvent(key, "firing", last.dedup_key, members, opened))
    return events


def at_first(members: Sequence[Alert]) -> Minute | None:
    fired = [a.state.fired_at for a in members if a.state.fired_at is not None]
    return min(fired, default=None)


def group_payload(
    event: GroupEvent,
    at: Minute,
    labels_of: Callable[[Alert], Mapping[str, str]],
    dashboard_link: str | None,
) -> dict[str, object]:
    """The notification's payload: the group's labels, a summary naming its series, the
    lead member's details and runbook (the first to fire), and every member in ``alerts``."""
    members = event.members
    lead = members[0] if members else None
    alertname, slo, _, _ = event.key
    if len(members) == 1 and lead is not None:
        summary = lead.summary
    else:
        names = [segment_label(a.segment) for a in members]
        shown = ", ".join(names[:MAX_SUMMARY_SEGMENTS])
        more = len(names) - MAX_SUMMARY_SEGMENTS
        summary = f"{alertname}: {len(members)} series of {slo} ({shown}" + (
            f", and {more} more)" if more > 0 else ")"
        )
    resolved_at = _iso(at) if event.event == "resolved" else None
    return {
        "event": event.event,
        "labels": group_labels(event.key),
        "summary": summary,
        "details": dict(lead.details) if lead is not None else {},
        "runbook_url": lead.runbook_url if lead is not None else None,
        "dashboard_url": dashboard_link,
        "fired_at": event.fired_at,
        "resolved_at": resolved_at,
        "episode": int(event.dedup_key.rsplit("-", 1)[1]),
        "fingerprint": group_fingerprint(event.key),
        "alerts": [
            {
                "fingerprint": a.fingerprint,
                "labels": dict(labels_of(a)),
                "summary": a.summary,
                "details": dict(a.details),
                "runbook_url": a.runbook_url,
                "fired_at": _iso(a.state.fired_at),
                "resolved_at": _iso(a.state.resolved_at) if event.event == "resolved" else None,
                "episode": a.state.episode,
            }
            for a in members
        ],
    }


def group_notifications(
    events: Iterable[GroupEvent],
    at: Minute,
    route: Callable[[Mapping[str, str]], list[str]],
    labels_of: Callable[[Alert], Mapping[str, str]],
    dashboard_link: Callable[[str], str | None],
) -> list[NewNotification]:
    """One notification per group event and receiver its route chooses."""
    queued: list[NewNotification] = []
    for event in events:
        receivers = route(group_labels(event.key))
        if not receivers:
            continue
        payload = group_payload(event, at, labels_of, dashboard_link(event.key[1]))
        queued += [
            NewNotification(
                receiver=receiver,
                fingerprint=group_fingerprint(event.key),
                event="firing" if event.event == "firing" else "resolved",
                dedup_key=event.dedup_key,
                payload=payload,
            )
            for receiver in dict.fromkeys(receivers)
        ]
    return queued


def _ordered(alerts: Iterable[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.state.fired_at or 0, a.fingerprint))


def _episode(last: Notification | None) -> int:
    if last is None:
        return 0
    tail = last.dedup_key.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _iso(minute: Minute | None) -> str | None:
    return None if minute is None else from_minute(minute).isoformat()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
