"""``errorbudget gate``: may this change ship now?"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import cast

import click
from rich.console import Console

from errorbudget.app import App, current_user
from errorbudget.cli.common import (
    config_option,
    echo_json,
    format_option,
    parse_segment,
    time_option,
)
from errorbudget.cli.status_command import WIDE, status_table
from errorbudget.engine.policy import Risk
from errorbudget.gate import GateDecision, decide
from errorbudget.report import gate_to_dict

DECISION_STYLE = {
    "allow": "bold green",
    "review": "bold yellow",
    "approval_required": "bold red",
    "blocked": "bold white on red",
}


def render_decision(result: GateDecision, console: Console) -> None:
    style = DECISION_STYLE[result.decision]
    console.print(
        f"Gate for [bold]{result.service}[/] ({result.change_type}, {result.risk} risk): "
        f"[{style}]{result.decision.replace('_', ' ')}[/]"
        + ("  (advisory)" if result.enforcement == "advisory" else "")
    )
    for line in result.reasons:
        console.print(f"  - {line}")
    console.print(
        status_table([v.status for v in result.verdicts], "Budget snapshot behind the decision")
    )


@click.command()
@config_option
@click.option("--service", required=True, help="The service the change touches.")
@click.option("--slo", "slo_ids", multiple=True, help="Narrow to these SLOs (repeatable).")
@click.option(
    "--segment",
    "segment_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Narrow to series with this label, e.g. flow=spanish-billing.",
)
@click.option(
    "--type",
    "change_type",
    default="feature",
    show_default=True,
    help="Change type (feature, config, flow, prompt, model, incident-fix, …).",
)
@click.option(
    "--risk", type=click.Choice(["low", "medium", "high"]), default="medium", show_default=True
)
@time_option("--at", help="Decide at TIME instead of now.")
@click.option("--author", default=None, help="Who asks [default: the OS user].")
@format_option("text", "json")
def gate(
    config_path: Path | None,
    service: str,
    slo_ids: tuple[str, ...],
    segment_pairs: tuple[str, ...],
    change_type: str,
    risk: str,
    at: datetime | None,
    author: str | None,
    output_format: str,
) -> None:
    """Decide whether a change may ship, from the budgets of the SLOs it touches.

    Exit codes under enforcement "enforce": 0 allow, 10 review, 11 approval required,
    12 blocked (1 error, 2 usage). Under "advisory" the decision is printed and the exit
    code is 0. Every decision is recorded in the audit log.
    """
    with App.open(config_path) as app:
        result = decide(
            app,
            service=service,
            slo_ids=list(slo_ids) or None,
            change_type=change_type,
            risk=cast(Risk, risk),
            segment=parse_segment(segment_pairs),
            actor=author or current_user(),
            at=at,
        )
    if output_format == "json":
        echo_json(gate_to_dict(result))
    else:
        render_decision(result, Console(width=WIDE))
    raise SystemExit(result.exit_code)


def register(group: click.Group) -> None:
    group.add_command(gate)
