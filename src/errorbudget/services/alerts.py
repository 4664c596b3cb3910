"""The alert service: live alerting's lifecycle, kept in the store (docs/alerting.md,
"Lifecycle, silences and acknowledgements").

Once per new evaluation minute of "now" (it subscribes to the evaluation service) it asks
the rules for their signals (``signals(evaluation)``: one ``AlertSignal`` per rule and
series), steps every alert with ``engine.lifecycle.step`` — alerts seen before whose rule
says nothing now step as inactive — and, in ONE store transaction, saves the states and the
minute, writes one audit entry per transition (``alert.pending``, ``alert.firing``,
``alert.resolved``, ``alert.cleared``) and queues a notification per receiver the routes
choose (``route(labels)``) for each firing and resolve a person should hear of: not for an
inhibited episode, not for a silenced one (a matching silence was active when it fired: its
resolve is not sent either), not while a matching silence is active. A restart reloads the
states and the last minute stepped, so nothing is told twice or lost.

Acknowledgements and silences are written here too, each with its audit entry
(``alert.acknowledged``, ``silence.created``, ``silence.expired``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from errorbudget.alert_records import (
    Alert,
    AlertEpisode,
    AlertSignal,
    AlertState,
    NewNotification,
    Phase,
    Silence,
    Transition,
    alert_labels,
)
from errorbudget.clock import Clock
from errorbudget.config import LoadedConfig
from errorbudget.engine import ranges as minute_ranges
from errorbudget.engine.alert_rules import STREAK_LOOKBACK_MINUTES, alert_signals, failure_streaks
from errorbudget.engine.lifecycle import step
from errorbudget.errors import FencedError, InvalidRequestError, NotFoundError, StoreBusyError
from errorbudget.evaluation import uncounted_ranges
from errorbudget.indicators import is_synthetic
from errorbudget.limits import MAX_PAGE, MAX_TIMELINE_SPAN, time_problem
from errorbudget.model import SLO, Minute, SegmentKey, from_minute, to_minute
from errorbudget.services.alert_groups import (
    GroupEvent,
    group_events,
    group_labels,
    group_notifications,
    touched_groups,
)
from errorbudget.services.evaluations import Evaluation
from errorbudget.store import Store

log = logging.getLogger("errorbudget.services.alerts")

SignalSource = Callable[[Evaluation], list[AlertSignal]]
"""The rules: what each rule says of each series in one evaluation."""

Route = Callable[[Mapping[str, str]], list[str]]
"""The routes: the names of the receivers an alert with these labels is sent to."""

SYSTEM_ACTOR = "errorbudget"
"""The audit actor of the transitions the alert service makes by itself."""

ACTIVE_PHASES: tuple[Phase, ...] = ("pending", "firing")


def no_rules(evaluation: Evaluation) -> list[AlertSignal]:
    """Alerting off (``alerting.enabled: false`` on every SLO, or a test that feeds signals
    itself): nothing is alerted on."""
    return []


def no_receivers(labels: Mapping[str, str]) -> list[str]:
    """No ``notifications:`` receivers are configured: alerts are kept, shown and audited,
    but no notification is queued."""
    return []


def configured_rules(loaded: LoadedConfig, store: Store | None = None) -> SignalSource:
    """The rules of ``loaded`` (``engine.alert_rules``, each SLO's ``alerting:`` settings
    and schedule) over an evaluation's statuses: the same decisions ``alerts replay``
    makes over stored history. With ``store``, synthetic-check SLOs also get their failure
    streaks (:func:`synthetic_streaks`) and so their ``SyntheticCheckFailing`` rule."""
    slos = {slo.id: slo for slo in loaded.config.slos if slo.alerting.enabled}
    schedules = {slo_id: loaded.eligibility(slo).schedule for slo_id, slo in slos.items()}
    synthetic = [
        slo for slo in slos.values() if is_synthetic(slo.indicator) and slo.alerting.synthetic
    ]

    def signals(evaluation: Evaluation) -> list[AlertSignal]:
        streaks = (
            synthetic_streaks(loaded, store, synthetic, evaluation.minute)
            if store is not None and synthetic
            else None
        )
        return alert_signals(evaluation.statuses, slos, schedules, streaks)

    return signals


def synthetic_streaks(
    loaded: LoadedConfig, store: Store, slos: Sequence[SLO], at: Minute
) -> dict[str, dict[SegmentKey, int]]:
    """Each synthetic-check SLO's failure streak per series at minute ``at``: a bounded
    read of its last :data:`~errorbudget.engine.alert_rules.STREAK_LOOKBACK_MINUTES`
    minutes, with what a status does not count removed (exclusions, the schedule's closed
    hours, maintenance, broken data), through the pure
    :func:`~errorbudget.engine.alert_rules.failure_streaks` replay uses too."""
    start = at - STREAK_LOOKBACK_MINUTES
    exclusions = store.list_exclusions()
    issues = store.list_data_issues()
    instant = [at]
    found: dict[str, dict[SegmentKey, int]] = {}
    for slo in slos:
        keys = set(slo.segments.keys)
        series = [i for i in store.list_series(slo.id) if {k for k, _ in i.segment} == keys]
        if not series:
            found[slo.id] = {}
            continue
        segments = [info.segment for info in series]
        good, total = store.minute_arrays([info.id for info in series], start, at)
        uncounted = uncounted_ranges(
            slo, segments, exclusions, loaded.eligibility(slo), (start, at), issues
        )
        for index, removed in enumerate(uncounted.per_series):
            if minute_ranges.clip(removed, start, at).size:
                dropped = minute_ranges.mask(removed, start, at - start)
                good[index, dropped] = 0.0
                total[index, dropped] = 0.0
        streaks = failure_streaks(good, total, start, _minutes(instant))
        found[slo.id] = dict(zip(segments, streaks[:, 0].tolist(), strict=True))
    return found


def configured_route(loaded: LoadedConfig) -> Route:
    """The ``notifications:`` routes of ``loaded``, or :func:`no_receivers` without them."""
    settings = loaded.config.notifications
    return settings.route if settings is not None else no_receivers


def configured_receivers(loaded: LoadedConfig) -> frozenset[str]:
    """The names of the ``notifications:`` receivers of ``loaded`` (none without them)."""
    settings = loaded.config.notifications
    return frozenset(r.name for r in settings.receivers) if settings is not None else frozenset()


@dataclass(frozen=True, slots=True)
class Observed:
    """What one step did: the alerts it saved, their transitions and the notifications it
    queued (for tests and logs)."""

    minute: Minute
    alerts: list[Alert]
    transitions: list[tuple[str, Transition]]
    notifications: list[NewNotification]


@dataclass(frozen=True, slots=True)
class AlertHistory:
    """An SLO's alert episodes over ``[since, until)``, latest fired first, at most
    ``limit`` (``truncated``: more overlap the span)."""

    slo: str
    since: datetime
    until: datetime
    limit: int
    episodes: list[AlertEpisode]
    truncated: bool


class AlertService:
    """Alerts stepped once per evaluation minute and kept in the store, with silences and
    acknowledgements."""

    def __init__(
        self,
        loaded: LoadedConfig,
        store: Store,
        clock: Clock,
        *,
        signals: SignalSource = no_rules,
        route: Route = no_receivers,
        dashboard_url: str | None = None,
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self.signals = signals
        self.route = route
        self.receiver_names = configured_receivers(loaded)
        """The receivers configured now: an update or resolve also goes to those of them
        told the group's episode, routed to it or not."""
        self.dashboard_url = dashboard_url
        self._lock = threading.Lock()
        self._last: Minute | None = None

    # --- stepping ------------------------------------------------------------------------------

    def on_evaluation(self, evaluation: Evaluation) -> None:
        """The evaluation service's listener: step once for a minute not stepped yet. A
        failure (the store busy) is logged and the minute is stepped by a later evaluation."""
        try:
            if self._last is not None and evaluation.minute <= self._last:
                return
            last = self.store.alert_minute()
            if last is not None and evaluation.minute <= last:
                self._last = last
                return
            self.observe(evaluation.minute, self.signals(evaluation))
        except (StoreBusyError, FencedError) as exc:
            # expected: another writer holds the store, or this replica no longer leads
            log.warning("alerts were not stepped at minute %s: %s", evaluation.minute, exc)
        except Exception:
            log.exception("alerts were not stepped at minute %s", evaluation.minute)

    def observe(self, at: Minute, signals: Sequence[AlertSignal]) -> Observed:
        """Step every alert to minute ``at`` with these signals (see the module docstring);
        a minute at or before the last one stepped is refused (InvalidRequestError)."""
        with self._lock, self.store.transaction():
            stepped = [m for m in (self.store.alert_minute(), self._last) if m is not None]
            last = max(stepped, default=None)
            if last is not None and at <= last:
                raise InvalidRequestError(
                    f"alerts were already stepped at minute {last}: minute {at} would "
                    "repeat or go back"
                )
            observed = self._observe(at, signals)
        self._last = at
        return observed

    def _observe(self, at: Minute, signals: Sequence[AlertSignal]) -> Observed:
        # every pending and firing alert, however many (an outage of a 1,000-segment SLO makes
        # 2,000: its pages and its inhibited tickets); a bounded page would leave some unstepped
        active = self.store.list_alerts(phases=ACTIVE_PHASES, limit=None)
        known = {a.fingerprint: a for a in active}
        # An inactive signal matters only to an alert pending or firing now; one of an SLO
        # with none is skipped before its fingerprint is even computed (most signals, most
        # minutes: 1,000 series give ~8,000 signals).
        in_play = {alert.slo for alert in known.values()}
        by_fingerprint: dict[str, AlertSignal] = {}
        for given in signals:
            if not given.active and given.slo not in in_play:
                continue
            if given.fingerprint in by_fingerprint:
                raise InvalidRequestError(
                    f"two signals for one alert ({given.alertname} of {given.slo}): the rules "
                    "give one per alert and instant"
                )
            by_fingerprint[given.fingerprint] = given
        unseen = [fp for fp, s in by_fingerprint.items() if s.active and fp not in known]
        known.update((a.fingerprint, a) for a in self.store.get_alerts(unseen))
        moment = from_minute(at)
        silences = [s for s in self.store.list_silences(at=moment) if s.active_at(moment)]
        saved: list[Alert] = []
        transitions: list[tuple[str, Transition]] = []
        episodes: list[AlertEpisode] = []
        for fingerprint in sorted(set(by_fingerprint) | set(known)):
            signal = by_fingerprint.get(fingerprint)
            stored = known.get(fingerprint)
            if stored is None and (signal is None or not signal.active):
                continue
            before = stored.state if stored is not None else AlertState()
            if signal is None:
                state, transition = step(before, at=at, active=False)
            else:
                state, transition = step(
                    before,
                    at=at,
                    active=signal.active,
                    for_minutes=signal.for_minutes,
                    keep_minutes=signal.keep_minutes,
                    hold_until=signal.hold_until,
                    inhibited=signal.inhibited,
                )
            alert = _updated(stored, signal, state, at)
            if transition == "firing":
                muted = _silenced(alert, silences)
                alert = replace(alert, silenced=muted, acknowledged_by=None, acknowledged_at=None)
            saved.append(alert)
            if transition is None:
                continue
            transitions.append((fingerprint, transition))
            if transition in ("firing", "resolved"):
                episodes.append(_episode(alert))
            self.store.audit(
                actor=SYSTEM_ACTOR,
                action=f"alert.{transition}",
                subject=f"alert:{fingerprint}",
                details=_audit_details(alert),
            )
        if saved:  # nothing in play and nothing active: no write at all
            self.store.save_alerts(saved, at)
        if episodes:
            self.store.save_alert_episodes(episodes)
        after = {**known, **{a.fingerprint: a for a in saved}}
        states = self.store.get_alert_groups(touched_groups(after, dict(transitions)))
        events = group_events(
            at,
            known,
            after,
            dict(transitions),
            silences,
            {g.fingerprint: g for g in states},
            _labels,
        )
        if events:
            self.store.save_alert_groups(
                list({e.group.fingerprint: e.group for e in events}.values())
            )
        queued = group_notifications(events, at, self._receivers, _labels, self.dashboard_link)
        if queued:
            self.store.queue_notifications(queued)
        return Observed(at, saved, transitions, queued)

    def _receivers(self, event: GroupEvent) -> list[str]:
        """The receivers of a group event: its route's, and for an update or a resolve those
        told its dedup key that are still configured (a receiver no longer routed to still
        hears the end of what it was told)."""
        routed = self.route(group_labels(event.key))
        if event.opens:
            return routed
        told = self.store.group_receivers(event.group.fingerprint, event.dedup_key)
        return list(dict.fromkeys([*routed, *(r for r in told if r in self.receiver_names)]))

    def dashboard_link(self, slo: str) -> str | None:
        """The SLO's dashboard page, when the dashboard's address is known."""
        if not self.dashboard_url:
            return None
        return f"{self.dashboard_url.rstrip('/')}/slos/{slo}"

    # --- reading -------------------------------------------------------------------------------

    def alerts(
        self,
        *,
        phases: Sequence[Phase] | None = None,
        slo: str | None = None,
        severity: str | None = None,
        limit: int = 1000,
    ) -> list[Alert]:
        """Stored alerts, firing first, then pending, then the rest; most recent first
        within each."""
        found = self.store.list_alerts(phases=phases, slo=slo, severity=severity, limit=limit)
        order = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}
        return sorted(found, key=lambda a: order[a.state.phase])

    def episodes(
        self, slo: str, since: datetime, until: datetime, limit: int = MAX_PAGE
    ) -> list[AlertEpisode]:
        """The SLO's firing episodes overlapping ``[since, until)`` (fired before ``until``,
        not resolved by ``since``), latest fired first, at most ``limit``: the alert history
        the SLO page draws on its burn chart and ``/api/v1/alerts/history`` returns.

        NotFoundError for an unknown SLO; InvalidRequestError for a span that is empty,
        longer than :data:`~errorbudget.limits.MAX_TIMELINE_SPAN` or outside the accepted
        times, or a limit outside 1 to :data:`~errorbudget.limits.MAX_PAGE`."""
        return self._episodes(slo, since, until, limit, limit)

    def history(self, slo: str, since: datetime, until: datetime, limit: int) -> AlertHistory:
        """:meth:`episodes`, with whether more than ``limit`` overlap the span."""
        found = self._episodes(slo, since, until, limit, limit + 1)
        return AlertHistory(slo, since, until, limit, found[:limit], len(found) > limit)

    def _episodes(
        self, slo: str, since: datetime, until: datetime, limit: int, read: int
    ) -> list[AlertEpisode]:
        self.loaded.slo(slo)  # NotFoundError for an unknown SLO
        for moment in (since, until):
            problem = time_problem(moment)
            if problem is not None:
                raise InvalidRequestError(problem)
        if until <= since:
            raise InvalidRequestError("an alert history's until must be after its since")
        if until - since > MAX_TIMELINE_SPAN:
            raise InvalidRequestError(
                f"an alert history spans at most {MAX_TIMELINE_SPAN.days} days "
                f"(asked: {until - since})"
            )
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequestError(f"an alert history's limit is 1 to {MAX_PAGE} ({limit})")
        # Episodes are kept at whole minutes: [since, until) covers every minute it touches.
        first = to_minute(since)
        last = -(-int(until.timestamp()) // 60)
        return self.store.alert_episodes(slo, first, last, limit=read)

    def alert(self, fingerprint: str) -> Alert:
        """One alert (NotFoundError for an unknown fingerprint)."""
        found = self.store.get_alerts([fingerprint])
        if not found:
            raise NotFoundError(f"no alert {fingerprint}")
        return found[0]

    # --- acknowledgements and silences ---------------------------------------------------------

    def acknowledge(self, fingerprint: str, *, actor: str, comment: str = "") -> Alert:
        """Acknowledge a pending or firing alert's current episode; audited
        (``alert.acknowledged``)."""
        with self.store.transaction():
            alert = self.store.acknowledge_alert(fingerprint, actor=actor, at=self.clock())
            self.store.audit(
                actor=actor,
                action="alert.acknowledged",
                subject=f"alert:{fingerprint}",
                details={**_audit_details(alert), "comment": comment},
            )
        return alert

    def silences(self, *, include_expired: bool = False, limit: int = 1000) -> list[Silence]:
        """Silences, newest first (without ``include_expired``: those not ended yet)."""
        return self.store.list_silences(
            include_expired=include_expired, at=self.clock(), limit=limit
        )

    def add_silence(
        self,
        *,
        matchers: Mapping[str, str],
        author: str,
        reason: str,
        ends_at: datetime,
        starts_at: datetime | None = None,
    ) -> Silence:
        """Silence the alerts whose labels match every matcher from ``starts_at`` (default:
        now) to ``ends_at``; audited (``silence.created``). InvalidRequestError without a
        matcher, or for an end not after the start and now."""
        now = self.clock()
        start = starts_at or now
        if not matchers:
            raise InvalidRequestError("a silence needs at least one matcher")
        if ends_at <= start or ends_at <= now:
            raise InvalidRequestError("a silence must end after it starts and after now")
        with self.store.transaction():
            silence = self.store.add_silence(
                matchers=matchers,
                author=author,
                reason=reason,
                starts_at=start,
                ends_at=ends_at,
                created_at=now,
            )
            self.store.audit(
                actor=author,
                action="silence.created",
                subject=f"silence:{silence.id}",
                details={
                    "matchers": dict(silence.matchers),
                    "reason": reason,
                    "starts_at": silence.starts_at.isoformat(),
                    "ends_at": silence.ends_at.isoformat(),
                },
            )
        return silence

    def expire_silence(self, silence_id: int, *, actor: str) -> Silence:
        """End a silence now; audited (``silence.expired``)."""
        with self.store.transaction():
            silence = self.store.expire_silence(silence_id, actor=actor, at=self.clock())
            self.store.audit(
                actor=actor,
                action="silence.expired",
                subject=f"silence:{silence_id}",
                details={"matchers": dict(silence.matchers)},
            )
        return silence


def _updated(
    stored: Alert | None, signal: AlertSignal | None, state: AlertState, at: Minute
) -> Alert:
    """The alert with its new state, and the signal's words and figures when there is one."""
    if signal is None:
        assert stored is not None
        return replace(stored, state=state, updated_at=at)
    base = Alert(
        fingerprint=signal.fingerprint,
        alertname=signal.alertname,
        slo=signal.slo,
        service=signal.service,
        segment=signal.segment,
        severity=signal.severity,
        state=state,
        summary=signal.summary,
        details=dict(signal.details),
        runbook_url=signal.runbook_url,
        updated_at=at,
    )
    if stored is None:
        return base
    if not signal.active:  # keep the figures it was last active with
        return replace(stored, state=state, updated_at=at)
    return replace(
        base,
        acknowledged_by=stored.acknowledged_by,
        acknowledged_at=stored.acknowledged_at,
        silenced=stored.silenced,
    )


def _episode(alert: Alert) -> AlertEpisode:
    """The episode an alert's firing or resolve transition writes (its resolve: the same
    row with ``resolved_at``)."""
    state = alert.state
    assert state.fired_at is not None
    return AlertEpisode(
        fingerprint=alert.fingerprint,
        episode=state.episode,
        alertname=alert.alertname,
        slo=alert.slo,
        service=alert.service,
        segment=alert.segment,
        severity=alert.severity,
        fired_at=state.fired_at,
        resolved_at=state.resolved_at if state.phase == "resolved" else None,
        inhibited=state.inhibited,
        silenced=alert.silenced,
    )


def _labels(alert: Alert) -> dict[str, str]:
    return alert_labels(alert.alertname, alert.slo, alert.service, alert.segment, alert.severity)


def _silenced(alert: Alert, silences: Sequence[Silence]) -> bool:
    labels = _labels(alert)
    return any(silence.matches(labels) for silence in silences)


def _minutes(values: Sequence[Minute]) -> npt.NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64)


def _iso(minute: Minute | None) -> str | None:
    return None if minute is None else from_minute(minute).isoformat()


def _audit_details(alert: Alert) -> dict[str, object]:
    state = alert.state
    return {
        "alertname": alert.alertname,
        "slo": alert.slo,
        "service": alert.service,
        "segment": dict(alert.segment),
        "severity": alert.severity,
        "phase": state.phase,
        "episode": state.episode,
        "at": _iso(alert.updated_at),
        "inhibited": state.inhibited,
        "silenced": alert.silenced,
    }
