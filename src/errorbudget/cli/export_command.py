"""``errorbudget export``: stored data in the formats other tools import.

``export openmetrics`` writes the SLO event counters ``/metrics`` exports
(``errorbudget_slo_{good,bad,excluded}_events_total``) at every step of a past range, with
timestamps, for ``promtool tsdb create-blocks-from openmetrics`` (or, with
``--timestamp-unit ms``, VictoriaMetrics' ``/api/v1/import/prometheus``): a team that adopts
the generated recording rules gets their history (docs/metrics.md "Backfilling").
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import click

from errorbudget.app import App
from errorbudget.cli.common import config_option, time_option
from errorbudget.durations import parse_duration
from errorbudget.exporter import write_counter_history
from errorbudget.model import to_minute
from errorbudget.services.slo_counters import counter_totals

MAX_SAMPLES_PER_SERIES = 1_000_000
"""Moments per series one export writes at most (30 days at a 3-s step): beyond, a step
that fine is a mistake, and the values would not fit in memory for many series."""


def moments_between(start: datetime, end: datetime, step: timedelta) -> list[int]:
    """Unix seconds from ``start`` to ``end`` (both included, ``start`` rounded up to a
    whole second) every ``step``."""
    seconds = int(step.total_seconds())
    first = int(-(-start.timestamp() // 1))
    last = int(end.timestamp() // 1)
    return list(range(first, last + 1, seconds))


@click.group()
def export() -> None:
    """Stored data in the formats other tools import (Prometheus, VictoriaMetrics)."""


@export.command("openmetrics")
@config_option
@time_option("--from", "start", required=True, help="First moment.")
@time_option("--to", "end", required=True, help="Last moment (included).")
@time_option(
    "--anchor",
    help="Where the counters count from (0 there) [default: --from]; give a running "
    "exporter's errorbudget_slo_counters_anchor_timestamp_seconds to fill a gap in its "
    "history seamlessly.",
)
@click.option(
    "--step",
    default="60s",
    show_default=True,
    help="Time between samples (whole seconds); under a minute (e.g. 15s), so that a "
    "rule's window holds a sample of its first minute (docs/metrics.md).",
)
@click.option("--slo", "slo_ids", multiple=True, help="Only this SLO (repeatable).")
@click.option(
    "--timestamp-unit",
    type=click.Choice(["s", "ms"]),
    default="s",
    show_default=True,
    help="s: OpenMetrics for promtool; ms: Prometheus text for VictoriaMetrics' import.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of stdout.",
)
def openmetrics(
    config_path: Path | None,
    start: datetime,
    end: datetime,
    anchor: datetime | None,
    step: str,
    slo_ids: tuple[str, ...],
    timestamp_unit: str,
    output: Path | None,
) -> None:
    """The SLO event counters of /metrics at every step of a past range, with timestamps.

    Each sample is what the live counter reports at that moment for the data as stored,
    the counters anchored at --anchor (default --from; 0 there): good and bad eligible
    events and excluded events in the stored minutes from the anchor to the minute
    containing the moment.
    Backfill it with `promtool tsdb create-blocks-from openmetrics FILE DATA_DIR` (the
    default) or POST it, with --timestamp-unit ms, to VictoriaMetrics'
    /api/v1/import/prometheus. End the range at the live exporter's anchor
    (errorbudget_slo_counters_anchor_timestamp_seconds): there the live counters start
    again from 0, which Prometheus reads as a counter reset.
    """
    try:
        every = parse_duration(step)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--step") from exc
    if every.total_seconds() < 1 or every.total_seconds() % 1:
        raise click.BadParameter("the step is a whole number of seconds", param_hint="--step")
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if anchor is not None and anchor > start:
        raise click.BadParameter("the anchor is after --from", param_hint="--anchor")
    moments = moments_between(start, end, every)
    if len(moments) > MAX_SAMPLES_PER_SERIES:
        raise click.BadParameter(
            f"{len(moments):,} samples per series (at most {MAX_SAMPLES_PER_SERIES:,}): "
            "choose a longer --step or a shorter range",
            param_hint="--step",
        )
    with App.open(config_path) as app:
        minutes = sorted({moment // 60 for moment in moments})
        totals = counter_totals(
            app.evaluations, to_minute(anchor or start), minutes, list(slo_ids) or None
        )
    milliseconds = timestamp_unit == "ms"
    if output is None:
        write_counter_history(totals, moments, sys.stdout, milliseconds=milliseconds)
        return
    with output.open("w", encoding="utf-8") as out:
        count = write_counter_history(totals, moments, out, milliseconds=milliseconds)
    click.echo(f"{count:,} samples of {len(totals.series)} series written to {output}", err=True)
