"""The overview (``/``) and exec (``/exec``) view-models, each from one ``App.status()`` call.

One evaluation feeds the whole page, so the overview of 200 series renders in well under
200 ms (docs/performance.md); the release decisions reuse the gate's pure verdicts over the
same statuses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from errorbudget.app import App
from errorbudget.changes import Annotation
from errorbudget.engine.policy import DECISION_ORDER, Decision
from errorbudget.model import (
    SLO,
    BudgetStatus,
    CalendarWindow,
    from_minute,
    segment_key,
    segment_label,
)
from errorbudget.report import burn, percent
from errorbudget.web.pages_changes import pending_changes
from errorbudget.web.pages_models import (
    Answer,
    ConditionRow,
    ExecPage,
    ExecRow,
    FiringCondition,
    OverviewPage,
    Projection,
    ServiceGate,
    SloCard,
    TierRow,
    Tone,
)
from errorbudget.web.pages_rows import (
    STATE_ORDER,
    aggregate_row,
    band,
    condition_cells,
    firing_conditions,
    firing_order,
    service_gate,
    slo_card,
    slo_ref,
    split_rows,
    tier_of,
    tier_sort_key,
    worst_state,
)

RECENT_CHANGES = timedelta(days=3)
"""The overview names changes (deploys, config and model changes) of the last 3 days: the
longest window of the burn-rate catalog, so a change that started a slow burn is in view."""

FIRING_SHOWN = 12
"""The overview lists this many firing conditions (worst first); the total is shown too."""

DECISION_WORDS: dict[Decision, str] = {
    "allow": "Yes: ship normally",
    "review": "Only with owner review",
    "approval_required": "Not without VP-level approval",
    "blocked": "No: only incident, security and burn-reducing fixes",
}


DECISION_SHORT: dict[Decision, str] = {
    "allow": "yes",
    "review": "with owner review",
    "approval_required": "with VP approval",
    "blocked": "no",
}

DECISION_TONE: dict[Decision, Tone] = {
    "allow": "good",
    "review": "warn",
    "approval_required": "bad",
    "blocked": "bad",
}


class Evaluation:
    """One ``App.status()`` call, grouped by SLO and by service."""

    def __init__(self, app: App) -> None:
        # "now" as the App has it (under serve: the warmer's latest evaluation)
        evaluation = app.evaluation()
        self.at: datetime = from_minute(evaluation.minute)
        statuses = evaluation.statuses
        self.slos: list[SLO] = app.slos
        by_slo: dict[str, list[BudgetStatus]] = defaultdict(list)
        for status in statuses:
            by_slo[status.slo].append(status)
        self.rows: dict[str, tuple[BudgetStatus, list[BudgetStatus]]] = {
            slo.id: split_rows(slo, by_slo[slo.id]) for slo in self.slos if by_slo[slo.id]
        }
        self.by_service: dict[str, list[BudgetStatus]] = defaultdict(list)
        for status in statuses:
            self.by_service[status.service].append(status)
        configured = [s.id for s in app.loaded.config.services]
        self.services = [*configured, *sorted(set(self.by_service) - set(configured))]
        self.service_info = {s.id: s for s in app.loaded.config.services}

    def cards(self) -> list[SloCard]:
        return [slo_card(slo, *self.rows[slo.id]) for slo in self.slos if slo.id in self.rows]

    def firing(self) -> list[FiringCondition]:
        found = [
            item
            for slo in self.slos
            if slo.id in self.rows
            for item in firing_conditions(slo, _all_rows(*self.rows[slo.id]))
        ]
        return sorted(found, key=firing_order)

    def gates(self) -> list[ServiceGate]:
        return [service_gate(s, self.by_service[s]) for s in self.services if self.by_service[s]]

    def projections(self) -> list[Projection]:
        return [
            Projection(
                slo=slo_ref(slo),
                projected_consumed_ratio=whole.projected_consumed_ratio,
                linear_projected_consumed_ratio=whole.linear_projected_consumed_ratio,
                period_end=from_minute(whole.period_end),
            )
            for slo in self.slos
            if slo.id in self.rows and isinstance(slo.window, CalendarWindow)
            for whole in [self.rows[slo.id][0]]
        ]


def _all_rows(whole: BudgetStatus, segments: list[BudgetStatus]) -> list[BudgetStatus]:
    return [whole, *(r for r in segments if r is not whole)]


def _projection_key(item: Projection) -> float:
    return -1.0 if item.projected_consumed_ratio is None else item.projected_consumed_ratio


def build_overview(app: App, refresh_seconds: int) -> OverviewPage:
    evaluation = Evaluation(app)
    cards = evaluation.cards()
    firing = evaluation.firing()
    gates = evaluation.gates()
    projections = evaluation.projections()
    headline = max(projections, key=_projection_key, default=None)
    if headline is not None and headline.projected_consumed_ratio is None:
        headline = None
    pending, pending_total = pending_changes(app)
    recent = app.annotations(start=evaluation.at - RECENT_CHANGES, end=evaluation.at)
    return OverviewPage(
        title="Error budgets",
        at=evaluation.at,
        refresh_seconds=refresh_seconds,
        answers=answers(cards, firing, gates, recent_changes(evaluation, firing, recent)),
        cards=cards,
        conditions=[
            ConditionRow(
                slo=slo_ref(slo), cells=condition_cells(_all_rows(*evaluation.rows[slo.id]))
            )
            for slo in evaluation.slos
            if slo.id in evaluation.rows
        ],
        firing=firing[:FIRING_SHOWN],
        firing_total=len(firing),
        headline_projection=headline,
        projections=sorted(projections, key=_projection_key, reverse=True),
        tiers=tiers(evaluation),
        gates=gates,
        pending_changes=pending,
        pending_total=pending_total,
        series_total=sum(len(segments) for _, segments in evaluation.rows.values()),
    )


def tiers(evaluation: Evaluation) -> list[TierRow]:
    """One row per queue tier and SLO (VIP, standard, digital, then any other tier)."""
    grouped: dict[tuple[str, str], list[BudgetStatus]] = defaultdict(list)
    for slo in evaluation.slos:
        if slo.id not in evaluation.rows:
            continue
        for status in evaluation.rows[slo.id][1]:
            tier = tier_of(slo, dict(status.segment))
            if tier is not None:
                grouped[(tier, slo.id)].append(status)
    by_id = {slo.id: slo for slo in evaluation.slos}
    order = sorted(grouped, key=lambda key: (tier_sort_key(key[0]), key[1]))
    return [
        TierRow(
            tier=tier,
            slo=slo_ref(by_id[slo_id]),
            row=aggregate_row(tier, {"tier": tier}, grouped[(tier, slo_id)]),
        )
        for tier, slo_id in order
    ]


def recent_changes(
    evaluation: Evaluation, firing: Sequence[FiringCondition], notes: Sequence[Annotation]
) -> list[str]:
    """Changes of the last days that could explain a burn, newest first, as
    ``Nov 17 15:00 deploy (ivr-completion flow=billing-es): text``.

    A change concerns a firing series when its SLO, service and segment labels (where it
    names them) match the series; with nothing firing, every change is listed.
    """
    services = {slo.id: slo.service for slo in evaluation.slos}
    lines = []
    for note in reversed(notes):
        if note.kind == "incident":
            continue
        concerned = not firing or any(
            note.slo in (None, item.slo.id)
            and note.service in (None, services[item.slo.id])
            and all(item.segment.get(k) == v for k, v in note.segment.items())
            for item in firing
        )
        if not concerned:
            continue
        what = note.slo or note.service or "everything"
        where = f" {segment_label(segment_key(note.segment))}" if note.segment else ""
        lines.append(f"{note.at:%b %-d %H:%M} {note.kind} ({what}{where}): {note.text}")
    return lines


def answers(
    cards: Sequence[SloCard],
    firing: Sequence[FiringCondition],
    gates: Sequence[ServiceGate],
    changes: Sequence[str] = (),
) -> list[Answer]:
    """The overview's four questions, in the order an ops lead asks them."""
    fast = [f for f in firing if f.kind == "fast"]
    slow = [f for f in firing if f.kind == "slow"]

    def where(item: FiringCondition) -> str:
        return (
            f"{item.slo.id} {item.segment_label}: {item.kind} burn {item.long_window}/"
            f"{item.short_window} at {burn(item.long_burn)}× (threshold {burn(item.factor)}×)"
        )

    if fast:
        affected = Answer(
            question="Are callers affected now?",
            verdict=f"Yes: {len(fast)} fast-burn condition{'s' * (len(fast) > 1)} paging",
            tone="bad",
            details=[where(f) for f in fast[:3]],
        )
    else:
        affected = Answer(
            question="Are callers affected now?",
            verdict="No fast burn: nothing is paging",
            tone="good",
            details=[f"{len(slow)} slow burn(s) open as tickets"] if slow else [],
        )

    burning_ids = list(dict.fromkeys(f.slo.id for f in firing))
    by_id = {c.slo.id: c for c in cards}
    if burning_ids:
        burning = Answer(
            question="Which SLO is burning?",
            verdict=", ".join(burning_ids),
            tone="bad" if fast else "warn",
            details=[
                f"{i}: {percent(by_id[i].gauge.remaining_ratio)} budget left, {by_id[i].state}"
                for i in burning_ids[:4]
                if i in by_id
            ],
        )
    else:
        low = sorted(
            (c for c in cards if c.gauge.band == "red"),
            key=lambda c: c.gauge.remaining_ratio or 0.0,
        )
        burning = Answer(
            question="Which SLO is burning?",
            verdict="None: no burn-rate condition holds",
            tone="warn" if low else "good",
            details=[
                f"{c.slo.id} is low on budget: {percent(c.gauge.remaining_ratio)} left, {c.state}"
                for c in low[:3]
            ],
        )

    segments = [f for f in firing if f.segment]
    recent = [f"recent change: {line}" for line in changes[:2]]
    if segments:
        top = segments[0]
        responsible = Answer(
            question="Which segment or change is responsible?",
            verdict=f"{top.segment_label} ({top.slo.id})",
            tone="bad" if top.kind == "fast" else "warn",
            details=[*recent, *(where(f) for f in segments[1:3])],
        )
    else:
        responsible = Answer(
            question="Which segment or change is responsible?",
            verdict="No segment is burning over its thresholds",
            tone="good" if not firing else "warn",
            details=[*recent, *(where(f) for f in firing[:2])],
        )

    return [affected, burning, responsible, ship_answer(gates)]


def ship_answer(gates: Sequence[ServiceGate]) -> Answer:
    """The gate's decision for a medium-risk change, per service, worst first."""
    ranked = sorted(gates, key=lambda g: -DECISION_ORDER[g.decisions["medium"]])
    worst: Decision = ranked[0].decisions["medium"] if ranked else "allow"
    if len({g.decisions["medium"] for g in ranked}) <= 1:
        verdict = DECISION_WORDS[worst]
    else:
        verdict = " · ".join(
            f"{g.service}: {DECISION_SHORT[g.decisions['medium']]}" for g in ranked
        )
    return Answer(
        question="Should we ship?",
        verdict=verdict,
        tone=DECISION_TONE[worst],
        details=[f"{g.service}: {g.reason}" for g in ranked],
    )


def build_exec(app: App, refresh_seconds: int) -> ExecPage:
    """One line per service: its SLOs met, its worst budget, projection and release policy."""
    evaluation = Evaluation(app)
    gates = {g.service: g for g in evaluation.gates()}
    rows = []
    for service in evaluation.services:
        slos = [s for s in evaluation.slos if s.service == service and s.id in evaluation.rows]
        if not slos:
            continue
        wholes = [(slo, evaluation.rows[slo.id][0]) for slo in slos]
        met = sum(1 for _, w in wholes if w.sli is not None and w.sli >= w.target)
        ranked = [(s, w) for s, w in wholes if w.budget_remaining_ratio is not None]
        worst = min(ranked, key=lambda pair: pair[1].budget_remaining_ratio or 0.0, default=None)
        projected = [
            w.projected_consumed_ratio for _, w in wholes if w.projected_consumed_ratio is not None
        ]
        info = evaluation.service_info.get(service)
        rows.append(
            ExecRow(
                service=service,
                description=info.description if info else "",
                owner=info.owner if info else "",
                slos=len(slos),
                slos_meeting_target=met,
                worst=slo_ref(worst[0]) if worst else None,
                worst_remaining_ratio=worst[1].budget_remaining_ratio if worst else None,
                worst_band=band(worst[1].budget_remaining_ratio if worst else None),
                state=worst_state(w.state for _, w in wholes),
                projected_consumed_ratio=max(projected) if projected else None,
                decision_medium_risk=gates[service].decisions["medium"],
            )
        )
    rows.sort(key=lambda r: -STATE_ORDER[r.state])
    return ExecPage(
        title="Reliability this month",
        at=evaluation.at,
        refresh_seconds=refresh_seconds,
        period_label=(
            "Month to date for calendar-month SLOs; the last 30 days for rolling ones "
            "(each SLO's window is named on its page)."
        ),
        services_within_budget=sum(1 for r in rows if r.state != "exhausted"),
        services_shipping_freely=sum(1 for r in rows if r.decision_medium_risk == "allow"),
        rows=rows,
    )
