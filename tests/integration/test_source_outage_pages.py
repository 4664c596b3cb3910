"""Issue #7 point 5, on the surfaces: during a full outage of the (fake) Genesys Cloud API
the overview says it cannot tell whether callers are affected (not "nothing is paging"),
shows the source failing and every series' data age, the SLO page shows its source's
health, and the gate answers "review: data stale" instead of deciding on old data."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from test_genesys_acceptance import (
    ANCHOR,
    SECRET,
    collector_for,
    fake_genesys,
    open_app,
    write_config,
)

from errorbudget.simulate.clock import ManualClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.web.pages_detail import build_detail
from errorbudget.web.pages_overview import build_overview

pytestmark = pytest.mark.integration


def test_a_full_outage_shows_on_every_surface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    simulation = Simulation(default_scenario(ANCHOR), seed=11)
    clock = ManualClock(ANCHOR)
    with fake_genesys(simulation, clock, "outage=+1h:2d") as url:  # type: ignore[arg-type]
        config = write_config(tmp_path, url, simulation, collect_deadline="3s")
        app = open_app(config, clock)  # type: ignore[arg-type]
        collector = collector_for(app)
        before = ANCHOR - timedelta(days=3)

        async def collect() -> None:
            async with collector:
                backfill = await collector.collect_range(  # before the outage: no hurry
                    int(before.timestamp() // 60), int(ANCHOR.timestamp() // 60),
                    deadline=timedelta(minutes=2),
                )  # fmt: skip
                assert backfill.ok, backfill.error
                clock.set(ANCHOR + timedelta(hours=30))  # the API has been down for 29 hours
                during = await collector.run_once()
                assert not during.ok

        asyncio.run(collect())

        page = build_overview(app, 60)
        affected = page.answers[0]
        assert affected.verdict == "Unknown: data is stale, so a burn would not show"
        assert affected.tone == "bad"
        assert any(
            line.startswith("queue-sl: data stale: newest is 1d 6h") for line in affected.details
        )
        assert any(
            line.startswith("source genesys: failing: 1 run in a row since")
            for line in affected.details
        )
        [source] = page.sources
        assert not source.ok and source.last_error is not None
        assert source.data_age_seconds == pytest.approx(30 * 3600, abs=120)
        queue = next(row for row in page.data if row.slo.id == "queue-sl")
        assert queue.data.stale and queue.stale_series > 0
        assert queue.data.age_seconds == pytest.approx(30 * 3600, abs=120)

        detail = build_detail(app, "queue-sl", 60)
        assert detail.source is not None and not detail.source.ok
        assert detail.card.data.stale and detail.card.data.note is not None
        assert detail.card.data.note.startswith("data stale: newest is 1d 6h")

        # the gate never allows on stale data: a series whose budget was healthy when its
        # data stopped asks for review, and every reason says the data is stale
        result = app.gate.decide(service="contact-center", risk="low", record=False)
        assert result.decision != "allow"
        deciding = [v for v in result.verdicts if v.binding and v.decision == result.decision]
        assert deciding and all("data stale" in v.reason for v in deciding)
        assert "data stale" in result.reasons[0]
        healthy = [v for v in result.verdicts if v.status.state == "healthy" and v.status.stale]
        assert healthy and all(v.decision == "review" for v in healthy)
        assert all(v.reason.startswith("data stale") for v in healthy)
        app.close()
