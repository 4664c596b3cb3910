"""The Genesys Cloud source plugin: its settings (``sources.genesys``), its indicator, its
collector and the warnings it records. Importing it is cheap: the collector (and httpx)
load only when a source is created."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from errorbudget.errors import ConfigError
from errorbudget.indicators import IndicatorSettings
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.settings import GenesysSettings
from errorbudget.sources.plugin import Clock, Source, SourceContext

if TYPE_CHECKING:
    from errorbudget.sources.genesys.collector import GenesysCollector
    from errorbudget.sources.genesys.queue_poller import QueuePoller
    from errorbudget.store import Store


@dataclass(frozen=True)
class GenesysPlugin:
    name: str = "genesys"
    indicator_model: type[IndicatorSettings] = GenesysIndicator
    settings_model: type[BaseModel] | None = GenesysSettings

    def unconfigured_problem(self, configured: bool) -> str | None:
        if configured:
            return None
        return (
            "indicator source 'genesys' is not configured: add sources.genesys "
            "(docs/sources/genesys.md), or nothing collects this SLO's counts"
        )

    def create(self, context: SourceContext) -> GenesysCollector | None:
        """The collector for the config's Genesys SLOs; None when there are none.

        A Genesys SLO without a ``sources.genesys`` section is a ConfigError.
        """
        slos = [s for s in context.slos if isinstance(s.indicator, GenesysIndicator)]
        if not slos:
            return None
        settings = context.settings
        if not isinstance(settings, GenesysSettings):
            ids = ", ".join(s.id for s in slos)
            raise ConfigError(
                f"{context.config_path}: SLO(s) {ids} use source genesys, but there is no "
                "sources.genesys section (region or base_url, client_id, client_secret)"
            )
        from errorbudget.sources.genesys.collector import GenesysCollector

        return GenesysCollector(settings, slos, context.store, clock=context.clock)

    def metrics_feed(
        self, settings: BaseModel | None, clock: Clock, source: Source | None
    ) -> QueuePoller | None:
        """The queue families' poller when ``sources.genesys.queue_metrics`` is set, on the
        collector's client when there is one (docs/exporter.md)."""
        if not isinstance(settings, GenesysSettings) or settings.queue_metrics is None:
            return None
        from errorbudget.sources.genesys.client import GenesysClient
        from errorbudget.sources.genesys.collector import GenesysCollector
        from errorbudget.sources.genesys.queue_poller import QueuePoller

        if isinstance(source, GenesysCollector):
            return QueuePoller(settings, source.client, clock=clock)
        client = GenesysClient(settings, clock=clock)
        return QueuePoller(settings, client, clock=clock, owns_client=True)

    def stored_warnings(self, store: Store) -> list[str]:
        """Service levels that differed from Genesys's ``oServiceLevel`` in the last run."""
        from errorbudget.sources.genesys.service_level_checks import stored_warnings

        return stored_warnings(store)


plugin = GenesysPlugin()
