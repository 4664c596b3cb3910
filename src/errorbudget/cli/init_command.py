"""``errorbudget init``: starter configs, written from templates kept as package data."""

from __future__ import annotations

from pathlib import Path

import click

from errorbudget.errors import InvalidRequestError


@click.group()
def init() -> None:
    """Write a starter config file (the voice-agent SLO starter kit of seed 002)."""


@init.command("voice-agent")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("voice-agent.yaml"),
    show_default=True,
    help="The config file to write.",
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def voice_agent(output: Path, force: bool) -> None:
    """Write the voice-agent SLO starter kit (seed 002) as a config file: connection
    success, first audio, time to first word, turn and tool-turn latency, task completion,
    intent accuracy, prompt compliance, ASR quality per flow, escalation recall, unnecessary
    escalation, context-preserved handoff and synthetic critical-flow success, each with
    its owner, the seed's named exclusions (test calls, abuse, hang-up before the greeting,
    known external outage), per-flow and per-risk-tier targets and the voice-agent policy.
    An existing file is kept unless --force. See docs/voice-agent.md."""
    from errorbudget.catalogs import voice_agent_starter_segments, voice_agent_starter_text

    if output.exists() and not force:
        raise InvalidRequestError(f"{output} exists: not replaced (--force replaces it)")
    try:
        output.write_text(voice_agent_starter_text(), encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(f"cannot write {output}: {exc.strerror or exc}") from exc
    slos = voice_agent_starter_segments()
    click.echo(f"Wrote {output}: {len(slos)} voice-agent SLOs (seed 002's starter kit).")
    click.echo("Next:")
    click.echo(f"  errorbudget validate -c {output}")
    click.echo("  errorbudget simulate voice-agent -o events.ndjson   # a month of sample events")
    click.echo(f"  errorbudget ingest --events -c {output} events.ndjson")
    click.echo(f"  errorbudget status -c {output}")
