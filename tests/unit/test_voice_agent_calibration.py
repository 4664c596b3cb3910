"""The default voice-agent scenario is calibrated to the starter kit: with no incident, no
outage and no bad release, every SLO keeps at least 40 % of its budget on every segment over
a month at the demo's volume (3 calls a minute, seed 7), so a flow is only in watch, freeze
or worse because something happened to it; with the bad prompt release, billing-es's task
completion and unnecessary escalation keep under 20 % (seed 002's freeze line).

Counted from the simulator's ground truth (simulate/voice_agent/truth.py), against the
targets and per-segment overrides of the starter kit's config.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from errorbudget.catalogs import voice_agent_starter_text
from errorbudget.config import parse_config
from errorbudget.model import SLO
from errorbudget.simulate.voice_agent import (
    GroundTruth,
    VoiceAgentSimulator,
    VoiceScenario,
    default_voice_scenario,
)

AT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
DAYS = 30
CALLS_PER_MINUTE = 3.0
SEED = 7
QUIET_MIN_REMAINING = 0.4


@pytest.fixture(scope="module")
def slos() -> list[SLO]:
    return list(parse_config(voice_agent_starter_text()).config.slos)


def remaining(scenario: VoiceScenario, slos: list[SLO]) -> dict[tuple[str, str], float]:
    """(SLO, segment) → the share of its budget left after the month, per the ground truth."""
    sim = VoiceAgentSimulator(scenario, seed=SEED)
    truth = GroundTruth(sim, {slo.id: slo.segments.keys for slo in slos})
    truth.add_all(sim.days(AT - timedelta(days=DAYS), AT))
    by_id = {slo.id: slo for slo in slos}
    left: dict[tuple[str, str], float] = {}
    for slo_id, sli in truth.result().items():
        for segment, (good, total) in sli.by_segment().items():
            assert total > 0, (slo_id, segment)
            budget = (1 - by_id[slo_id].target_for(segment)) * total
            left[slo_id, str(segment)] = 1 - (total - good) / budget
    return left


def test_with_nothing_happening_every_segment_keeps_most_of_its_budget(slos: list[SLO]) -> None:
    quiet = replace(
        default_voice_scenario(AT, days=DAYS).scaled(CALLS_PER_MINUTE),
        incidents=(),
        releases=(),
        outages=(),
    )
    left = remaining(quiet, slos)
    # every SLO of the kit, on every flow (synthetic checks cover the critical flows only)
    assert {slo for slo, _ in left} == {slo.id for slo in slos}
    critical = sum(flow.critical for flow in quiet.flows)
    assert len(left) == (len(slos) - 1) * len(quiet.flows) + critical
    short = {key: round(value, 3) for key, value in left.items() if value < QUIET_MIN_REMAINING}
    assert not short, short


def test_the_bad_prompt_release_freezes_billing_es_alone(slos: list[SLO]) -> None:
    scenario = default_voice_scenario(AT, days=DAYS).scaled(CALLS_PER_MINUTE)
    assert [release.flow for release in scenario.releases] == ["billing-es"]
    left = remaining(scenario, slos)
    burnt = {key for key, value in left.items() if value < 0.2}
    assert {slo for slo, _ in burnt} == {"voice-task-completion", "voice-unnecessary-escalation"}
    assert all("billing-es" in segment for _, segment in burnt), burnt
