"""The records the store keeps of voice-agent events besides their counts (issue #12).

Plain data, no I/O, like ``records.py``: an event kept because it was bad or excluded (the
review queue and attribution read these), an hourly count per dimension value and the
hourly stage-timing sums of an events SLO. The store's ``EventRecords`` protocol takes and
returns these; services and surfaces import them from here, never from a backend.

Kept events are written as a ``KeptBatch`` (an Arrow table and columns, so a batch of
thousands costs no Python object per event) and read back one ``KeptEvent`` each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from errorbudget.model import Minute

if TYPE_CHECKING:
    import pyarrow as pa

Verdict = Literal["bad", "excluded"]
"""Why an event was kept: it failed the SLO's good rule, or an exclusion rule matched it."""

VERDICTS: tuple[Verdict, ...] = ("bad", "excluded")

EVENT_DIMENSIONS: tuple[str, ...] = (
    "flow",
    "intent",
    "route",
    "agent_version",
    "prompt_version",
    "model",
    "asr_provider",
    "tts_provider",
    "language",
    "risk_tier",
    "region",
)
"""The event model's dimensions, in its order — the one list: the event model
(``sources.events.fields.DIMENSIONS``) and the simulator use it; a kept event's
``dimensions`` has these keys."""

EVENT_STAGES: tuple[str, ...] = ("telephony", "asr", "llm", "tool", "tts", "crm")
"""The pipeline stages, the one list (``sources.events.fields.STAGES``); a stage's timing is
``<stage>_ms``."""

UNKNOWN = "unknown"
"""A dimension an event does not carry reads as this value."""


@dataclass(frozen=True, slots=True)
class KeptEvent:
    """One event an events SLO counted as bad, or excluded, as stored.

    ``event`` is the event as received (its non-null fields, ``time`` in epoch
    milliseconds); the other fields are read from it for the callers' convenience.
    """

    slo: str
    series: int
    segment: dict[str, str]
    minute: Minute
    time: datetime
    event_id: str
    type: str
    verdict: Verdict
    exclusion: str | None
    call_id: str | None
    trace_id: str | None
    dimensions: dict[str, str]
    stages: dict[str, int | None]
    latency_ms: int | None
    error_stage: str | None
    audio_url: str | None
    transcript_url: str | None
    event: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        slo: str,
        series: int,
        segment: Mapping[str, str],
        minute: Minute,
        verdict: Verdict,
        exclusion: str | None,
        event: Mapping[str, Any],
    ) -> KeptEvent:
        """A kept event from its stored parts (``event``: the stored event object)."""
        millis = event.get("time")
        time = (
            datetime.fromtimestamp(millis / 1000, UTC)
            if isinstance(millis, int | float)
            else datetime.fromtimestamp(minute * 60, UTC)
        )
        return cls(
            slo=slo,
            series=series,
            segment=dict(segment),
            minute=minute,
            time=time,
            event_id=str(event.get("id", "")),
            type=str(event.get("type", "")),
            verdict=verdict,
            exclusion=exclusion,
            call_id=_text(event.get("call_id")),
            trace_id=_text(event.get("trace_id")),
            dimensions={name: _text(event.get(name)) or UNKNOWN for name in EVENT_DIMENSIONS},
            stages={stage: _int(event.get(f"{stage}_ms")) for stage in EVENT_STAGES},
            latency_ms=_int(event.get("latency_ms")),
            error_stage=_text(event.get("error_stage")),
            audio_url=_text(event.get("audio_url")),
            transcript_url=_text(event.get("transcript_url")),
            event=dict(event),
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class KeptBatch:
    """Kept events of one SLO to save: the events as an Arrow table (their fields, ``id``
    and ``time`` at least; ``time`` a timestamp or epoch milliseconds) and, per row, the
    series it counts in, its verdict and its exclusion rule's name (or None)."""

    events: pa.Table
    series: Sequence[int]
    verdicts: Sequence[Verdict]
    exclusions: Sequence[str | None]

    def __len__(self) -> int:
        return int(self.events.num_rows)

    def __post_init__(self) -> None:
        sizes = {
            int(self.events.num_rows),
            len(self.series),
            len(self.verdicts),
            len(self.exclusions),
        }
        if len(sizes) != 1:
            raise ValueError("a kept batch's columns must have the same length")


@dataclass(frozen=True, slots=True)
class DimensionCount:
    """An events SLO's counts in one UTC hour, for one flow and one dimension value.

    ``eligible`` events counted, ``bad`` ones among them; ``excluded`` events an exclusion
    rule took out, ``excluded_bad`` of those that also fail the good rule (raw failures =
    ``bad + excluded_bad``). ``dimension`` is one of the event dimensions, or
    ``error_stage`` (bad events only).
    """

    hour: Minute
    flow: str
    dimension: str
    value: str
    eligible: int
    bad: int
    excluded: int
    excluded_bad: int


@dataclass(frozen=True, slots=True)
class StageSum:
    """A turn SLO's stage timings in one UTC hour and flow: the sum and count of ``stage``'s
    milliseconds over eligible events, and over the bad ones among them."""

    hour: Minute
    flow: str
    stage: str
    eligible_ms: int
    eligible_n: int
    bad_ms: int
    bad_n: int


DIMENSION_COLUMNS: tuple[str, ...] = (
    "hour",
    "flow",
    "dimension",
    "value",
    "eligible",
    "bad",
    "excluded",
    "excluded_bad",
)
"""The columns of the dimension rollup table the fold hands to the store."""

STAGE_COLUMNS: tuple[str, ...] = (
    "hour",
    "flow",
    "stage",
    "eligible_ms",
    "eligible_n",
    "bad_ms",
    "bad_n",
)
"""The columns of the stage-sum table the fold hands to the store."""
