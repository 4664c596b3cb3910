"""The published evaluation as the pages see it: grouped by SLO and by service, with each
SLO's preset. Shared by the overview, exec and changes pages (its own module, so the pages
import it rather than each other)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from errorbudget.app import App
from errorbudget.model import SLO, BudgetStatus, CalendarWindow, PolicyPreset, from_minute
from errorbudget.web.pages_models import FiringCondition, Projection, ServiceGate, SloCard, SloRef
from errorbudget.web.pages_rows import (
    firing_conditions,
    firing_order,
    service_gate,
    slo_card,
    slo_ref,
    split_rows,
)
from errorbudget.wording import data_note


class Evaluation:
    """The App's current evaluation, grouped by SLO and by service, with each SLO's preset."""

    def __init__(self, app: App) -> None:
        # "now" as the App has it (under serve: the warmer's latest evaluation)
        evaluation = app.evaluations.evaluation()
        self.at: datetime = from_minute(evaluation.minute)
        statuses = evaluation.statuses
        self.slos: list[SLO] = app.evaluations.slos
        self.presets: dict[str, PolicyPreset] = app.loaded.policies
        self.min_segment_share = app.loaded.config.gate.min_segment_share
        by_slo: dict[str, list[BudgetStatus]] = defaultdict(list)
        for status in statuses:
            by_slo[status.slo].append(status)
        self.rows: dict[str, tuple[BudgetStatus, list[BudgetStatus]]] = {
            slo.id: split_rows(slo, by_slo[slo.id]) for slo in self.slos if by_slo[slo.id]
        }
        self.groups = evaluation.groups
        self.by_service: dict[str, list[BudgetStatus]] = defaultdict(list)
        for status in statuses:
            self.by_service[status.service].append(status)
        configured = [s.id for s in app.loaded.config.services]
        self.services = [*configured, *sorted(set(self.by_service) - set(configured))]
        self.service_info = {s.id: s for s in app.loaded.config.services}

    def preset(self, slo: SLO) -> PolicyPreset:
        return self.presets[slo.policy]

    def ref(self, slo: SLO) -> SloRef:
        return slo_ref(slo, self.preset(slo))

    def cards(self) -> list[SloCard]:
        return [
            slo_card(slo, self.preset(slo), *self.rows[slo.id])
            for slo in self.slos
            if slo.id in self.rows
        ]

    def firing(self) -> list[FiringCondition]:
        found = [
            item
            for slo in self.slos
            if slo.id in self.rows
            for item in firing_conditions(slo, self.preset(slo), all_rows(*self.rows[slo.id]))
        ]
        return sorted(found, key=firing_order)

    def gates(self) -> list[ServiceGate]:
        return [
            service_gate(s, self.by_service[s], self.presets, self.min_segment_share)
            for s in self.services
            if self.by_service[s]
        ]

    def stale(self) -> list[BudgetStatus]:
        """Rows whose data is stale (every series of a source that stopped)."""
        return [s for s in (s for rows in self.by_service.values() for s in rows) if s.stale]

    def projections(self) -> list[Projection]:
        return [
            Projection(
                slo=self.ref(slo),
                projected_consumed_ratio=whole.projected_consumed_ratio,
                linear_projected_consumed_ratio=whole.linear_projected_consumed_ratio,
                period_end=from_minute(whole.period_end),
                outlook=whole.outlook,
                time_to_exhaustion_seconds=whole.time_to_exhaustion_seconds,
                note=data_note(whole.coverage) if whole.coverage is not None else None,
            )
            for slo in self.slos
            if slo.id in self.rows and isinstance(slo.window, CalendarWindow)
            for whole in [self.rows[slo.id][0]]
        ]


def all_rows(whole: BudgetStatus, segments: list[BudgetStatus]) -> list[BudgetStatus]:
    return [whole, *(r for r in segments if r is not whole)]
