"""``prometheus``: the ratio of two PromQL queries. In this version only the indicator model
exists (OpenSLO imports keep such indicators, and generators will read them); nothing
queries Prometheus yet, so an SLO of this source is a validation error that says so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, model_validator

from errorbudget.indicators import IndicatorSettings
from errorbudget.sources.plugin import Source, SourceContext


class PrometheusIndicator(IndicatorSettings):
    """Ratio of two PromQL queries; ``{{.window}}`` is replaced by the range (Sloth style)."""

    source: Literal["prometheus"] = "prometheus"
    good_query: str | None = None
    bad_query: str | None = None
    total_query: str

    @model_validator(mode="after")
    def _good_or_bad(self) -> PrometheusIndicator:
        if (self.good_query is None) == (self.bad_query is None):
            raise ValueError("give exactly one of good_query and bad_query")
        return self


@dataclass(frozen=True)
class PrometheusPlugin:
    name: str = "prometheus"
    indicator_model: type[IndicatorSettings] = PrometheusIndicator
    settings_model: type[BaseModel] | None = None

    def unconfigured_problem(self, configured: bool) -> str | None:
        return (
            "indicator source 'prometheus' is not available in this version: no "
            "Prometheus source is configured or can be, so nothing would query it (push "
            "the counts with errorbudget ingest and indicator source: ingest instead)"
        )

    def create(self, context: SourceContext) -> Source | None:
        return None


plugin = PrometheusPlugin()
