"""The root ``errorbudget`` command group, and how errors become exit codes.

Exit codes: 0 success; 1 an error (one sentence on stderr, plus where); 2 usage; 3 the server
(``serve``, ``demo``) cannot listen on its port; 4 another process held the store's write
lock for longer than the command waits; 5 a record fails verification against the audit
chain; the gate adds 10 (review), 11 (approval required) and 12 (blocked), and 6 for a
what-if (``gate --at``) under enforcement; 7 ``db current``: the store's schema needs
``db upgrade``.

Commands load lazily: :data:`COMMANDS` names the module of each, and only the module of the
command being run is imported (``errorbudget status`` never imports the web server, the
Genesys client or pyarrow). ``errorbudget --help`` lists :data:`COMMANDS`' one-line helps
without importing any; a test checks they equal the commands' own.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import click

from errorbudget import __version__
from errorbudget.errors import ConfigValidationError, ErrorBudgetError, IngestError, OpenSLOError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

COMMANDS: dict[str, tuple[str, str]] = {
    "alerts": (
        "errorbudget.cli.alerts",
        "Alert rules and receivers: replay the rules over stored history, send a test\n"
        "notification.",
    ),
    "audit": (
        "errorbudget.cli.audit_command",
        "The audit trail: every decision, approval and record change, in a hash chain.",
    ),
    "backtest": (
        "errorbudget.cli.backtest_command",
        "Backtest an SLO's targets over stored history: SLI per day and week, budget left per "
        "period, the alerts each target would have raised, and a proposed target.",
    ),
    "collect": (
        "errorbudget.cli.collect_command",
        "Fetch counts from a source that collects (Genesys Cloud, a plugin) into the store.",
    ),
    "db": (
        "errorbudget.cli.db_command",
        "The store's database: schema version and upgrades, on SQLite or PostgreSQL.",
    ),
    "demo": (
        "errorbudget.cli.demo_command",
        "Simulate a contact center (queues, staffing, abandonment, IVR flows, incidents), serve "
        "it through a fake Genesys Cloud API on 127.0.0.1, backfill 30 days with the real "
        "collector, annotate its incidents, submit a few changes, and show the budgets of the "
        "seed SLIs (Voice SLA per tier, Digital SLA, IVR completion, API availability), a "
        "release-gate decision and the commands to explore the demo's config. Beside it, a "
        "simulated voice agent's month of events with seed 002's starter-kit SLOs.",
    ),
    "exporter": (
        "errorbudget.cli.exporter_command",
        "Serve /metrics only: the Genesys queue families (polled on their own cadence) and the "
        "SLO families, with TLS and basic or bearer authentication for scrapes.",
    ),
    "exclusions": (
        "errorbudget.cli.exclusions_command",
        "Exclude events from budget counting, with who, when and why (raw counts stay).",
    ),
    "export": (
        "errorbudget.cli.export_command",
        "Stored data in the formats other tools import (Prometheus, VictoriaMetrics).",
    ),
    "gate": (
        "errorbudget.cli.gate_command",
        "Decide whether a change may ship, from the budgets of the SLOs it touches.",
    ),
    "generate": (
        "errorbudget.cli.generate_command",
        "Generate Prometheus or vmalert rules, Alertmanager config and a Grafana dashboard.",
    ),
    "init": (
        "errorbudget.cli.init_command",
        "Write a starter config file (the voice-agent SLO starter kit of seed 002).",
    ),
    "ingest": (
        "errorbudget.cli.ingest_command",
        "Load count files (CSV with a header row, or NDJSON) into the store.",
    ),
    "openslo": (
        "errorbudget.cli.config_commands",
        "Import OpenSLO v1 documents, or export the config as OpenSLO v1.",
    ),
    "serve": (
        "errorbudget.cli.serve_command",
        "Run the dashboard (/), the HTTP API (/api/v1, OpenAPI at /docs), /metrics, /healthz, "
        "/readyz and the configured collectors on their schedules, in one process.",
    ),
    "simulate": (
        "errorbudget.cli.simulate_command",
        "Simulate a contact center (queues, IVR flows, staffing, incidents) or a voice agent\n"
        "(calls, turns, tasks, escalations, synthetic checks).",
    ),
    "status": (
        "errorbudget.cli.status_command",
        "Budget, burn rates, forecast and policy state of every series.",
    ),
    "validate": (
        "errorbudget.cli.config_commands",
        "Check a config file and report every problem at once, as FILE:LINE:COL: MESSAGE.",
    ),
}
"""Command name → (its module, which defines a click command of that name; its one-line help
as ``errorbudget --help`` shows it)."""


def listed(name: str) -> click.Command:
    """A stand-in for command ``name`` that has only its listed help (to shorten it the way
    click shortens a command's own)."""
    return click.Command(name, help=COMMANDS[name][1])


class Group(click.Group):
    """The root group: loads a command's module when the command is asked for, and turns any
    ErrorBudgetError into one clear sentence and its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = import_module(COMMANDS[cmd_name][0])
            command = getattr(module, cmd_name)
            if not isinstance(command, click.Command):
                raise TypeError(f"{COMMANDS[cmd_name][0]}.{cmd_name} is not a click command")
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, importing nothing."""
        names = sorted(COMMANDS)
        limit = formatter.width - 6 - max(len(name) for name in names)  # as click's own
        rows = [(name, listed(name).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ErrorBudgetError as exc:
            problems = getattr(exc, "problems", [])
            if isinstance(exc, ConfigValidationError | IngestError | OpenSLOError) and problems:
                for problem in problems:
                    click.echo(str(problem), err=True)
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="errorbudget")
def main() -> None:
    """errorbudget: SLOs, error budgets, burn-rate alerts and release gates."""
