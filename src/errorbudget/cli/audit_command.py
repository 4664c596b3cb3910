"""``errorbudget audit verify|log``: the chained audit trail, checked and read."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from errorbudget import audit as audit_trail
from errorbudget.app import App
from errorbudget.audit import MAX_AUDIT_PAGE, AuditQuery, ChainCheck
from errorbudget.cli.common import config_option, echo_json, format_option, time_option
from errorbudget.errors import IntegrityError, InvalidRequestError
from errorbudget.schema.audit import AuditLogOut, ChainOut

BROKEN_EXIT = IntegrityError.exit_code
"""Exit code when the chain does not verify (the one an IntegrityError gets)."""


@click.group()
def audit() -> None:
    """The audit trail: every decision, approval and record change, in a hash chain."""


def _anchor(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int, str] | None:
    if value is None:
        return None
    try:
        return audit_trail.parse_anchor(value)
    except InvalidRequestError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


@audit.command("verify")
@config_option
@click.option(
    "--anchor",
    metavar="ID:HASH",
    callback=_anchor,
    help="An entry id and hash kept outside the store (a head printed earlier): it must "
    "still be in the chain with that hash, or history up to it was rewritten.",
)
@format_option("text", "json")
def verify(config_path: Path | None, anchor: tuple[int, str] | None, output_format: str) -> None:
    """Walk the whole audit chain and every chained record (changes, approvals, exclusions,
    gate snapshots, annotations) and name the first broken entry.

    Exit 0 when everything verifies, 5 when something does not (1 when the store cannot be
    read). Prints the head (last entry id and hash): keep it somewhere else and pass it as
    --anchor later to prove that nothing up to it was rewritten.
    """
    with App.open(config_path) as app:
        report = app.store.verify_chain(anchor)
    check = ChainCheck.from_report(report)
    if output_format == "json":
        echo_json({**ChainOut.of(check).model_dump(mode="json"), "records": report.records})
    else:
        rows = ", ".join(f"{count:,} {table}" for table, count in report.records.items())
        state = "verified" if report.ok else f"BROKEN ({len(report.problems)} problems)"
        click.echo(
            f"audit chain {state}: {report.entries:,} entries and {rows} checked in "
            f"{report.seconds:.2f} s"
        )
        if report.first is not None:
            click.echo(f"first broken: {report.first}")
            for problem in report.problems[1:20]:
                click.echo(f"  then: {problem}")
            if len(report.problems) > 20:
                click.echo(f"  … and {len(report.problems) - 20} more (--format json lists all)")
        if report.head_id is not None:
            click.echo(f"head: {report.head_id}:{report.head_hash}")
    raise SystemExit(0 if report.ok else BROKEN_EXIT)


@audit.command("log")
@config_option
@click.option("--actor", default=None, help="Only this actor's entries.")
@click.option(
    "--action",
    default=None,
    help="Only this action (change.approve), or a prefix ending in * (change.*).",
)
@click.option("--subject", default=None, help="Only entries about this (change:3, exclusion:2).")
@time_option("--since", help="Entries at or after TIME.")
@time_option("--until", help="Entries before TIME.")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_AUDIT_PAGE),
    default=50,
    show_default=True,
    help="At most this many entries (newest first).",
)
@click.option(
    "--before", type=click.IntRange(min=1), default=None, metavar="ID",
    help="Entries older than this id (the next page).",
)  # fmt: skip
@click.option(
    "--verify",
    "scope",
    type=click.Choice(["listed", "full"]),
    default="listed",
    show_default=True,
    help="Verify the listed entries, or the whole chain and its records (as audit verify).",
)
@format_option("table", "json")
def log(
    config_path: Path | None,
    actor: str | None,
    action: str | None,
    subject: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    before: int | None,
    scope: str,
    output_format: str,
) -> None:
    """Read the audit log, newest first, filtered; says whether the chain verifies (exit 5
    when it does not)."""
    prefix = action[:-1] if action is not None and action.endswith("*") else None
    query = AuditQuery(
        limit=limit,
        actor=actor,
        action=None if prefix is not None else action,
        action_prefix=prefix,
        subject=subject,
        since=since,
        until=until,
        before=before,
    )
    with App.open(config_path) as app:
        page = audit_trail.read_log(app, query, scope="full" if scope == "full" else "listed")
    if output_format == "json":
        echo_json(AuditLogOut.of(page).model_dump(mode="json"))
    else:
        console = Console(width=180)
        table = Table(header_style="bold")
        for name in ("id", "at", "actor", "action", "subject", "details", "chain"):
            table.add_column(name, overflow="fold")
        for entry in page.entries:
            problem = page.problems.get(entry.id)
            details = ", ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))
            table.add_row(
                str(entry.id),
                f"{entry.at:%Y-%m-%d %H:%M:%S}",
                entry.actor,
                entry.action,
                entry.subject,
                details if len(details) <= 100 else details[:99] + "…",
                "ok" if problem is None else f"BROKEN: {problem}",
            )
        console.print(table)
        check = page.chain
        what = (
            f"the {check.checked_entries} listed entries"
            if check.scope == "listed"
            else f"the whole chain ({check.checked_entries:,} entries and its records)"
        )
        if check.verified:
            click.echo(f"chain verified over {what}; head {check.head_id}:{check.head_hash}")
        else:
            click.echo(f"chain BROKEN over {what}: first: {check.problems[0]}")
        if page.next_before is not None:
            click.echo(f"older entries: --before {page.next_before}")
    raise SystemExit(0 if page.chain.verified else BROKEN_EXIT)
