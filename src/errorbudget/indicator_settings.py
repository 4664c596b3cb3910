"""The base of every indicator model (``errorbudget.indicators`` re-exports it: plugins
import it from there). Kept apart so the source catalog can name it without importing the
indicator validation, which uses the catalog."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class IndicatorSettings(BaseModel):
    """The base of every indicator model: ``source`` names the plugin that owns it.

    A plugin's model narrows ``source`` to ``Literal["<name>"]`` and adds its fields; it
    may override :meth:`segment_key_problem` (the segment keys it can fill) and
    :attr:`default_max_age` (when its data is stale without ``data.max_age``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    source: str

    default_max_age: ClassVar[timedelta | None] = None
    """Default ``data.max_age`` of this source's SLOs (None: staleness not judged)."""

    def segment_key_problem(self, keys: list[str]) -> str | None:
        """Why an SLO segmented by ``keys`` could never be filled, or None (any keys)."""
        return None
