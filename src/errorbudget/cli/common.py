"""Options and helpers shared by the commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar

import click

from errorbudget.durations import parse_duration
from errorbudget.limits import time_problem

F = TypeVar("F", bound=Callable[..., Any])


class LazyGroup(click.Group):
    """A command group whose subcommands load their module when asked for:
    ``subcommands`` maps a name to (its module, the click command's attribute there), so
    one subcommand's imports never slow another (``click.group(cls=LazyGroup,
    subcommands=…)``)."""

    def __init__(
        self, *args: Any, subcommands: Mapping[str, tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.subcommands = subcommands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.subcommands, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.subcommands:
            module, attribute = self.subcommands[cmd_name]
            command = getattr(import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module}.{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


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


def parse_time(text: str) -> datetime:
    """``now``, RFC 3339 with a zone (``2026-11-01T10:00Z``), or ``-2h`` (that long ago)."""
    text = text.strip()
    if text == "now":
        return datetime.now(tz=UTC)
    if text.startswith("-"):
        return datetime.now(tz=UTC) - parse_duration(text[1:])  # at most 3660d: in range
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time (use e.g. 2026-11-01T10:00Z, now, -2h)") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z or +01:00)")
    problem = time_problem(moment)
    if problem is not None:
        raise ValueError(problem)
    return moment


def _time_callback(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def time_option(*names: str, required: bool = False, help: str) -> Callable[[F], F]:
    """An option holding a moment (see :func:`parse_time`)."""

    def decorate(func: F) -> F:
        return click.option(
            *names, metavar="TIME", required=required, callback=_time_callback, help=help
        )(func)

    return decorate


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
