"""Service levels against the fake Genesys Cloud API on 127.0.0.1 (#7):

- the queues' targets are read from the org (``mediaSettings``) and kept effective-dated:
  when an admin changes a target, Genesys recalculates history, errorbudget's past budgets
  do not move;
- ``oServiceLevel`` is asked and compared: a formula that is not the org's is reported,
  with the options that are, to the collector's gauges and to ``errorbudget status``;
- several SLOs with different thresholds on one queue are answered by one query.

Ground truth comes from the simulator (``errorbudget.simulate.aggregate``), never from the
collector's code.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from test_genesys_acceptance import SECRET, collector_for, fake_genesys, fake_stats

from errorbudget.app import App
from errorbudget.config import load_config
from errorbudget.model import to_minute
from errorbudget.simulate import ManualClock, Simulation, default_scenario
from errorbudget.simulate.aggregate import (
    SL_INPUTS,
    Buckets,
    ViewSpec,
    aggregate,
    queue_events,
    service_level,
    sl_parts,
)
from errorbudget.sources import stored_warnings
from errorbudget.sources.genesys.service_levels import ACTION as TARGETS
from errorbudget.store import open_store

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 in New York
BLOCK_MS = 15 * 60_000


def config(tmp_path: Path, url: str, slos: str) -> Path:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(
        f"""
store: {{path: eb.db}}
sources:
  genesys:
    base_url: {url}
    client_id: errorbudget-sim
    client_secret: {SECRET}
    granularity: 15m
    max_query_span: 1d
    queue_cache_ttl: 1s
slos:
{slos}
""",
        encoding="utf-8",
    )
    return path


def slo(
    slo_id: str,
    metric: str,
    *,
    target: float = 0.8,
    keys: str = "queue_id",
    **settings: Any,
) -> str:
    extra = "".join(
        f"\n      {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in settings.items()
    )
    return f"""
  - id: {slo_id}
    service: contact-center
    target: {target}
    window: {{type: rolling, length: 28d}}
    indicator:
      source: genesys
      metric: {metric}{extra}
    segments: {{keys: [{keys}]}}"""


def truth(
    sim: Simulation,
    queue_name: str,
    start: datetime,
    end: datetime,
    visible: datetime,
    target_ms: int,
    within: tuple[int, ...] = (),
) -> dict[str, np.ndarray]:
    """Per 15-minute block of one queue: answered within ``target_ms`` (not over it), the
    org's denominator, and answered in less than each of ``within`` seconds."""
    index = [q.name for q in sim.scenario.queues].index(queue_name)
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    buckets = Buckets(list(range(start_ms, end_ms + 1, BLOCK_MS)), int(visible.timestamp() * 1000))
    views = [ViewSpec(f"within_{n}", "tAnswered", None, n * 1000) for n in within]
    batches = (queue_events(a, target_ms) for a in sim.queue_range(index, start_ms, end_ms))
    metrics, view_stats = aggregate(batches, SL_INPUTS, views, buckets)
    numerator, denominator = service_level(sl_parts(metrics), sim.scenario.service_level)
    found = {"good": numerator, "total": denominator}
    found |= {f"within_{n}": view_stats[f"within_{n}"].count for n in within}
    return found


def stored(app: App, slo_id: str, queue_id: str, start: datetime, end: datetime) -> np.ndarray:
    """[good, total] per 15-minute block of one queue's series."""
    (series,) = [
        s for s in app.store.list_series(slo_id) if dict(s.segment)["queue_id"] == queue_id
    ]
    good, total = app.store.minute_arrays([series.id], to_minute(start), to_minute(end))
    return np.stack([good[0].reshape(-1, 15)[:, 0], total[0].reshape(-1, 15)[:, 0]], axis=1)


def open_app(path: Path, clock: ManualClock) -> App:
    loaded = load_config(path)
    return App(loaded, open_store(loaded.store_path), clock=clock)


def test_a_target_change_does_not_move_past_budgets(tmp_path: Path) -> None:
    sim = Simulation(default_scenario(ANCHOR), seed=11)
    support = sim.scenario.queue("Support")
    assert support.sl_target_seconds == 30
    clock = ManualClock(ANCHOR)
    start = ANCHOR - timedelta(days=2)
    with fake_genesys(sim, clock, "") as url:
        path = config(tmp_path, url, slo("voice", "voice_sla", exclude_short_abandons=True))
        app = open_app(path, clock)
        collector = collector_for(app)

        def budget() -> tuple[float, float]:
            (status,) = [
                s
                for s in app.evaluations.status(at=ANCHOR, slo_ids=["voice"])
                if dict(s.segment).get("queue_id") == support.id
            ]
            return status.budget_consumed, status.eligible

        async def scenario() -> dict[str, Any]:
            async with collector:
                first = await collector.collect_range(to_minute(start), to_minute(ANCHOR))
                assert first.ok, first.error
                seen: dict[str, Any] = {
                    "history": stored(app, "voice", support.id, start, ANCHOR),
                    "budget": budget(),
                }
                # an admin halves Support's target: Genesys recalculates every interval
                answer = httpx.post(
                    f"{url}/_fake/queues/{support.id}/service-level",
                    json={"durationMs": 10_000},
                    timeout=10,
                )
                assert answer.json() == {"percentage": 0.8, "durationMs": 10_000}
                clock.advance(timedelta(minutes=1))
                await asyncio.sleep(1.1)  # queue_cache_ttl: 1s
                again = await collector.collect_range(to_minute(start), to_minute(clock()))
                assert again.ok, again.error
                seen["refetched"] = stored(app, "voice", support.id, start, ANCHOR)
                seen["refetched_budget"] = budget()
                seen["discrepancies"] = collector.discrepancy_gauges()
                seen["warnings"] = stored_warnings(app.store)
                clock.advance(timedelta(hours=2))
                later = await collector.collect_range(to_minute(ANCHOR), to_minute(clock()))
                assert later.ok, later.error
                seen["after"] = stored(
                    app, "voice", support.id, ANCHOR, ANCHOR + timedelta(hours=2)
                )
                return seen

        seen = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
        changes = app.store.audit_log(action=TARGETS, subject=f"queue:{support.id}:voice")
    app.close()

    # before the change: exactly the simulator at Support's 30 s target
    expected = truth(sim, "Support", start, ANCHOR, ANCHOR, 30_000)
    assert np.array_equal(seen["history"][:, 0], expected["good"])
    assert np.array_equal(seen["history"][:, 1], expected["total"])
    # after it, Genesys answers the same history with 10 s: the stored past does not move
    at_ten = truth(sim, "Support", start, ANCHOR, ANCHOR, 10_000)
    assert at_ten["good"].sum() < expected["good"].sum()  # what main stored after a re-fetch
    assert np.array_equal(seen["refetched"], seen["history"])
    assert seen["refetched_budget"] == seen["budget"]
    # … and says why Genesys's numbers differ
    gauges = seen["discrepancies"]
    assert gauges[("voice", "Support", "voice", "target")] > 20
    assert {kind for (_, _, _, kind) in gauges} == {"target"}
    (warning,) = seen["warnings"]
    assert "voice, queue Support (voice): Genesys recalculated" in warning
    assert "current target 10 s; errorbudget keeps the target in force then (30 s)" in warning
    # the change is recorded, effective from when it was first seen
    new, first = changes
    assert first.details["duration_ms"] == 30_000 and "previous" not in first.details
    assert new.details["duration_ms"] == 10_000
    assert new.details["previous"] == {"percentage": 0.8, "duration_ms": 30_000}
    assert new.details["effective_from"] == (ANCHOR + timedelta(minutes=1)).isoformat()
    # intervals that start after it count against 10 s, exactly
    later = truth(
        sim, "Support", ANCHOR, ANCHOR + timedelta(hours=2), ANCHOR + timedelta(hours=2), 10_000
    )
    assert np.array_equal(seen["after"][1:, 0], later["good"][1:])
    assert np.array_equal(seen["after"][:, 1], later["total"])


def test_o_service_level_checks_the_formula_and_status_warns(tmp_path: Path) -> None:
    """The org excludes short abandons; an SLO that does not is reported, with the option
    that matches, on the collector and in `errorbudget status`; one that does agrees with
    Genesys's oServiceLevel in every interval. The targets are read from the org."""
    from click.testing import CliRunner

    from errorbudget.cli.main import main

    sim = Simulation(default_scenario(ANCHOR), seed=11)
    assert sim.scenario.service_level.exclude_short_abandons
    clock = ManualClock(ANCHOR)
    slos = slo("as-org", "voice_sla", exclude_short_abandons=True) + slo("by-hand", "voice_sla")
    with fake_genesys(sim, clock, "") as url:
        path = config(tmp_path, url, slos)
        app = open_app(path, clock)
        collector = collector_for(app)

        async def collect() -> None:
            async with collector:
                report = await collector.collect_range(
                    to_minute(ANCHOR - timedelta(days=1)), to_minute(ANCHOR)
                )
                assert report.ok, report.error
                assert report.service_level_discrepancies == len(collector.discrepancies) > 0

        asyncio.run(asyncio.wait_for(collect(), timeout=60))
        targets = {
            (e.details["queue"], e.details["media_type"]): e.details
            for e in app.store.audit_log(action=TARGETS)
        }
        result = CliRunner().invoke(main, ["status", "-c", str(path), "--at", ANCHOR.isoformat()])
    app.close()

    # every voice queue's target, as the org has it
    for queue in sim.scenario.queues:
        if queue.media_type == "voice":
            details = targets[(queue.name, "voice")]
            assert details["duration_ms"] == queue.sl_target_seconds * 1000
            assert details["percentage"] == pytest.approx(queue.sl_target_percent / 100)
    # as-org agrees with oServiceLevel everywhere; by-hand differs, and knows why
    kinds = {(d.slo, d.kind) for d in collector.discrepancies}
    assert kinds == {("by-hand", "formula")}
    # an interval whose abandons are all short cannot tell the two options apart; together
    # the intervals can
    assert all("exclude_short_abandons: true" in d.options for d in collector.discrepancies)
    assert {d.options for d in collector.discrepancies} > {("exclude_short_abandons: true",)}
    assert all(d.genesys[1] < d.errorbudget[1] for d in collector.discrepancies)
    gauges = collector.discrepancy_gauges()
    assert sum(gauges.values()) == len(collector.discrepancies)
    assert sum(collector.discrepancy_intervals_total.values()) == len(collector.discrepancies)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning: genesys:")]
    assert lines and all(line.startswith("warning: genesys: by-hand, ") for line in lines)
    assert all("matches exclude_short_abandons: true" in line for line in lines)
    assert any("3 queues: Support (voice), Billing ES (voice), Sales (voice)" in s for s in lines)


def test_two_thresholds_on_one_queue_come_from_one_query(tmp_path: Path) -> None:
    """80 % within 20 s and 90 % within 30 s on VIP Billing, plus its service level: one
    conversation query per chunk, each SLO exactly the simulator's."""
    sim = Simulation(default_scenario(ANCHOR), seed=11)
    vip = sim.scenario.queue("VIP Billing")
    clock = ManualClock(ANCHOR)
    start = ANCHOR - timedelta(days=2)
    common: dict[str, Any] = {"queues": f"{{ids: [{vip.id}]}}", "exclude_short_abandons": True}
    slos = (
        slo("within-20", "answered_within", threshold_seconds=20, **common)
        + slo("within-30", "answered_within", target=0.9, threshold_seconds=30, **common)
        + slo("vip-sla", "voice_sla", **common)
    )
    with fake_genesys(sim, clock, "") as url:
        app = open_app(config(tmp_path, url, slos), clock)
        collector = collector_for(app)

        async def collect() -> None:
            async with collector:
                report = await collector.collect_range(to_minute(start), to_minute(ANCHOR))
                assert report.ok and report.chunks == 2, report

        asyncio.run(asyncio.wait_for(collect(), timeout=60))
        stats = fake_stats(url)
        got = {
            s: stored(app, s, vip.id, start, ANCHOR) for s in ("within-20", "within-30", "vip-sla")
        }
    app.close()
    assert stats["byPath"]["/api/v2/analytics/conversations/aggregates/query"] == {"200": 2}
    expected = truth(sim, "VIP Billing", start, ANCHOR, ANCHOR, 20_000, within=(20, 30))
    assert np.array_equal(got["within-20"][:, 0], expected["within_20"])
    assert np.array_equal(got["within-30"][:, 0], expected["within_30"])
    assert np.array_equal(got["vip-sla"][:, 0], expected["good"])
    for name in got:
        assert np.array_equal(got[name][:, 1], expected["total"])
    assert (expected["within_30"] >= expected["within_20"]).all()
    assert expected["within_30"].sum() > expected["within_20"].sum()
