"""What the voice views read from the store: the ``EventRecords`` reads (kept events, hourly
dimension rollups, stage sums) and the records they return, as the events store defines
them (plan of issue #12, ``store/protocols.py`` and ``event_records.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from errorbudget.model import Minute
from errorbudget.sources.events.model import STAGES

__all__ = ["STAGES", "DimensionCount", "KeptEvent", "StageSum", "VoiceEventReads"]


class KeptEvent(Protocol):
    """A failed (``verdict`` ``bad``) or excluded event an events SLO kept."""

    @property
    def slo(self) -> str: ...
    @property
    def segment(self) -> Mapping[str, str]: ...
    @property
    def minute(self) -> Minute: ...
    @property
    def time(self) -> datetime: ...
    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def exclusion(self) -> str | None: ...
    @property
    def call_id(self) -> str | None: ...
    @property
    def trace_id(self) -> str | None: ...
    @property
    def dimensions(self) -> Mapping[str, str]: ...
    @property
    def audio_url(self) -> str | None: ...
    @property
    def transcript_url(self) -> str | None: ...
    @property
    def event(self) -> Mapping[str, Any]: ...


class DimensionCount(Protocol):
    """One hour × flow × dimension value of an events SLO's rollup."""

    @property
    def hour(self) -> Minute: ...
    @property
    def flow(self) -> str: ...
    @property
    def dimension(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def eligible(self) -> int: ...
    @property
    def bad(self) -> int: ...
    @property
    def excluded(self) -> int: ...
    @property
    def excluded_bad(self) -> int: ...


class StageSum(Protocol):
    """One hour × flow × stage of a turn SLO's stage timings."""

    @property
    def hour(self) -> Minute: ...
    @property
    def flow(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def eligible_ms(self) -> int: ...
    @property
    def eligible_n(self) -> int: ...
    @property
    def bad_ms(self) -> int: ...
    @property
    def bad_n(self) -> int: ...


class VoiceEventReads(Protocol):
    """The reads of the store's ``EventRecords`` the voice views make."""

    def kept_events(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        verdict: str | None = None,
        segment: Mapping[str, str] | None = None,
        limit: int = 500,
    ) -> list[Any]: ...

    def dimension_counts(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        dimension: str | None = None,
        flow: str | None = None,
    ) -> list[Any]: ...

    def stage_sums(
        self, slo: str, start: Minute, end: Minute, *, flow: str | None = None
    ) -> list[Any]: ...
