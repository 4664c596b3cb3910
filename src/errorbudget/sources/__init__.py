"""Sources: where counts come from (Genesys Cloud, …). See ``base.py`` for the protocol."""

from errorbudget.sources.base import (
    BUILTIN_SOURCES,
    Source,
    SourceFactory,
    SourceRegistry,
    stored_warnings,
)

__all__ = ["BUILTIN_SOURCES", "Source", "SourceFactory", "SourceRegistry", "stored_warnings"]
