"""The Genesys indicator: which metric, which queues or flows, which segment labels
(docs/sources/genesys.md). Owned by the Genesys source plugin (``plugin.py``)."""

from __future__ import annotations

from datetime import timedelta
from fnmatch import fnmatchcase
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from errorbudget.indicators import IndicatorSettings

GenesysMetric = Literal[
    "voice_sla", "digital_sla", "answered_within", "ivr_completion", "api_availability"
]
GenesysMediaType = Literal[
    "voice", "callback", "chat", "email", "message", "cobrowse", "video", "screenshare"
]

GENESYS_DEFAULT_MEDIA: dict[str, tuple[str, ...]] = {
    "voice_sla": ("voice",),
    "digital_sla": ("chat", "message"),
    "answered_within": ("voice",),
}
"""Media types of a queue metric when ``media_types`` is empty."""

GENESYS_LABELS: dict[str, tuple[str, ...]] = {
    "voice_sla": ("queue", "queue_id", "media_type"),
    "digital_sla": ("queue", "queue_id", "media_type"),
    "answered_within": ("queue", "queue_id", "media_type"),
    "ivr_completion": ("flow", "flow_id"),
    "api_availability": ("endpoint",),
}
"""Segment keys each Genesys metric can fill (plus the labels of ``segment_map``)."""


class GenesysSelection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    """Queues (or flows) by id, exact name or shell-style name pattern; empty selects all."""

    ids: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)

    @property
    def everything(self) -> bool:
        return not (self.ids or self.names or self.patterns)

    def selects(self, entity_id: str, name: str | None) -> bool:
        """Whether the entity is selected (patterns are case-insensitive ``fnmatch``)."""
        if self.everything or entity_id in self.ids:
            return True
        if name is None:
            return False
        folded = name.casefold()
        return name in self.names or any(fnmatchcase(folded, p.casefold()) for p in self.patterns)


class GenesysIndicator(IndicatorSettings):
    """Counts collected from Genesys Cloud (``errorbudget collect``; docs/sources/genesys.md).

    Queue metrics (``voice_sla``, ``digital_sla``, ``answered_within``) come from
    ``POST /api/v2/analytics/conversations/aggregates/query`` grouped by queue and media
    type: good = answered within the service-level target (``tAnswered`` − ``nOverSla``;
    for ``answered_within``: answered within ``threshold_seconds``, from a ``views``
    ``rangeBound`` on ``tAnswered``), total = answered + abandoned [+ flow-outs]
    [− short abandons] (Genesys's service-level formula). ``ivr_completion`` comes from
    ``flows/aggregates/query``; ``api_availability`` from the collector's own API calls.
    """

    source: Literal["genesys"] = "genesys"
    metric: GenesysMetric
    media_types: list[GenesysMediaType] = Field(default_factory=list)
    queues: GenesysSelection = Field(default_factory=GenesysSelection)
    flows: GenesysSelection = Field(default_factory=GenesysSelection)
    segment_map: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Extra segment labels from the queue (or flow) name: label → {name pattern: value};
    the first matching pattern wins, a name matching none gets ``other``."""
    include_flow_outs: bool = False
    exclude_short_abandons: bool = False
    include_abandons: bool = True
    threshold_seconds: int | None = Field(default=None, gt=0, le=86_400)

    @model_validator(mode="after")
    def _metric_settings(self) -> GenesysIndicator:
        if self.metric == "answered_within" and self.threshold_seconds is None:
            raise ValueError("metric answered_within needs threshold_seconds")
        if self.metric != "answered_within" and self.threshold_seconds is not None:
            raise ValueError("threshold_seconds only applies to metric answered_within")
        queue_metric = self.metric in GENESYS_DEFAULT_MEDIA
        if not queue_metric and (self.media_types or not self.queues.everything):
            raise ValueError(f"media_types and queues do not apply to metric {self.metric}")
        if self.metric != "ivr_completion" and not self.flows.everything:
            raise ValueError("flows only applies to metric ivr_completion")
        if self.metric == "api_availability" and self.segment_map:
            raise ValueError("segment_map does not apply to metric api_availability")
        clash = set(self.segment_map) & set(GENESYS_LABELS[self.metric])
        if clash:
            raise ValueError(f"segment_map label(s) {sorted(clash)} clash with built-in labels")
        return self

    default_max_age: ClassVar[timedelta | None] = timedelta(hours=1)
    """The collector writes every minute it fetched (zeros included), so a series' last
    stored minute is how far collection got: judged stale after an hour by default."""

    def segment_key_problem(self, keys: list[str]) -> str | None:
        unknown = [k for k in keys if k not in self.labels]
        if not unknown:
            return None
        return (
            f"segment key(s) {unknown} cannot be filled by Genesys metric "
            f"{self.metric} (available: {', '.join(self.labels)})"
        )

    @property
    def media(self) -> tuple[str, ...]:
        """The media types counted: ``media_types``, else the metric's default."""
        return tuple(self.media_types) or GENESYS_DEFAULT_MEDIA.get(self.metric, ())

    @property
    def labels(self) -> tuple[str, ...]:
        """Every segment key this indicator can fill."""
        return (*GENESYS_LABELS[self.metric], *self.segment_map)

    def mapped_labels(self, name: str) -> dict[str, str]:
        """The ``segment_map`` labels of a queue (or flow) called ``name``."""
        labels = {}
        for label, patterns in self.segment_map.items():
            labels[label] = next(
                (v for p, v in patterns.items() if fnmatchcase(name.casefold(), p.casefold())),
                "other",
            )
        return labels
