"""The overview (``/``) and exec (``/exec``) view-models, each from one
``app.evaluations.status()`` call.

One evaluation feeds the whole page, so the overview of 200 series renders in well under
200 ms (docs/performance.md); the release decisions reuse the gate's pure verdicts over the
same statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from errorbudget.app import App
from errorbudget.changes import Annotation
from errorbudget.engine.policy import DECISION_ORDER, STATE_ORDER, Decision
from errorbudget.gate import in_scope
from errorbudget.leadership import LeaderView
from errorbudget.model import (
    SLO,
    BudgetStatus,
    segment_key,
    segment_label,
)
from errorbudget.web.pages_changes import pending_changes
from errorbudget.web.pages_evaluation import Evaluation, all_rows
from errorbudget.web.pages_models import (
    Answer,
    ConditionRow,
    DataRow,
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
    alert_rows,
    condition_cells,
    data_view,
    series_row,
    source_row,
    tier_of,
    tier_sort_key,
)
from errorbudget.wording import burn, data_note, percent

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


def _projection_key(item: Projection) -> float:
    return -1.0 if item.projected_consumed_ratio is None else item.projected_consumed_ratio


def leader_line(view: LeaderView | None) -> str | None:
    """One line on who leads (docs/operations.md "Replicas and leader election")."""
    if view is None:
        return None
    if view.leading:
        return (
            f"Replica {view.replica} leads (term {view.token}): it collects, alerts and "
            "notifies, and served this page."
        )
    if view.leader is None:
        return (
            f"No replica leads right now (this page was served by {view.replica}): "
            "collection, alerts and notifications resume when one takes the lease."
        )
    return (
        f"Replica {view.leader} leads (term {view.leader_token}): it collects, alerts and "
        f"notifies; this page was served by {view.replica}."
    )


def build_overview(
    app: App, refresh_seconds: int, leader: LeaderView | None = None
) -> OverviewPage:
    evaluation = Evaluation(app)
    cards = evaluation.cards()
    firing = evaluation.firing()
    gates = evaluation.gates()
    projections = evaluation.projections()
    headline = max(projections, key=_projection_key, default=None)
    if headline is not None and headline.projected_consumed_ratio is None:
        headline = None
    pending, pending_total = pending_changes(app)
    recent = app.records.annotations(start=evaluation.at - RECENT_CHANGES, end=evaluation.at)
    stale = evaluation.stale()
    sources = [source_row(h, evaluation.at) for h in app.store.source_health()]
    failing = [f"source {s.source}: {s.summary}" for s in sources if not s.ok]
    return OverviewPage(
        title="Error budgets",
        at=evaluation.at,
        refresh_seconds=refresh_seconds,
        answers=answers(
            cards,
            firing,
            gates,
            recent_changes(evaluation, firing, recent),
            stale_lines(stale),
            failing,
        ),
        cards=cards,
        conditions=[
            ConditionRow(
                slo=evaluation.ref(slo),
                cells=condition_cells(all_rows(*evaluation.rows[slo.id])),
            )
            for slo in evaluation.slos
            if slo.id in evaluation.rows
        ],
        firing=firing[:FIRING_SHOWN],
        firing_total=len(firing),
        alerts_firing=alert_rows(app.alerts.alerts(phases=["firing"]))[:FIRING_SHOWN],
        headline_projection=headline,
        projections=sorted(projections, key=_projection_key, reverse=True),
        tiers=tiers(evaluation),
        gates=gates,
        pending_changes=pending,
        pending_total=pending_total,
        series_total=sum(len(segments) for _, segments in evaluation.rows.values()),
        data=data_rows(evaluation),
        sources=sources,
        leader=leader_line(leader),
    )


def stale_lines(stale: Sequence[BudgetStatus]) -> list[str]:
    """One line per SLO with stale rows: how old its newest data is."""
    lines: dict[str, str] = {}
    for status in stale:
        coverage = status.coverage
        if status.slo in lines or coverage is None:
            continue
        note = data_note(coverage)
        lines[status.slo] = f"{status.slo}: {note}"
    return list(lines.values())


def data_rows(evaluation: Evaluation) -> list[DataRow]:
    """Per SLO: how much of its window its data covers and how old it is (its whole row,
    and its oldest series)."""
    found = []
    for slo in evaluation.slos:
        if slo.id not in evaluation.rows:
            continue
        whole, segments = evaluation.rows[slo.id]
        oldest = max(
            (s for s in segments if s.coverage is not None and s.coverage.age_seconds is not None),
            key=lambda s: s.coverage.age_seconds or 0.0 if s.coverage else 0.0,
            default=None,
        )
        found.append(
            DataRow(
                slo=evaluation.ref(slo),
                source=slo.indicator.source,
                data=data_view(whole.coverage),
                oldest_series=segment_label(oldest.segment) if oldest is not None else None,
                oldest_age_seconds=oldest.coverage.age_seconds
                if oldest is not None and oldest.coverage is not None
                else None,
                stale_series=sum(1 for s in segments if s.stale),
            )
        )
    return found


def tiers(evaluation: Evaluation) -> list[TierRow]:
    """One row per queue tier and SLO (VIP, standard, digital, then any other tier), each
    evaluated by the engine as one aggregate: budget, burn, forecast and state all come from
    the tier's summed counts (a tier segment key gives the SLO's group rows; an SLO-level
    tier is its whole-SLO row)."""
    found: list[tuple[str, SLO, BudgetStatus, list[BudgetStatus]]] = []
    for slo in evaluation.slos:
        if slo.id not in evaluation.rows:
            continue
        whole, segments = evaluation.rows[slo.id]
        if "tier" in slo.segments.keys:
            groups = {
                dict(g.segment)["tier"]: g
                for g in evaluation.groups.get(slo.id, [])
                if g.segment and g.segment[0][0] == "tier"
            }
            if len(slo.segments.keys) == 1:
                groups = {dict(s.segment)["tier"]: s for s in segments}
            for tier, row in groups.items():
                members = [s for s in segments if dict(s.segment).get("tier") == tier]
                found.append((tier, slo, row, members))
            continue
        slo_tier = tier_of(slo, {})
        if slo_tier is not None:
            found.append((slo_tier, slo, whole, segments))
    found.sort(key=lambda item: (tier_sort_key(item[0]), item[1].id))
    return [
        TierRow(
            tier=tier,
            slo=evaluation.ref(slo),
            row=series_row(row, tier, members if len(members) > 1 else ()),
        )
        for tier, slo, row, members in found
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
    stale: Sequence[str] = (),
    failing: Sequence[str] = (),
) -> list[Answer]:
    """The overview's four questions, in the order an ops lead asks them. With stale data
    the first answer says it cannot tell rather than "nothing is paging"; a failing source
    is named there too."""
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
    elif stale:
        affected = Answer(
            question="Are callers affected now?",
            verdict="Unknown: data is stale, so a burn would not show",
            tone="bad",
            details=[*stale[:3], *failing[:2], "check each source's health below"],
        )
    else:
        affected = Answer(
            question="Are callers affected now?",
            verdict="No fast burn: nothing is paging",
            tone="warn" if failing else "good",
            details=[
                *failing[:2],
                *([f"{len(slow)} slow burn(s) open as tickets"] if slow else []),
            ],
        )

    burning_ids = list(dict.fromkeys(f.slo.id for f in firing))
    by_id = {c.slo.id: c for c in cards}
    if burning_ids:
        burning = Answer(
            question="Which SLO is burning?",
            verdict=", ".join(burning_ids),
            tone="bad" if fast else "warn",
            details=[
                f"{i}: {_left(by_id[i])}, {by_id[i].state_label}"
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
            details=[f"{c.slo.id} is low on budget: {_left(c)}, {c.state_label}" for c in low[:3]],
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


def _left(card: SloCard) -> str:
    """``16.2% budget left``, or what the data allows to say."""
    if card.gauge.note is not None and not card.data.sufficient:
        return card.gauge.note
    return f"{percent(card.gauge.remaining_ratio)} budget left"


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
    """One line per service: its SLOs meeting target (every segment against its own
    target), the series that miss, its lowest budget, projection and release policy."""
    evaluation = Evaluation(app)
    gates = {g.service: g for g in evaluation.gates()}
    rows = []
    for service in evaluation.services:
        slos = [s for s in evaluation.slos if s.service == service and s.id in evaluation.rows]
        if not slos:
            continue
        wholes = [(slo, evaluation.rows[slo.id][0]) for slo in slos]
        by_id = {slo.id: slo for slo in slos}
        every = [s for slo in slos for s in all_rows(*evaluation.rows[slo.id])]
        series = [s for s in every if s.segment or not s.series > 1]
        met = sum(1 for _, w in wholes if w.meets_target is True)
        unjudged = sum(1 for _, w in wholes if w.meets_target is None)
        missing = [
            f"{s.slo} {segment_label(s.segment)}: {percent(s.sli, 2)} vs {percent(s.target, 2)}"
            for s in series
            if s.meets_target is False and (s.segment or s.series <= 1)
        ]
        # the state, advice and lowest budget the gate acts on: whole rows and segments with
        # enough volume
        binding = [s for s, counts in in_scope(every, None, evaluation.min_segment_share) if counts]
        worst_row = max(binding, key=lambda s: STATE_ORDER[s.state])
        ranked = [s for s in binding if s.budget_remaining_ratio is not None]
        lowest = min(ranked, key=lambda s: s.budget_remaining_ratio or 0.0, default=None)
        worst = (by_id[lowest.slo], lowest) if lowest else None
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
                slos_unjudged=unjudged,
                missing=missing,
                within_budget=None if unjudged and not missing else not missing,
                worst=evaluation.ref(worst[0]) if worst else None,
                worst_segment=segment_label(worst[1].segment) if worst and worst[1].segment else "",
                worst_remaining_ratio=worst[1].budget_remaining_ratio if worst else None,
                worst_band=worst[1].band if worst else "none",
                worst_state_label=worst_row.state_label,
                state=worst_row.state,
                advice=worst_row.advice,
                projected_consumed_ratio=max(projected) if projected else None,
                decision_medium_risk=gates[service].decisions["medium"],
                stale_sources=sorted({s.slo for s in every if s.stale}),
            )
        )
    rows.sort(key=lambda r: -STATE_ORDER[r.state])
    return ExecPage(
        title="Reliability this month",
        at=evaluation.at,
        refresh_seconds=refresh_seconds,
        period_label=(
            "Month to date for calendar-month SLOs; the last 30 days for rolling ones "
            "(each SLO's window is named on its page). An SLO meets its target when every "
            "segment meets its own."
        ),
        services_within_budget=sum(1 for r in rows if r.within_budget),
        services_unjudged=sum(1 for r in rows if r.within_budget is None),
        services_shipping_freely=sum(1 for r in rows if r.decision_medium_risk == "allow"),
        rows=rows,
    )
