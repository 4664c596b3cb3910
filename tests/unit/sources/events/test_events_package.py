"""``errorbudget.sources.events`` loads its names on first use: every name it exports
resolves, from the module that defines it, and the lookup table names nothing else."""

from __future__ import annotations

import importlib

import errorbudget.sources.events as events


def test_every_exported_name_resolves_from_its_own_module() -> None:
    assert sorted(events._MODULE_OF) == sorted(events.__all__)
    for name in events.__all__:
        module = importlib.import_module(f"errorbudget.sources.events.{events._MODULE_OF[name]}")
        assert getattr(events, name) is getattr(module, name), name
        # defined there (or, for the field tables, re-exported from the one list)
        assert name in vars(module), name
    assert sorted(dir(events)) == sorted(events.__all__)


def test_the_indicator_names_come_from_the_indicator_module() -> None:
    for name in ("Condition", "EventsIndicator", "ExclusionRule", "Rule"):
        assert events._MODULE_OF[name] == "indicator"
