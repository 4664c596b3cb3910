"""``errorbudget exclusions propose|list|revoke``: auditable exclusions from budget counting.

The CLI acts as a local actor (``--author``, default the OS user), as ``gate`` does: it
proposes and revokes. Approving needs an authenticated approver, so it is done through
the API or the dashboard (``POST /api/v1/exclusions/{id}/approve``), never by a name typed
here (docs/operations.md, "The audit trail").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import get_args

import click
from rich.console import Console
from rich.table import Table

from errorbudget.app import App, current_user
from errorbudget.cli.common import (
    config_option,
    echo_json,
    format_option,
    parse_segment,
    time_option,
)
from errorbudget.cli.store_wait import open_app
from errorbudget.exclusions import ExclusionProposal
from errorbudget.model import Exclusion, ExclusionCategory, from_minute
from errorbudget.schema.records import ExclusionOut

CATEGORIES: tuple[str, ...] = get_args(ExclusionCategory)


def _author(value: str | None) -> str:
    return value or current_user()


@click.group()
def exclusions() -> None:
    """Exclude events from budget counting, with who, when and why (raw counts stay)."""


@exclusions.command("propose")
@config_option
@click.option("--slo", required=True, help="SLO id, or '*' for every SLO (of --service).")
@click.option("--service", default=None, help="With --slo '*': only this service's SLOs.")
@time_option("--start", required=True, help="Start (inclusive).")
@time_option("--end", required=True, help="End (exclusive).")
@click.option("--category", type=click.Choice(CATEGORIES), required=True)
@click.option("--reason", required=True, help="Why these events do not count.")
@click.option(
    "--segment",
    "segment_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only series with this segment label (repeatable).",
)
@click.option("--author", default=None, help="Who proposes it [default: the OS user].")
@format_option("text", "json")
def propose(
    config_path: Path | None,
    slo: str,
    service: str | None,
    start: datetime,
    end: datetime,
    category: str,
    reason: str,
    segment_pairs: tuple[str, ...],
    author: str | None,
    output_format: str,
) -> None:
    """Propose an exclusion. It is pending, and counts in no budget, until someone else
    with the approver role approves it through the API or the dashboard
    (POST /api/v1/exclusions/ID/approve). It can be revoked."""
    with open_app(config_path, "errorbudget exclusions propose") as app:
        exclusion = app.records.propose_exclusion(
            ExclusionProposal(
                slo=slo,
                start=start,
                end=end,
                category=category,
                reason=reason,
                proposed_by=_author(author),
                segment=parse_segment(segment_pairs),
                service=service,
            )
        )
        matched = len(app.records.matching_series(exclusion))
    if not matched:
        click.echo(
            f"warning: no stored series matches exclusion {exclusion.id} yet; it applies to "
            "matching data when it arrives",
            err=True,
        )
    if output_format == "json":
        echo_json(ExclusionOut.of(exclusion).model_dump(mode="json"))
    else:
        click.echo(
            f"exclusion {exclusion.id} proposed by {exclusion.created_by} for {exclusion.slo} "
            f"({matched} series): pending, it counts once an approver approves it "
            f"(POST /api/v1/exclusions/{exclusion.id}/approve)"
        )


@exclusions.command("list")
@config_option
@click.option(
    "--all", "include_revoked", is_flag=True, help="Include rejected and revoked exclusions."
)
@format_option("table", "json")
def list_(config_path: Path | None, include_revoked: bool, output_format: str) -> None:
    """List exclusions (pending and approved ones unless --all), with who proposed and who
    approved each; only approved ones count."""
    with App.open(config_path) as app:
        found = app.store.list_exclusions(include_revoked=include_revoked)
    if output_format == "json":
        echo_json([ExclusionOut.of(e).model_dump(mode="json") for e in found])
        return
    Console(width=180).print(_table(found))


def _approval(e: Exclusion) -> str:
    if e.problem is not None:
        return f"FAILS VERIFICATION, not counted: {e.problem}"
    if e.legacy:
        return f"legacy: approver typed as {e.legacy_approver or '–'} (not verified)"
    if e.status == "rejected":
        return f"rejected by {e.reviewed_by}"
    return e.approved_by or "–"


def _table(found: list[Exclusion]) -> Table:
    table = Table(header_style="bold")
    for name in (
        "id",
        "slo",
        "segment",
        "start",
        "end",
        "category",
        "reason",
        "status",
        "proposed by",
        "approved by",
        "revoked",
    ):
        table.add_column(name)
    for e in found:
        table.add_row(
            str(e.id),
            e.slo,
            ",".join(f"{k}={v}" for k, v in e.segment.items()) or "(all)",
            from_minute(e.start).strftime("%Y-%m-%d %H:%M"),
            from_minute(e.end).strftime("%Y-%m-%d %H:%M"),
            e.category,
            e.reason,
            e.status + ("" if e.counted or e.status != "approved" else " (not counted)"),
            e.created_by,
            _approval(e),
            f"{e.revoked_at:%Y-%m-%d %H:%M} by {e.revoked_by}" if e.revoked_at else "–",
        )
    return table


@exclusions.command("revoke")
@config_option
@click.argument("exclusion_id", type=int)
@click.option("--author", default=None, help="Who revokes it [default: the OS user].")
@click.option("--reason", default="", help="Why.")
def revoke(config_path: Path | None, exclusion_id: int, author: str | None, reason: str) -> None:
    """Revoke an exclusion: a pending one is withdrawn; an approved one's events count
    against the budget again."""
    with open_app(config_path, "errorbudget exclusions revoke") as app:
        app.records.revoke_exclusion(exclusion_id, revoked_by=_author(author), reason=reason)
    click.echo(f"exclusion {exclusion_id} revoked")
