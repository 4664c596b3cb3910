"""``errorbudget simulate voice-agent``: simulated voice-agent events into a file."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from errorbudget.cli.common import time_option
from errorbudget.errors import InvalidRequestError

if TYPE_CHECKING:
    from errorbudget.simulate.voice_agent import VoiceDay, VoiceScenario

PROGRESS_MIN_DAYS = 3
MAX_DAYS = 400


@click.command("voice-agent")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The events file to write (.ndjson, or .parquet).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ndjson", "parquet"]),
    default=None,
    help="File format [default: by the file's suffix: .parquet is Parquet, else NDJSON].",
)
@time_option("--from", "start", help="Start of the period [default: --days before --to].")
@time_option("--to", "end", help="End of the period (exclusive) [default: now].")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_DAYS),
    default=30,
    show_default=True,
    help="Length of the period when --from is not given.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Simulation seed.")
@click.option(
    "--calls-per-minute",
    type=click.FloatRange(min=0, min_open=True, max=1_000),
    default=6.0,
    show_default=True,
    help=(
        "Mean calls a minute at the daily peak (about 8 events a call; at most 1,000, so "
        "a minute's calls stay under the 10,000 its call ids can number)."
    ),
)
@click.option(
    "--incident/--no-incident",
    default=True,
    show_default=True,
    help="A TTS provider (tts-a) latency incident of 2 h (its times are printed).",
)
@click.option(
    "--bad-release/--no-bad-release",
    default=True,
    show_default=True,
    help="A bad prompt release on billing-es (billing-es-v8) near the end of the period.",
)
@click.option(
    "--outage/--no-outage",
    default=True,
    show_default=True,
    help="A known carrier outage of 30 min (its events marked external_outage).",
)
@click.option(
    "--truth",
    "truth_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the starter kit's ground truth (good and eligible events per SLO, "
    "segment and minute) to this CSV file.",
)
def voice_agent(
    output: Path,
    fmt: str | None,
    start: datetime | None,
    end: datetime | None,
    days: int,
    seed: int,
    calls_per_minute: float,
    incident: bool,
    bad_release: bool,
    outage: bool,
    truth_path: Path | None,
) -> None:
    """Simulate a voice agent (seed 002: calls, turns with per-stage latencies, tasks,
    escalations, synthetic checks over five flows) and write its events for a period, for
    `errorbudget ingest --events` or POST /api/v1/events. Deterministic: the same seed and
    options give the same events and ids. See docs/voice-agent.md."""
    from errorbudget.catalogs import voice_agent_starter_segments
    from errorbudget.simulate.voice_agent import (
        GroundTruth,
        VoiceAgentSimulator,
        format_of,
        write_events,
        write_truth_csv,
    )

    end = (end or datetime.now(tz=UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    start = (start or end - timedelta(days=days)).astimezone(UTC).replace(second=0, microsecond=0)
    if start >= end:
        raise InvalidRequestError(f"--from {start:%Y-%m-%dT%H:%MZ} is not before --to")
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidRequestError(f"the period is longer than {MAX_DAYS} days")
    scenario = build_scenario(end, start, calls_per_minute, incident, bad_release, outage)
    sim = VoiceAgentSimulator(scenario, seed=seed)
    truth = GroundTruth(sim, voice_agent_starter_segments()) if truth_path else None
    chosen = format_of(output) if fmt is None else ("parquet" if fmt == "parquet" else "ndjson")
    total_days = (end - start).days + 1
    with progress_bar(total_days) as advance:

        def on_day(day: VoiceDay) -> None:
            if truth is not None:
                truth.add(day)
            if advance is not None:
                advance(day.events)

        try:
            report = write_events(sim, start, end, output, fmt=chosen, on_day=on_day)
        except OSError as exc:
            raise InvalidRequestError(f"cannot write {output}: {exc.strerror or exc}") from exc
    counts = ", ".join(f"{n:,} {kind}" for kind, n in report.events.items())
    click.echo(
        f"{output}: {report.total:,} events ({counts}) from {start:%Y-%m-%d %H:%M} to "
        f"{end:%Y-%m-%d %H:%M} UTC, {report.format}, {report.bytes / 1e6:,.1f} MB, in "
        f"{report.seconds:.1f} s ({report.events_per_second:,.0f} events/s); seed {seed}"
    )
    for line in scenario_lines(scenario):
        click.echo(f"  {line}")
    if truth is not None and truth_path is not None:
        rows = write_truth_csv(truth.result(), truth_path)
        click.echo(f"{truth_path}: ground truth, {rows:,} rows (slo, segment, minute, good, total)")


def build_scenario(
    end: datetime,
    start: datetime,
    calls_per_minute: float,
    incident: bool,
    bad_release: bool,
    outage: bool,
) -> VoiceScenario:
    """The default scenario over the period, with the incidents asked for."""
    from dataclasses import replace

    from errorbudget.simulate.voice_agent import default_voice_scenario

    days = max(1, round((end - start) / timedelta(days=1)))
    scenario = default_voice_scenario(end, days=days).scaled(calls_per_minute)
    return replace(
        scenario,
        incidents=scenario.incidents if incident else (),
        releases=scenario.releases if bad_release else (),
        outages=scenario.outages if outage else (),
    )


def scenario_lines(scenario: VoiceScenario) -> list[str]:
    """The scenario's incidents in words."""
    lines = []
    for incident in scenario.incidents:
        lines.append(
            f"{incident.name}: {incident.stage} +{incident.extra_ms:.0f} ms on "
            f"{incident.provider} from {incident.start:%Y-%m-%d %H:%M} to "
            f"{incident.end:%H:%M} UTC"
        )
    for release in scenario.releases:
        lines.append(
            f"bad prompt release: {release.prompt_version} on {release.flow} from "
            f"{release.at:%Y-%m-%d %H:%M} UTC (agent-caused task failures "
            f"{release.agent_failure:.0%}, unnecessary escalations "
            f"{release.unnecessary_escalation:.0%})"
        )
    for window in scenario.outages:
        lines.append(
            f"known carrier outage (excluded): {window.start:%Y-%m-%d %H:%M} to "
            f"{window.end:%H:%M} UTC"
        )
    return lines


@contextmanager
def progress_bar(days: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar over the simulated days, on stderr when it is a terminal."""
    if days < PROGRESS_MIN_DAYS or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (
        TextColumn("simulate"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days, {task.fields[events]:,} events"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("simulate", total=days, events=0)
        written = 0

        def advance(events: int) -> None:
            nonlocal written
            written += events
            bar.update(task, advance=1, events=written)

        yield advance
