"""``errorbudget gate``: may this change ship now?

The gate is judged at the App's clock (the real time, or the config's ``clock:``), and that
decision is recorded. ``--at TIME`` is a what-if — what would the gate have said then? —
that is labelled as such, never recorded, and never replaces a change's stored decision.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import cast

import click
from rich.console import Console

from errorbudget.app import current_user
from errorbudget.changes import ChangeReview
from errorbudget.cli.common import (
    config_option,
    echo_json,
    format_option,
    parse_segment,
    time_option,
)
from errorbudget.cli.status_command import WIDE, status_table
from errorbudget.cli.store_wait import open_app
from errorbudget.engine.policy import Risk
from errorbudget.gate import GateDecision
from errorbudget.schema.changes import ChangeOut, GateOut

DECISION_STYLE = {
    "allow": "bold green",
    "review": "bold yellow",
    "approval_required": "bold red",
    "blocked": "bold white on red",
}


def what_if_line(at: datetime) -> str:
    return (
        f"what-if at {at:%Y-%m-%d %H:%M} UTC: not the gate's decision now, not recorded "
        "(the gate and ship judge changes at the current time)"
    )


def render_decision(result: GateDecision, console: Console, what_if: bool = False) -> None:
    style = DECISION_STYLE[result.decision]
    if what_if:
        console.print(f"[bold]{what_if_line(result.at)}[/]")
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


def render_change(judged: ChangeReview, console: Console, what_if: bool = False) -> None:
    change = judged.change
    style = DECISION_STYLE[judged.effective]
    if what_if and judged.gate is not None:
        console.print(f"[bold]{what_if_line(judged.gate.at)}[/]")
    console.print(
        f"Change {change.id} [bold]{change.title}[/] ({change.service}, {change.change_type}, "
        f"{change.risk} risk), {change.status}: [{style}]{judged.effective.replace('_', ' ')}[/]"
        + ("  (advisory)" if judged.enforcement == "advisory" else "")
    )
    for line in judged.reasons:
        console.print(f"  - {line}")
    if judged.gate is not None:
        console.print(
            status_table(
                [v.status for v in judged.gate.verdicts], "Budget snapshot behind the decision"
            )
        )


def _judge_change(
    config_path: Path | None,
    change_id: int,
    actor: str,
    at: datetime | None,
    wait: float,
    poll: float,
    console: Console,
    output_format: str,
) -> ChangeReview:
    """Judge a change, and with ``wait`` keep judging it every ``poll`` seconds until the
    answer is final (allow or blocked) or the wait is over."""
    deadline = time.monotonic() + wait
    record = at is None  # a what-if is never recorded
    with open_app(config_path, "errorbudget gate") as app:
        judged = app.changes.judge(change_id, actor=actor, at=at, record=record)
        while not judged.final and judged.enforcement == "enforce":
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if output_format == "text":
                console.print(
                    f"waiting for change {change_id}: {judged.effective.replace('_', ' ')}; "
                    f"next check in {min(poll, left):.0f}s"
                )
            time.sleep(min(poll, left))
            judged = app.changes.judge(change_id, actor=actor, at=at, record=record)
    return judged


@click.command()
@config_option
@click.option("--service", default=None, help="The service the change touches (not with --change).")
@click.option(
    "--change",
    "change_id",
    type=int,
    default=None,
    metavar="ID",
    help="Judge a submitted change: its scope, and its approvals, from the store.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="With --change: poll until it is allowed or blocked, for at most this long.",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    default=10,
    show_default=True,
    metavar="SECONDS",
    help="With --wait: seconds between checks.",
)
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
@time_option(
    "--at",
    help="What-if: what the gate would say at TIME. Labelled, never recorded, never "
    "replaces a change's stored decision; not a release decision.",
)
@click.option("--author", default=None, help="Who asks [default: the OS user].")
@format_option("text", "json")
def gate(
    config_path: Path | None,
    service: str | None,
    change_id: int | None,
    wait: float,
    poll: float,
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
    12 blocked (1 error, 2 usage, 4 the store is busy, 5 the change's record fails
    verification). Under "advisory" the decision is printed and the exit code is 0. The
    gate is judged now, and every decision is recorded in the audit log; --at TIME is a
    what-if instead: printed as such with the decision it would have been, never recorded,
    and under "enforce" it exits 6 whatever that decision, so a pipeline step given --at
    fails instead of letting a change through.

    With --change ID, the change submitted through the API is judged now, with its
    approvals: review and approval required turn into allow once the approval it needs is
    there; a rejected or withdrawn change is blocked. --wait polls until then.
    """
    if change_id is not None:
        if service or slo_ids or segment_pairs:
            raise click.UsageError("--change reads the scope from the change: drop --service")
        if wait and at is not None:
            raise click.UsageError("--wait judges the change now: drop --at (a what-if)")
        console = Console(width=WIDE)
        judged = _judge_change(
            config_path, change_id, author or current_user(), at, wait, poll, console,
            output_format,
        )  # fmt: skip
        if output_format == "json":
            echo_json({**ChangeOut.of(judged).model_dump(mode="json"), **_what_if(at)})
        else:
            render_change(judged, console, what_if=at is not None)
        raise SystemExit(_exit_code(judged.exit_code, judged.enforcement, at))
    if service is None:
        raise click.UsageError("give --service (or --change ID)")
    if wait:
        raise click.UsageError("--wait needs --change")
    with open_app(config_path, "errorbudget gate") as app:
        result = app.gate.decide(
            service=service,
            slo_ids=list(slo_ids) or None,
            change_type=change_type,
            risk=cast(Risk, risk),
            segment=parse_segment(segment_pairs),
            actor=author or current_user(),
            at=at,
            record=at is None,
        )
    if output_format == "json":
        echo_json({**GateOut.of(result).model_dump(mode="json"), **_what_if(at)})
    else:
        render_decision(result, Console(width=WIDE), what_if=at is not None)
    raise SystemExit(_exit_code(result.exit_code, result.enforcement, at))


WHAT_IF_EXIT = 6
"""A what-if under enforcement: it decides nothing, so it never exits 0 (allow)."""


def _exit_code(decided: int, enforcement: str, at: datetime | None) -> int:
    """The decision's exit code, or :data:`WHAT_IF_EXIT` for a what-if under enforcement."""
    return WHAT_IF_EXIT if at is not None and enforcement == "enforce" else decided


def _what_if(at: datetime | None) -> dict[str, object]:
    """The JSON of a what-if says so, and that nothing was recorded."""
    return {} if at is None else {"what_if": True, "recorded": False}
