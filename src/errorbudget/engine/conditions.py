"""A burn-rate condition as one SLO judges it: a catalog condition scaled to the SLO's period
and adapted to its target (``engine.alerts`` builds them, ``engine.evaluator`` reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class EffectiveCondition:
    """A catalog condition scaled to one SLO period and adapted to one target."""

    severity: str
    long_window: timedelta
    short_window: timedelta
    budget_fraction: float
    threshold: Fraction
    """The factor the short window's burn must exceed, exactly (after adaptation)."""
    catalog_threshold: Fraction
    highest: Fraction
    """The highest burn the target allows, ``1 / (1 − T)``."""
    long_name: str
    short_name: str
    long_threshold: Fraction | None = None
    """The factor the long window's burn must exceed; None: the same as ``threshold``. A
    low-target adapted condition has ``ceiling × short / long`` here (engine/alerts.py)."""
    name: str = ""
    """The condition's name in ``alerting.tiers`` (``page-1h-5m`` style)."""
    min_bad_events: int = 0
    """The long window needs at least this many bad events (the low-traffic guard)."""
    factor: float = field(init=False)
    long_factor: float = field(init=False)
    catalog_factor: float = field(init=False)
    max_burn: float = field(init=False)
    adapted: bool = field(init=False)
    reachable: bool = field(init=False)
    """Whether the catalog factor can be exceeded at all at this target."""
    split: bool = field(init=False)
    """Whether the long window has its own threshold (the low-target adaptation)."""

    def __post_init__(self) -> None:
        # derived once: a status reads them for every series
        if self.long_threshold is None:
            object.__setattr__(self, "long_threshold", self.threshold)
        object.__setattr__(self, "factor", float(self.threshold))
        object.__setattr__(self, "long_factor", float(self.long_window_threshold))
        object.__setattr__(self, "catalog_factor", float(self.catalog_threshold))
        object.__setattr__(self, "max_burn", float(self.highest))
        object.__setattr__(
            self,
            "adapted",
            self.threshold != self.catalog_threshold
            or self.long_window_threshold != self.catalog_threshold,
        )
        object.__setattr__(self, "reachable", self.catalog_threshold < self.highest)
        # a field, not a property: a status reads it for every series and condition, and
        # comparing two Fractions each time cost ~9 ms of a 1,000-series status (#9)
        object.__setattr__(self, "split", self.long_window_threshold != self.threshold)

    @property
    def long_window_threshold(self) -> Fraction:
        """:attr:`long_threshold`, resolved."""
        return self.threshold if self.long_threshold is None else self.long_threshold
