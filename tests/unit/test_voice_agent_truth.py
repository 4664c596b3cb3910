"""The fold of the starter kit over simulated events equals the simulator's ground truth,
exactly (good and eligible per segment and minute, every SLI); the bad prompt release shows
in the fold's dimension rollups as its prompt version on its flow, and the provider latency
incident in the stage rollups on its stage.

The events go through the real parser (the simulator's NDJSON, as ``ingest --events`` reads
it); the truth is counted from the simulator's decisions (simulate/voice_agent/truth.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from errorbudget.catalogs import voice_agent_starter_text
from errorbudget.config import parse_config
from errorbudget.model import SLO
from errorbudget.simulate.voice_agent import (
    GroundTruth,
    SliTruth,
    VoiceAgentSimulator,
    day_tables,
    default_voice_scenario,
    ndjson,
)
from errorbudget.sources.events import EventFold, SloFold, fold_events, parse_ndjson

AT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
DAYS = 7


@pytest.fixture(scope="module")
def slos() -> list[SLO]:
    return list(parse_config(voice_agent_starter_text()).config.slos)


@pytest.fixture(scope="module")
def sim() -> VoiceAgentSimulator:
    return VoiceAgentSimulator(default_voice_scenario(AT, days=DAYS).scaled(3.0), seed=5)


@pytest.fixture(scope="module")
def world(sim: VoiceAgentSimulator, slos: list[SLO]) -> tuple[EventFold, dict[str, SliTruth]]:
    days = list(sim.days(AT - timedelta(days=DAYS), AT))
    lines = b"".join(ndjson(t) for day in days for t in day_tables(sim, day).values())
    table = parse_ndjson(lines)
    truth = GroundTruth(sim, {slo.id: slo.segments.keys for slo in slos}).add_all(days)
    return fold_events(table, slos), truth.result()


def fold_counts(fold: SloFold) -> dict[tuple[object, int], tuple[int, int]]:
    return {
        (fold.segments[int(s)], int(m)): (int(g), int(t))
        for s, m, g, t in zip(fold.seg, fold.minute, fold.good, fold.total, strict=True)
        if t > 0
    }


def test_every_starter_kit_sli_equals_the_ground_truth(
    world: tuple[EventFold, dict[str, SliTruth]], slos: list[SLO]
) -> None:
    fold, truth = world
    folds = fold.by_slo()
    assert set(folds) == set(truth) == {slo.id for slo in slos}
    for slo in slos:
        expected = truth[slo.id].counts()
        assert fold_counts(folds[slo.id]) == expected, slo.id
        # every SLI has events, and failures to count
        assert truth[slo.id].total > truth[slo.id].good > 0, slo.id


def test_the_exclusions_are_counted_under_their_names(
    world: tuple[EventFold, dict[str, SliTruth]], sim: VoiceAgentSimulator
) -> None:
    fold, _ = world
    connection = fold.by_slo()["voice-connection-success"]
    excluded = [
        name
        for name, verdict in zip(connection.kept_exclusion, connection.kept_verdict, strict=True)
        if verdict == "excluded"
    ]
    assert {"test-call", "abuse", "hangup-before-greeting", "external-outage"} == set(excluded)


def rates(rows: pa.Table, dimension: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(flow, value) → (bad, eligible) over the period."""
    chosen = rows.filter(pc.equal(rows.column("dimension"), dimension))
    summed = chosen.group_by(["flow", "value"]).aggregate([("bad", "sum"), ("eligible", "sum")])
    return {
        (row["flow"], row["value"]): (row["bad_sum"], row["eligible_sum"])
        for row in summed.to_pylist()
    }


def test_the_bad_prompt_release_shows_as_its_version_on_its_flow(
    world: tuple[EventFold, dict[str, SliTruth]], sim: VoiceAgentSimulator
) -> None:
    fold, _ = world
    release = sim.scenario.releases[0]
    for slo in ("voice-task-completion", "voice-unnecessary-escalation"):
        by_version = rates(fold.by_slo()[slo].dimension_rows, "prompt_version")
        overall_bad = sum(bad for bad, _ in by_version.values())
        overall = overall_bad / sum(total for _, total in by_version.values())
        excess = {key: bad - overall * total for key, (bad, total) in by_version.items()}
        assert max(excess, key=excess.__getitem__) == (release.flow, release.prompt_version), slo
        bad, total = by_version[(release.flow, release.prompt_version)]
        before_bad, before_total = by_version[(release.flow, "billing-es-v7")]
        assert bad / total > 2.5 * before_bad / before_total, slo
        # only that flow has the new version
        assert [k for k in by_version if k[1] == release.prompt_version] == [
            (release.flow, release.prompt_version)
        ]
    # the rollup's bad tasks under the new version are the simulator's agent-caused failures
    code = sim.vocabulary.code("prompt_version", release.prompt_version)
    failures = 0
    for day in sim.days(AT - timedelta(days=DAYS), AT):
        tasks = day.frames["task"]
        chosen = (tasks.dims["prompt_version"] == code) & ~tasks.decisions["excluded"]
        failures += int((chosen & tasks.decisions["agent_caused"]).sum())
    task_rows = rates(fold.by_slo()["voice-task-completion"].dimension_rows, "prompt_version")
    assert task_rows[(release.flow, release.prompt_version)][0] == failures


def test_the_provider_incident_shows_on_its_stage(
    world: tuple[EventFold, dict[str, SliTruth]], sim: VoiceAgentSimulator
) -> None:
    fold, _ = world
    incident = sim.scenario.incidents[0]
    hours = {
        int(incident.start.timestamp() // 60) + 60 * h
        for h in range(int((incident.end - incident.start).total_seconds() // 3600))
    }
    for slo in ("voice-turn-latency", "voice-tool-turn-latency"):
        stages = fold.by_slo()[slo].stage_rows
        during_mask = pc.is_in(stages.column("hour"), pa.array(sorted(hours), pa.int64()))
        growth: dict[str, float] = {}
        for name, rows in (
            ("during", stages.filter(during_mask)),
            ("outside", stages.filter(pc.invert(during_mask))),
        ):
            summed = rows.group_by("stage").aggregate([("bad_ms", "sum"), ("bad_n", "sum")])
            for row in summed.to_pylist():
                mean = row["bad_ms_sum"] / max(1, row["bad_n_sum"])
                growth[row["stage"]] = growth.get(row["stage"], 0.0) + (
                    mean if name == "during" else -mean
                )
        assert max(growth, key=growth.__getitem__) == incident.stage, (slo, growth)
        assert growth[incident.stage] > 500, slo
    # and the incident hours burn the turn-latency budget several times faster
    latency = fold.by_slo()["voice-turn-latency"]
    hour = latency.minute - latency.minute % 60
    inside = np.isin(hour, list(hours))
    bad_inside = (latency.total - latency.good)[inside].sum() / latency.total[inside].sum()
    bad_outside = (latency.total - latency.good)[~inside].sum() / latency.total[~inside].sum()
    assert bad_inside > 5 * bad_outside
