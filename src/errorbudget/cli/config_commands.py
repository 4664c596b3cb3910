"""``errorbudget validate`` and ``errorbudget openslo import|export``.

Exit codes: 0 valid (warnings allowed) or written; 1 invalid input (every problem is printed
on stderr as ``file:line:col: message``); 2 usage (click).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from errorbudget.cli.common import config_option, echo_json, format_option
from errorbudget.config import LoadedConfig, default_config_path, load_config
from errorbudget.errors import ConfigError, ConfigValidationError, ErrorBudgetError, Problem
from errorbudget.model import segment_key, segment_label
from errorbudget.openslo import export_config, import_documents

OUTPUT = click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path)


def _fail(exc: ErrorBudgetError) -> None:
    for problem in getattr(exc, "problems", []):
        click.echo(str(problem), err=True)
    click.echo(f"error: {exc}", err=True)
    raise click.exceptions.Exit(1)


def _write(text: str, output: Path | None) -> None:
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@click.command("validate")
@config_option
@format_option("text", "json")
def validate(config_path: Path | None, output_format: str) -> None:
    """Check a config file and report every problem at once, as FILE:LINE:COL: MESSAGE.

    Warnings (e.g. a burn-rate condition that can never fire at a low target) do not make
    the config invalid. A valid config is followed by each SLO's schedule and maintenance
    windows in words. Exit 0 when valid, 1 when not.
    """
    path = config_path or default_config_path()
    summary = ""
    eligibility: list[dict[str, Any]] = []
    try:
        loaded = load_config(path)
    except ConfigValidationError as exc:
        problems, valid = exc.problems, False
    except ConfigError as exc:
        problems, valid = [Problem(str(path), 0, 0, str(exc))], False
    else:
        problems, valid = loaded.warnings, True
        config = loaded.config
        summary = f"{len(config.slos)} SLOs, {len(config.services)} services"
        eligibility = eligibility_in_words(loaded)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if output_format == "json":
        echo_json(
            {
                "config": str(path),
                "valid": valid,
                "errors": errors,
                "warnings": warnings,
                "problems": [asdict(problem) for problem in problems],
                "eligibility": eligibility,
            }
        )
    else:
        for problem in problems:
            click.echo(str(problem), err=True)
        if valid:
            extra = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
            click.echo(f"{path}: valid ({summary}{extra})")
            for item in eligibility:
                if item["schedule"]:
                    click.echo(f"  {item['slo']}: eligible {item['schedule']}")
                for text in item["maintenance"]:
                    click.echo(f"  {item['slo']}: maintenance {text}")
        else:
            click.echo(f"{path}: invalid ({errors} error{'s' * (errors != 1)})", err=True)
    if not valid:
        raise click.exceptions.Exit(1)


def eligibility_in_words(loaded: LoadedConfig) -> list[dict[str, Any]]:
    """Per SLO with a schedule or maintenance windows: the schedule and each window in
    words, e.g. ``Mon–Fri 08:00–20:00; Sat 09:00–13:00 (America/New_York), schedule
    'us-business-hours'; 2 holidays, 2026-11-26 … 2026-12-24``."""
    found: list[dict[str, Any]] = []
    for slo in loaded.config.slos:
        eligibility = loaded.eligibility(slo)
        definition = loaded.schedule(slo)
        schedule_text = None
        if definition is not None and eligibility.schedule is not None:
            schedule_text = definition.describe()
            if isinstance(slo.schedule, str):
                schedule_text += f", schedule {slo.schedule!r}"
            days = sorted(eligibility.schedule.holidays)
            if days:
                plural = "s" * (len(days) != 1)
                schedule_text += f"; {len(days)} holiday{plural}, {days[0]}"
                schedule_text += f" … {days[-1]}" if len(days) > 1 else ""
        windows = []
        for window in eligibility.maintenance:
            scope = f" for {segment_label(segment_key(window.segment))}" if window.segment else ""
            windows.append(f"{window.name!r}: {window.describe()}{scope}")
        if schedule_text or windows:
            found.append({"slo": slo.id, "schedule": schedule_text, "maintenance": windows})
    return found


@click.group("openslo")
def openslo() -> None:
    """Import OpenSLO v1 documents, or export the config as OpenSLO v1."""


@openslo.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=OUTPUT, default=None, help="Write here [default: stdout].")
def import_command(files: tuple[Path, ...], output: Path | None) -> None:
    """Turn OpenSLO v1 FILES (or directories of them) into errorbudget YAML.

    What cannot be mapped exactly is reported as a warning at its file:line; nothing is
    written when there are errors (exit 1).
    """
    result = import_documents(files)
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.errors:
        count = len(result.errors)
        click.echo(f"error: {count} problem{'s' * (count != 1)}; nothing written", err=True)
        raise click.exceptions.Exit(1)
    header = "# Imported from OpenSLO v1 by `errorbudget openslo import`: "
    header += ", ".join(str(f) for f in files) + "\n"
    sources: dict[str, list[str]] = {}
    for slo in result.slos:
        if slo.indicator.source != "ingest":
            sources.setdefault(slo.indicator.source, []).append(slo.id)
    notes = [
        f"SLO(s) {', '.join(ids)} count from the {source} source: add sources.{source} to "
        "the config before using it (connections and secrets are not part of OpenSLO)"
        for source, ids in sorted(sources.items())
    ]
    header += "".join(f"# {note}\n" for note in notes)
    _write(header + result.to_yaml(), output)
    for note in notes:
        click.echo(f"note: {note}", err=True)


@openslo.command("export")
@config_option
@click.option("-o", "--output", type=OUTPUT, default=None, help="Write here [default: stdout].")
def export_command(config_path: Path | None, output: Path | None) -> None:
    """Write the config's services and SLOs as OpenSLO v1 documents."""
    try:
        loaded = load_config(config_path)
    except ErrorBudgetError as exc:
        _fail(exc)
        return
    _write(export_config(loaded.config), output)
