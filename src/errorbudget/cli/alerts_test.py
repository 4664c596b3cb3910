"""``errorbudget alerts test ROUTE_OR_RECEIVER``: send a test notification straight to a
receiver, or to every receiver of a route, and print how each went (docs/alerting.md).

The argument is a receiver's name, a route's ``name``, or labels as ``key=value[,key=value]``
(``severity=page``): the receivers the routes choose for an alert with those labels. Nothing
is queued or stored; the secrets are read from the environment as ``serve`` reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click
import httpx

from errorbudget.cli.common import config_option
from errorbudget.clock import utc_now
from errorbudget.config import load_config
from errorbudget.errors import ConfigError, DeliveryError
from errorbudget.notification_settings import NotificationSettings
from errorbudget.notify import notifiers_from_settings, sample_notification
from errorbudget.yamlsource import did_you_mean


def chosen_receivers(
    settings: NotificationSettings, target: str
) -> tuple[list[str], dict[str, str]]:
    """The receivers ``target`` names and the labels of the test alert sent to them."""
    names = [receiver.name for receiver in settings.receivers]
    if target in names:
        return [target], {}
    for route in settings.routes:
        if route.name == target:
            return list(dict.fromkeys(route.receivers)), dict(route.match)
    if "=" in target:
        labels = dict(pair.split("=", 1) for pair in target.split(",") if "=" in pair)
        return settings.route(labels), labels
    routes = [route.name for route in settings.routes if route.name]
    raise ConfigError(
        f"no receiver or route named {target!r}{did_you_mean(target, [*names, *routes])}"
        f" (receivers: {', '.join(names) or 'none'}"
        + (f"; routes: {', '.join(routes)}" if routes else "")
        + "; or give labels such as severity=page)"
    )


def send_tests(
    settings: NotificationSettings, target: str, environ: Mapping[str, str]
) -> list[tuple[str, str | None]]:
    """(receiver, None when delivered else the reason) for each receiver ``target`` names."""
    receivers, labels = chosen_receivers(settings, target)
    if not receivers:
        raise ConfigError(f"no route sends an alert with labels {labels} anywhere")
    at = utc_now()
    outcomes: list[tuple[str, str | None]] = []
    with httpx.Client() as client:
        notifiers = notifiers_from_settings(settings, environ, client)
        for name in receivers:
            notification = sample_notification(name, labels, at, settings.dashboard_url)
            try:
                notifiers[name].send(notification)
            except DeliveryError as exc:
                kind = "retryable" if exc.retryable else "permanent"
                outcomes.append((name, f"{exc} ({kind})"))
            else:
                outcomes.append((name, None))
    return outcomes


@click.command("test")
@click.argument("route_or_receiver")
@config_option
def test(route_or_receiver: str, config_path: Path | None) -> None:
    """Send a test notification to a receiver, or to every receiver of a route (its name, or
    labels such as severity=page), and print each outcome; exit 1 when any failed."""
    loaded = load_config(config_path)
    settings = loaded.config.notifications
    if settings is None or not settings.receivers:
        raise ConfigError(f"{loaded.path}: no notifications.receivers are configured")
    outcomes = send_tests(settings, route_or_receiver, os.environ)
    for name, reason in outcomes:
        kind = settings.receiver(name).type
        if reason is None:
            click.echo(f"{name} ({kind}): delivered")
        else:
            click.echo(f"{name} ({kind}): failed: {reason}")
    if any(reason is not None for _, reason in outcomes):
        raise click.exceptions.Exit(1)
