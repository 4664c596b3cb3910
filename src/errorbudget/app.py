"""The App: the composition root. It loads the config, opens the store, picks the clock and
wires the services; every surface (CLI, HTTP API, dashboard, scheduler) goes through it.

The services hold the rules and never see the App: ``evaluations`` (the published "now"
evaluation and its cache: ``services.evaluations``), ``gate`` (``gate.GateService``),
``changes`` (``changes.ChangeService``) and ``records`` (exclusions and annotations:
``exclusions.RecordsService``). The methods below the services are a thin facade over them,
kept so that existing callers read as before.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from errorbudget.changes import ChangeRequest, ChangeReview, ChangeService
from errorbudget.clock import Clock, utc_now
from errorbudget.config import LoadedConfig, load_config
from errorbudget.engine.timeline import Timeline
from errorbudget.exclusions import RecordsService
from errorbudget.gate import GateService
from errorbudget.model import SLO, BudgetStatus, Exclusion, Minute, PolicyPreset
from errorbudget.records import (
    DEFAULT_LOCK_TIMEOUT,
    Annotation,
    AnnotationKind,
    LockWaiter,
    WriterInfo,
)
from errorbudget.services.evaluations import (
    STALE_MINUTES,
    Evaluation,
    EvaluationKey,
    EvaluationService,
    SeriesConditions,
)
from errorbudget.store import AuditEntry, SeriesInfo, Store, open_store

if TYPE_CHECKING:
    from errorbudget.config import Role
    from errorbudget.engine.policy import Risk

__all__ = [
    "STALE_MINUTES",
    "App",
    "Evaluation",
    "EvaluationKey",
    "SeriesConditions",
    "current_user",
]

T = TypeVar("T")


def current_user() -> str:
    """Who is acting, for the audit log: the OS user, else ``$USER``, else ``unknown``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


class App:
    """Holds the loaded config, the open store, the clock and the services built on them."""

    def __init__(self, loaded: LoadedConfig, store: Store, clock: Clock = utc_now) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self.evaluations = EvaluationService(loaded, store, clock)
        self.gate = GateService(loaded, store, self.evaluations)
        self.changes = ChangeService(loaded, store, clock, self.evaluations, self.gate)
        self.records = RecordsService(loaded, store, clock, self.evaluations)

    @classmethod
    def open(
        cls,
        config_path: str | Path | None = None,
        clock: Clock | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        holder: WriterInfo | None = None,
        on_wait: LockWaiter | None = None,
    ) -> App:
        """Load the config, open its store, and record the config if it changed.

        The clock is ``clock`` if given, else the config's ``clock`` section (a simulated
        time, as ``errorbudget demo`` writes), else real time. ``lock_timeout``,
        ``holder`` and ``on_wait``: how the store's writes wait for its lock (``Store``)."""
        loaded = load_config(config_path)
        if clock is None:
            settings = loaded.config.clock
            clock = settings.clock() if settings is not None else utc_now
        store = open_store(loaded.store_path, lock_timeout=lock_timeout, holder=holder)
        store.on_wait = on_wait
        app = cls(loaded, store, clock)
        try:
            app.record_config()
        except BaseException:
            app.close()
            raise
        return app

    def record_config(self, actor: str | None = None) -> int | None:
        """Append a ``config.apply`` audit entry when the config differs from the last one
        applied to this store (by content, not layout); return its id, or None."""
        canonical = self.loaded.config.model_dump_json()
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        previous = self.store.audit_log(limit=1, action="config.apply")
        before: list[str] = []
        if previous:
            if previous[0].details.get("sha256") == digest:
                return None
            listed = previous[0].details.get("slos")
            before = [str(x) for x in listed] if isinstance(listed, list) else []
        slo_ids = [slo.id for slo in self.slos]
        return self.store.audit(
            actor=actor or current_user(),
            action="config.apply",
            subject=str(self.loaded.path),
            details={
                "sha256": digest,
                "slos": slo_ids,
                "added": sorted(set(slo_ids) - set(before)),
                "removed": sorted(set(before) - set(slo_ids)),
            },
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- facade over the services ----------------------------------------------------------

    @property
    def slos(self) -> list[SLO]:
        return self.evaluations.slos

    def select_slos(
        self, slo_ids: Sequence[str] | None = None, service: str | None = None
    ) -> list[SLO]:
        return self.evaluations.select_slos(slo_ids, service)

    def now_minute(self, at: datetime | None = None) -> Minute:
        return self.evaluations.now_minute(at)

    def preset(self, slo_id: str) -> PolicyPreset:
        return self.evaluations.preset(slo_id)

    def evaluation(self, at: datetime | None = None) -> Evaluation:
        return self.evaluations.evaluation(at)

    def refresh(self) -> Evaluation:
        return self.evaluations.refresh()

    def refresh_in_background(self, wake: Callable[[], None] | None) -> None:
        self.evaluations.refresh_in_background(wake)

    def status(
        self,
        at: datetime | None = None,
        slo_ids: Sequence[str] | None = None,
        service: str | None = None,
        include_total: bool = True,
    ) -> list[BudgetStatus]:
        return self.evaluations.status(at, slo_ids, service, include_total)

    def memo(self, key: Hashable, basis: EvaluationKey, compute: Callable[[], T]) -> T:
        return self.evaluations.memo(key, basis, compute)

    def timeline(
        self,
        slo_id: str,
        segment: Mapping[str, str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        step: timedelta = timedelta(hours=1),
    ) -> Timeline:
        return self.evaluations.timeline(slo_id, segment, start, end, step)

    def conditions(
        self,
        at: datetime | None = None,
        slo_ids: Sequence[str] | None = None,
        service: str | None = None,
        firing_only: bool = False,
    ) -> list[SeriesConditions]:
        return self.evaluations.conditions(at, slo_ids, service, firing_only)

    def propose_exclusion(
        self,
        *,
        slo: str,
        start: datetime,
        end: datetime,
        category: str,
        reason: str,
        proposed_by: str,
        segment: dict[str, str] | None = None,
        service: str | None = None,
    ) -> Exclusion:
        return self.records.propose_exclusion(
            slo=slo, start=start, end=end, category=category, reason=reason,
            proposed_by=proposed_by, segment=segment, service=service,
        )  # fmt: skip

    def approve_exclusion(
        self, exclusion_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> Exclusion:
        return self.records.review_exclusion(
            exclusion_id, reviewer=approver, role=role, decision="approve", comment=comment
        )

    def reject_exclusion(
        self, exclusion_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> Exclusion:
        return self.records.review_exclusion(
            exclusion_id, reviewer=approver, role=role, decision="reject", comment=comment
        )

    def revoke_exclusion(
        self, exclusion_id: int, *, revoked_by: str, reason: str = ""
    ) -> Exclusion:
        return self.records.revoke_exclusion(exclusion_id, revoked_by=revoked_by, reason=reason)

    def matching_series(self, exclusion: Exclusion) -> list[SeriesInfo]:
        return self.records.matching_series(exclusion)

    def add_annotation(
        self,
        *,
        at: datetime,
        kind: AnnotationKind,
        text: str,
        created_by: str,
        service: str | None = None,
        slo: str | None = None,
        segment: Mapping[str, str] | None = None,
    ) -> Annotation:
        return self.records.add_annotation(
            at=at, kind=kind, text=text, created_by=created_by, service=service, slo=slo,
            segment=segment,
        )  # fmt: skip

    def annotations(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        slo: str | None = None,
        kinds: Sequence[AnnotationKind] | None = None,
        limit: int = 1000,
    ) -> list[Annotation]:
        return self.records.annotations(
            start=start, end=end, service=service, slo=slo, kinds=kinds, limit=limit
        )

    def submit_change(
        self,
        *,
        service: str,
        title: str,
        submitted_by: str,
        change_type: str = "feature",
        risk: Risk = "medium",
        slo_ids: Sequence[str] = (),
        segment: Mapping[str, str] | None = None,
        description: str = "",
    ) -> ChangeReview:
        return self.changes.submit(
            ChangeRequest(
                service=service, title=title, submitted_by=submitted_by,
                change_type=change_type, risk=risk, slo_ids=slo_ids, segment=segment,
                description=description,
            )
        )  # fmt: skip

    def change(self, change_id: int) -> ChangeReview:
        return self.changes.get(change_id)

    def approve_change(
        self, change_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> ChangeReview:
        return self.changes.review_change(
            change_id, approver=approver, role=role, decision="approve", comment=comment
        )

    def reject_change(
        self, change_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> ChangeReview:
        return self.changes.review_change(
            change_id, approver=approver, role=role, decision="reject", comment=comment
        )

    def withdraw_change(
        self, change_id: int, *, actor: str, role: Role, reason: str = ""
    ) -> ChangeReview:
        return self.changes.withdraw_change(change_id, actor=actor, role=role, reason=reason)

    def ship_change(
        self, change_id: int, *, actor: str, shipped_at: datetime | None = None
    ) -> ChangeReview:
        return self.changes.ship_change(change_id, actor=actor, shipped_at=shipped_at)

    def change_gate(
        self, change_id: int, *, actor: str, at: datetime | None = None, record: bool = True
    ) -> ChangeReview:
        return self.changes.judge(change_id, actor=actor, at=at, record=record)

    def gate_decisions(self, *, service: str | None = None, limit: int = 100) -> list[AuditEntry]:
        return self.gate.decisions(service=service, limit=limit)
