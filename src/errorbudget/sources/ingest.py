"""``ingest``: counts pushed with ``errorbudget ingest`` (CSV/NDJSON) or ``POST
/api/v1/counts``. Nothing to configure and nothing to collect: the plugin only names the
indicator model (``errorbudget.indicators.IngestIndicator``, the default indicator)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from errorbudget.indicators import IndicatorSettings, IngestIndicator
from errorbudget.sources.plugin import Source, SourceContext


@dataclass(frozen=True)
class IngestPlugin:
    name: str = "ingest"
    indicator_model: type[IndicatorSettings] = IngestIndicator
    settings_model: type[BaseModel] | None = None

    def unconfigured_problem(self, configured: bool) -> str | None:
        return None  # counts are pushed: nothing needs configuring

    def create(self, context: SourceContext) -> Source | None:
        return None  # nothing collects: the counts are pushed


plugin = IngestPlugin()
