"""Source run health, and the warnings sources record for ``errorbudget status``.

The protocols a source implements and how sources are created are in ``plugin.py``; the
catalog of source plugins is ``errorbudget.source_catalog``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from errorbudget.source_catalog import source_catalog
from errorbudget.sources.plugin import Source
from errorbudget.sources.run_health import RunHealth

if TYPE_CHECKING:
    from errorbudget.store import Store

__all__ = ["RunHealth", "Source", "StoredWarnings", "stored_warnings"]


@runtime_checkable
class StoredWarnings(Protocol):
    """A plugin whose source records warnings in the store for ``errorbudget status``
    (e.g. a service level that differs from the one the source system computes)."""

    def stored_warnings(self, store: Store) -> list[str]: ...


def stored_warnings(store: Store, names: Iterable[str] | None = None) -> list[str]:
    """The recorded warnings (sentences, without a prefix) of the sources ``names`` (a
    config's ``LoadedConfig.sources_used()``: no other plugin is imported), else of every
    source in the catalog."""
    catalog = source_catalog()
    found: list[str] = []
    for name in catalog.names() if names is None else names:
        kind = catalog.kind(name)
        if isinstance(kind, StoredWarnings):
            found += kind.stored_warnings(store)
    return found
