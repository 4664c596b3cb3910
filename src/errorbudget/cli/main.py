"""The root ``errorbudget`` command group, and how errors become exit codes.

Exit codes: 0 success; 1 an error (one sentence on stderr, plus where); 2 usage; 3 the server
(``serve``, ``demo``) cannot listen on its port; 4 a record fails verification against the
audit chain (``audit verify``, ``audit log``, or a command refusing a tampered record); the
gate adds 10 (review), 11 (approval required) and 12 (blocked).
"""

from __future__ import annotations

from typing import Any

import click

from errorbudget import __version__
from errorbudget.errors import ConfigValidationError, ErrorBudgetError, IngestError, OpenSLOError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Group(click.Group):
    """A click group that turns any ErrorBudgetError into one clear sentence and exit 1."""

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


def _register_commands() -> None:
    # Built-in commands register the way a plugin's would: each module adds its own.
    from errorbudget.cli import (
        audit_command,
        collect_command,
        config_commands,
        demo_command,
        exclusions_command,
        gate_command,
        ingest_command,
        serve_command,
        simulate_command,
        status_command,
    )

    for module in (
        config_commands,
        ingest_command,
        status_command,
        exclusions_command,
        gate_command,
        demo_command,
        collect_command,
        serve_command,
        simulate_command,
        audit_command,
    ):
        module.register(main)


_register_commands()
