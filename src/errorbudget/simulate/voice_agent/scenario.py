"""What the voice-agent simulator simulates: the flows, their providers and rates, and the two
incidents of the default scenario (a provider latency incident, a bad prompt release).

Everything here is data; :mod:`errorbudget.simulate.voice_agent.engine` draws the events.
Rates are per event (a probability) or per minute (calls); latencies are lognormal, given
by their median in milliseconds and the sigma of their logarithm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

STAGE_MEDIANS_MS: dict[str, float] = {
    "telephony": 55.0,
    "asr": 210.0,
    "llm": 380.0,
    "tool": 520.0,
    "tts": 150.0,
    "crm": 260.0,
}
"""Median time of each pipeline stage on a turn (``tool`` per tool call; ``crm`` runs
alongside the LLM: only what it takes beyond the LLM is on the caller's critical path)."""

STAGE_SIGMA = 0.3
"""Sigma of the logarithm of every stage's time (lognormal)."""


@dataclass(frozen=True, slots=True)
class FlowProfile:
    """One voice-agent flow: who calls it, in which language, how risky it is, and how its
    agent behaves there."""

    name: str
    language: str
    risk_tier: str
    share: float
    """Share of the calls (the shares are normalised)."""
    intents: tuple[str, ...]
    route: str
    prompt_version: str
    model: str
    asr_provider: str
    tts_provider: str
    tool_turn_share: float
    """Share of turns that call tools (1 or 2 calls)."""
    crm_turn_share: float
    """Share of turns that look the caller up in the CRM."""
    wer_median: float
    wer_threshold: float
    """The flow's word-error-rate threshold (seed 002: no universal target)."""
    agent_failure: float
    """Probability that a task the agent handles itself fails by the agent's fault."""
    escalation_required: float
    """Share of tasks that need a human."""
    critical: bool = False
    """Covered by synthetic checks."""


@dataclass(frozen=True, slots=True)
class LatencyIncident:
    """A provider's stage gets slower between ``start`` and ``end``: every turn using that
    provider for ``stage`` takes ``extra_ms`` more there (a greeting too, for ``tts``), and
    the synthetic checks of its flows fail with ``synthetic_failure``."""

    name: str
    stage: str
    provider: str
    start: datetime
    end: datetime
    extra_ms: float
    synthetic_failure: float = 0.5


@dataclass(frozen=True, slots=True)
class PromptRelease:
    """A new prompt version on one flow from ``at``; with it the agent fails
    ``agent_failure`` of the tasks it handles and escalates ``unnecessary_escalation`` of the
    tasks that need no human."""

    flow: str
    prompt_version: str
    at: datetime
    agent_failure: float
    unnecessary_escalation: float


@dataclass(frozen=True, slots=True)
class ExternalOutage:
    """A carrier outage the producer knows of: calls in ``[start, end)`` fail to connect with
    probability ``failure`` and carry ``external_outage: true``."""

    start: datetime
    end: datetime
    failure: float = 0.6


@dataclass(frozen=True, slots=True)
class VoiceScenario:
    """The simulated voice agent: its flows, volumes, behaviour rates and incidents."""

    flows: tuple[FlowProfile, ...]
    calls_per_minute: float
    """Mean calls per minute at the daily peak (the night has a fifth of it)."""
    agent_versions: tuple[tuple[datetime, str], ...]
    """(from, version): the agent version in force from each instant (the first from the
    start of time)."""
    regions: tuple[str, ...] = ("us-east", "us-west")
    turns_mean: float = 4.0
    """Mean caller turns on a call that reaches the agent (1 + Poisson)."""
    connect_failure: float = 0.0008
    wrong_route: float = 0.0004
    dead_air: float = 0.0005
    hangup_before_greeting: float = 0.006
    test_share: float = 0.01
    abuse_share: float = 0.003
    caller_abandon: float = 0.03
    unnecessary_escalation: float = 0.01
    escalation_recall: float = 0.993
    context_complete: float = 0.991
    turn_error: float = 0.001
    """Probability a turn fails at a stage (a timeout: that stage takes seconds)."""
    evaluated_turn_share: float = 0.1
    """Share of turns with WER and prompt compliance evaluated."""
    noncompliance: float = 0.006
    audited_call_share: float = 0.25
    intent_error: float = 0.02
    synthetic_every: timedelta = timedelta(minutes=5)
    synthetic_failure: float = 0.002
    incidents: tuple[LatencyIncident, ...] = ()
    releases: tuple[PromptRelease, ...] = ()
    outages: tuple[ExternalOutage, ...] = ()
    links_base: str = "https://recordings.example.com/voice-agent"

    def scaled(self, calls_per_minute: float) -> VoiceScenario:
        """The same scenario at another volume."""
        return replace(self, calls_per_minute=calls_per_minute)

    @property
    def flow_names(self) -> tuple[str, ...]:
        return tuple(flow.name for flow in self.flows)


DEFAULT_FLOWS: tuple[FlowProfile, ...] = (
    FlowProfile(
        name="billing-es",
        language="es",
        risk_tier="medium",
        share=0.22,
        intents=("billing.balance", "billing.payment", "billing.dispute"),
        route="billing-line",
        prompt_version="billing-es-v7",
        model="llm-a/large",
        asr_provider="asr-b",
        tts_provider="tts-b",
        tool_turn_share=0.35,
        crm_turn_share=0.3,
        wer_median=0.07,
        wer_threshold=0.2,
        agent_failure=0.04,
        escalation_required=0.08,
        critical=True,
    ),
    FlowProfile(
        name="billing-en",
        language="en",
        risk_tier="medium",
        share=0.3,
        intents=("billing.balance", "billing.payment", "billing.dispute"),
        route="billing-line",
        prompt_version="billing-en-v9",
        model="llm-a/large",
        asr_provider="asr-a",
        tts_provider="tts-a",
        tool_turn_share=0.35,
        crm_turn_share=0.3,
        wer_median=0.05,
        wer_threshold=0.15,
        agent_failure=0.04,
        escalation_required=0.08,
        critical=True,
    ),
    FlowProfile(
        name="faq-en",
        language="en",
        risk_tier="low",
        share=0.28,
        intents=("faq.hours", "faq.locations", "faq.fees"),
        route="main-line",
        prompt_version="faq-en-v4",
        model="llm-a/small",
        asr_provider="asr-a",
        tts_provider="tts-a",
        tool_turn_share=0.08,
        crm_turn_share=0.0,
        wer_median=0.05,
        wer_threshold=0.15,
        agent_failure=0.05,
        escalation_required=0.03,
    ),
    FlowProfile(
        name="password-reset",
        language="en",
        risk_tier="high",
        share=0.14,
        intents=("account.password_reset",),
        route="support-line",
        prompt_version="password-reset-v3",
        model="llm-a/large",
        asr_provider="asr-a",
        tts_provider="tts-a",
        tool_turn_share=0.5,
        crm_turn_share=0.5,
        wer_median=0.04,
        wer_threshold=0.12,
        agent_failure=0.015,
        escalation_required=0.1,
        critical=True,
    ),
    FlowProfile(
        name="fraud-escalation",
        language="en",
        risk_tier="critical",
        share=0.06,
        intents=("fraud.report", "fraud.card_lost"),
        route="support-line",
        prompt_version="fraud-v5",
        model="llm-a/large",
        asr_provider="asr-a",
        tts_provider="tts-a",
        tool_turn_share=0.3,
        crm_turn_share=0.6,
        wer_median=0.035,
        wer_threshold=0.1,
        agent_failure=0.015,
        escalation_required=0.6,
        critical=True,
    ),
)


def default_voice_scenario(anchor: datetime, *, days: int = 30) -> VoiceScenario:
    """The packaged scenario over the ``days`` before ``anchor`` (UTC): a TTS provider's
    latency incident of 2 h and a carrier outage of 30 min some days ago, and a bad prompt
    release on ``billing-es`` (``billing-es-v8``) 2 days before ``anchor``."""
    anchor = anchor.astimezone(UTC).replace(second=0, microsecond=0)
    start = anchor - timedelta(days=days)
    incident_start = (anchor - timedelta(days=min(6, days) - 0.5)).replace(minute=0)
    outage_start = (anchor - timedelta(days=min(12, days) - 0.25)).replace(minute=10)
    release_at = (anchor - timedelta(days=min(2, days) - 0.1)).replace(minute=30)
    return VoiceScenario(
        flows=DEFAULT_FLOWS,
        calls_per_minute=6.0,
        agent_versions=(
            (start, "agent-3.4.1"),
            (anchor - timedelta(days=min(9, days)), "agent-3.5.0"),
        ),
        incidents=(
            LatencyIncident(
                name="tts-a latency incident",
                stage="tts",
                provider="tts-a",
                start=incident_start,
                end=incident_start + timedelta(hours=2),
                extra_ms=900.0,
            ),
        ),
        releases=(
            PromptRelease(
                flow="billing-es",
                prompt_version="billing-es-v8",
                at=release_at,
                agent_failure=0.65,
                unnecessary_escalation=0.3,
            ),
        ),
        outages=(ExternalOutage(start=outage_start, end=outage_start + timedelta(minutes=30)),),
    )
