"""``errorbudget exclusions add|list|revoke``: auditable exclusions from budget counting."""

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
from errorbudget.model import Exclusion, ExclusionCategory, from_minute
from errorbudget.report import exclusion_to_dict

CATEGORIES: tuple[str, ...] = get_args(ExclusionCategory)


def _author(value: str | None) -> str:
    return value or current_user()


@click.group()
def exclusions() -> None:
    """Exclude events from budget counting, with who, when and why (raw counts stay)."""


@exclusions.command("add")
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
@click.option("--author", default=None, help="Who records it [default: the OS user].")
@click.option("--approved-by", default=None, help="Who approved it.")
@format_option("text", "json")
def add(
    config_path: Path | None,
    slo: str,
    service: str | None,
    start: datetime,
    end: datetime,
    category: str,
    reason: str,
    segment_pairs: tuple[str, ...],
    author: str | None,
    approved_by: str | None,
    output_format: str,
) -> None:
    """Record an exclusion; it applies at the next evaluation and can be revoked."""
    with open_app(config_path, "errorbudget exclusions add") as app:
        exclusion = app.add_exclusion(
            slo=slo,
            start=start,
            end=end,
            category=category,
            reason=reason,
            created_by=_author(author),
            approved_by=approved_by,
            segment=parse_segment(segment_pairs),
            service=service,
        )
        matched = len(app.matching_series(exclusion))
    if not matched:
        click.echo(
            f"warning: no stored series matches exclusion {exclusion.id} yet; it applies to "
            "matching data when it arrives",
            err=True,
        )
    if output_format == "json":
        echo_json(exclusion_to_dict(exclusion))
    else:
        click.echo(f"exclusion {exclusion.id} recorded for {exclusion.slo} ({matched} series)")


@exclusions.command("list")
@config_option
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked exclusions.")
@format_option("table", "json")
def list_(config_path: Path | None, include_revoked: bool, output_format: str) -> None:
    """List exclusions (active ones unless --all)."""
    with App.open(config_path) as app:
        found = app.store.list_exclusions(include_revoked=include_revoked)
    if output_format == "json":
        echo_json([exclusion_to_dict(e) for e in found])
        return
    Console(width=160).print(_table(found))


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
        "by",
        "approved",
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
            e.created_by,
            e.approved_by or "–",
            e.revoked_at.strftime("%Y-%m-%d %H:%M") if e.revoked_at else "–",
        )
    return table


@exclusions.command("revoke")
@config_option
@click.argument("exclusion_id", type=int)
@click.option("--author", default=None, help="Who revokes it [default: the OS user].")
@click.option("--reason", default="", help="Why.")
def revoke(config_path: Path | None, exclusion_id: int, author: str | None, reason: str) -> None:
    """Revoke an exclusion: its events count against the budget again."""
    with open_app(config_path, "errorbudget exclusions revoke") as app:
        app.store.revoke_exclusion(exclusion_id, revoked_by=_author(author), reason=reason)
    click.echo(f"exclusion {exclusion_id} revoked")


def register(group: click.Group) -> None:
    group.add_command(exclusions)
