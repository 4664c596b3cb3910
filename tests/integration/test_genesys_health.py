"""Issue #7 (source side): a failing source, stale data and broken data, against the fake
Genesys Cloud API on 127.0.0.1 (``errorbudget.simulate.genesys_api``, as the acceptance
test runs it).

1. During a full outage ``collect`` fails within its deadline, says what failed and what
   to check, counts every failed call as a bad ``api_availability`` event (two
   overlapping processes add up) and records the failed runs (source health).
2. The scheduled loop survives an outage, records each run, and resumes without a gap.
3. An interval the API answers inconsistently is stored as 0/0 with a data issue, not as
   a clamped count; a clean re-fetch resolves the issue and stores the truth.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from click.testing import CliRunner
from test_genesys_acceptance import (
    ANCHOR,
    BLOCK,
    SECRET,
    collector_for,
    fake_genesys,
    open_app,
    queue_truth,
    stored_blocks,
    write_config,
)

from errorbudget.cli.main import main
from errorbudget.model import from_minute, to_minute
from errorbudget.simulate.clock import SimClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.store import open_store

pytestmark = pytest.mark.integration

DEADLINE_S = 5.0
MARGIN_S = 5.0
"""CLI start-up, store open, the final flush and record, closing the client."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def test_collect_during_a_full_outage_fails_within_its_deadline_and_counts_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    now = datetime.now(tz=UTC)
    simulation = Simulation(default_scenario(now), seed=3)
    clock = SimClock(now, speed=1.0)  # the CLI runs on the real clock
    outage = f"outage={_iso(now - timedelta(hours=1))}:1d"
    with fake_genesys(simulation, clock, outage) as url:
        config = write_config(tmp_path, url, simulation, collect_deadline=f"{DEADLINE_S:g}s")
        runner = CliRunner()
        runs = []
        for extra in ([], ["--deadline", "3s"]):  # the setting, then the option
            began = time.monotonic()
            result = runner.invoke(
                main, ["collect", "-c", str(config), "--once", "--format", "json", *extra]
            )
            runs.append((time.monotonic() - began, result))

    (first_s, first), (second_s, second) = runs
    print(f"\nfull outage: collect --once exited after {first_s:.1f} s (deadline 5s), "
          f"{second_s:.1f} s (--deadline 3s)")  # fmt: skip
    assert first.exit_code == 1, first.output
    assert first_s < DEADLINE_S + MARGIN_S, f"took {first_s:.1f} s"
    assert second.exit_code == 1 and second_s < 3 + MARGIN_S, f"took {second_s:.1f} s"
    message = first.stderr
    assert message.startswith("error: gave up after the collect deadline (5s): Genesys Cloud ")
    assert "unreachable: every call failed since" in message
    assert "HTTP 503" in message and f"login at {url}/oauth/token" in message  # what failed
    for check in ("status page", "network", "base_url", "client credentials"):  # what to check
        assert check in message, check
    assert SECRET not in message

    reports = [json.loads(r.stdout) for _, r in runs]
    assert all(r["failed_calls"] == r["calls"] > 0 for r in reports), reports
    with open_store(tmp_path / "eb.db") as store:
        [health] = store.source_health()
        assert health.source == "genesys" and health.runs == 2
        assert health.consecutive_failures == 2 and health.last_success_at is None
        assert health.last_error is not None and "unreachable" in health.last_error
        assert "(3s)" in health.last_error  # the last run's error
        # every failed call (token requests included) is a bad event, and the calls of
        # both runs add up even when they share a minute
        ids = [s.id for s in store.list_series("api")]
        result = store.sums(ids, [(to_minute(now) - 5, to_minute(datetime.now(tz=UTC)) + 1)])
        good, total = result[..., 0].sum(), result[..., 1].sum()
        assert good == 0 and total == sum(r["failed_calls"] for r in reports)


def test_the_scheduled_loop_survives_an_outage_and_resumes_without_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    simulation = Simulation(default_scenario(ANCHOR), seed=11)
    clock = SimClock(ANCHOR, speed=60.0)  # a simulated minute per real second
    outage_start, outage_end = ANCHOR + timedelta(minutes=4), ANCHOR + timedelta(minutes=10)
    faults = "outage=+4m:6m,seed=5"
    with fake_genesys(simulation, clock, faults, rate_limit=6000) as url:
        config = write_config(
            tmp_path, url, simulation, interval="1s", collect_deadline="3s",
            max_query_span="1d", requests_per_minute="6000",
        )  # fmt: skip
        app = open_app(config, clock)
        collector = collector_for(app)

        async def scenario() -> datetime:
            stop = asyncio.Event()
            async with collector:
                loop = asyncio.create_task(collector.run_forever(stop))
                while True:  # until a run has succeeded well after the outage
                    await asyncio.sleep(0.2)
                    assert not loop.done(), "the scheduled loop died"
                    last = collector.last_report
                    if clock() > outage_end + timedelta(minutes=7) and last and last.ok:
                        break
                stop.set()
                await asyncio.wait_for(loop, timeout=10)
                assert last is not None
                return from_minute(last.end - 1)

        last_run = asyncio.run(asyncio.wait_for(scenario(), timeout=90))

    # every run is recorded: failures during the outage, then a success
    connection = app.store._connection
    assert connection is not None
    rows = connection.execute(
        "SELECT ok, error, finished_at FROM source_runs ORDER BY id"
    ).fetchall()
    oks = [ok for ok, _, _ in rows]
    assert oks[0] == 1 and oks[-1] == 1 and 0 in oks, oks
    failed = [error for ok, error, _ in rows if not ok]
    assert all("unreachable" in e or "collect deadline" in e for e in failed), failed
    [health] = app.store.source_health()
    assert health.consecutive_failures == 0 and health.last_error is None
    assert health.runs == len(rows) and health.collected_through is not None
    assert from_minute(health.collected_through) >= outage_end  # data age after recovery

    # no gap: every closed interval since the first run is exactly the simulator's
    start = to_minute(ANCHOR) - 60
    start -= start % BLOCK
    end = to_minute(last_run) - to_minute(last_run) % BLOCK
    outage_block = to_minute(outage_end) - to_minute(outage_end) % BLOCK
    assert end >= outage_block + BLOCK  # the intervals of the outage are closed and compared
    truth = queue_truth(simulation, start * 60_000, end * 60_000, int(last_run.timestamp() * 1000))
    stored = stored_blocks(app, "queue-sl", start, end, ("queue_id", "media_type"))
    for key, expected in truth.items():
        assert np.array_equal(stored[key], expected), key
    assert sum(int(v[:, 1].sum()) for v in truth.values()) > 0

    # the failed calls of the outage minutes are bad events of api_availability
    api = [s.id for s in app.store.list_series("api")]
    first, last = to_minute(outage_start), to_minute(outage_end)
    good, total = app.store.minute_arrays(api, first + 1, last - 1)  # whole outage minutes
    assert total.sum() > 0 and good.sum() == 0, (good, total)
    before_good, before_total = app.store.minute_arrays(api, to_minute(ANCHOR), first)
    assert before_good.sum() == before_total.sum() > 0  # all good before it
    assert app.store.list_data_issues() == []  # an outage delays data; it breaks none
    app.close()


def test_an_inconsistent_interval_is_a_data_issue_and_zeros_until_a_clean_refetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    simulation = Simulation(default_scenario(ANCHOR), seed=11)
    clock = SimClock(ANCHOR, speed=1.0)
    broken = ANCHOR - timedelta(hours=2) + timedelta(minutes=7)  # 12:00–12:15
    with fake_genesys(simulation, clock, f"inconsistent={_iso(broken)}") as url:
        app = open_app(write_config(tmp_path, url, simulation), clock)
        collector = collector_for(app)
        start, end = to_minute(ANCHOR) - 180, to_minute(ANCHOR)

        async def collect_twice() -> tuple[int, int]:
            async with collector:
                first = await collector.collect_range(start, end)
                assert first.ok, first.error
                assert first.data_issues == 1 and first.data_issues_resolved == 0
                issues = app.store.list_data_issues()
                assert len(issues) == 1, issues
                [issue] = issues
                assert issue.kind == "inconsistent" and issue.slo == "queue-sl"
                assert issue.source == "genesys" and issue.resolved_at is None
                block = to_minute(broken) - to_minute(broken) % BLOCK
                assert (issue.start, issue.end) == (block, block + BLOCK)
                assert set(issue.segment) == {"queue_id", "media_type"}
                assert "negative count" in issue.detail
                key = (issue.segment["queue_id"], issue.segment["media_type"])
                stored = stored_blocks(app, "queue-sl", start, end, ("queue_id", "media_type"))
                index = (block - start) // BLOCK
                assert stored[key][index].tolist() == [0, 0]  # zeros, not a clamped count
                truth = queue_truth(simulation, start * 60_000, end * 60_000, end * 60_000)
                assert truth[key][index][1] > 0  # there was traffic to miscount
                for other, expected in truth.items():
                    if other != key:
                        assert np.array_equal(stored[other], expected), other

                second = await collector.collect_range(start, end)  # the fault is spent
                assert second.ok and second.data_issues == 0
                assert second.data_issues_resolved == 1
                assert app.store.list_data_issues() == []
                [resolved] = app.store.list_data_issues(include_resolved=True)
                assert resolved.id == issue.id and resolved.resolved_at is not None
                stored = stored_blocks(app, "queue-sl", start, end, ("queue_id", "media_type"))
                assert np.array_equal(stored[key], truth[key])
                return first.rows_written, second.rows_written

        asyncio.run(asyncio.wait_for(collect_twice(), timeout=60))
    app.close()
