"""A deterministic voice-agent simulator (seed 002) that knows its ground truth.

Public API::

    from errorbudget.simulate.voice_agent import (
        VoiceScenario, FlowProfile, LatencyIncident, PromptRelease, ExternalOutage,
        default_voice_scenario,       # five flows, a TTS latency incident, a bad prompt release
        VoiceAgentSimulator,          # .days(start, end) → VoiceDay (numpy columns, decisions)
        day_tables, wide_table,       # a day as Arrow tables of the event model's fields
        GroundTruth, TRUTH_RULES,     # the starter kit's true good/eligible per segment, minute
        write_events, write_truth_csv,
    )

    sim = VoiceAgentSimulator(default_voice_scenario(anchor), seed=7)
    truth = GroundTruth(sim, {"voice-turn-latency": ["flow"]})
    for day in sim.days(anchor - timedelta(days=30), anchor):
        table = wide_table(day_tables(sim, day))   # → the events ingest
        truth.add(day)

Same seed + same scenario ⇒ the same events and ids, whatever the period asked for (each
UTC day has its own generator). docs/voice-agent.md describes the scenario.
"""

from errorbudget.simulate.voice_agent.engine import VoiceAgentSimulator, VoiceDay
from errorbudget.simulate.voice_agent.output import (
    WriteReport,
    format_of,
    write_events,
    write_truth_csv,
)
from errorbudget.simulate.voice_agent.scenario import (
    ExternalOutage,
    FlowProfile,
    LatencyIncident,
    PromptRelease,
    VoiceScenario,
    default_voice_scenario,
)
from errorbudget.simulate.voice_agent.tables import WIDE_SCHEMA, day_tables, ndjson, wide_table
from errorbudget.simulate.voice_agent.truth import TRUTH_RULES, GroundTruth, SliTruth

__all__ = [
    "TRUTH_RULES",
    "WIDE_SCHEMA",
    "ExternalOutage",
    "FlowProfile",
    "GroundTruth",
    "LatencyIncident",
    "PromptRelease",
    "SliTruth",
    "VoiceAgentSimulator",
    "VoiceDay",
    "VoiceScenario",
    "WriteReport",
    "day_tables",
    "default_voice_scenario",
    "format_of",
    "ndjson",
    "wide_table",
    "write_events",
    "write_truth_csv",
]
