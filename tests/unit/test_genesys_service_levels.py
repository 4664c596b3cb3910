"""Service-level targets read from the org and kept effective-dated; oServiceLevel checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from errorbudget.model import SLO, to_minute
from errorbudget.simulate import Simulation, default_scenario
from errorbudget.simulate.genesys_api.directory import queue_entity
from errorbudget.sources import stored_warnings
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.queries import (
    QueueQuery,
    merge_queue_queries,
    parse_aggregates,
    target_view_name,
)
from errorbudget.sources.genesys.service_level_checks import (
    compare,
    format_warning,
    latest,
    matching_options,
    record,
    summarize,
)
from errorbudget.sources.genesys.service_levels import (
    ServiceLevelHistory,
    ServiceLevelTarget,
    media_targets,
)
from errorbudget.sources.genesys.slis import Names, queue_counts
from errorbudget.store import open_store

START = to_minute(datetime(2026, 11, 2, tzinfo=UTC))
T20, T10 = ServiceLevelTarget(0.8, 20_000), ServiceLevelTarget(0.8, 10_000)


def test_targets_come_from_the_queues_media_settings() -> None:
    scenario = default_scenario(datetime(2026, 11, 10, tzinfo=UTC))
    support = scenario.queue("Support")
    targets = media_targets(queue_entity(scenario, support))
    assert targets["voice"] == ServiceLevelTarget(0.8, 30_000)  # mediaSettings.call
    assert set(targets) == {"voice", "callback", "chat", "email", "message"}
    changed = media_targets(queue_entity(scenario, support, (90.0, 10)))
    assert changed["voice"] == ServiceLevelTarget(0.9, 10_000)
    assert media_targets({"mediaSettings": {"call": {"serviceLevel": {}}}}) == {}


def test_history_is_effective_dated_and_survives_a_restart() -> None:
    store = open_store(":memory:")
    history = ServiceLevelHistory.load(store)
    assert history.effective("q1", "voice", START) is None
    first = history.observe(store, [("q1", "Support", "voice", T20)], START + 100)
    assert [c.previous for c in first] == [None]
    assert history.observe(store, [("q1", "Support", "voice", T20)], START + 200) == []
    (change,) = history.observe(store, [("q1", "Support", "voice", T10)], START + 300)
    assert (change.previous, change.target, change.effective_from) == (T20, T10, START + 300)

    again = ServiceLevelHistory.load(store)  # what the next run (or process) knows
    assert again.effective("q1", "voice", START) == T20  # before the first record: the first
    assert again.effective("q1", "voice", START + 299) == T20
    assert again.effective("q1", "voice", START + 300) == T10
    assert again.current("q1", "voice") == T10 and again.changed_at("q1", "voice") == START + 300
    assert again.durations() == {20_000, 10_000}
    assert again.effective("q1", "chat", START) is None
    (entry, _) = store.audit_log(action="genesys.service_level")
    assert entry.subject == "queue:q1:voice" and entry.details["previous"] == {
        "percentage": 0.8,
        "duration_ms": 20_000,
    }


def test_one_query_asks_every_threshold_every_target_and_o_service_level() -> None:
    merged = merge_queue_queries(
        [QueueQuery(("voice",), None, (20,)), QueueQuery(("voice",), None, (30,), (10_000,)),
         QueueQuery(("voice",), None, (), (20_000, 10_000))]
    )  # fmt: skip
    assert merged is not None
    body = merged.body(START, START + 60, timedelta(minutes=15))
    assert "oServiceLevel" in body["metrics"]
    assert [(v["name"], v["range"]) for v in body["views"]] == [
        ("tAnsweredWithin20s", {"lt": 20_000}),
        ("tAnsweredWithin30s", {"lt": 30_000}),
        ("tAnsweredWithinTarget10000ms", {"lt": 10_001}),  # not over 10 s, as nOverSla
        ("tAnsweredWithinTarget20000ms", {"lt": 20_001}),
    ]


def row_response(**extra: int) -> dict[str, object]:
    metrics = [
        {"metric": "tAnswered", "stats": {"count": 10}},
        {"metric": "nOverSla", "stats": {"count": 6}},  # at the current target, 10 s
        {"metric": "tAbandon", "stats": {"count": 3}},
        {"metric": "tShortAbandon", "stats": {"count": 1}},
        {"metric": "oServiceLevel",
         "stats": {"ratio": 4 / 12, "numerator": 4, "denominator": 12, "target": 0.8}},
    ]  # fmt: skip
    return {
        "results": [
            {
                "group": {"queueId": "q1", "mediaType": "voice"},
                "data": [
                    {
                        "interval": "2026-11-02T00:00:00.000Z/2026-11-02T00:15:00.000Z",
                        "metrics": metrics,
                        "views": [
                            {"name": target_view_name(20_000), "stats": {"count": 7}},
                            {"name": target_view_name(10_000), "stats": {"count": 4}},
                        ],
                    }
                ],
            }
        ]
    }


def voice_slo(**indicator: object) -> SLO:
    return SLO.model_validate(
        {"id": "voice", "service": "cc", "target": 0.8,
         "window": {"type": "rolling", "length": "7d"},
         "indicator": {"source": "genesys", "metric": "voice_sla", **indicator},
         "segments": {"keys": ["queue"]}}
    )  # fmt: skip


def test_intervals_count_against_the_target_in_force_then() -> None:
    (row,) = parse_aggregates(row_response(), "test")
    assert (row.get("oServiceLevel.numerator"), row.get("oServiceLevel.denominator")) == (4, 12)
    slo = voice_slo(exclude_short_abandons=True)
    names = Names({"q1": "Support"}, {})
    segment = (("queue", "Support"),)
    # the target was 20 s then: 7 within it, whatever nOverSla says now
    counts = queue_counts(slo, [row], names, lambda q, m, minute: 20_000)
    assert counts == {(segment, START): [7, 12]}
    # no target known: nOverSla, as before
    assert queue_counts(slo, [row], names) == {(segment, START): [4, 12]}


def test_compare_explains_a_recalculated_history_and_a_foreign_formula() -> None:
    (row,) = parse_aggregates(row_response(), "test")
    names = Names({"q1": "Support"}, {})
    then, now = (lambda q, m, minute: 20_000), (lambda q, m: 10_000)
    (target,) = compare(voice_slo(exclude_short_abandons=True), [row], names, then, now)
    assert (target.kind, target.genesys, target.errorbudget) == ("target", (4, 12), (7, 12))
    assert (target.target_ms, target.current_ms) == (20_000, 10_000)
    assert compare(voice_slo(exclude_short_abandons=True), [row], names, None, now) == []
    (formula,) = compare(voice_slo(), [row], names, None, now)  # short abandons counted
    assert (formula.kind, formula.genesys, formula.errorbudget) == ("formula", (4, 12), (4, 13))
    assert formula.options == ("exclude_short_abandons: true",)
    text = format_warning(summarize([formula])[0])
    assert text.startswith("genesys: voice, queue Support (voice): the service-level total")
    assert (
        "1 interval (2026-11-02 00:00 – 2026-11-02 00:00 UTC), Genesys 4/12, errorbudget 4/13"
        in text
    )
    assert text.endswith("matches exclude_short_abandons: true: set the indicator the same way")


def test_matching_options_names_the_fewest_changes() -> None:
    (row,) = parse_aggregates(row_response(), "test")
    row.counts["tFlowOut"] = 2
    indicator = GenesysIndicator(metric="voice_sla")
    assert matching_options(indicator, row, 10 + 3 - 1 + 2) == (
        "include_flow_outs: true, exclude_short_abandons: true",
    )
    assert matching_options(indicator, row, 10) == ("include_abandons: false",)
    assert matching_options(indicator, row, 99) == ()


def test_a_summary_is_recorded_when_what_differs_changes() -> None:
    store = open_store(":memory:")
    (row,) = parse_aggregates(row_response(), "test")
    found = compare(voice_slo(), [row], Names({"q1": "Support"}, {}), None, lambda q, m: None)
    assert record(store, summarize([]), START) is False  # nothing ever differed
    assert record(store, summarize(found), START) is True
    assert record(store, summarize(found * 2), START + 15) is False  # same series, same why
    assert stored_warnings(store) == [format_warning(summarize(found)[0])]
    assert record(store, summarize([]), START + 30) is True  # agreed again: said once
    assert latest(store) == [] and stored_warnings(store) == []


@pytest.mark.parametrize("seconds", [10, 45])
def test_the_fake_recalculates_history_with_the_current_target(seconds: int) -> None:
    from errorbudget.simulate.genesys_api.analytics import conversation_aggregates

    anchor = datetime(2026, 11, 10, 15, tzinfo=UTC)
    sim = Simulation(default_scenario(anchor), seed=7)
    support = sim.scenario.queue("Support")
    body = {
        "interval": "2026-11-10T12:00:00.000Z/2026-11-10T14:00:00.000Z",
        "groupBy": ["queueId"],
        "filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": support.id}]},
        "metrics": ["tAnswered", "nOverSla", "oServiceLevel"],
        "views": [{"target": "tAnswered", "name": "not_over", "function": "rangeBound",
                   "range": {"lt": seconds * 1000 + 1}}],
    }  # fmt: skip

    def answer() -> dict[str, int]:
        (point,) = conversation_aggregates(sim, body, anchor)["results"][0]["data"]
        found = {m["metric"]: m["stats"].get("count", 0) for m in point["metrics"]}
        found["numerator"] = next(
            m["stats"]["numerator"] for m in point["metrics"] if m["metric"] == "oServiceLevel"
        )
        found["view"] = point["views"][0]["stats"]["count"]
        return found

    before = answer()
    assert before["tAnswered"] - before["nOverSla"] == before["numerator"]
    index = sim.scenario.queues.index(support)
    sim.set_service_level_target(index, seconds=seconds)
    after = answer()
    assert after["tAnswered"] == before["tAnswered"]
    assert after["nOverSla"] != before["nOverSla"]  # the same past, recalculated
    assert after["tAnswered"] - after["nOverSla"] == after["numerator"] == after["view"]
