"""The scheduler of `serve`: readiness, supervision (crashed jobs restarted with a capped
exponential backoff, restarts counted), graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

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
    # the crash is reported while the job waits for its restart; the server lives
    [problem] = during
    assert problem.startswith("job broken crashed (RuntimeError: boom); restart 1 in ")
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


def test_a_crashed_job_is_restarted_with_a_capped_exponential_backoff() -> None:
    """Issue #8: a job that crashes (or returns on its own) is started again — after 0.05,
    0.1, 0.2, 0.2 … s here — and counted; once it runs for good it is up and ready."""
    starts: list[float] = []

    async def flaky(stop: asyncio.Event) -> None:
        starts.append(asyncio.get_running_loop().time())
        if len(starts) <= 4:
            raise RuntimeError(f"crash {len(starts)}")
        if len(starts) == 5:
            return  # ending on its own is a crash too
        await stop.wait()

    async def scenario() -> tuple[list[str], int, bool]:
        scheduler = Scheduler(backoff_initial=0.05, backoff_max=0.2)
        scheduler.add("flaky", flaky)
        scheduler.start()
        job = scheduler.jobs[0]
        while len(starts) < 6:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)
        problems = scheduler.not_ready()
        up = job.up
        await scheduler.stop(timeout=5)
        return problems, job.restarts, up

    problems, restarts, up = asyncio.run(scenario())
    assert restarts == 5 and up and problems == []
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    expected = [0.05, 0.1, 0.2, 0.2, 0.2]
    assert all(gap >= wait * 0.9 for gap, wait in zip(gaps, expected, strict=True)), gaps
    assert gaps[2] > gaps[0] * 2.5  # doubled twice, then capped
    assert max(gaps) < 1.0  # capped: a crash loop does not back off for ever


def test_a_job_waiting_to_restart_stops_at_once() -> None:
    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("boom")

    async def scenario() -> float:
        scheduler = Scheduler(backoff_initial=30.0)
        scheduler.add("broken", broken)
        scheduler.start()
        await asyncio.sleep(0.05)
        began = asyncio.get_running_loop().time()
        await scheduler.stop(timeout=5)
        return asyncio.get_running_loop().time() - began

    assert asyncio.run(scenario()) < 1.0  # not after the 30-s backoff
