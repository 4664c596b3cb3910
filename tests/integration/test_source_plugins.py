"""A third-party source, installed through the ``errorbudget.sources`` entry-point group,
is validated by its own models (file:line:col, "did you mean"), collected by ``errorbudget
collect --source``, written through the counts-write protocol and scheduled by ``serve``
— with no edit to errorbudget (issue #9, sources as plugins).

The plugin (``tests/plugins/errorbudget_filecounts.py``) is installed as a package would
be: a ``*.dist-info`` with ``entry_points.txt`` in a temporary directory on ``sys.path``.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.cli import main
from errorbudget.config import parse_config
from errorbudget.errors import ConfigValidationError
from errorbudget.model import to_minute
from errorbudget.scheduler import Scheduler
from errorbudget.server import schedule_sources
from errorbudget.source_catalog import ENTRY_POINT_GROUP, reload_source_catalog, source_catalog
from errorbudget.store import open_store

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "errorbudget_filecounts.py"
MODULE = "errorbudget_filecounts"
NOW = "2026-11-02T10:00Z"
MINUTE = to_minute(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))


@pytest.fixture
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The plugin installed as a distribution on ``sys.path``, for this test only."""
    site = tmp_path_factory.mktemp("site")
    shutil.copy(PLUGIN, site / f"{MODULE}.py")
    info = site / "errorbudget_filecounts-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: errorbudget-filecounts\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nfilecounts = {MODULE}:plugin\n", encoding="utf-8"
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    reload_source_catalog()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        sys.modules.pop(MODULE, None)
        importlib.invalidate_caches()
        reload_source_catalog()


def _config(tmp_path: Path, sources: str = "  filecounts: {path: counts.json}\n") -> Path:
    text = (
        f"version: 1\nclock: {{simulated_start: '{NOW}'}}\nstore: {{path: eb.db}}\n"
        f"sources:\n{sources}"
        "slos:\n"
        "  - id: billing\n"
        "    service: cc\n"
        "    target: 0.9\n"
        "    window: {type: rolling, length: 7d}\n"
        "    indicator: {source: filecounts, queue: billing}\n"
        "    segments: {keys: [queue]}\n"
    )
    path = tmp_path / "eb.yaml"
    path.write_text(text, encoding="utf-8")
    rows = [{"minute": MINUTE + i, "queue": q, "good": 9, "total": 10}
            for i in range(20) for q in ("billing", "sales")]  # fmt: skip
    (tmp_path / "counts.json").write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_without_the_package_the_source_is_unknown(tmp_path: Path) -> None:
    assert "filecounts" not in source_catalog()
    with pytest.raises(ConfigValidationError) as info:
        parse_config(_config(tmp_path).read_text(), "eb.yaml", {})
    messages = [str(p) for p in info.value.problems]
    assert "eb.yaml:5:3: sources: unknown key 'filecounts'" in messages[0]
    assert any("source 'filecounts' is not one of ingest, prometheus, genesys" in m
               for m in messages)  # fmt: skip


@pytest.mark.usefixtures("installed")
def test_the_plugin_validates_its_settings_and_indicators(tmp_path: Path) -> None:
    assert source_catalog().names()[-1] == "filecounts"
    loaded = parse_config(_config(tmp_path).read_text(), tmp_path / "eb.yaml", {})
    [slo] = loaded.config.slos
    assert type(slo.indicator).__name__ == "FileCountsIndicator"
    assert slo.max_data_age is not None and slo.max_data_age.total_seconds() == 1800
    bad = _config(tmp_path, "  filecounts: {pth: counts.json, interval: 1x}\n").read_text()
    bad = bad.replace("queue: billing}", "queue: billing, quue: x}")
    with pytest.raises(ConfigValidationError) as info:
        parse_config(bad, "eb.yaml", {})
    assert [str(p) for p in info.value.problems] == [
        "eb.yaml:5:15: sources.filecounts: missing required key 'path'",
        "eb.yaml:5:16: sources.filecounts: unknown key 'pth' (did you mean 'path'?)",
        "eb.yaml:5:44: sources.filecounts.interval: '1x' is not a duration (use e.g. 30s, 5m,"
        " 1h, 28d, 1w) (got '1x')",
        "eb.yaml:11:53: slos[0].indicator: unknown key 'quue' (did you mean 'queue'?)",
    ]
    unconfigured = _config(tmp_path, "  {}\n").read_text().replace("sources:\n  {}\n", "")
    with pytest.raises(ConfigValidationError, match=r"needs sources\.filecounts"):
        parse_config(unconfigured, "eb.yaml", {})


@pytest.mark.usefixtures("installed")
def test_collect_runs_the_plugin_through_the_counts_write_protocol(tmp_path: Path) -> None:
    config = _config(tmp_path)
    runner = CliRunner()
    valid = runner.invoke(main, ["validate", "-c", str(config)])
    assert valid.exit_code == 0, valid.output
    args = ["collect", "-c", str(config), "--source", "filecounts", "--once", "--format", "json"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["rows_written"] == 20
    again = runner.invoke(main, ["collect", "-c", str(config), "--once"])  # the only source
    assert again.exit_code == 0 and again.output.strip() == "filecounts: 20 minute rows written"
    with open_store(tmp_path / "eb.db") as store:
        [series] = store.list_series("billing")
        assert series.segment == (("queue", "billing"),)
        sums = store.sums([series.id], [(MINUTE, MINUTE + 60)])
    assert sums[0, 0].tolist() == [180.0, 200.0]  # written twice, counted once
    unknown = runner.invoke(main, ["collect", "-c", str(config), "--source", "filecount", "--once"])
    assert unknown.exit_code == 2 and "did you mean 'filecounts'" in unknown.output
    genesys = runner.invoke(main, ["collect", "-c", str(config), "--source", "genesys", "--once"])
    assert genesys.exit_code != 0 and "uses source genesys" in genesys.output


@pytest.mark.usefixtures("installed")
def test_serve_schedules_the_plugin(tmp_path: Path) -> None:
    app = App.open(_config(tmp_path))
    try:
        scheduler = Scheduler()
        [source] = schedule_sources(app, scheduler)
        assert source.name == "filecounts"
        assert [job.name for job in scheduler.jobs] == ["filecounts"]
        assert not scheduler.jobs[0].ready()  # ready once its first run ends
    finally:
        app.close()
