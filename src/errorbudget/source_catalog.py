"""Which sources exist: the built-in ones by module path, third-party ones by entry point.

A *source plugin* is one object that owns everything about a source: its settings model
(the ``sources.<name>`` section), its indicator model (an SLO's ``indicator`` with
``source: <name>``), the segment labels its indicators fill, its default data age, and the
collector it creates (``errorbudget.sources.plugin.SourcePlugin`` has the whole protocol).
This module knows only what validating a config needs (:class:`SourceKind`), so the domain
model can validate an indicator without importing any source: plugins are imported by
path, lazily, the built-in ones exactly as a third-party one would be (datasette
``DEFAULT_PLUGINS``), and installed packages add theirs through the ``errorbudget.sources``
entry-point group::

    [project.entry-points."errorbudget.sources"]
    queuecounts = "mypackage.errorbudget_source:plugin"

The catalog is read once per process (:func:`source_catalog`); tests that install a plugin
call :func:`reload_source_catalog`.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from errorbudget.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from errorbudget.indicator_settings import IndicatorSettings

ENTRY_POINT_GROUP = "errorbudget.sources"

BUILTIN_SOURCES: dict[str, str] = {
    "ingest": "errorbudget.sources.ingest:plugin",
    "prometheus": "errorbudget.sources.prometheus:plugin",
    "genesys": "errorbudget.sources.genesys.plugin:plugin",
    "synthetic": "errorbudget.sources.synthetic:plugin",
    "events": "errorbudget.sources.events.plugin:plugin",
}
"""Built-in sources: name → ``module:attribute`` of the plugin object."""


@runtime_checkable
class SourceKind(Protocol):
    """What the config needs to know of a source plugin (the rest: ``SourcePlugin``)."""

    @property
    def name(self) -> str:
        """The ``source:`` of its indicators and its key under ``sources:``."""

    @property
    def indicator_model(self) -> type[IndicatorSettings]:
        """The model of its SLOs' ``indicator`` (``source`` is a ``Literal`` of the name)."""

    @property
    def settings_model(self) -> type[BaseModel] | None:
        """The model of ``sources.<name>``; None when there is nothing to configure (a
        push source such as ``ingest``)."""

    def unconfigured_problem(self, configured: bool) -> str | None:
        """Why an SLO of this source would never get data, given whether ``sources.<name>``
        is configured; None when it will. An SLO whose counts nothing collects would show
        "no data" forever while ``validate`` called it valid: that is an error."""


class SourceCatalog:
    """Source plugins by name: paths until first used, then the loaded objects.

    Installed packages' entry points are read only when a name that is not built in is
    asked for, or all names are: a config of built-in sources never pays for the scan
    (``importlib.metadata`` and every installed distribution's ``entry_points.txt``)."""

    def __init__(self, paths: Mapping[str, str], *, discover: bool = False) -> None:
        self._paths = dict(paths)
        self._discover = discover
        self._loaded: dict[str, SourceKind] = {}

    @classmethod
    def discover(cls) -> SourceCatalog:
        """The built-in sources plus those of installed packages' entry points (read on
        first need); a package cannot replace a built-in (its entry point is then a
        configuration error)."""
        return cls(BUILTIN_SOURCES, discover=True)

    def _scan(self) -> None:
        if not self._discover:
            return
        self._discover = False
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name in BUILTIN_SOURCES:
                raise ConfigError(
                    f"the installed package entry point {entry.name} = {entry.value} "
                    f"({ENTRY_POINT_GROUP}) names a built-in source: rename it"
                )
            self._paths[entry.name] = entry.value

    def __contains__(self, name: object) -> bool:
        if name not in self._paths:
            self._scan()
        return name in self._paths

    def names(self) -> list[str]:
        """Built-in sources first, in their order, then the others alphabetically."""
        self._scan()
        builtin = [n for n in BUILTIN_SOURCES if n in self._paths]
        return builtin + sorted(n for n in self._paths if n not in BUILTIN_SOURCES)

    def builtin_names(self) -> list[str]:
        """The built-in sources (no scan)."""
        return [n for n in BUILTIN_SOURCES if n in self._paths]

    def path(self, name: str) -> str:
        return self._paths[name]

    def kind(self, name: str) -> SourceKind:
        """The plugin named ``name``, imported on first use (ConfigError when unknown or
        not a plugin)."""
        found = self._loaded.get(name)
        if found is not None:
            return found
        if name not in self:
            known = ", ".join(self.names())
            raise ConfigError(f"no source named {name!r} (known: {known})")
        path = self._paths[name]
        module_name, _, attribute = path.partition(":")
        try:
            plugin = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"source {name!r}: cannot load its plugin {path}: {exc}") from exc
        if not isinstance(plugin, SourceKind) or plugin.name != name:
            raise ConfigError(
                f"source {name!r}: {path} is not a source plugin named {name!r} "
                "(see docs/sources/plugins.md)"
            )
        self._loaded[name] = plugin
        return plugin


@functools.cache
def source_catalog() -> SourceCatalog:
    """This process's catalog (entry points are read once)."""
    return SourceCatalog.discover()


def reload_source_catalog() -> SourceCatalog:
    """Read the entry points again (after a package was installed or removed)."""
    source_catalog.cache_clear()
    return source_catalog()
