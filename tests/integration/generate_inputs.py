"""The representative config of the generators' tests (tests/data/generate/slos.yaml), loaded
without the semantic checks: its ``prometheus``-source SLO is valid as a model, and the
generators read only the models (the check that a Prometheus source is configured belongs to
``serve``, not to a rule file)."""

from __future__ import annotations

from pathlib import Path

import yaml

from errorbudget.config import Config, LoadedConfig

DATA = Path(__file__).resolve().parents[1] / "data" / "generate"
CONFIG = DATA / "slos.yaml"
GOLDEN = DATA / "golden"


def representative() -> LoadedConfig:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return LoadedConfig(Config.model_validate(data), CONFIG)
