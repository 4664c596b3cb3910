"""Scheduled jobs of ``errorbudget serve``: the collectors today, the alert evaluator and
notifiers later. A job is an async callable that runs until its stop event is set; the
scheduler starts them together, reports which have not completed a first run yet (for
``/readyz``), and stops them gracefully: each job finishes the unit of work it is in (a
collector its current chunk, in its own transaction), so a shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("errorbudget.scheduler")


@dataclass
class Job:
    """One scheduled job: ``run(stop)`` loops until ``stop`` is set; ``ready()`` says
    whether it has done its first useful run."""

    name: str
    run: Callable[[asyncio.Event], Awaitable[None]]
    ready: Callable[[], bool] = lambda: True
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Scheduler:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self._stop = asyncio.Event()

    def add(
        self,
        name: str,
        run: Callable[[asyncio.Event], Awaitable[None]],
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self.jobs.append(Job(name, run, ready or (lambda: True)))

    def start(self) -> None:
        """Start every job as a task on the running loop."""
        for job in self.jobs:
            job.task = asyncio.create_task(self._guarded(job), name=f"job:{job.name}")
            log.info("job started", extra={"job": job.name})

    async def _guarded(self, job: Job) -> None:
        try:
            await job.run(self._stop)
        except asyncio.CancelledError:
            raise
        except Exception:  # a job's crash must not take the server down; it is logged
            log.exception("job crashed", extra={"job": job.name})

    def not_ready(self) -> list[str]:
        """A sentence per job that is not ready (not started, crashed, or no first run)."""
        problems = []
        for job in self.jobs:
            if job.task is None:
                problems.append(f"job {job.name} has not started")
            elif job.task.done():
                problems.append(f"job {job.name} has stopped")
            elif not job.ready():
                problems.append(f"job {job.name} has not completed its first run")
        return problems

    async def stop(self, timeout: float = 30.0) -> None:
        """Ask every job to stop, wait up to ``timeout`` for them to finish their current
        unit of work, then cancel what is left."""
        self._stop.set()
        tasks = [job.task for job in self.jobs if job.task is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            log.warning("job did not stop in time; cancelled", extra={"job": task.get_name()})
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
