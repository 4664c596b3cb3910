"""The ``Source`` protocol and the source registry.

A source turns an external system into counts in the store. Anything with a ``name`` and
an async ``collect(start, end)`` that returns the number of count rows it wrote is a
source (prometheus/client_python ``Collector.collect()`` style). Sources are created by
*factories* registered by name; the built-in ones (``genesys``) are registered exactly as
a third-party one would be — by ``module:attribute`` path, imported only when used
(datasette ``DEFAULT_PLUGINS``) — and installed packages can add theirs through the
``errorbudget.sources`` entry-point group.

A factory gets the loaded config, the store and the clock, and returns a source, or None
when the config does not use it (no ``sources.genesys`` section, no Genesys SLO).
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from errorbudget.errors import ConfigError

if TYPE_CHECKING:
    from errorbudget.config import LoadedConfig
    from errorbudget.store import Store

Clock = Callable[[], datetime]
ENTRY_POINT_GROUP = "errorbudget.sources"

BUILTIN_SOURCES: dict[str, str] = {
    "genesys": "errorbudget.sources.genesys:create_source",
}
"""Built-in sources: name → ``module:factory``."""

BUILTIN_WARNINGS: dict[str, str] = {
    "genesys": "errorbudget.sources.genesys.service_level_checks:stored_warnings",
}
"""Built-in sources' warnings for ``errorbudget status``: name → ``module:function(store)``
returning the sentences the source recorded in the store (e.g. a service level that
differs from the one the source system computes)."""


def stored_warnings(store: Store) -> list[str]:
    """Every built-in source's recorded warnings (sentences, without a prefix)."""
    found: list[str] = []
    for path in BUILTIN_WARNINGS.values():
        module_name, _, attribute = path.partition(":")
        warnings: Callable[[Store], list[str]] = getattr(
            importlib.import_module(module_name), attribute
        )
        found += warnings(store)
    return found


@runtime_checkable
class Source(Protocol):
    """Anything that collects counts for ``[start, end)`` into the store."""

    @property
    def name(self) -> str: ...

    async def collect(self, start: datetime, end: datetime) -> int:
        """Fetch ``[start, end)`` and write its counts; return the rows written."""

    async def aclose(self) -> None: ...


@dataclass
class RunHealth:
    """What a scheduled source's runs did in this process: ``/readyz`` says when one has
    failed every run for too long, ``/metrics`` counts runs by outcome. (The store keeps
    every run as well — ``Store.source_health`` — across restarts and processes; this is
    what this process saw, even when the store could not record it.)"""

    outcomes: Counter[str] = field(default_factory=Counter)
    """Runs by outcome: ``ok``, ``failed``."""
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    """When the first run of the current streak of failed runs started (None: the last
    run succeeded, or none ran yet)."""
    consecutive_failures: int = 0
    last_error: str | None = None
    unrecorded: list[bool] = field(default_factory=list)
    """Whether each run the store could not record yet (busy) succeeded, oldest first."""

    def record(self, *, ok: bool, started_at: datetime, finished_at: datetime,
               error: str | None) -> None:  # fmt: skip
        self.outcomes["ok" if ok else "failed"] += 1
        self.last_run_at = finished_at
        if ok:
            self.last_success_at = finished_at
            self.failing_since = None
            self.consecutive_failures = 0
            self.last_error = None
        else:
            self.failing_since = self.failing_since or started_at
            self.consecutive_failures += 1
            self.last_error = error


SourceFactory = Callable[["LoadedConfig", "Store", Clock], Source | None]


def _load(path: str) -> SourceFactory:
    module_name, _, attribute = path.partition(":")
    factory: SourceFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


class SourceRegistry:
    """Source factories by name. ``SourceRegistry.default()`` has the built-ins."""

    def __init__(self) -> None:
        self._factories: dict[str, SourceFactory | str] = {}

    @classmethod
    def default(cls, *, plugins: bool = True) -> SourceRegistry:
        """The built-in sources, plus those of installed packages' entry points."""
        registry = cls()
        for name, path in BUILTIN_SOURCES.items():
            registry.register(name, path)
        if plugins:
            for entry in entry_points(group=ENTRY_POINT_GROUP):
                registry.register(entry.name, entry.value)
        return registry

    def register(self, name: str, factory: SourceFactory | str) -> None:
        """Add a factory (or its ``module:attribute`` path); a name can be registered once."""
        if name in self._factories:
            raise ValueError(f"a source named {name!r} is already registered")
        self._factories[name] = factory

    def names(self) -> list[str]:
        return sorted(self._factories)

    def factory(self, name: str) -> SourceFactory:
        if name not in self._factories:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"no source named {name!r} (registered: {known})")
        factory = self._factories[name]
        if isinstance(factory, str):
            factory = self._factories[name] = _load(factory)
        return factory

    def create(self, name: str, loaded: LoadedConfig, store: Store, clock: Clock) -> Source | None:
        return self.factory(name)(loaded, store, clock)

    def create_all(self, loaded: LoadedConfig, store: Store, clock: Clock) -> Iterator[Source]:
        """Every source the config uses."""
        for name in self.names():
            source = self.create(name, loaded, store, clock)
            if source is not None:
                yield source
