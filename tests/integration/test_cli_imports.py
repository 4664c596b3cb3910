"""The root command loads a subcommand's module only when that command runs (issue #9): in a
fresh interpreter, ``errorbudget --help`` imports no command module, and ``errorbudget
status`` imports neither the web server, the Genesys client nor pyarrow — nor, for a config
without Genesys, the Genesys plugin, nor for its table the outward schema's models (nor rich
for JSON or CSV, nor the error mapping for a valid config)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from errorbudget.cli.main import COMMANDS, listed, main

HEAVY = ("fastapi", "starlette", "uvicorn", "httpx", "pyarrow", "jinja2", "prometheus_client")

PROBE = """
import json, sys
from errorbudget.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported(*args: str, cwd: Path | None = None) -> tuple[int, set[str]]:
    """(exit code, the modules loaded) of ``errorbudget ARGS`` in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True, text=True, cwd=cwd, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_help_imports_no_command_module() -> None:
    code, modules = imported("--help")
    assert code == 0
    assert not {
        m for m in modules if m.startswith("errorbudget.cli.") and m != "errorbudget.cli.main"
    }
    assert not {m for m in modules if m.split(".")[0] in (*HEAVY, "numpy", "pydantic")}


def test_status_imports_neither_the_server_nor_the_genesys_client_nor_pyarrow(
    tmp_path: Path,
) -> None:
    (tmp_path / "errorbudget.yaml").write_text(
        "version: 1\nstore: {path: eb.db}\nslos:\n"
        "  - {id: calls, service: cc, target: 0.9, window: {type: rolling, length: 1d}}\n",
        encoding="utf-8",
    )
    code, modules = imported("status", "--at", "2026-11-20T12:00Z", cwd=tmp_path)
    assert code == 0
    assert "errorbudget.cli.status_command" in modules  # the command did run
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    assert "errorbudget.sources.genesys.client" not in modules
    # the config names no Genesys source or indicator: nothing of the plugin is loaded
    assert sorted(m for m in modules if m.startswith("errorbudget.sources.genesys")) == []
    # a table needs no pydantic model of the outward schema (JSON and CSV do)
    assert "errorbudget.schema.status" not in modules
    # a valid config needs no mapping of pydantic errors to file:line:col
    assert "errorbudget.config_errors" not in modules
    # nor any generator, nor the Grafana SDK
    assert sorted(m for m in modules if m.split(".")[0] == "grafana_foundation_sdk") == []
    assert sorted(m for m in modules if m.startswith("errorbudget.generate")) == []
    # serve's malloc tuning (process_memory.keep_freed_memory) is not status's to load
    assert "ctypes.util" not in modules
    code, modules = imported("status", "--at", "2026-11-20T12:00Z", "--format", "csv", cwd=tmp_path)
    assert code == 0 and "errorbudget.schema.status" in modules
    assert sorted(m for m in modules if m.split(".")[0] == "rich") == []  # no table, no rich


def test_status_of_an_events_slo_imports_neither_pyarrow_nor_the_parsers(tmp_path: Path) -> None:
    """Issue #12, "status as fast as for counts": an events SLO's indicator is validated by
    the field tables alone; the parsers, the fold and pyarrow load only to ingest."""
    (tmp_path / "errorbudget.yaml").write_text(
        "version: 1\nstore: {path: eb.db}\nslos:\n"
        "  - id: turns\n    service: va\n    target: 0.95\n"
        "    window: {type: rolling, length: 1d}\n    segments: {keys: [flow]}\n"
        "    indicator: {source: events, event: turn, good: {latency_ms: {le: 1200}}}\n",
        encoding="utf-8",
    )
    code, modules = imported("status", "--at", "2026-11-20T12:00Z", cwd=tmp_path)
    assert code == 0
    assert "errorbudget.sources.events.indicator" in modules  # the SLO's rules were checked
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    loaded = {m for m in modules if m.startswith("errorbudget.sources.events.")}
    assert loaded.isdisjoint(
        {f"errorbudget.sources.events.{m}" for m in ("model", "fold", "rules", "otlp")}
    )


def test_generate_grafana_dashboard_loads_only_its_generator(tmp_path: Path) -> None:
    """``generate --help`` loads no generator; ``generate grafana-dashboard`` loads the Grafana
    generator and its SDK, and neither the web server nor the store."""
    code, modules = imported("generate", "--help")
    assert code == 0
    assert sorted(m for m in modules if m.startswith("errorbudget.generate")) == []
    assert sorted(m for m in modules if m.split(".")[0] == "grafana_foundation_sdk") == []
    (tmp_path / "errorbudget.yaml").write_text(
        "version: 1\nstore: {path: eb.db}\nslos:\n"
        "  - {id: calls, service: cc, target: 0.9, window: {type: rolling, length: 1d}}\n",
        encoding="utf-8",
    )
    code, modules = imported("generate", "grafana-dashboard", "-o", "d.json", cwd=tmp_path)
    assert code == 0 and (tmp_path / "d.json").exists()
    assert "errorbudget.generate.grafana" in modules  # the command did run
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    assert sorted(m for m in modules if m.startswith("errorbudget.store")) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    """``--help`` lists COMMANDS' one-line helps without importing: they must stay the
    commands' own (and every listed name must be a command of its module)."""
    ctx = click.Context(main)
    command = main.get_command(ctx, name)
    assert command is not None and command.name == name
    for limit in (45, 80, 10**6):
        assert listed(name).get_short_help_str(limit) == command.get_short_help_str(limit)
