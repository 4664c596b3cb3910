"""The ``events`` source (issue #12): voice-agent events (calls, turns, tasks, escalations,
synthetic checks) parsed into one Arrow table (``model``), SLIs over them as data
(``indicator``), rule evaluation (``rules``) and the fold into minute counts, kept events
and hourly rollups (``fold``). Pure: no store, no surface (docs/sources/events.md).

The package's names load on first use (``__getattr__``): the plugin and the indicator
(``fields``, ``indicator``) import no pyarrow, so a config with an events SLO loads — and
``errorbudget status`` evaluates it — without the parsers and the fold."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from errorbudget.sources.events.fields import (
        DIMENSIONS,
        EVENT_TYPES,
        FIELDS,
        MAX_PROBLEMS,
        STAGES,
        FieldSpec,
    )
    from errorbudget.sources.events.fold import EventFold, SloFold, fold_events
    from errorbudget.sources.events.indicator import (
        Condition,
        EventsIndicator,
        ExclusionRule,
        Rule,
    )
    from errorbudget.sources.events.model import (
        EVENT_SCHEMA,
        EventParseError,
        EventProblem,
        batch_duplicates,
        parse_ndjson,
        parse_parquet,
        parse_records,
    )
    from errorbudget.sources.events.rules import CompiledSli, SliMasks, compile_sli

_MODULE_OF = {
    "CompiledSli": "rules",
    "Condition": "indicator",
    "DIMENSIONS": "fields",
    "EVENT_SCHEMA": "model",
    "EVENT_TYPES": "fields",
    "EventFold": "fold",
    "EventParseError": "model",
    "EventProblem": "model",
    "EventsIndicator": "indicator",
    "ExclusionRule": "indicator",
    "FIELDS": "fields",
    "FieldSpec": "fields",
    "MAX_PROBLEMS": "fields",
    "Rule": "indicator",
    "STAGES": "fields",
    "SliMasks": "rules",
    "SloFold": "fold",
    "batch_duplicates": "model",
    "compile_sli": "rules",
    "fold_events": "fold",
    "parse_ndjson": "model",
    "parse_parquet": "model",
    "parse_records": "model",
}


def __dir__() -> list[str]:
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DIMENSIONS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "FIELDS",
    "MAX_PROBLEMS",
    "STAGES",
    "CompiledSli",
    "Condition",
    "EventFold",
    "EventParseError",
    "EventProblem",
    "EventsIndicator",
    "ExclusionRule",
    "FieldSpec",
    "Rule",
    "SliMasks",
    "SloFold",
    "batch_duplicates",
    "compile_sli",
    "fold_events",
    "parse_ndjson",
    "parse_parquet",
    "parse_records",
]
