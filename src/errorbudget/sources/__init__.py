"""Sources: where counts come from. ``plugin.py`` has the protocols (``SourcePlugin``,
``Source``, ``PullSource``) and creates sources; ``schedule.py`` is the one schedule of every
pull source; ``counts_sink.py`` the counts-write protocol every source (and ``ingest``)
writes through. Built-in plugins: ``ingest`` (pushed counts), ``prometheus`` (PromQL queries:
instant and ``query_range``), ``genesys``; ``resilience.py`` the backoff and circuit breaker
HTTP sources share. docs/sources/plugins.md says how to add one."""

from errorbudget.source_catalog import BUILTIN_SOURCES, ENTRY_POINT_GROUP
from errorbudget.sources.base import RunHealth, stored_warnings
from errorbudget.sources.plugin import (
    MetricsFeed,
    MetricsPlugin,
    PullSource,
    Source,
    SourceContext,
    SourcePlugin,
    create_metrics_feeds,
    create_source,
    create_sources,
    plugin,
    source_names,
)

__all__ = [
    "BUILTIN_SOURCES",
    "ENTRY_POINT_GROUP",
    "MetricsFeed",
    "MetricsPlugin",
    "PullSource",
    "RunHealth",
    "Source",
    "SourceContext",
    "SourcePlugin",
    "create_metrics_feeds",
    "create_source",
    "create_sources",
    "plugin",
    "source_names",
    "stored_warnings",
]
