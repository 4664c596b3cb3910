"""A backtest of an SLO's targets (docs/backtest.md): the SLI per day and week, each
candidate's budget per period and alerts, the proposed target — as the API answers it and
``errorbudget backtest --format json`` prints it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, Field

from errorbudget.schema.values import instant, number

if TYPE_CHECKING:
    from errorbudget.engine.backtest import PeriodBudget, SliRow
    from errorbudget.replay import Incident
    from errorbudget.services.backtest import Backtest, CandidateResult


class SliRowOut(BaseModel):
    """One UTC day or ISO week of the range (clipped to it)."""

    label: str = Field(description="2026-11-03 (a day) or 2026-W45 (an ISO week)")
    start: AwareDatetime
    end: AwareDatetime
    eligible: int
    bad: int
    sli: float | None = Field(description="good / eligible; null: no data that day or week")

    @classmethod
    def of(cls, row: SliRow) -> SliRowOut:
        return cls(
            label=row.label,
            start=instant(row.start),
            end=instant(row.end),
            eligible=row.eligible,
            bad=row.bad,
            sli=number(row.sli),
        )


class PeriodBudgetOut(BaseModel):
    """One budget period's part inside the range, under one target."""

    start: AwareDatetime
    end: AwareDatetime
    complete: bool = Field(description="The whole budget period lies inside the range.")
    eligible: int = Field(description="The period's eligible events as a status at end reports.")
    bad: int
    remaining: float | None = Field(
        description="Budget remaining ratio at end; null when the data did not suffice."
    )
    worst: float | None = Field(description="The lowest budget remaining ratio in the part.")
    worst_at: AwareDatetime | None

    @classmethod
    def of(cls, period: PeriodBudget) -> PeriodBudgetOut:
        return cls(
            start=instant(period.start),
            end=instant(period.end),
            complete=period.complete,
            eligible=period.eligible,
            bad=period.bad,
            remaining=number(period.remaining),
            worst=number(period.worst),
            worst_at=instant(period.worst_at),
        )


class FiringOut(BaseModel):
    """One firing of an alert under a candidate target (the alert replay's incident)."""

    alertname: str
    segment: dict[str, str]
    severity: str
    rule: str | None
    fired_at: AwareDatetime
    resolved_at: AwareDatetime | None
    inhibited: bool = Field(description="Inhibited by a higher severity: nobody is told.")

    @classmethod
    def of(cls, incident: Incident) -> FiringOut:
        return cls(
            alertname=incident.alertname,
            segment=dict(incident.segment),
            severity=incident.severity,
            rule=incident.rule or None,
            fired_at=instant(incident.fired_at),
            resolved_at=instant(incident.resolved_at),
            inhibited=incident.inhibited,
        )


class CandidateOut(BaseModel):
    """One candidate target: budget per period, alerts it would have raised."""

    target: float
    origin: str = Field(description="configured, given or default")
    periods: list[PeriodBudgetOut]
    pages: int = Field(description="Page firings that would have notified someone.")
    tickets: int = Field(description="Ticket firings that would have notified someone.")
    firings: list[FiringOut]

    @classmethod
    def of(cls, result: CandidateResult) -> CandidateOut:
        candidate = result.candidate
        return cls(
            target=candidate.target,
            origin=candidate.origin,
            periods=[PeriodBudgetOut.of(p) for p in candidate.periods],
            pages=candidate.alerts.pages,
            tickets=candidate.alerts.tickets,
            firings=[FiringOut.of(i) for i in result.incidents],
        )


class ProposalOut(BaseModel):
    target: float | None = Field(description="The proposed target; null when none qualifies.")
    reasoning: str
    min_remaining: float = Field(description="Budget to keep at the end of every period.")
    max_pages: int = Field(description="Pages allowed over the range.")


class BacktestOut(BaseModel):
    """``errorbudget backtest`` / ``GET /api/v1/slos/{id}/backtest``."""

    slo: str
    start: AwareDatetime
    end: AwareDatetime
    series: int
    history_start: AwareDatetime | None = Field(description="The first stored minute.")
    history_end: AwareDatetime | None = Field(description="The last stored minute + 1.")
    observed_sli: float | None
    days: list[SliRowOut]
    weeks: list[SliRowOut]
    candidates: list[CandidateOut]
    proposal: ProposalOut
    notes: list[str] = Field(description="What limits the figures (less history than asked …).")

    @classmethod
    def of(cls, found: Backtest) -> BacktestOut:
        return cls(
            slo=found.slo,
            start=instant(found.start),
            end=instant(found.end),
            series=found.series,
            history_start=instant(found.history[0]) if found.history else None,
            history_end=instant(found.history[1]) if found.history else None,
            observed_sli=number(found.observed_sli),
            days=[SliRowOut.of(d) for d in found.days],
            weeks=[SliRowOut.of(w) for w in found.weeks],
            candidates=[CandidateOut.of(c) for c in found.candidates],
            proposal=ProposalOut(
                target=found.proposal.target,
                reasoning=found.proposal.reasoning,
                min_remaining=found.proposal.min_remaining,
                max_pages=found.proposal.max_pages,
            ),
            notes=found.notes,
        )
