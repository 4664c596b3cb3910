"""Built-in catalogs, kept as data: burn-rate alert windows and policy presets."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import TypeAdapter

from errorbudget.model import BurnCatalog, PolicyPreset
from errorbudget.yamlsource import SAFE_LOADER


def _load(name: str) -> object:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=SAFE_LOADER)  # a safe loader, libyaml when available


@cache
def builtin_burn_catalogs() -> dict[str, BurnCatalog]:
    """Catalogs from ``burn_catalogs.yaml``, validated, by name."""
    catalogs = TypeAdapter(list[BurnCatalog]).validate_python(_load("burn_catalogs.yaml"))
    return {catalog.name: catalog for catalog in catalogs}


@cache
def builtin_policies() -> dict[str, PolicyPreset]:
    """Policy presets from ``policies.yaml``, validated, by name."""
    presets = TypeAdapter(list[PolicyPreset]).validate_python(_load("policies.yaml"))
    return {preset.name: preset for preset in presets}


VOICE_AGENT_STARTER = "voice_agent_starter.yaml"
"""The voice-agent starter kit (seed 002): a config file ``errorbudget init voice-agent``
writes."""


def voice_agent_starter_text() -> str:
    """The starter kit's YAML, as written (comments included)."""
    return resources.files(__package__).joinpath(VOICE_AGENT_STARTER).read_text(encoding="utf-8")


@cache
def voice_agent_starter_segments() -> dict[str, list[str]]:
    """Each starter-kit SLO's id → its segment keys."""
    document = _load(VOICE_AGENT_STARTER)
    assert isinstance(document, dict)
    return {slo["id"]: list(slo.get("segments", {}).get("keys", [])) for slo in document["slos"]}
