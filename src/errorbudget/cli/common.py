"""Options and helpers shared by the commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from errorbudget.durations import parse_duration

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    """``-c/--config FILE``, else ``$ERRORBUDGET_CONFIG``, else ``./errorbudget.yaml``."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="ERRORBUDGET_CONFIG",
        default=None,
        help="Config file [env ERRORBUDGET_CONFIG; default ./errorbudget.yaml].",
    )(func)


def format_option(*choices: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            "--format",
            "output_format",
            type=click.Choice(list(choices)),
            default=choices[0],
            show_default=True,
            help="Output format.",
        )(func)

    return decorate


class TimeParam(click.ParamType):
    """A moment: ``now``, RFC 3339 with a zone (``2026-11-01T10:00Z``), or ``-2h`` ago."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if text == "now":
            return datetime.now(tz=UTC)
        if text.startswith("-"):
            try:
                return datetime.now(tz=UTC) - parse_duration(text[1:])
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{text!r} is not a time (use e.g. 2026-11-01T10:00Z, now, -2h)", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{text!r} has no time zone (add Z or +01:00)", param, ctx)
        return moment


TIME = TimeParam()


def parse_segment(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("tier=vip", "queue=billing")`` → ``{"tier": "vip", "queue": "billing"}``."""
    segment = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--segment")
        segment[key.strip()] = value.strip()
    return segment


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
