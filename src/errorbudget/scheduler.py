"""Scheduled jobs of ``errorbudget serve``, supervised: the status warmer, the checkpointer
and the leader election in every replica; the collectors, their feeds and the notification
worker in a scheduler of their own while the replica leads (``server.LeaderJobs``).

A job is an async callable that runs until its stop event is set. The scheduler starts them
together and *supervises* them: a job that crashes (raises, or returns before it was asked
to stop) is logged and started again after a backoff that doubles from
``backoff_initial`` up to ``backoff_max`` (and starts over once the job has run for
``stable_after`` seconds), so a job never dies for good and a crash loop does not spin.
Each job's restarts are counted (``/metrics``: ``errorbudget_job_restarts_total``) and a
job that is down shows in ``/readyz`` until it runs again. On stop, each job finishes the
unit of work it is in (a collector its current chunk, in its own transaction), so a
shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("errorbudget.scheduler")

BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
STABLE_AFTER = 60.0


@dataclass
class Job:
    """One scheduled job: ``run(stop)`` loops until ``stop`` is set; ``ready()`` says
    whether it has done its first useful run."""

    name: str
    run: Callable[[asyncio.Event], Awaitable[None]]
    ready: Callable[[], bool] = lambda: True
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    restarts: int = 0
    """How often the job was started again after a crash."""
    crashes: int = 0
    last_error: str | None = None
    """The last crash, as ``Type: message``."""
    down_until: float | None = None
    """While the job waits to be restarted: the ``time.monotonic()`` of the restart."""

    @property
    def up(self) -> bool:
        return self.task is not None and not self.task.done() and self.down_until is None


class Scheduler:
    def __init__(
        self,
        *,
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        stable_after: float = STABLE_AFTER,
    ) -> None:
        self.jobs: list[Job] = []
        self._stop = asyncio.Event()
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after

    def add(
        self,
        name: str,
        run: Callable[[asyncio.Event], Awaitable[None]],
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self.jobs.append(Job(name, run, ready or (lambda: True)))

    def start(self) -> None:
        """Start every job, supervised, as a task on the running loop."""
        for job in self.jobs:
            job.task = asyncio.create_task(self._supervise(job), name=f"job:{job.name}")
            log.info("job started", extra={"job": job.name})

    async def _supervise(self, job: Job) -> None:
        delay = self.backoff_initial
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                await job.run(self._stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a job's crash must not take the server down
                job.last_error = f"{type(exc).__name__}: {exc}"
                log.exception(
                    "job crashed; restarting in %.0f s", delay,
                    extra={"job": job.name, "restarts": job.restarts},
                )  # fmt: skip
            else:
                if self._stop.is_set():
                    return
                job.last_error = "returned before it was asked to stop"
                log.error(
                    "job ended on its own; restarting in %.0f s", delay,
                    extra={"job": job.name, "restarts": job.restarts},
                )  # fmt: skip
            job.crashes += 1
            if time.monotonic() - began >= self.stable_after:
                delay = self.backoff_initial  # it ran well for a while: not a crash loop
            job.down_until = time.monotonic() + delay
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            finally:
                job.down_until = None
            if self._stop.is_set():
                return
            job.restarts += 1
            log.info("job restarted", extra={"job": job.name, "restarts": job.restarts})
            delay = min(delay * 2, self.backoff_max)

    def not_ready(self) -> list[str]:
        """A sentence per job that is not ready (not started, down after a crash, stopped,
        or no first run yet)."""
        problems = []
        for job in self.jobs:
            if job.task is None:
                problems.append(f"job {job.name} has not started")
            elif job.down_until is not None:
                wait = max(0.0, job.down_until - time.monotonic())
                problems.append(
                    f"job {job.name} crashed ({job.last_error}); restart {job.restarts + 1} "
                    f"in {wait:.0f} s"
                )
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
