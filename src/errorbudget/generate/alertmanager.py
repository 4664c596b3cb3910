"""``errorbudget generate alertmanager-config``: an Alertmanager configuration for the
generated rules (docs/prometheus.md "Alertmanager").

- Routing: the config's ``notifications.routes`` translated one receiver per Alertmanager
  route (``continue`` where the route goes on to more receivers or later routes); without
  routes the built-in default (``notification_settings.default_receivers``): ``page`` →
  every PagerDuty receiver, anything else (``ticket``, ``notice``, the diagnostics'
  ``warning``) → every Slack receiver. Without ``notifications:`` one PagerDuty and one
  Slack receiver named ``pagerduty`` and ``slack``.
- Grouped by ``slo`` and ``service``; a ticket (or notice, or warning) is inhibited while a
  page of the same SLO and service fires.
- Secrets are never written: a ``*_env`` setting becomes a ``*_file`` path named after the
  variable, under ``secrets_dir`` (Alertmanager reads files, not the environment), e.g.
  ``/etc/alertmanager/secrets/PD_ROUTING_KEY``; so does a Slack or webhook ``url`` the
  config read from the environment (``url: ${SLACK_WEBHOOK}``).
- ``alertmanager`` receivers are left out (this file configures that Alertmanager);
  ``webhook`` receivers are kept without their HMAC signature, which Alertmanager cannot
  make.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from errorbudget.errors import ConfigError
from errorbudget.notification_settings import (
    NotificationSettings,
    ReceiverSettings,
    default_receivers,
)

UNROUTED = "errorbudget-unrouted"
"""The root route's receiver: it sends nothing (an alert no route takes)."""
GROUP_BY = ["slo", "service"]
LOWER_SEVERITIES = "ticket|notice|warning"


def _file(secrets_dir: str, variable: str) -> str:
    return f"{secrets_dir.rstrip('/')}/{variable}"


def receiver_config(
    receiver: ReceiverSettings, secrets_dir: str, url_variable: str | None = None
) -> dict[str, Any] | None:
    """One Alertmanager receiver for ``receiver`` (None: an ``alertmanager`` receiver).
    ``url_variable``: the environment variable the config's ``url`` was read from
    (``url: ${SLACK_WEBHOOK}``); the URL is then a secret like ``url_env``'s, written as a
    file path named after the variable, never as its value."""
    if url_variable is not None and receiver.type in ("slack", "webhook"):
        receiver = receiver.model_copy(update={"url": None, "url_env": url_variable})
    if receiver.type == "pagerduty":
        pagerduty: dict[str, Any] = {
            "routing_key_file": _file(secrets_dir, receiver.routing_key_env or ""),
            "send_resolved": True,
        }
        if receiver.url is not None:
            pagerduty["url"] = receiver.url
        return {"name": receiver.name, "pagerduty_configs": [pagerduty]}
    if receiver.type == "slack":
        slack: dict[str, Any] = (
            {"api_url": receiver.url}
            if receiver.url is not None
            else {"api_url_file": _file(secrets_dir, receiver.url_env or "")}
        )
        slack.update(
            send_resolved=True,
            title="{{ .CommonLabels.alertname }}: {{ .CommonLabels.slo }} "
            "({{ .CommonLabels.severity }})",
            text="{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
        )
        return {"name": receiver.name, "slack_configs": [slack]}
    if receiver.type == "webhook":
        webhook: dict[str, Any] = (
            {"url": receiver.url}
            if receiver.url is not None
            else {"url_file": _file(secrets_dir, receiver.url_env or "")}
        )
        webhook["send_resolved"] = True
        return {"name": receiver.name, "webhook_configs": [webhook]}
    return None


def default_settings() -> NotificationSettings:
    """The receivers used without ``notifications:`` (secrets from files)."""
    return NotificationSettings(
        receivers=[
            ReceiverSettings(
                name="pagerduty",
                type="pagerduty",
                url="https://events.pagerduty.com/v2/enqueue",
                routing_key_env="PAGERDUTY_ROUTING_KEY",
            ),
            ReceiverSettings(name="slack", type="slack", url_env="SLACK_WEBHOOK_URL"),
        ]
    )


def _matchers(match: dict[str, str]) -> list[str]:
    return [f"{key}={_quoted(value)}" for key, value in sorted(match.items())]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _routes(settings: NotificationSettings, kept: set[str]) -> list[dict[str, Any]]:
    """Alertmanager routes, one receiver each, in the order errorbudget routes."""
    found: list[dict[str, Any]] = []
    if not settings.routes:
        for severity, matcher in (("page", 'severity="page"'), ("ticket", None)):
            names = [
                n
                for n in default_receivers(settings.receivers, {"severity": severity})
                if n in kept
            ]
            for name in names:
                route: dict[str, Any] = {
                    "receiver": name,
                    "matchers": [matcher or f'severity=~"{LOWER_SEVERITIES}"'],
                    "continue": True,
                }
                found.append(route)
        if found:
            found[-1]["continue"] = False
        return [_tidy(route) for route in found]
    for index, configured in enumerate(settings.routes):
        names = [n for n in configured.receivers if n in kept]
        for position, name in enumerate(names):
            last = position == len(names) - 1
            goes_on = configured.continue_ and index < len(settings.routes) - 1
            route = {"receiver": name, "continue": not last or goes_on}
            if configured.match:
                route["matchers"] = _matchers(configured.match)
            found.append(route)
    return [_tidy(route) for route in found]


def _tidy(route: dict[str, Any]) -> dict[str, Any]:
    if not route.get("continue"):
        route.pop("continue", None)
    return route


def alertmanager_config(
    notifications: NotificationSettings | None,
    *,
    secrets_dir: str = "/etc/alertmanager/secrets",
    url_variables: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The Alertmanager configuration as data (module docstring). ``url_variables``: per
    receiver name whose ``url`` the config took from the environment (``${NAME}``), the
    variable's name — written as a secret file — or None when the URL is built from more
    than one variable (a ConfigError: the value would be written)."""
    settings = notifications if notifications is not None and notifications.receivers else None
    settings = settings or default_settings()
    variables = url_variables or {}
    receivers: list[dict[str, Any]] = [{"name": UNROUTED}]
    kept: set[str] = set()
    for receiver in settings.receivers:
        pieced = receiver.name in variables and variables[receiver.name] is None
        if receiver.type in ("slack", "webhook") and pieced:
            raise ConfigError(
                f"receiver {receiver.name!r}: its url is built from environment "
                "variables, so the generated file would hold their values; give the "
                "whole URL in one variable (url: ${NAME}, or url_env: NAME)"
            )
        config = receiver_config(receiver, secrets_dir, variables.get(receiver.name))
        if config is not None:
            receivers.append(config)
            kept.add(receiver.name)
    return {
        "route": {
            "receiver": UNROUTED,
            "group_by": GROUP_BY,
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": _routes(settings, kept),
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="page"'],
                "target_matchers": [f'severity=~"{LOWER_SEVERITIES}"'],
                "equal": GROUP_BY,
            }
        ],
        "receivers": receivers,
    }
