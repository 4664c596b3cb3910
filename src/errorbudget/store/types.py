"""Records the store returns besides the domain types of ``errorbudget.model``."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """One entry of the append-only audit log: who did what to which thing, and when (UTC).

    ``records`` are the chained rows the entry wrote, as ``(table, id, digest)``;
    ``prev_hash`` and ``hash`` place it in the chain (``store.chain``)."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, object]
    records: list[tuple[str, int, str]] = field(default_factory=list)
    prev_hash: str | None = None
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit entries to read, newest first: exact ``actor``, ``action`` and
    ``subject``, an ``action_prefix`` (``change.``), ``at`` in ``[since, until)``, ids
    below ``before`` (the next page), at most ``limit``."""

    limit: int = 100
    actor: str | None = None
    action: str | None = None
    action_prefix: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
