"""``notifications:``: routing, the default routes, backoff, secrets from the environment,
and a route naming an unknown receiver reported at file:line:col."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from errorbudget.config import parse_config
from errorbudget.errors import ConfigError, ConfigValidationError
from errorbudget.notification_settings import (
    NotificationSettings,
    RetrySettings,
    resolve_receivers,
)

RECEIVERS = [
    {"name": "pd", "type": "pagerduty", "url": "http://127.0.0.1:9/enqueue",
     "routing_key_env": "PD_KEY"},
    {"name": "slack", "type": "slack", "url_env": "SLACK_URL"},
    {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/hook", "secret_env": "HOOK"},
    {"name": "am", "type": "alertmanager", "url": "http://127.0.0.1:9"},
]  # fmt: skip


def settings(**extra: object) -> NotificationSettings:
    return NotificationSettings.model_validate({"receivers": RECEIVERS, **extra})


def test_default_routes_send_pages_to_pagerduty_and_tickets_to_slack() -> None:
    plain = NotificationSettings.model_validate({"receivers": RECEIVERS[:2]})
    assert plain.route({"severity": "page"}) == ["pd"]
    assert plain.route({"severity": "ticket"}) == ["slack"]
    assert plain.route({"severity": "notice"}) == ["slack"]
    # Alertmanager and webhooks route on their side: they hear every alert
    assert settings().route({"severity": "page"}) == ["pd", "hook", "am"]


def test_first_match_wins_unless_continue() -> None:
    routed = settings(
        routes=[
            {"match": {"slo": "vip"}, "receivers": ["hook"], "continue": True},
            {"match": {"severity": "page"}, "receivers": ["pd", "hook"]},
            {"match": {"severity": "page"}, "receivers": ["slack"]},
            {"match": {}, "receivers": ["slack"]},
        ]
    )
    assert routed.route({"slo": "vip", "severity": "page"}) == ["hook", "pd"]
    assert routed.route({"slo": "sales", "severity": "page"}) == ["pd", "hook"]
    assert routed.route({"slo": "sales", "severity": "ticket"}) == ["slack"]
    only_pages = settings(routes=[{"match": {"severity": "page"}, "receivers": ["pd"]}])
    assert only_pages.route({"severity": "ticket"}) == []


def test_backoff_doubles_to_the_cap_and_gives_up_after_a_day() -> None:
    retry = RetrySettings()
    assert [retry.delay(n).total_seconds() for n in range(1, 11)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 300,
    ]  # fmt: skip
    assert retry.delay(1000) == timedelta(minutes=5)
    queued = datetime(2026, 3, 2, tzinfo=UTC)
    failed = queued + timedelta(hours=23, minutes=50)
    assert retry.next_attempt(
        queued_at=queued, attempts=40, failed_at=failed
    ) == failed + timedelta(minutes=5)
    late = queued + timedelta(hours=23, minutes=56)
    assert retry.next_attempt(queued_at=queued, attempts=41, failed_at=late) is None


def test_secrets_come_from_the_environment_and_stay_out_of_repr() -> None:
    environ = {"PD_KEY": "routing-key-123", "SLACK_URL": "http://127.0.0.1:9/s3cr3t", "HOOK": "k"}
    targets = resolve_receivers(settings(), environ)
    assert targets["pd"].routing_key == "routing-key-123"
    assert targets["slack"].url == "http://127.0.0.1:9/s3cr3t"
    assert targets["hook"].secret == b"k"
    shown = repr(targets)
    assert "routing-key-123" not in shown and "s3cr3t" not in shown
    with pytest.raises(ConfigError, match="environment variable SLACK_URL") as caught:
        resolve_receivers(settings(), {"PD_KEY": "x", "HOOK": "k"})
    assert "x" not in str(caught.value).replace("SLACK_URL", "")  # names, never values


@pytest.mark.parametrize(
    ("receiver", "message"),
    [
        ({"name": "a", "type": "slack"}, "exactly one of url or url_env"),
        ({"name": "a", "type": "pagerduty", "url": "http://127.0.0.1"}, "needs routing_key_env"),
        ({"name": "a", "type": "webhook", "url": "http://127.0.0.1"}, "needs secret_env"),
        ({"name": "a", "type": "slack", "url": "http://x", "secret_env": "S"}, "webhook only"),
    ],
)
def test_receivers_need_their_address_and_secrets(receiver: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NotificationSettings.model_validate({"receivers": [receiver]})


CONFIG = """\
version: 1
notifications:
  receivers:
    - {name: slack-tickets, type: slack, url_env: SLACK_URL}
  routes:
    - match: {severity: ticket}
      receivers: [slack-ticket]
"""


def test_validate_names_an_unknown_receiver_with_did_you_mean() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(CONFIG, "eb.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "eb.yaml:7:19: route 1: unknown receiver 'slack-ticket' (did you mean 'slack-tickets'?)"
    ]


def test_a_config_with_notifications_loads() -> None:
    loaded = parse_config(CONFIG.replace("[slack-ticket]", "[slack-tickets]"), "eb.yaml")
    assert loaded.config.notifications is not None
    assert loaded.config.notifications.route({"severity": "ticket"}) == ["slack-tickets"]
    assert parse_config("version: 1\n").config.notifications is None
