"""The Alertmanager notifier's members (notify/alertmanager.py): a group notification is
posted as one alert per member, and a member that resolved while its group still fires is
posted resolved at its own ``resolved_at`` (docs/alerting.md "Groups")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from errorbudget.alert_records import Notification
from errorbudget.notify.alertmanager import alertmanager_alert, members
from errorbudget.notify.base import Message

FIRED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOLD = timedelta(days=7)


def member(queue: str, resolved_at: datetime | None) -> dict[str, object]:
    return {
        "fingerprint": f"fp-{queue}",
        "labels": {"alertname": "ErrorBudgetBurn", "slo": "answered", "queue": queue},
        "summary": f"answered queue={queue} burns",
        "fired_at": FIRED.isoformat(),
        "resolved_at": None if resolved_at is None else resolved_at.isoformat(),
        "episode": 1,
    }


def posted(notification: Notification) -> dict[str, tuple[str, str]]:
    alerts = [alertmanager_alert(Message.of(one), HOLD) for one in members(notification)]
    return {
        str(a["labels"]["queue"]): (str(a["startsAt"]), str(a["endsAt"]))  # type: ignore[index]
        for a in alerts
    }


def test_a_member_recovered_in_a_firing_update_is_posted_resolved_at_its_resolve() -> None:
    recovered = FIRED + timedelta(minutes=20)
    payload = {
        "event": "firing",
        "labels": {"alertname": "ErrorBudgetBurn", "slo": "answered"},
        "fired_at": FIRED.isoformat(),
        "resolved_at": None,
        "alerts": [member("vip", None), member("sales", recovered)],
    }
    update = Notification(2, "am", "group", "firing", "group-1", payload, recovered)
    assert posted(update) == {
        "vip": (FIRED.isoformat(), (FIRED + HOLD).isoformat()),
        "sales": (FIRED.isoformat(), recovered.isoformat()),
    }
    assert [one.event for one in members(update)] == ["firing", "resolved"]


def test_every_member_of_a_resolve_ends_at_its_resolve() -> None:
    ended = FIRED + timedelta(hours=1)
    payload = {
        "event": "resolved",
        "fired_at": FIRED.isoformat(),
        "resolved_at": ended.isoformat(),
        "alerts": [member("vip", ended), member("sales", ended)],
    }
    resolve = Notification(3, "am", "group", "resolved", "group-1", payload, ended)
    assert posted(resolve) == {
        "vip": (FIRED.isoformat(), ended.isoformat()),
        "sales": (FIRED.isoformat(), ended.isoformat()),
    }
