"""The fields of the voice-agent event model (issue #12): event types, dimensions, stages
and every field's kind, the event types that carry it, bounds and default — without
pyarrow, so that loading a config with an events SLO (``indicator``) does not import it;
the parsers and the Arrow schema are ``model``'s (docs/sources/events.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from errorbudget.event_records import EVENT_DIMENSIONS, EVENT_STAGES
from errorbudget.limits import LATEST

if TYPE_CHECKING:
    import pyarrow as pa

EventType = Literal["call", "turn", "task", "escalation", "synthetic"]
EVENT_TYPES: tuple[EventType, ...] = ("call", "turn", "task", "escalation", "synthetic")

DIMENSIONS: tuple[str, ...] = EVENT_DIMENSIONS
"""The event dimensions, in this order: an events SLO's segment keys are among them."""

STAGES: tuple[str, ...] = EVENT_STAGES
"""Pipeline stages of a turn; a stage's timing field is ``f"{stage}_ms"``."""

UNKNOWN = "unknown"
"""The segment (and rollup) value of a dimension an event does not carry."""

END_REASONS = ("completed", "caller_hangup", "agent_hangup", "transferred", "failed", "dropped")
OUTCOMES = ("completed", "abandoned", "wrong_action", "fallback_loop", "failed", "transferred")

MAX_PROBLEMS = 1000
"""Problems listed in an :class:`EventParseError`; the rest are only counted."""
MAX_TEXT = 200
"""The longest id, dimension or other text field (characters)."""
MAX_TIME_MS = int(LATEST.timestamp()) * 1000 - 1
"""2099-12-31T23:59:59.999Z: the last epoch millisecond a time may be (the store keeps
minutes before ``limits.LATEST``)."""
MAX_MS = 86_400_000
"""The largest duration field (``latency_ms``, ``first_audio_ms``, every stage timing): one
day, so that sums over many events stay exact."""

FieldKind = Literal["str", "bool", "int", "float", "time", "url"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of the event model: its kind, which event types carry it, which require
    it, its allowed values, lower bound and default (``None``: stays null)."""

    name: str
    kind: FieldKind
    types: frozenset[str]
    required: frozenset[str] = frozenset()
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: bool | int | None = None
    doc: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        """Its column type in the events table (imports pyarrow: only parsers ask)."""
        import pyarrow as pa

        return {
            "str": pa.string(),
            "url": pa.string(),
            "bool": pa.bool_(),
            "int": pa.int64(),
            "float": pa.float64(),
            "time": pa.timestamp("ms", tz="UTC"),
        }[self.kind]

    @property
    def common(self) -> bool:
        """Whether every event type may carry it."""
        return self.types == _ALL


_ALL = frozenset(EVENT_TYPES)


def _common(name: str, kind: FieldKind, doc: str, **extra: Any) -> FieldSpec:
    return FieldSpec(name, kind, _ALL, doc=doc, **extra)


def _of(event: str, name: str, kind: FieldKind, doc: str, **extra: Any) -> FieldSpec:
    required = frozenset({event}) if extra.pop("required", False) else frozenset()
    return FieldSpec(name, kind, frozenset({event}), required=required, doc=doc, **extra)


_FIELD_LIST: list[FieldSpec] = [
    _common("id", "str", "unique event id: re-sent ids are ignored", required=_ALL),
    _common("type", "str", "the event type", required=_ALL, choices=EVENT_TYPES),
    _common("time", "time", "RFC 3339 with offset or epoch ms", required=_ALL),
    _common("call_id", "str", "the call the event belongs to"),
    _common("trace_id", "str", "OpenTelemetry trace id"),
    _common("span_id", "str", "OpenTelemetry span id"),
    *(_common(d, "str", "dimension") for d in DIMENSIONS),
    _common("test", "bool", "a test call: excluded by a rule", default=False),
    _common("abuse", "bool", "an abusive caller: excluded by a rule", default=False),
    _common("external_outage", "bool", "a provider was known to be down", default=False),
    _common("audio_url", "url", "link to the audio"),
    _common("transcript_url", "url", "link to the transcript"),
    _of("call", "connected", "bool", "reached the intended voice agent", required=True),
    _of("call", "route_correct", "bool", "routed to the right agent", default=True),
    _of(
        "call",
        "first_audio_ms",
        "int",
        "connect → greeting audio; null = dead air",
        minimum=0,
        maximum=MAX_MS,
    ),
    _of("call", "end_reason", "str", "how the call ended", choices=END_REASONS),
    _of("call", "intent_correct", "bool", "audited intent: null = not audited"),
    _of(
        "turn",
        "latency_ms",
        "int",
        "end of caller speech → agent's first audio",
        required=True,
        minimum=0,
        maximum=MAX_MS,
    ),
    *(
        _of("turn", f"{stage}_ms", "int", f"{stage} stage timing", minimum=0, maximum=MAX_MS)
        for stage in STAGES
    ),
    _of("turn", "tool_calls", "int", "tool calls made for the turn", minimum=0, default=0),
    _of("turn", "wer", "float", "word error rate (evaluated turns)", minimum=0),
    _of("turn", "compliant", "bool", "prompt compliance (evaluated turns)"),
    _of("turn", "error_stage", "str", "the stage that failed", choices=STAGES),
    _of("task", "outcome", "str", "the task's outcome", required=True, choices=OUTCOMES),
    _of("task", "agent_caused", "bool", "the agent caused it (default: not completed)"),
    _of("task", "failure_reason", "str", "why it failed"),
    _of("escalation", "required", "bool", "escalation was required", required=True),
    _of("escalation", "escalated", "bool", "the agent escalated", required=True),
    _of("escalation", "context_complete", "bool", "handoff context complete (if escalated)"),
    _of("synthetic", "passed", "bool", "the check passed", required=True),
    _of("synthetic", "check", "str", "the check's name"),
]

FIELDS: Mapping[str, FieldSpec] = {spec.name: spec for spec in _FIELD_LIST}
"""Every field of the event model by name, in schema order."""


def fields_of(event: str) -> list[str]:
    """The fields an event of type ``event`` may carry, in schema order."""
    return [name for name, spec in FIELDS.items() if event in spec.types]
