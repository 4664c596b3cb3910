"""The config loader on files: a config read from disk, the default and ``ERRORBUDGET_CONFIG``
paths, a missing file, and ``App.open`` taking its clock from the file (the pure loader is
tested in tests/unit/test_config.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from errorbudget.config import load_config
from errorbudget.errors import ConfigError

MINIMAL = """\
slos:
  - id: api
    service: web
    target: 0.999
    window: {type: rolling, length: 30d}
"""


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(MINIMAL)
    loaded = load_config(path)
    assert loaded.warnings == []
    assert loaded.config.version == 1
    assert loaded.config.gate.enforcement == "enforce"
    assert loaded.config.gate.exempt_types == [
        "incident-fix",
        "security-fix",
        "rollback",
        "burn-reduction",
    ]
    assert loaded.store_path == tmp_path / "errorbudget.db"
    assert loaded.slo("api").target == 0.999


def test_env_config_path_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "errorbudget.yaml").write_text(MINIMAL)
    other = tmp_path / "other.yaml"
    other.write_text(MINIMAL.replace("id: api", "id: other"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ERRORBUDGET_CONFIG", raising=False)
    assert load_config(None).slo("api")
    monkeypatch.setenv("ERRORBUDGET_CONFIG", str(other))
    assert load_config(None).slo("other")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_app_open_takes_its_clock_from_the_config(tmp_path: Path) -> None:
    from errorbudget.app import App

    config = tmp_path / "errorbudget.yaml"
    config.write_text("clock: {simulated_start: 2026-11-25T16:00:00Z}\n", encoding="utf-8")
    with App.open(config) as app:
        assert app.clock() == datetime(2026, 11, 25, 16, tzinfo=UTC)
        assert app.evaluations.status() == []  # "now" is the config's instant
    later = datetime(2027, 1, 1, tzinfo=UTC)
    with App.open(config, clock=lambda: later) as app:  # an explicit clock wins
        assert app.clock() == later
