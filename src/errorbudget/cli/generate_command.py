"""``errorbudget generate``: the documents other tools consume, generated from the config.

Each subcommand lives in its own module, imported only when it runs (so ``generate --help``
imports no generator and no SDK): :data:`SUBCOMMANDS` names it with its one-line help.
"""

from __future__ import annotations

from importlib import import_module

import click

from errorbudget.cli.main import CONTEXT

SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "grafana-dashboard": (
        "errorbudget.cli.generate_grafana",
        "grafana_dashboard",
        "A Grafana dashboard (JSON) of the config's SLOs and the Genesys queues.",
    ),
}
"""Subcommand → (its module, the click command's attribute, its one-line help)."""


class LazyGroup(click.Group):
    """Loads a subcommand's module when the subcommand is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*SUBCOMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in SUBCOMMANDS:
            module, attribute, _ = SUBCOMMANDS[cmd_name]
            command = getattr(import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module}.{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The subcommand list from :data:`SUBCOMMANDS`, importing nothing."""
        with formatter.section("Commands"):
            formatter.write_dl(
                [(name, help_) for name, (_, _, help_) in sorted(SUBCOMMANDS.items())]
            )


@click.group("generate", cls=LazyGroup, context_settings=CONTEXT)
def generate() -> None:
    """Generate what other tools consume from the config: a Grafana dashboard."""
