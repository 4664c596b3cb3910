"""``errorbudget generate grafana-dashboard``: the golden dashboard of a representative config
(several SLOs under four policy presets, a segmented one, the Genesys queue panels), checked
against the SDK's typed models, and the command's output options.

Golden file: tests/data/grafana/dashboard.json. After an intended change, regenerate it with
``ERRORBUDGET_UPDATE_GOLDEN=1 .venv/bin/pytest tests/integration/test_generate_grafana.py``
and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from errorbudget.cli.main import main
from grafana_schema import dashboard_problems

DATA = Path(__file__).resolve().parents[1] / "data" / "grafana"
CONFIG = DATA / "config.yaml"
GOLDEN = DATA / "dashboard.json"
UPDATE = os.environ.get("ERRORBUDGET_UPDATE_GOLDEN") == "1"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("ERRORBUDGET_CONFIG", raising=False)
    return CliRunner()


def test_the_golden_dashboard(runner: CliRunner) -> None:
    done = runner.invoke(main, ["generate", "grafana-dashboard", "-c", str(CONFIG)])
    assert done.exit_code == 0, done.output
    if UPDATE:
        GOLDEN.write_text(done.stdout, encoding="utf-8")
    assert done.stdout == GOLDEN.read_text(encoding="utf-8"), (
        "the dashboard differs from tests/data/grafana/dashboard.json: check the change, "
        "then ERRORBUDGET_UPDATE_GOLDEN=1"
    )
    assert dashboard_problems(json.loads(done.stdout)) == []


def test_output_file_and_slo_selection(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "dashboard.json"
    done = runner.invoke(
        main,
        [
            "generate",
            "grafana-dashboard",
            "-c",
            str(CONFIG),
            "--slo",
            "voice-sla",
            "-o",
            str(target),
        ],
    )
    assert done.exit_code == 0, done.output
    assert done.stdout == "" and f"wrote {target}" in done.stderr
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert [p["title"] for p in doc["panels"] if p["type"] == "gauge"] == [
        "voice-sla: budget remaining"
    ]
    assert dashboard_problems(doc) == []


def test_an_unknown_slo_is_one_sentence_and_exit_1(runner: CliRunner) -> None:
    done = runner.invoke(
        main, ["generate", "grafana-dashboard", "-c", str(CONFIG), "--slo", "voice-sal"]
    )
    assert done.exit_code == 1
    assert "error: no SLO 'voice-sal'" in done.stderr and "did you mean 'voice-sla'" in done.stderr
    assert done.stdout == ""


def test_a_missing_config_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    done = runner.invoke(
        main, ["generate", "grafana-dashboard", "-c", str(tmp_path / "missing.yaml")]
    )
    assert done.exit_code == 1 and "error:" in done.stderr
