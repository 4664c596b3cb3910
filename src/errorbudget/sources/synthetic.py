"""``synthetic``: synthetic checks of a critical flow (a robot placing a test call or
booking), pushed with ``errorbudget ingest`` or ``POST /api/v1/counts`` as rows marked
``synthetic: true``. One check is one event, good when it passed: the SLO is the flow's
synthetic success (seed 002, "Synthetic critical-flow success") and its budget counts
checks. Its rows are stored under the source name ``synthetic``; besides the burn and
budget alerts of any SLO, its series page on ``alerting.synthetic.consecutive_failures``
failed checks in a row inside the SLO's schedule (``SyntheticCheckFailing``,
docs/alerting.md "Synthetic checks").

Nothing to configure and nothing to collect: the checks are pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from errorbudget.indicators import SYNTHETIC_SOURCE, IndicatorSettings
from errorbudget.sources.plugin import Source, SourceContext


class SyntheticIndicator(IndicatorSettings):
    """Synthetic checks of one critical flow: each check one event, good when it passed."""

    source: Literal["synthetic"] = "synthetic"
    flow: str = Field(min_length=1, max_length=200)
    """The flow the checks exercise (``booking-critical-path``), for people and exports."""
    good: str = "passed synthetic checks"
    total: str = "synthetic checks"


@dataclass(frozen=True)
class SyntheticPlugin:
    name: str = SYNTHETIC_SOURCE
    indicator_model: type[IndicatorSettings] = SyntheticIndicator
    settings_model: type[BaseModel] | None = None

    def unconfigured_problem(self, configured: bool) -> str | None:
        return None  # checks are pushed: nothing needs configuring

    def create(self, context: SourceContext) -> Source | None:
        return None  # nothing collects: the checks are pushed


plugin = SyntheticPlugin()
