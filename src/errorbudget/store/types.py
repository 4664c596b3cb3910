"""Records the store returns besides the domain types of ``errorbudget.model``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from errorbudget.model import SegmentKey


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One stored series: one SLO x one segment (``()`` is the whole SLO)."""

    id: int
    slo: str
    segment: SegmentKey


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the append-only audit log: who did what to which thing, and when (UTC)."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, object]
