"""Source plugins: the protocols a source implements, and how sources are created.

A source plugin (``SourcePlugin``) is one object per source kind, found by name in the
catalog (``errorbudget.source_catalog``: built-ins by module path, third-party ones by the
``errorbudget.sources`` entry-point group). It owns:

- ``settings_model`` — its ``sources.<name>`` section (None: nothing to configure);
- ``indicator_model`` — its SLOs' ``indicator`` (the segment labels it fills, its default
  data age: ``errorbudget.indicators.IndicatorSettings``);
- ``unconfigured_problem`` — why an SLO of this source would never get data;
- ``create`` — its collector (a :class:`Source`) for the config's SLOs, or None.

A source that collects on its own (a *pull* source) is a :class:`PullSource`: the generic
schedule (``sources.schedule``) runs it under ``errorbudget serve``, and ``errorbudget
collect --source NAME`` runs it once or over a range and prints its report. Every source
writes counts through the counts-write protocol (``sources.counts_sink.CountsSink``), the
same door as ``errorbudget ingest``.

A plugin may also expose metrics of its own on ``/metrics`` (the Genesys queue families):
a :class:`MetricsPlugin` — one more method, ``metrics_feed`` — returns a
:class:`MetricsFeed`, whose ``run`` polls on its own schedule (a job of ``serve``, the
loop of ``errorbudget exporter``) and whose ``collectors`` (prometheus_client
``Collector`` objects) yield what the last poll left: a scrape never calls the upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel

from errorbudget.errors import ConfigError
from errorbudget.model import SLO, Minute
from errorbudget.source_catalog import SourceKind, source_catalog

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

    from errorbudget.sources.run_health import RunHealth
    from errorbudget.store import Store

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]
"""``progress(done, total)`` chunks, for a progress bar."""


@runtime_checkable
class Source(Protocol):
    """Anything that collects counts for ``[start, end)`` into the store."""

    @property
    def name(self) -> str: ...

    async def collect(self, start: datetime, end: datetime) -> int:
        """Fetch ``[start, end)`` and write its counts; return the rows written."""

    async def aclose(self) -> None: ...


class SourceRun(Protocol):
    """What one collection run did (its report)."""

    @property
    def ok(self) -> bool: ...

    @property
    def error(self) -> str | None: ...


@runtime_checkable
class PullSource(Source, Protocol):
    """A source that fetches on its own: scheduled by ``serve``, run by ``collect``."""

    @property
    def interval(self) -> timedelta:
        """How often the schedule runs it."""

    @property
    def run_health(self) -> RunHealth:
        """This process's runs (``/readyz``, ``/metrics``)."""

    @property
    def last_report(self) -> SourceRun | None:
        """The last run's report (None before the first run ends)."""

    async def run_once(self, *, deadline: timedelta | None = None) -> SourceRun:
        """One scheduled run: from ``lookback`` before the high-water mark to now."""

    async def collect_range(
        self,
        start: Minute,
        end: Minute,
        *,
        progress: Progress | None = None,
        deadline: timedelta | None = None,
    ) -> SourceRun:
        """One run over ``[start, end)`` (``collect --from``)."""

    def report(self, run: Any) -> dict[str, Any]:
        """``run`` (one of its reports) as JSON (``collect --format json``)."""

    def summary(self, run: Any) -> str:
        """``run`` as one line of text."""


@dataclass(frozen=True)
class SourceContext:
    """What a plugin gets to create its source."""

    name: str
    settings: BaseModel | None
    """Its ``sources.<name>`` section, validated by its ``settings_model`` (None: absent)."""
    slos: list[SLO]
    """The SLOs whose indicator names this source."""
    store: Store
    """The store: counts go through its counts-write protocol (``CountsSink``)."""
    clock: Clock
    config_path: Path


@runtime_checkable
class SourcePlugin(SourceKind, Protocol):
    """A source kind: its models (``SourceKind``) and its collector."""

    def create(self, context: SourceContext) -> Source | None:
        """The source for ``context.slos``; None when there is nothing to collect (no SLO
        of this source). A ConfigError when the SLOs need settings that are missing."""


class LoadedSources(Protocol):
    """What creating sources needs of a loaded config (``config.LoadedConfig``)."""

    @property
    def path(self) -> Path: ...

    def source_settings(self, name: str) -> BaseModel | None: ...

    def slos_of(self, source: str) -> list[SLO]: ...


def plugin(name: str) -> SourcePlugin:
    """The plugin named ``name`` (ConfigError when unknown or without ``create``)."""
    kind = source_catalog().kind(name)
    if not isinstance(kind, SourcePlugin):
        raise ConfigError(f"source {name!r}: its plugin has no create(context) method")
    return kind


def source_names() -> list[str]:
    return source_catalog().names()


def create_source(name: str, loaded: LoadedSources, store: Store, clock: Clock) -> Source | None:
    """The source ``name`` for ``loaded``'s SLOs, or None when it has nothing to collect."""
    context = SourceContext(
        name, loaded.source_settings(name), loaded.slos_of(name), store, clock, loaded.path
    )
    return plugin(name).create(context)


def create_sources(
    loaded: LoadedSources, store: Store, clock: Clock, names: Sequence[str] | None = None
) -> Iterator[Source]:
    """Every source the config uses (of ``names``, if given), in catalog order."""
    for name in source_names() if names is None else names:
        source = create_source(name, loaded, store, clock)
        if source is not None:
            yield source


@runtime_checkable
class MetricsFeed(Protocol):
    """Metrics a source exposes besides its counts: polled by ``run``, read by scrapes."""

    @property
    def name(self) -> str: ...

    def collectors(self) -> Sequence[Collector]:
        """Collectors read at each scrape (cheap: no upstream call)."""

    def exposition(self) -> bytes:
        """The last poll's families in the text format (0.0.4), appended to a scrape as
        they are (``b""``: none)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Poll on the feed's own cadence until ``stop`` is set."""

    async def aclose(self) -> None: ...


@runtime_checkable
class MetricsPlugin(Protocol):
    """A source plugin with metrics of its own (optional, next to ``create``)."""

    def metrics_feed(
        self, settings: BaseModel | None, clock: Clock, source: Source | None
    ) -> MetricsFeed | None:
        """The feed for its ``sources.<name>`` section (None: nothing to expose). ``source``
        is the plugin's source created for the same config, if any: a feed shares its
        client (one set of tokens, one rate limit)."""


def create_metrics_feeds(
    loaded: LoadedSources, clock: Clock, sources: Sequence[Source] = ()
) -> list[MetricsFeed]:
    """Every configured source's metrics feed, in catalog order; ``sources`` are those
    already created (their clients are shared)."""
    created = {source.name: source for source in sources}
    feeds: list[MetricsFeed] = []
    for name in source_names():
        kind = source_catalog().kind(name)
        if not callable(getattr(kind, "metrics_feed", None)):
            continue
        assert isinstance(kind, MetricsPlugin)
        feed = kind.metrics_feed(loaded.source_settings(name), clock, created.get(name))
        if feed is not None:
            feeds.append(feed)
    return feeds
