"""The App object: config + store + engine + clock, used by every surface.

Surfaces (CLI, HTTP API, dashboard, scheduler) never compute budgets themselves; they ask
the App, which reads counts from the store and hands them to the pure engine. That is what
keeps the same numbers everywhere.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from errorbudget.clock import Clock, utc_now
from errorbudget.config import LoadedConfig, load_config
from errorbudget.engine.alerts import EffectiveCondition, effective_conditions
from errorbudget.engine.timeline import DEFAULT_SPAN as DEFAULT_TIMELINE_SPAN
from errorbudget.engine.timeline import Timeline
from errorbudget.engine.windows import nominal_length
from errorbudget.evaluation import SloEvaluation, SloInputs, evaluate_slos
from errorbudget.history import read_timeline
from errorbudget.model import (
    SLO,
    BudgetStatus,
    ConditionResult,
    Exclusion,
    Minute,
    PolicyPreset,
    PolicyState,
    SegmentKey,
    matches,
    to_minute,
)
from errorbudget.records import (
    DEFAULT_LOCK_TIMEOUT,
    Annotation,
    AnnotationKind,
    LockWaiter,
    WriterInfo,
)
from errorbudget.store import AuditEntry, SeriesInfo, Store, open_store

if TYPE_CHECKING:
    from errorbudget.changes import ChangeReview
    from errorbudget.config import Role
    from errorbudget.engine.policy import Risk

T = TypeVar("T")

STALE_MINUTES = 2
"""With a warmer, "now" is served from the last evaluation while it is at most this many
minutes old; an older one (a warmer that fell behind or died) is not served: the caller
evaluates."""


def current_user() -> str:
    """Who is acting, for the audit log: the OS user, else ``$USER``, else ``unknown``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


EvaluationKey = tuple[Minute, int]
"""The evaluation minute and the store's revision (``Store.revision``)."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The statuses of every series at one minute and store revision (whole-SLO rows first
    within each SLO, SLOs in config order), and the group rows of SLOs with several segment
    keys (``evaluation.SloEvaluation``)."""

    key: EvaluationKey
    statuses: list[BudgetStatus]
    groups: dict[str, list[BudgetStatus]] = field(default_factory=dict)

    @property
    def minute(self) -> Minute:
        return self.key[0]

    def select(self, slo_ids: Iterable[str]) -> list[BudgetStatus]:
        wanted = set(slo_ids)
        return [status for status in self.statuses if status.slo in wanted]


@dataclass(frozen=True, slots=True)
class SeriesConditions:
    """The burn-rate conditions of one series at one instant (from its BudgetStatus):
    which multiwindow pairs are over their factor."""

    slo: str
    service: str
    segment: SegmentKey
    at: Minute
    state: PolicyState
    conditions: tuple[ConditionResult, ...]

    @property
    def firing(self) -> list[ConditionResult]:
        return [c for c in self.conditions if c.firing]


class App:
    """Holds the loaded config, the open store and the clock; every surface goes through it."""

    def __init__(self, loaded: LoadedConfig, store: Store, clock: Clock = utc_now) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self._condition_cache: dict[tuple[str, Fraction], list[EffectiveCondition]] = {}
        self._status_lock = threading.Lock()
        self._latest: Evaluation | None = None
        self._history: dict[EvaluationKey, Evaluation] = {}
        self._refresher: Callable[[], None] | None = None
        self._memo: dict[Hashable, object] = {}
        self._memo_lock = threading.Lock()

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

    # --- SLOs ------------------------------------------------------------------------------

    @property
    def slos(self) -> list[SLO]:
        return list(self.loaded.config.slos)

    def select_slos(
        self, slo_ids: Sequence[str] | None = None, service: str | None = None
    ) -> list[SLO]:
        """SLOs by id (each must exist) and/or service, in config order."""
        chosen = [self.loaded.slo(slo_id) for slo_id in slo_ids] if slo_ids else self.slos
        if service is not None:
            chosen = [slo for slo in chosen if slo.service == service]
        return chosen

    def now_minute(self, at: datetime | None = None) -> Minute:
        return to_minute(at or self.clock())

    # --- status ----------------------------------------------------------------------------

    def evaluation(self, at: datetime | None = None) -> Evaluation:
        """The statuses of every series of every SLO at ``at`` (default: now), whole-SLO
        rows included, from the cache when the minute and the stored data have not moved.

        An explicit ``at`` always gets its own minute, evaluated by the caller. For "now",
        when the minute or the data has moved since the last evaluation, the last one is
        served rather than stalling the caller: while another thread evaluates the new one,
        or always once :meth:`refresh_in_background` has handed the work to a warmer
        (``errorbudget serve``). It is then at most one evaluation old and never more than
        ``STALE_MINUTES`` behind, and its ``at`` says which minute it is; results derived
        from it are memoised by its key (:meth:`memo`).

        Evaluate before opening a store transaction, not inside one: evaluating takes this
        App's status lock and then the store's, and a transaction holds the store's.
        """
        at_minute = self.now_minute(at)
        key = (at_minute, self.store.revision())
        if at is not None:
            return self._evaluation_at(key)
        latest = self._latest
        if latest is not None and latest.key == key:
            return latest
        recent = latest is not None and at_minute - latest.minute <= STALE_MINUTES
        if recent and self._refresher is not None:
            assert latest is not None
            self._refresher()
            return latest
        # Without a warmer the caller evaluates; while another thread evaluates, a recent
        # last evaluation is served meanwhile, an older one (or none) is waited for.
        if not self._status_lock.acquire(blocking=not recent):
            assert latest is not None
            return latest
        try:
            return self._refresh_latest(key)
        finally:
            self._status_lock.release()

    def refresh(self) -> Evaluation:
        """Evaluate "now" if the minute or the data moved since the last evaluation (the
        warmer's call: it blocks while another thread evaluates)."""
        key = (self.now_minute(), self.store.revision())
        with self._status_lock:
            return self._refresh_latest(key)

    def refresh_in_background(self, wake: Callable[[], None] | None) -> None:
        """Hand the evaluation of "now" to a warmer: from here on a caller that finds the
        minute or the data moved calls ``wake()`` and is served the last evaluation, and
        the warmer calls :meth:`refresh`. ``None`` hands the work back to the callers."""
        self._refresher = wake

    def _refresh_latest(self, key: EvaluationKey) -> Evaluation:
        latest = self._latest
        if latest is None or latest.key != key:
            latest = self._evaluation(key)
            self._latest = latest
        return latest

    def _evaluation_at(self, key: EvaluationKey) -> Evaluation:
        """An explicit minute: the last 8 are kept (the oldest evicted first); the current
        minute is "now"'s evaluation, shared with it rather than evaluated twice."""
        with self._status_lock:
            if self._latest is not None and self._latest.key == key:
                return self._latest
            if key[0] == self.now_minute():  # key was read just now: it is "now"'s
                return self._refresh_latest(key)
            found = self._history.get(key)
            if found is None:
                found = self._evaluation(key)
                self._history[key] = found
                while len(self._history) > 8:
                    self._history.pop(next(iter(self._history)))
            return found

    def status(
        self,
        at: datetime | None = None,
        slo_ids: Sequence[str] | None = None,
        service: str | None = None,
        include_total: bool = True,
    ) -> list[BudgetStatus]:
        """Status of every series of the chosen SLOs at ``at`` (default: now).

        An SLO with segments also gets a whole-SLO row (segment ``()``) first, whose budget
        is the sum of its segments' budgets, unless ``include_total`` is False. Served from
        :meth:`evaluation` (see there for when "now" may be one evaluation old).
        """
        chosen = self.select_slos(slo_ids, service)
        if not include_total:
            found = self._evaluate(chosen, self.now_minute(at), include_total=False)
            return [status for result in found.values() for status in result.statuses]
        return self.evaluation(at).select(slo.id for slo in chosen)

    def memo(self, key: Hashable, basis: EvaluationKey, compute: Callable[[], T]) -> T:
        """``compute()`` cached under ``key`` for the evaluation ``basis`` (an
        :attr:`Evaluation.key`): for results derived from its statuses, e.g. the HTTP API's
        encoded status responses, which would otherwise cost more than evaluating. Keyed by
        the evaluation, not by the clock, so a result computed from an evaluation served
        while the next one runs is never filed under the next one."""
        full_key = (key, basis)
        with self._memo_lock:
            if full_key in self._memo:
                return cast(T, self._memo[full_key])
        value = compute()
        with self._memo_lock:
            self._memo[full_key] = value
            while len(self._memo) > 4096:
                self._memo.pop(next(iter(self._memo)))
        return value

    def _evaluation(self, key: EvaluationKey) -> Evaluation:
        found = self._evaluate(self.slos, key[0], True)
        return Evaluation(
            key,
            [status for result in found.values() for status in result.statuses],
            {slo_id: result.groups for slo_id, result in found.items() if result.groups},
        )

    def _evaluate(
        self, slos: Sequence[SLO], at_minute: Minute, include_total: bool
    ) -> dict[str, SloEvaluation]:
        exclusions = self.store.list_exclusions()
        issues = self.store.list_data_issues()
        series = self._series_by_slo(slos) if slos else {}
        inputs = [
            SloInputs(
                slo,
                series.get(slo.id, []),
                self.loaded.policy(slo.policy),
                self.loaded.eligibility(slo),
            )
            for slo in slos
        ]
        return evaluate_slos(
            self.store, inputs, at_minute, exclusions, self._conditions, include_total, issues
        )

    def preset(self, slo_id: str) -> PolicyPreset:
        """The policy preset an SLO is judged by (its ``policy``)."""
        return self.loaded.policy(self.loaded.slo(slo_id).policy)

    def _series_by_slo(self, slos: Sequence[SLO]) -> dict[str, list[SeriesInfo]]:
        """Stored series of each SLO whose labels are exactly the SLO's segment keys (series
        left over from an earlier segmentation are not evaluated)."""
        stored = self.store.list_series(slos[0].id if len(slos) == 1 else None)
        keys = {slo.id: set(slo.segments.keys) for slo in slos}
        grouped: dict[str, list[SeriesInfo]] = {}
        for info in stored:
            if info.slo in keys and {k for k, _ in info.segment} == keys[info.slo]:
                grouped.setdefault(info.slo, []).append(info)
        return grouped

    def _conditions(self, slo: SLO, target: Fraction) -> list[EffectiveCondition]:
        """Conditions scaled to ``slo`` at ``target`` (exact), cached: a whole-SLO row's
        effective target follows its traffic mix, so the cache is bounded."""
        key = (slo.id, target)
        cached = self._condition_cache.get(key)
        if cached is not None:
            return cached
        catalog = self.loaded.catalog(slo.alerting.catalog)
        conditions = effective_conditions(
            catalog, nominal_length(slo.window), target, slo.alerting.max_burn_fraction
        )
        if len(self._condition_cache) > 4096:
            self._condition_cache.clear()
        self._condition_cache[key] = conditions
        return conditions

    # --- exclusions ------------------------------------------------------------------------

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
        """Propose an exclusion (pending: it counts once an approver approves it); the raw
        counts stay. Rules: :mod:`errorbudget.exclusions`."""
        from errorbudget import exclusions

        return exclusions.propose(
            self, slo=slo, start=start, end=end, category=category, reason=reason,
            proposed_by=proposed_by, segment=segment, service=service,
        )  # fmt: skip

    def approve_exclusion(
        self, exclusion_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> Exclusion:
        """Approve a pending exclusion: an approver (or admin) who did not propose it."""
        from errorbudget import exclusions

        return exclusions.review(
            self, exclusion_id, reviewer=approver, role=role, decision="approve", comment=comment
        )

    def reject_exclusion(
        self, exclusion_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> Exclusion:
        """Reject a pending exclusion (same rules as :meth:`approve_exclusion`)."""
        from errorbudget import exclusions

        return exclusions.review(
            self, exclusion_id, reviewer=approver, role=role, decision="reject", comment=comment
        )

    def matching_series(self, exclusion: Exclusion) -> list[SeriesInfo]:
        """The stored series an exclusion applies to (none yet is legal: data may follow),
        whatever its status."""
        slos = {slo.id: slo for slo in self.slos}
        found = []
        for info in self.store.list_series(None if exclusion.slo == "*" else exclusion.slo):
            slo = slos.get(info.slo)
            if slo is None or exclusion.slo not in ("*", slo.id):
                continue
            if exclusion.service in (None, slo.service) and matches(
                info.segment, exclusion.segment
            ):
                found.append(info)
        return found

    def revoke_exclusion(
        self, exclusion_id: int, *, revoked_by: str, reason: str = ""
    ) -> Exclusion:
        """Revoke a pending or approved exclusion (its events count again). NotFoundError
        for an unknown id, ConflictError once rejected or revoked."""
        from errorbudget import exclusions

        return exclusions.revoke(self, exclusion_id, revoked_by=revoked_by, reason=reason)

    # --- time series and conditions ------------------------------------------------------------

    def timeline(
        self,
        slo_id: str,
        segment: Mapping[str, str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        step: timedelta = timedelta(hours=1),
    ) -> Timeline:
        """SLI, burn rates (1h, 6h, 1d, period) and budget remaining of one series at every
        ``step`` from ``start`` to ``end`` (both included; default: the 30 days before now).

        ``segment`` empty or None is the whole SLO (budget = sum of its segments' budgets,
        as in :meth:`status`); otherwise it names every segment key of one stored series
        (NotFoundError if none is stored). Each point equals what :meth:`status` reports at
        that instant. Counts are read once, at step resolution, and windows are prefix-sum
        differences (``engine.timeline``). At most ``MAX_POINTS`` (5,000) points.
        """
        slo = self.loaded.slo(slo_id)
        until = end or self.clock()
        since = start or until - DEFAULT_TIMELINE_SPAN
        return read_timeline(
            self.store,
            slo,
            segment or {},
            to_minute(since),
            to_minute(until),
            step,
            self.store.list_exclusions(),
            self.loaded.eligibility(slo),
            self.store.list_data_issues(),
        )

    def conditions(
        self,
        at: datetime | None = None,
        slo_ids: Sequence[str] | None = None,
        service: str | None = None,
        firing_only: bool = False,
    ) -> list[SeriesConditions]:
        """Burn-rate conditions of every series (whole-SLO rows included) at ``at``, from the
        statuses' multiwindow evaluation; ``firing_only`` keeps series with a firing one."""
        found = [
            SeriesConditions(s.slo, s.service, s.segment, s.at, s.state, s.conditions)
            for s in self.status(at=at, slo_ids=slo_ids, service=service)
        ]
        return [c for c in found if c.firing] if firing_only else found

    # --- annotations ---------------------------------------------------------------------------

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
        """Mark a deploy, config or model change, incident, … on the timeline; audited.
        ``slo`` must be a configured SLO (its service is then filled in) and ``segment``
        keys must be ones it segments by."""
        from errorbudget.changes import add_annotation

        return add_annotation(
            self,
            at=at,
            kind=kind,
            text=text,
            created_by=created_by,
            service=service,
            slo=slo,
            segment=segment,
        )

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
        """Annotations in ``[start, end)``, oldest first; a service or SLO filter also
        returns annotations that name none (they concern everything)."""
        return self.store.list_annotations(
            start=start, end=end, service=service, slo=slo, kinds=kinds, limit=limit
        )

    # --- changes and approvals (rules: errorbudget.changes) -----------------------------------

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
        """Submit a change: judge it by the gate now (recorded, with the budget snapshot),
        estimate its budget impact from history, store it pending; audited."""
        from errorbudget.changes import submit_change

        return submit_change(
            self,
            service=service,
            title=title,
            submitted_by=submitted_by,
            change_type=change_type,
            risk=risk,
            slo_ids=slo_ids,
            segment=segment,
            description=description,
        )

    def changes(
        self,
        *,
        status: Sequence[str] | None = None,
        service: str | None = None,
        limit: int = 100,
    ) -> list[ChangeReview]:
        """Changes, newest first, each with its approvals and approval status (judged by
        the decision stored with it; :meth:`change_gate` re-judges one now)."""
        from errorbudget.changes import review

        return [
            review(self, change)
            for change in self.store.list_changes(status=status, service=service, limit=limit)
        ]

    def change(self, change_id: int) -> ChangeReview:
        """One change with its approvals and approval status; NotFoundError if unknown."""
        from errorbudget.changes import review

        return review(self, self.store.get_change(change_id))

    def approve_change(
        self, change_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> ChangeReview:
        """Approve a pending change. PermissionDeniedError for the change's own author or a
        role below approver; ConflictError unless it is pending."""
        from errorbudget.changes import review_change

        return review_change(
            self, change_id, approver=approver, role=role, decision="approve", comment=comment
        )

    def reject_change(
        self, change_id: int, *, approver: str, role: Role, comment: str = ""
    ) -> ChangeReview:
        """Reject a pending change (same rules as :meth:`approve_change`)."""
        from errorbudget.changes import review_change

        return review_change(
            self, change_id, approver=approver, role=role, decision="reject", comment=comment
        )

    def withdraw_change(
        self, change_id: int, *, actor: str, role: Role, reason: str = ""
    ) -> ChangeReview:
        """Withdraw a pending or approved change: its author, or an admin."""
        from errorbudget.changes import withdraw_change

        return withdraw_change(self, change_id, actor=actor, role=role, reason=reason)

    def ship_change(
        self, change_id: int, *, actor: str, shipped_at: datetime | None = None
    ) -> ChangeReview:
        """Mark a change shipped (ConflictError unless the gate lets it through now) and
        add its deploy annotation, which later estimates learn from. The gate is judged
        now; ``shipped_at`` only dates the record, within the past 24 hours."""
        from errorbudget.changes import ship_change

        return ship_change(self, change_id, actor=actor, shipped_at=shipped_at)

    def change_gate(
        self, change_id: int, *, actor: str, at: datetime | None = None, record: bool = True
    ) -> ChangeReview:
        """Re-judge a change by the gate now: the current decision for its scope together
        with its approvals (what ``errorbudget gate --change`` reports). With ``record``, a
        decision that differs from the stored one replaces it and is audited. ``at`` is a
        what-if, never recorded (it needs ``record=False``)."""
        from errorbudget.changes import change_gate

        return change_gate(self, change_id, actor=actor, at=at, record=record)

    def gate_decisions(self, *, service: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Past gate decisions from the audit log, newest first, each with the budget
        snapshot behind it (``details.change_id`` names the change when there was one).

        A decision's entry references its snapshot (``details.snapshot_id``, stored once in
        ``gate_snapshots``); it is resolved into ``details.snapshot`` here, checked against
        its SHA-256: one that fails is not shown (``details.snapshot`` None) and
        ``details.snapshot_problem`` says why."""
        entries = self.store.audit_log(limit=limit, action="gate.decision", subject=service)
        refs = {e.id: i for e in entries if isinstance(i := e.details.get("snapshot_id"), int)}
        expected = {
            refs[e.id]: digest
            for e in entries
            if e.id in refs and isinstance(digest := e.details.get("snapshot_sha256"), str)
        }
        stored, broken = self.store.snapshots(refs.values(), expected) if refs else ({}, {})
        for entry in entries:
            if entry.id in refs and "snapshot" not in entry.details:
                # None (not []) if the snapshot is missing: "no series" is a real snapshot
                entry.details["snapshot"] = stored.get(refs[entry.id])
                problem = broken.get(refs[entry.id])
                if problem is not None:
                    entry.details["snapshot_problem"] = problem
        return entries
