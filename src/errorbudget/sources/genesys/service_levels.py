"""Each queue's service-level target, read from the org and kept effective-dated.

**Where the org keeps it.** A queue's target per media type is in ``GET
/api/v2/routing/queues`` (``Queue.mediaSettings.<media>.serviceLevel``: ``percentage``
0–1 and ``durationMs``; ``<media>`` is ``call`` for voice, else ``callback``, ``chat``,
``email``, ``message``). The org's service-level *calculation* options (include flow-outs,
short abandons, abandons: Admin → Contact Center → Analytics) are not in any Platform API
(the SDK's only analytics settings, ``AnalyticsReportingSettings``, hold PII masking
options): they stay indicator settings, checked against ``oServiceLevel`` (``checks``).

**Why effective-dated.** Genesys computes ``nOverSla`` — and ``oServiceLevel`` — of every
interval, past ones included, with the queue's *current* target: when an admin changes
20 s to 10 s, last month's service level silently drops. errorbudget records each queue ×
media type's target with the minute it was first seen (the store's append-only audit log,
action ``genesys.service_level``), and counts an interval against the target in force
then: answered within it, from a ``views`` ``rangeBound`` on ``tAnswered`` (``lt`` target +
1 ms, i.e. not over the target, as ``nOverSla`` counts), not from ``nOverSla``. Before the
first record, the first target seen applies (nothing older is known). A change is seen at
the first collection after it (``queue_cache_ttl`` bounds how stale the queue list is), so
intervals between the change and that moment keep the old target.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from errorbudget.model import Minute, from_minute, to_minute
from errorbudget.store import Store

ACTION = "genesys.service_level"
"""The audit-log action of a target seen for the first time (or changed)."""
ACTOR = "genesys-collector"
HISTORY_LIMIT = 1_000_000
MEDIA_SETTING_KEYS: dict[str, str] = {
    "voice": "call",
    "callback": "callback",
    "chat": "chat",
    "email": "email",
    "message": "message",
}
"""errorbudget media type → key of ``Queue.mediaSettings`` (other media have no target)."""


@dataclass(frozen=True, slots=True)
class ServiceLevelTarget:
    """A queue's service-level target for one media type: ``percentage`` of the
    conversations answered within ``duration_ms``."""

    percentage: float
    duration_ms: int

    def describe(self) -> str:
        seconds = self.duration_ms / 1000
        return f"{self.percentage:.0%} in {seconds:g} s"


def media_targets(entity: Mapping[str, Any]) -> dict[str, ServiceLevelTarget]:
    """Media type → target, from a ``Queue`` entity's ``mediaSettings``."""
    settings = entity.get("mediaSettings")
    found: dict[str, ServiceLevelTarget] = {}
    if not isinstance(settings, Mapping):
        return found
    for media, key in MEDIA_SETTING_KEYS.items():
        media_settings = settings.get(key)
        level = media_settings.get("serviceLevel") if isinstance(media_settings, Mapping) else None
        if not isinstance(level, Mapping):
            continue
        percentage, duration = level.get("percentage"), level.get("durationMs")
        if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
            continue
        if isinstance(percentage, bool) or not isinstance(percentage, int | float):
            percentage = 0.0
        found[media] = ServiceLevelTarget(float(percentage), int(duration))
    return found


@dataclass(frozen=True, slots=True)
class TargetChange:
    queue_id: str
    queue: str
    media_type: str
    target: ServiceLevelTarget
    previous: ServiceLevelTarget | None
    effective_from: Minute


class ServiceLevelHistory:
    """Targets per (queue id, media type), each with the minute it took effect."""

    def __init__(self) -> None:
        self._starts: dict[tuple[str, str], list[Minute]] = {}
        self._targets: dict[tuple[str, str], list[ServiceLevelTarget]] = {}

    @classmethod
    def load(cls, store: Store) -> ServiceLevelHistory:
        """The history recorded in ``store``'s audit log."""
        history = cls()
        for entry in reversed(store.audit_log(action=ACTION, limit=HISTORY_LIMIT)):
            details = entry.details
            try:
                key = (str(details["queue_id"]), str(details["media_type"]))
                target = ServiceLevelTarget(
                    float(details["percentage"]),  # type: ignore[arg-type]
                    int(details["duration_ms"]),  # type: ignore[call-overload]
                )
                start = to_minute(datetime.fromisoformat(str(details["effective_from"])))
            except (KeyError, TypeError, ValueError):
                continue  # not ours, or damaged: ignored rather than guessed
            history.add(key, start, target)
        return history

    def add(self, key: tuple[str, str], start: Minute, target: ServiceLevelTarget) -> None:
        starts = self._starts.setdefault(key, [])
        targets = self._targets.setdefault(key, [])
        at = bisect.bisect_right(starts, start)
        starts.insert(at, start)
        targets.insert(at, target)

    def current(self, queue_id: str, media_type: str) -> ServiceLevelTarget | None:
        targets = self._targets.get((queue_id, media_type))
        return targets[-1] if targets else None

    def effective(
        self, queue_id: str, media_type: str, minute: Minute
    ) -> ServiceLevelTarget | None:
        """The target in force at ``minute`` (before the first record: the first one)."""
        key = (queue_id, media_type)
        starts = self._starts.get(key)
        if not starts:
            return None
        at = bisect.bisect_right(starts, minute) - 1
        return self._targets[key][max(at, 0)]

    def changed_at(self, queue_id: str, media_type: str) -> Minute | None:
        """When the current target took effect, if it replaced another."""
        starts = self._starts.get((queue_id, media_type)) or []
        return starts[-1] if len(starts) > 1 else None

    def durations(self) -> set[int]:
        """Every target duration (ms) in the history: the views a query needs."""
        return {t.duration_ms for targets in self._targets.values() for t in targets}

    def observe(
        self,
        store: Store,
        targets: Iterable[tuple[str, str, str, ServiceLevelTarget]],
        minute: Minute,
    ) -> list[TargetChange]:
        """Record every (queue id, queue name, media type, target) that is new or differs
        from the one in force, effective from ``minute``; return what changed."""
        changes = []
        for queue_id, name, media_type, target in targets:
            previous = self.current(queue_id, media_type)
            if previous == target:
                continue
            change = TargetChange(queue_id, name, media_type, target, previous, minute)
            store.audit(
                actor=ACTOR,
                action=ACTION,
                subject=f"queue:{queue_id}:{media_type}",
                details=_details(change),
            )
            self.add((queue_id, media_type), minute, target)
            changes.append(change)
        return changes


def _details(change: TargetChange) -> dict[str, object]:
    details: dict[str, object] = {
        "queue_id": change.queue_id,
        "queue": change.queue,
        "media_type": change.media_type,
        "percentage": change.target.percentage,
        "duration_ms": change.target.duration_ms,
        "effective_from": from_minute(change.effective_from).isoformat(),
    }
    if change.previous is not None:
        details["previous"] = {
            "percentage": change.previous.percentage,
            "duration_ms": change.previous.duration_ms,
        }
    return details
