"""``errorbudget alerts``: the alert rules as commands. ``replay`` runs them over stored
history (docs/alerting.md "Replay"). Subcommands are added to :data:`alerts` as they come."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from errorbudget.app import App
from errorbudget.cli import alerts_test
from errorbudget.cli.common import config_option, echo_json, format_option, time_option
from errorbudget.durations import format_duration, parse_duration
from errorbudget.model import from_minute, segment_label, to_minute
from errorbudget.replay import Incident, Replay, replay

PROGRESS_FROM_SERIES = 20
"""Show a progress bar (on stderr) when replaying at least this many series."""


@click.group()
def alerts() -> None:
    """Alert rules and receivers: replay the rules over stored history, send a test
    notification."""


# ``alerts test``: its own module (it sends through the notifiers, not the rules)
alerts.add_command(alerts_test.test)


def _when(minute: int | None) -> str:
    return "–" if minute is None else from_minute(minute).strftime("%Y-%m-%d %H:%M")


def _minutes(value: int | None) -> str:
    return "–" if value is None else format_duration_minutes(value)


def format_duration_minutes(value: int) -> str:
    """``95`` → ``1h35m``; negative values keep their sign."""
    sign = "-" if value < 0 else ""
    hours, minutes = divmod(abs(value), 60)
    return f"{sign}{hours}h{minutes:02d}m" if hours else f"{sign}{minutes}m"


def _incident_json(incident: Incident) -> dict[str, object]:
    return {
        "alertname": incident.alertname,
        "slo": incident.slo,
        "segment": dict(incident.segment),
        "severity": incident.severity,
        "rule": incident.rule or None,
        "active_since": from_minute(incident.active_since).isoformat(),
        "fired_at": from_minute(incident.fired_at).isoformat(),
        "resolved_at": None
        if incident.resolved_at is None
        else from_minute(incident.resolved_at).isoformat(),
        "detection_minutes": incident.detection_minutes,
        "reset_minutes": incident.reset_minutes,
        "inhibited": incident.inhibited,
        "notifications": incident.notifications,
    }


def replay_json(found: Replay) -> dict[str, object]:
    """The replay as JSON: incidents, notifications per week, the threshold comparison."""

    def weeks(threshold: bool) -> dict[str, int]:
        per_week = found.notifications_per_week(threshold)
        return {from_minute(week).date().isoformat(): count for week, count in per_week.items()}

    return {
        "from": from_minute(found.start).isoformat(),
        "to": from_minute(found.end).isoformat(),
        "step_minutes": found.step,
        "series": found.series,
        "incidents": [_incident_json(i) for i in found.incidents],
        "notifications": sum(i.notifications for i in found.incidents),
        "notifications_per_week": weeks(False),
        "threshold_alert": {
            "rule": "SLI over 5 minutes below target",
            "incidents": len(found.threshold_incidents),
            "notifications": sum(i.notifications for i in found.threshold_incidents),
            "notifications_per_week": weeks(True),
        },
    }


def render_replay(found: Replay, console: Console) -> None:
    table = Table(title="Incidents", title_justify="left", header_style="bold")
    for name in (
        "alert", "SLO", "segment", "severity", "fired", "resolved", "detection", "reset",
        "inhibited",
    ):  # fmt: skip
        table.add_column(name, no_wrap=name not in ("alert", "segment"))
    for incident in found.incidents:
        alert = incident.alertname + (f" ({incident.rule})" if incident.rule else "")
        table.add_row(
            alert,
            incident.slo,
            segment_label(incident.segment),
            incident.severity,
            _when(incident.fired_at),
            _when(incident.resolved_at),
            _minutes(incident.detection_minutes),
            _minutes(incident.reset_minutes),
            "yes" if incident.inhibited else "no",
        )
    console.print(table)
    weeks = Table(title="Notifications per week", title_justify="left", header_style="bold")
    weeks.add_column("week of")
    weeks.add_column("errorbudget rules", justify="right")
    weeks.add_column("threshold alert (SLI 5m < target)", justify="right")
    ours, theirs = found.notifications_per_week(), found.notifications_per_week(True)
    for week in sorted({*ours, *theirs}):
        weeks.add_row(
            from_minute(week).date().isoformat(), str(ours.get(week, 0)), str(theirs.get(week, 0))
        )
    weeks.add_row(
        "total",
        str(sum(i.notifications for i in found.incidents)),
        str(sum(i.notifications for i in found.threshold_incidents)),
        style="bold",
    )
    console.print(weeks)


@alerts.command("replay")
@config_option
@time_option("--from", "start", required=True, help="Replay from TIME.")
@time_option("--to", "end", help="Replay up to TIME (default now).")
@click.option("--slo", "slo_ids", multiple=True, help="Only this SLO (repeatable).")
@click.option("--step", default="1m", show_default=True, help="Evaluate every STEP.")
@format_option("table", "json")
def replay_command(
    config_path: Path,
    start: datetime,
    end: datetime | None,
    slo_ids: tuple[str, ...],
    step: str,
    output_format: str,
) -> None:
    """Run the alert rules over stored history at every STEP from --from to --to: what would
    have fired, when it would have resolved, detection and reset time per incident,
    notifications per week, and what a single-window threshold alert (SLI over 5 minutes
    below target) sends on the same data.

    Uses the evaluator of every status at each instant, so replay and live alerting never
    disagree. Timeslice SLOs are left out.
    """
    try:
        step_minutes = parse_duration(step).total_seconds() / 60
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--step") from exc
    if step_minutes < 1 or step_minutes != int(step_minutes):
        raise click.BadParameter("a whole number of minutes, at least 1m", param_hint="--step")
    with App.open(config_path) as app:
        until = end or app.clock()
        if until <= start:
            raise click.BadParameter("--to must be after --from", param_hint="--to")
        loaded = app.loaded
        chosen = [loaded.slo(s) for s in slo_ids] if slo_ids else list(loaded.config.slos)
        slos = [
            (
                slo,
                loaded.catalog(slo.alerting.catalog),
                loaded.policy(slo.policy),
                loaded.eligibility(slo),
            )
            for slo in chosen
        ]
        count = sum(len(app.store.list_series(slo.id)) for slo in chosen)
        args = (app.store, slos, to_minute(start), to_minute(until), int(step_minutes))
        if count >= PROGRESS_FROM_SERIES:
            columns = (
                TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TextColumn("series"),
                TimeRemainingColumn(),
            )  # fmt: skip
            with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("replay", total=count)
                found = replay(*args, progress=lambda n: bar.advance(task, n))
        else:
            found = replay(*args)
    if output_format == "json":
        echo_json(replay_json(found))
        return
    console = Console(width=max(Console().width, 140))
    console.print(
        f"Replay {_when(found.start)} → {_when(found.end)} UTC every "
        f"{format_duration(parse_duration(step))}: {found.series} series"
    )
    render_replay(found, console)
