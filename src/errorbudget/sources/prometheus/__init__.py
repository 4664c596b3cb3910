"""``prometheus``: SLO counts from two PromQL queries against a Prometheus-compatible API
(Prometheus, Thanos, Mimir, VictoriaMetrics; docs/sources/prometheus.md). The plugin, its
settings (``sources.prometheus``) and its indicator; the collector (and httpx) load only
when a source is created."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from errorbudget.errors import ConfigError
from errorbudget.indicators import IndicatorSettings
from errorbudget.sources.plugin import SourceContext
from errorbudget.sources.prometheus.indicator import PrometheusIndicator
from errorbudget.sources.prometheus.settings import PrometheusSettings

if TYPE_CHECKING:
    from errorbudget.sources.prometheus.collector import PrometheusCollector

__all__ = ["PrometheusIndicator", "PrometheusPlugin", "PrometheusSettings", "plugin"]


@dataclass(frozen=True)
class PrometheusPlugin:
    name: str = "prometheus"
    indicator_model: type[IndicatorSettings] = PrometheusIndicator
    settings_model: type[BaseModel] | None = PrometheusSettings

    def unconfigured_problem(self, configured: bool) -> str | None:
        if configured:
            return None
        return (
            "indicator source 'prometheus' is not configured: add sources.prometheus with "
            "the url of a Prometheus-compatible API (docs/sources/prometheus.md), or nothing "
            "queries this SLO's counts"
        )

    def create(self, context: SourceContext) -> PrometheusCollector | None:
        """The collector for the config's Prometheus SLOs; None when there are none. A
        Prometheus SLO without ``sources.prometheus`` (or with an auth variable unset) is
        a ConfigError."""
        slos = [s for s in context.slos if isinstance(s.indicator, PrometheusIndicator)]
        if not slos:
            return None
        settings = context.settings
        if not isinstance(settings, PrometheusSettings):
            ids = ", ".join(s.id for s in slos)
            raise ConfigError(
                f"{context.config_path}: SLO(s) {ids} use source prometheus, but there is no "
                "sources.prometheus section (url, and auth if the API needs it)"
            )
        from errorbudget.sources.prometheus.collector import PrometheusCollector

        return PrometheusCollector(settings, slos, context.store, clock=context.clock)


plugin = PrometheusPlugin()
