"""``errorbudget status`` prints the warnings the config's sources recorded (issue #9): a
source the config uses (under ``sources:`` or by an SLO's indicator) is asked; a source it
does not use is neither asked nor imported (a store once written by a Genesys collector
keeps its last check, but a config without Genesys has no SLO that check is about)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from errorbudget.cli.main import main
from errorbudget.config import load_config
from errorbudget.sources.genesys.service_level_checks import record
from errorbudget.store import open_store

DISCREPANCY = {
    "slo": "voice", "kind": "answered", "queue_id": "q1", "queue": "Support", "media_type": "voice",
    "intervals": 2, "first": "2026-11-20T10:00:00+00:00", "last": "2026-11-20T10:15:00+00:00",
    "genesys": [8, 10], "errorbudget": [9, 10],
}  # fmt: skip
WARNING = (
    "warning: genesys: voice, queue Support (voice): answered within target differs from "
    "oServiceLevel in 2 intervals (2026-11-20 10:00 – 2026-11-20 10:15 UTC), Genesys 8/10, "
    "errorbudget 9/10"
)
GENESYS = "sources:\n  genesys: {base_url: 'http://127.0.0.1:9', client_id: a, client_secret: b}\n"
VOICE_SLO = (
    "  - {id: voice, service: cc, target: 0.8, window: {type: rolling, length: 1d},\n"
    "     indicator: {source: genesys, metric: voice_sla}}\n"
)
CALLS_SLO = "  - {id: calls, service: cc, target: 0.9, window: {type: rolling, length: 1d}}\n"


def world(tmp_path: Path, config: str) -> Path:
    """A config and a store in which the Genesys collector recorded one discrepancy."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "errorbudget.yaml"
    path.write_text(f"version: 1\nstore: {{path: eb.db}}\n{config}", encoding="utf-8")
    store = open_store(tmp_path / "eb.db")
    try:
        assert record(store, [DISCREPANCY], 29_000_000)
    finally:
        store.close()
    return path


def status(config: Path) -> list[str]:
    done = CliRunner().invoke(main, ["status", "-c", str(config), "--at", "2026-11-20T12:00Z"])
    assert done.exit_code == 0, done.output
    return done.stderr.splitlines()


def test_a_source_the_config_uses_has_its_warnings_printed(tmp_path: Path) -> None:
    config = world(tmp_path, f"{GENESYS}slos:\n{VOICE_SLO}{CALLS_SLO}")
    assert status(config) == [WARNING]


def test_a_source_the_config_does_not_use_is_not_asked(tmp_path: Path) -> None:
    config = world(tmp_path, f"slos:\n{CALLS_SLO}")
    assert status(config) == []


def test_the_sources_used_are_those_configured_or_named_by_an_indicator(
    tmp_path: Path,
) -> None:
    ingest = load_config(world(tmp_path / "ingest", f"slos:\n{CALLS_SLO}"))
    assert ingest.sources_used() == ["ingest"]
    both = load_config(world(tmp_path / "both", f"{GENESYS}slos:\n{CALLS_SLO}"))
    assert both.sources_used() == ["ingest", "genesys"]
    genesys = load_config(world(tmp_path / "genesys", f"{GENESYS}slos:\n{VOICE_SLO}"))
    assert genesys.sources_used() == ["genesys"]
