"""The voice views of an events SLO and the review queue (docs/voice-dashboard.md); each
figure's formula is in docs/concepts.md "Voice agents"."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from errorbudget.services.voice import ReviewCall, VoiceReport


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FlowOut(_Out):
    flow: str
    eligible: int = Field(description="Eligible events of the flow in the window's hours.")
    bad: int = Field(description="Bad (budget-counting) events of the flow.")
    excluded: int = Field(description="Events the SLI's exclusion rules removed.")
    raw_failures: int = Field(description="bad + excluded events that fail the good rule.")
    sli: float | None = Field(description="(eligible − bad) / eligible; null without events.")
    bad_share: float | None = Field(description="The flow's bad / all flows' bad.")
    budget_consumed: float | None = Field(
        description="bad_share × the SLO's budget consumed (bad events, from the evaluation)."
    )
    consumed_ratio: float | None = Field(
        description="bad_share × the SLO's consumed ratio: the part of the budget this flow spent."
    )
    target: float | None = Field(
        default=None, description="The flow's own target, when the SLO is segmented by flow."
    )
    budget_remaining_ratio: float | None = Field(
        default=None, description="The flow's own budget remaining (its series in the evaluation)."
    )
    state: str | None = Field(default=None, description="The flow's own policy state.")


class BreakdownOut(_Out):
    dimension: str
    flow: str
    value: str
    eligible: int
    bad: int
    sli: float | None


class StageOut(_Out):
    stage: str
    weight: float = Field(
        description="error_stage: bad events naming the stage; latency: bad_n × max(0, mean "
        "stage ms of bad events − mean stage ms of eligible events)."
    )
    share: float | None = Field(description="weight / Σ weights; null when nothing weighs.")
    budget_consumed: float | None = Field(description="share × the SLO's budget consumed.")
    bad_events: int
    mean_bad_ms: float | None = None
    mean_eligible_ms: float | None = None


class AttributionOut(_Out):
    method: str = Field(description="latency (stage timings) or error_stage.")
    rows: list[StageOut]
    unattributed: int = Field(description="Bad events that name no stage (error_stage).")
    note: str | None


class ReleaseOut(_Out):
    kind: str = Field(description="agent_version, prompt_version, model, or change.")
    flow: str | None
    value: str
    at: AwareDatetime
    burn_before: float | None = Field(
        description="The engine's burn, Σ bad / Σ (1 − T) × eligible, in the 6 h before."
    )
    burn_after: float | None = Field(description="The same over the 6 h from the release.")
    change_id: int | None = None
    note: str | None = None


class ExclusionRuleOut(_Out):
    rule: str
    excluded: int = Field(description="Events the rule excluded (kept events read).")
    raw_failures: int | None = Field(
        description="Of those, the ones that fail the good rule; null when not readable."
    )


class VoiceReportOut(_Out):
    """An events SLO's voice views over its window at the published evaluation."""

    slo: str
    service: str
    at: AwareDatetime
    start: AwareDatetime
    end: AwareDatetime
    target: float
    budget_total: float
    budget_consumed: float
    consumed_ratio: float | None
    burn_rates: dict[str, float | None]
    firing: list[str]
    flows: list[FlowOut]
    breakdown: list[BreakdownOut]
    attribution: AttributionOut
    releases: list[ReleaseOut]
    exclusions: list[ExclusionRuleOut]
    raw_failures: int
    counted_failures: int
    notes: list[str]

    @classmethod
    def of(cls, report: VoiceReport) -> VoiceReportOut:
        return cls.model_validate(report)


class FailedSloOut(_Out):
    slo: str
    event_id: str
    type: str
    segment: dict[str, str]
    impact: float | None = Field(
        description="1 / allowed bad events of the series over the SLO's window; null when "
        "the series allows none."
    )


class ReviewCallOut(_Out):
    """A failed call ranked by its budget impact: a regression-test candidate."""

    key: str
    call_id: str | None
    trace_id: str | None
    time: AwareDatetime
    flow: str
    intent: str
    versions: dict[str, str]
    audio_url: str | None
    transcript_url: str | None
    failed: list[FailedSloOut]
    impact: float = Field(description="Σ over the SLOs it failed of each event's impact.")

    @classmethod
    def of(cls, call: ReviewCall) -> ReviewCallOut:
        return cls.model_validate(call)

    def candidate(self) -> dict[str, Any]:
        """The JSONL export's object: one regression-test candidate."""
        return {
            "trace_id": self.trace_id,
            "call_id": self.call_id,
            "time": self.time.isoformat(),
            "audio_url": self.audio_url,
            "transcript_url": self.transcript_url,
            "flow": self.flow,
            "intent": self.intent,
            "versions": self.versions,
            "failed_slos": sorted({f.slo for f in self.failed}),
            "events": [f.event_id for f in self.failed],
            "budget_impact": self.impact,
        }
