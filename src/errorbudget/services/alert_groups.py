"""Notifications grouped per rule, SLO, service and severity (docs/alerting.md, "Groups").

Alerts are fingerprinted per series; people are told per group. A group is the told firing
alerts (not inhibited, not silenced when they fired) of one rule (``alertname``), SLO,
service and severity: an outage that burns ten queue segments of one SLO is one page, not
ten. A group has its own episodes and dedup key (``<group fingerprint>-<episode>``):

- it **opens** (a ``firing`` notification) when a member fires while the group is closed
  and no active silence matches that member;
- a member that fires while it is open sends an **update** (``firing`` again, the same
  dedup key: PagerDuty adds it to the open incident, Alertmanager gets the new alert); so
  does a member that resolves while others still fire (its ``alerts`` entry carries its
  ``resolved_at``: Alertmanager resolves that series at once);
- it **resolves** (``resolved``, the same key) when its last member stops firing — always,
  even under a silence: an incident a person was told of is closed for them.

Whether a group is open, its episode and when it opened are kept in the store
(``alert_groups``, an ``AlertGroup`` per group), written in the step's transaction whatever
the routes chose: a group whose resolve no receiver was routed closes all the same, and its
next incident gets the next episode's key. Notifications are routed on the group's labels
(``alertname``, ``slo``, ``service``, ``severity``); an update or resolve also goes to the
receivers told the episode's dedup key that are still configured. Each member's labels,
segment included, are in the payload's ``alerts``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import orjson

from errorbudget.alert_records import Alert, AlertGroup, NewNotification, Silence, Transition
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
    """One group notification to queue for the receivers of the group's route (and, for an
    update or a resolve, those told its dedup key)."""

    key: GroupKey
    event: Transition
    dedup_key: str
    members: list[Alert]
    """Every member firing now (none for a resolve)."""
    recovered: list[Alert]
    """The members that resolved in this step (an update or the resolve tells of them)."""
    fired_at: str | None
    """When the group opened (ISO 8601)."""
    group: AlertGroup
    """The group's state after the event (to save in the step's transaction)."""
    opens: bool
    """The event opens a new episode (no receiver was told its dedup key yet)."""


def touched_groups(after: Mapping[str, Alert], transitions: Mapping[str, Transition]) -> list[str]:
    """The fingerprints of the groups a step may notify: those with a member that fired or
    resolved (their states are read before :func:`group_events`)."""
    keys = {
        group_key(after[fp]): None for fp, t in transitions.items() if t in ("firing", "resolved")
    }
    return [group_fingerprint(key) for key in keys]


def group_events(
    at: Minute,
    before: Mapping[str, Alert],
    after: Mapping[str, Alert],
    transitions: Mapping[str, Transition],
    silences: Sequence[Silence],
    groups: Mapping[str, AlertGroup],
    labels_of: Callable[[Alert], Mapping[str, str]],
) -> list[GroupEvent]:
    """The group notifications of one step: ``before`` and ``after`` are every alert in
    play by fingerprint before and after it, ``transitions`` what each alert did,
    ``groups`` the stored state of each touched group by group fingerprint (absent: never
    opened). Each event carries the group's state to save."""
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
        recovered = _ordered(
            after[fp]
            for fp, t in transitions.items()
            if t == "resolved" and group_key(after[fp]) == key and fp in before
            and told(before[fp])
        )  # fmt: skip
        fingerprint = group_fingerprint(key)
        group = groups.get(fingerprint)
        if group is None or not group.open:
            if fired_now:
                episode = (group.episode if group is not None else 0) + 1
                opened = at_first(members)
                state = AlertGroup(fingerprint, episode, opened if opened is not None else at, True)
                events.append(
                    GroupEvent(
                        key,
                        "firing",
                        f"{fingerprint}-{episode}",
                        members,
                        [],
                        _iso(state.opened_at),
                        state,
                        opens=True,
                    )
                )
            continue
        dedup_key = f"{fingerprint}-{group.episode}"
        opened_iso = _iso(group.opened_at)
        if not members:
            closed = replace(group, open=False)
            events.append(
                GroupEvent(key, "resolved", dedup_key, [], recovered, opened_iso, closed, False)
            )
        elif fired_now or recovered:
            events.append(
                GroupEvent(key, "firing", dedup_key, members, recovered, opened_iso, group, False)
            )
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
    lead member's details and runbook (the first to fire), and in ``alerts`` every member
    firing and every one that just resolved (with its ``resolved_at``)."""
    shown = [*event.members, *event.recovered]
    recovered = {a.fingerprint for a in event.recovered}
    lead = shown[0] if shown else None
    alertname, slo, _, _ = event.key
    if event.event == "resolved":
        summary = _summary(event.recovered, alertname, slo)
    elif recovered:
        summary = (
            f"{alertname}: {len(event.members)} series of {slo} "
            f"({_names(event.members)}); recovered: {_names(event.recovered)}"
        )
    else:
        summary = _summary(event.members, alertname, slo)
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
                "resolved_at": _iso(a.state.resolved_at) if a.fingerprint in recovered else None,
                "episode": a.state.episode,
            }
            for a in shown
        ],
    }


def _summary(alerts: Sequence[Alert], alertname: str, slo: str) -> str:
    if len(alerts) == 1:
        return alerts[0].summary
    return f"{alertname}: {len(alerts)} series of {slo} ({_names(alerts)})"


def _names(alerts: Sequence[Alert]) -> str:
    names = [segment_label(a.segment) for a in alerts]
    shown = ", ".join(names[:MAX_SUMMARY_SEGMENTS])
    more = len(names) - MAX_SUMMARY_SEGMENTS
    return shown + (f", and {more} more" if more > 0 else "")


def group_notifications(
    events: Iterable[GroupEvent],
    at: Minute,
    receivers_of: Callable[[GroupEvent], list[str]],
    labels_of: Callable[[Alert], Mapping[str, str]],
    dashboard_link: Callable[[str], str | None],
) -> list[NewNotification]:
    """One notification per group event and receiver ``receivers_of(event)`` chooses."""
    queued: list[NewNotification] = []
    for event in events:
        receivers = receivers_of(event)
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


def _iso(minute: Minute | None) -> str | None:
    return None if minute is None else from_minute(minute).isoformat()
