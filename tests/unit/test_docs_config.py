"""docs/config.md documents every key of every config model (datasette ``test_docs.py`` style).

Each model reachable from :class:`errorbudget.config.Config` needs a section whose heading
names it in backticks, and each of its fields a table row starting with ``| `field` |``.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from errorbudget.config import Config
from errorbudget.indicators import PluginChoice
from errorbudget.source_catalog import BUILTIN_SOURCES, SourceCatalog

DOCS = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def _plugin_models(choice: PluginChoice) -> list[type[BaseModel]]:
    """The built-in source plugins' models a ``PluginChoice`` field stands for."""
    catalog = SourceCatalog(BUILTIN_SOURCES)
    kinds = [catalog.kind(name) for name in catalog.names()]
    if choice.by == "indicator":
        return [kind.indicator_model for kind in kinds]
    return [m for kind in kinds if (m := kind.settings_model) is not None]


def models(annotation: Any, found: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """Every pydantic model in ``annotation``, recursively, by name; a field a source
    plugin chooses (``sources``, ``indicator``) stands for every built-in plugin's model."""
    origin = get_origin(annotation)
    choices = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, PluginChoice)]
    if choices:
        for model in _plugin_models(choices[0]):
            models(model, found)
    elif origin in (Annotated, Union, UnionType, list, dict):
        for argument in get_args(annotation):
            models(argument, found)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        known = annotation.__name__ in found
        found[annotation.__name__] = annotation
        for info in [] if known else annotation.model_fields.values():
            choice = [m for m in info.metadata if isinstance(m, PluginChoice)]
            models(Annotated[info.annotation, *choice] if choice else info.annotation, found)
    return found


def sections() -> dict[str, str]:
    """Heading → text up to the next heading."""
    parts = re.split(r"^(#+ .*)$", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


ALL_MODELS = models(Config, {})


def test_the_walk_finds_the_nested_models() -> None:
    expected = {
        "Config", "SLO", "CalendarWindow", "PrometheusIndicator", "SegmentOverride",
        "GenesysSettings", "GenesysIndicator", "GenesysSelection", "IngestIndicator",
    }  # fmt: skip
    assert expected <= set(ALL_MODELS)


@pytest.mark.parametrize("name", sorted(ALL_MODELS))
def test_every_field_is_documented(name: str) -> None:
    text = "".join(body for heading, body in sections().items() if f"`{name}`" in heading)
    assert text, f"docs/config.md has no section heading naming `{name}`"
    fields = ALL_MODELS[name].model_fields
    missing = [
        info.alias or field
        for field, info in fields.items()  # as written in YAML
        if f"| `{info.alias or field}` |" not in text
    ]
    assert not missing, f"{name} fields missing from docs/config.md: {missing}"
