"""The voice-agent simulator: deterministic, period-independent, its events consistent with
the decisions they come from, and the scenario's incidents where the scenario says."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from errorbudget.catalogs import voice_agent_starter_segments, voice_agent_starter_text
from errorbudget.config import parse_config
from errorbudget.simulate.voice_agent import (
    TRUTH_RULES,
    GroundTruth,
    VoiceAgentSimulator,
    day_tables,
    default_voice_scenario,
    ndjson,
    wide_table,
)

AT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim() -> VoiceAgentSimulator:
    return VoiceAgentSimulator(default_voice_scenario(AT, days=7), seed=11)


def events(sim: VoiceAgentSimulator, start: datetime, end: datetime) -> pa.Table:
    return pa.concat_tables([wide_table(day_tables(sim, day)) for day in sim.days(start, end)])


@pytest.fixture(scope="module")
def week(sim: VoiceAgentSimulator) -> pa.Table:
    return events(sim, AT - timedelta(days=7), AT)


def by_id(table: pa.Table) -> dict[str, dict[str, object]]:
    return {row["id"]: row for row in table.to_pylist()}


def test_same_seed_same_events_other_seed_others(sim: VoiceAgentSimulator) -> None:
    start, end = AT - timedelta(hours=5), AT
    first = events(sim, start, end)
    again = events(VoiceAgentSimulator(sim.scenario, seed=11), start, end)
    other = events(VoiceAgentSimulator(sim.scenario, seed=12), start, end)
    assert first.equals(again)
    assert first.num_rows > 1_000
    assert not first.equals(other)


def test_a_period_split_in_two_gives_the_same_events(sim: VoiceAgentSimulator) -> None:
    start, middle, end = AT - timedelta(hours=30), AT - timedelta(hours=11), AT
    whole = by_id(events(sim, start, end))
    halves = by_id(events(sim, start, middle)) | by_id(events(sim, middle, end))
    calls_in_both = {k for k, v in whole.items() if v["type"] == "call"}
    assert calls_in_both <= set(halves)
    # the first half's calls lose only their events after its end, which the whole keeps
    missing = set(whole) - set(halves)
    assert all(whole[k]["time"] >= middle for k in missing)
    assert all(halves[k] == whole[k] for k in halves)


def test_ids_are_unique_and_every_event_is_in_the_period(week: pa.Table) -> None:
    assert pc.count_distinct(week.column("id")).as_py() == week.num_rows
    times = week.column("time").cast(pa.int64()).to_numpy()
    end_ms = int(AT.timestamp() * 1000)
    assert times.min() >= end_ms - 7 * 86_400_000 and times.max() < end_ms
    counts = dict(zip(*np.unique(week.column("type").to_numpy(), return_counts=True), strict=True))
    assert set(counts) == {"call", "turn", "task", "escalation", "synthetic"}
    assert counts["turn"] > 3 * counts["call"] and counts["task"] == counts["escalation"]


def test_turn_latency_is_the_critical_path_of_its_stages(week: pa.Table) -> None:
    turns = week.filter(pc.equal(week.column("type"), "turn")).to_pydict()
    for i in range(len(turns["id"])):
        tool = turns["tool_ms"][i] or 0
        crm = turns["crm_ms"][i]
        excess = max(0, crm - turns["llm_ms"][i]) if crm is not None else 0
        expected = (
            (turns["telephony_ms"][i] + turns["asr_ms"][i] + turns["llm_ms"][i] + tool)
            + turns["tts_ms"][i]
            + excess
        )
        assert turns["latency_ms"][i] == expected
        assert (turns["tool_ms"][i] is None) == (turns["tool_calls"][i] == 0)


def test_the_tts_incident_slows_tts_a_only_during_it(sim: VoiceAgentSimulator) -> None:
    incident = sim.scenario.incidents[0]
    table = events(sim, incident.start - timedelta(hours=2), incident.end + timedelta(hours=2))
    turns = table.filter(pc.equal(table.column("type"), "turn")).to_pydict()
    start_ms, end_ms = (int(t.timestamp() * 1000) for t in (incident.start, incident.end))
    during: dict[str, list[int]] = {"tts-a": [], "tts-b": []}
    outside: dict[str, list[int]] = {"tts-a": [], "tts-b": []}
    for when, provider, tts in zip(
        turns["time"], turns["tts_provider"], turns["tts_ms"], strict=True
    ):
        moment = int(when.timestamp() * 1000)
        (during if start_ms <= moment < end_ms else outside)[provider].append(tts)
    assert np.median(during["tts-a"]) > np.median(outside["tts-a"]) + 800
    assert abs(np.median(during["tts-b"]) - np.median(outside["tts-b"])) < 60


def test_the_bad_prompt_release_hits_its_flow_only(sim: VoiceAgentSimulator) -> None:
    release = sim.scenario.releases[0]
    table = events(sim, release.at - timedelta(days=2), AT)
    tasks = table.filter(pc.equal(table.column("type"), "task")).to_pydict()
    failures: dict[tuple[str, str], list[bool]] = {}
    for flow, version, caused in zip(
        tasks["flow"], tasks["prompt_version"], tasks["agent_caused"], strict=True
    ):
        failures.setdefault((flow, version), []).append(caused)
    rate = {key: sum(v) / len(v) for key, v in failures.items()}
    assert rate[("billing-es", "billing-es-v8")] > 0.25
    assert rate[("billing-es", "billing-es-v7")] < 0.12
    assert all(r < 0.15 for (flow, _), r in rate.items() if flow != "billing-es")
    assert {v for f, v in failures if f != "billing-es"} == {
        "billing-en-v9",
        "faq-en-v4",
        "password-reset-v3",
        "fraud-v5",
    }


def test_ndjson_lines_are_the_table_rows(sim: VoiceAgentSimulator) -> None:
    day = next(sim.days(AT - timedelta(hours=3), AT))
    for kind, table in day_tables(sim, day).items():
        lines = ndjson(table).decode().splitlines()
        assert len(lines) == table.num_rows
        for line, row in zip(lines[:400], table.to_pylist()[:400], strict=True):
            parsed = json.loads(line)
            assert parsed["type"] == kind
            assert parsed.pop("time") == int(row.pop("time").timestamp() * 1000)
            assert parsed == row


def test_truth_counts_every_eligible_event_once(sim: VoiceAgentSimulator) -> None:
    days = list(sim.days(AT - timedelta(days=1), AT))
    truth = GroundTruth(sim, voice_agent_starter_segments()).add_all(days).result()
    tasks = sum(len(day.frames["task"]) for day in days)
    marked = sum(int(day.frames["task"].decisions["excluded"].sum()) for day in days)
    assert truth["voice-task-completion"].total == tasks - marked
    escalation = (
        truth["voice-escalation-recall"].total + truth["voice-unnecessary-escalation"].total
    )
    assert escalation == tasks - marked
    for sli in truth.values():
        assert 0 < sli.good <= sli.total
        assert (sli.good_counts <= sli.total_counts).all()


def test_the_starter_kit_has_a_truth_an_owner_and_the_seed_exclusions() -> None:
    document = yaml.safe_load(voice_agent_starter_text())
    slos = document["slos"]
    assert {slo["id"] for slo in slos} == set(TRUTH_RULES)
    for slo in slos:
        assert slo["owner"] and slo["policy"] == "voice-agent"
        assert slo["indicator"]["event"] == TRUTH_RULES[slo["id"]].event
        names = {rule["name"] for rule in slo["indicator"]["exclude"]}
        assert "external-outage" in names
        if slo["indicator"]["event"] != "synthetic":
            assert {"test-call", "abuse"} <= names
        if slo["indicator"]["event"] == "call":
            assert "hangup-before-greeting" in names
    # valid, and every burn condition can fire at its target (no low-target warning)
    loaded = parse_config(voice_agent_starter_text(), "voice-agent.yaml", {})
    assert [str(w) for w in loaded.warnings] == []
    assert loaded.slo("voice-task-completion").alerting.catalog == "voice-agent-30d"
    targets = {slo["id"]: slo["target"] for slo in slos}
    assert targets["voice-connection-success"] == 0.995
    assert targets["voice-task-completion"] == 0.90
    assert targets["voice-context-handoff"] == 0.97


def test_consecutive_windows_hold_each_event_of_the_period_once(
    sim: VoiceAgentSimulator,
) -> None:
    cuts = [AT - timedelta(hours=h) for h in (9, 6, 5, 2)] + [AT - timedelta(minutes=17), AT]
    windows = [
        wide_table(day_tables(sim, day))
        for start, end in itertools.pairwise(cuts)
        for day in sim.window(start, end)
    ]
    pieces = pa.concat_tables(windows)
    ids = pieces.column("id").to_pylist()
    assert len(ids) == len(set(ids))
    whole = by_id(
        pa.concat_tables([wide_table(day_tables(sim, day)) for day in sim.window(cuts[0], AT)])
    )
    assert by_id(pieces) == whole
    times = pieces.column("time").to_pylist()
    assert min(times) >= cuts[0] and max(times) < AT
    # calls that started before the first cut bring their later turns
    assert any(row["type"] == "turn" and row["call_id"] not in whole for row in whole.values())
