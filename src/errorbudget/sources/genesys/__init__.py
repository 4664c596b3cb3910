"""Genesys Cloud as a source: OAuth client, resilient async API client, SLI collector.

Modules: ``plugin`` (the source plugin), ``settings`` and ``indicator`` (its models),
``regions`` (the region table), ``auth`` (client-credentials tokens),
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

from errorbudget.sources.genesys.indicator import GenesysIndicator, GenesysSelection
from errorbudget.sources.genesys.plugin import GenesysPlugin, plugin
from errorbudget.sources.genesys.settings import GenesysSettings
from errorbudget.sources.plugin import Clock, LoadedSources
from errorbudget.sources.plugin import create_source as _create

if TYPE_CHECKING:
    from errorbudget.sources.genesys.collector import GenesysCollector
    from errorbudget.store import Store

__all__ = [
    "GenesysIndicator",
    "GenesysPlugin",
    "GenesysSelection",
    "GenesysSettings",
    "create_source",
    "plugin",
]


def create_source(loaded: LoadedSources, store: Store, clock: Clock) -> GenesysCollector | None:
    """The collector for ``loaded``'s Genesys SLOs; None when there are none (a Genesys SLO
    without ``sources.genesys`` is a ConfigError)."""
    from errorbudget.sources.genesys.collector import GenesysCollector

    source = _create("genesys", loaded, store, clock)
    assert source is None or isinstance(source, GenesysCollector)
    return source
