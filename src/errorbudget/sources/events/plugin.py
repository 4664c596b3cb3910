"""``events``: SLIs over voice-agent events (calls, turns, tasks, escalations, synthetic
checks), pushed as NDJSON/Parquet files, over the HTTP API or as OpenTelemetry traces. The
indicator (``indicator.py``) says how events become good and eligible counts; the fold
(``fold.py``) makes the minute counts the store keeps under the source name ``events``.

Nothing to configure here and nothing to collect: events are pushed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from errorbudget.indicators import IndicatorSettings
from errorbudget.sources.events.indicator import EVENTS_SOURCE, EventsIndicator
from errorbudget.sources.plugin import Source, SourceContext


@dataclass(frozen=True)
class EventsPlugin:
    name: str = EVENTS_SOURCE
    indicator_model: type[IndicatorSettings] = EventsIndicator
    settings_model: type[BaseModel] | None = None

    def unconfigured_problem(self, configured: bool) -> str | None:
        return None  # events are pushed: nothing needs configuring

    def create(self, context: SourceContext) -> Source | None:
        return None  # nothing collects: events are pushed


plugin = EventsPlugin()
