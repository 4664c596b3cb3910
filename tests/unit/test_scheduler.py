"""The scheduler of `serve`: readiness, crashes, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib

from errorbudget.scheduler import Scheduler


def test_jobs_report_readiness_and_stop_after_their_unit_of_work() -> None:
    finished: list[str] = []
    runs = {"count": 0}

    async def collector(stop: asyncio.Event) -> None:
        while not stop.is_set():
            runs["count"] += 1
            await asyncio.sleep(0.01)  # a unit of work in progress when stop comes
            finished.append("chunk")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.01)

    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("boom")

    async def scenario() -> list[list[str]]:
        scheduler = Scheduler()
        scheduler.add("collector", collector, ready=lambda: runs["count"] > 0)
        scheduler.add("broken", broken)
        before = scheduler.not_ready()
        scheduler.start()
        await asyncio.sleep(0.05)
        during = scheduler.not_ready()
        await scheduler.stop(timeout=5)
        return [before, during]

    before, during = asyncio.run(scenario())
    assert before == ["job collector has not started", "job broken has not started"]
    assert during == ["job broken has stopped"]  # the crash is reported, the server lives
    assert finished and len(finished) == runs["count"]  # every started chunk completed


def test_a_job_that_ignores_stop_is_cancelled_after_the_timeout() -> None:
    async def stubborn(stop: asyncio.Event) -> None:
        await asyncio.sleep(60)

    async def scenario() -> bool:
        scheduler = Scheduler()
        scheduler.add("stubborn", stubborn)
        scheduler.start()
        await asyncio.sleep(0)
        await scheduler.stop(timeout=0.05)
        task = scheduler.jobs[0].task
        return task is not None and task.cancelled()

    assert asyncio.run(scenario())
