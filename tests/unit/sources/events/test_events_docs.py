"""docs/sources/events.md stays true: every YAML block with SLOs loads, and the field tables
name every field of the model with its event type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from errorbudget.config import dump_config, parse_config
from errorbudget.sources.events.fields import EVENT_TYPES, FIELDS
from errorbudget.sources.events.indicator import EventsIndicator

DOC = Path(__file__).resolve().parents[4] / "docs" / "sources" / "events.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = [b for b in re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.DOTALL) if "slos:" in b]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_example_loads(block: str) -> None:
    loaded = parse_config(block, "events.md", {})
    assert loaded.config.slos
    assert all(isinstance(slo.indicator, EventsIndicator) for slo in loaded.config.slos)


def test_the_starter_kit_has_seed_002s_slis() -> None:
    kit = next(b for b in BLOCKS if "connection-success" in b)
    slos = parse_config(kit, "events.md", {}).config.slos
    assert len(slos) == 13
    assert {slo.indicator.event for slo in slos} == set(EVENT_TYPES)  # type: ignore[attr-defined]
    assert all(slo.owner for slo in slos)
    loaded = parse_config(kit, "events.md", {}).config
    assert parse_config(dump_config(loaded), "dumped.yaml", {}).config == loaded


def test_every_field_is_in_its_types_table() -> None:
    sections = re.split(r"^### ", TEXT, flags=re.MULTILINE)
    tables = {s.split("\n", 1)[0].strip("` "): s for s in sections}
    for name, spec in FIELDS.items():
        heading = "Fields of every event" if spec.common else next(iter(spec.types))
        assert f"`{name}`" in tables[heading], (name, heading)
