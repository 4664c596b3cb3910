"""Genesys Cloud as a source: OAuth client, resilient async API client, SLI collector.

Modules: ``regions`` (the region table), ``auth`` (client-credentials tokens),
``resilience`` (rate limiter, backoff, circuit breaker), ``client`` (the API client),
``queries`` and ``slis`` (query bodies and formulas, pure), ``service_levels`` (the
queues' targets, effective-dated), ``service_level_checks`` (errorbudget vs Genesys's
``oServiceLevel``), ``checks`` (counts that cannot be right, pure), ``observations`` (queue
gauges), ``writer`` (idempotent writes, data issues, the call tally), ``collector``
(chunks, bounded and recorded runs, gap backfill, the scheduler loop).
docs/sources/genesys.md is the user's guide. Importing this package is cheap: the client
(and httpx) load only when a collector is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from errorbudget.errors import ConfigError
from errorbudget.model import GenesysIndicator

if TYPE_CHECKING:
    from errorbudget.config import LoadedConfig
    from errorbudget.sources.base import Clock
    from errorbudget.sources.genesys.collector import GenesysCollector
    from errorbudget.store import Store


def create_source(loaded: LoadedConfig, store: Store, clock: Clock) -> GenesysCollector | None:
    """The collector for the config's Genesys SLOs; None when there are none.

    A Genesys SLO without a ``sources.genesys`` section is a ConfigError.
    """
    slos = [s for s in loaded.config.slos if isinstance(s.indicator, GenesysIndicator)]
    settings = loaded.config.sources.genesys
    if not slos:
        return None
    if settings is None:
        ids = ", ".join(s.id for s in slos)
        raise ConfigError(
            f"{loaded.path}: SLO(s) {ids} use source genesys, but there is no "
            "sources.genesys section (region or base_url, client_id, client_secret)"
        )
    from errorbudget.sources.genesys.collector import GenesysCollector

    return GenesysCollector(settings, slos, store, clock=clock)
