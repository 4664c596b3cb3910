"""The ``events`` source (issue #12): voice-agent events (calls, turns, tasks, escalations,
synthetic checks) parsed into one Arrow table (``model``), SLIs over them as data
(``indicator``), rule evaluation (``rules``) and the fold into minute counts, kept events
and hourly rollups (``fold``). Pure: no store, no surface (docs/sources/events.md)."""

from errorbudget.sources.events.fold import EventFold, SloFold, fold_events
from errorbudget.sources.events.indicator import (
    Condition,
    EventsIndicator,
    ExclusionRule,
    Rule,
)
from errorbudget.sources.events.model import (
    DIMENSIONS,
    EVENT_SCHEMA,
    EVENT_TYPES,
    FIELDS,
    MAX_PROBLEMS,
    STAGES,
    EventParseError,
    EventProblem,
    FieldSpec,
    batch_duplicates,
    parse_ndjson,
    parse_parquet,
    parse_records,
)
from errorbudget.sources.events.rules import CompiledSli, SliMasks, compile_sli

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
