"""``errorbudget serve``: one process with the HTTP API, the dashboard, ``/metrics`` and the
scheduled jobs.

Several replicas may serve one store (docs/operations.md "Replicas and leader election"):
every replica serves the dashboard, the API and ``/metrics`` and keeps its status cache
warm; the one holding the store's ``leader`` lease (``leadership.Leadership``) also runs
the *leader's jobs* — the pull sources, their metrics feeds, the alert evaluator, the
notification worker and the ``jobs`` given — for as long as its term lasts
(:class:`LeaderJobs`), each inside its term's fence, so none of them writes once another
replica leads. A single replica simply always wins the lease.

Shutdown is graceful: on SIGINT/SIGTERM uvicorn stops accepting requests and finishes those
in flight, then every job finishes its current unit of work (a collector its chunk, in its
own transaction) before the store closes — nothing already fetched is lost.

Threading model: the event loop never calls the store. Routes that read or write it are
plain functions run in the thread pool (anyio's, 40 threads); async routes hand their
store work to it (``run_in_threadpool``) and the jobs to ``asyncio.to_thread``. Reads use
read connections of their own and never wait for a writer; writes wait for the store's
lock at most ``server.store_lock_timeout`` and then answer 503. ``/healthz`` is answered
on the loop itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import uvicorn

from errorbudget.app import App
from errorbudget.errors import ListenError, StoreError
from errorbudget.exporter_settings import tls_files
from errorbudget.http_server import SignalFreeServer, stop_on_signals
from errorbudget.leadership import Leadership, replica_id
from errorbudget.process_memory import keep_freed_memory
from errorbudget.scheduler import Scheduler
from errorbudget.sources import MetricsFeed, PullSource, create_metrics_feeds, create_sources
from errorbudget.sources.schedule import run_forever
from errorbudget.store.fencing import Fence, fenced
from errorbudget.web.app import create_app

if TYPE_CHECKING:
    from errorbudget.services.deliveries import DeliveryWorker

log = logging.getLogger("errorbudget.server")


Job = tuple[str, Callable[[asyncio.Event], Awaitable[None]]]
"""An extra scheduled job: its name and ``run(stop)``, which loops until ``stop`` is set."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, or ListenError with what to do.

    Called before any other work (a demo's backfill, the collectors), so that a busy port
    fails at once, and held until the server takes it over: nothing can take the port in
    between, and a browser that connects early waits in the backlog instead of failing.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} is in use: stop the other process or pass --port N"
            ) from exc
        raise ListenError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pass another --host or --port"
        ) from exc
    sock.set_inheritable(True)
    return sock


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run the server's event loop: uvloop where installed (``uvicorn[standard]``), which
    with httptools roughly halves uvicorn's cost per request; asyncio otherwise."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


async def checkpoint_loop(app: App, stop: asyncio.Event, every: float = 5.0) -> None:
    """Keep the store's write-ahead log short from a worker thread, so the automatic
    checkpoint (which runs inside whichever commit crosses the limit) never lands on a
    request: measured, one such checkpoint held a gate decision for ~450 ms."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(app.store.checkpoint)
        except StoreError as exc:
            log.warning("checkpoint failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def status_warmer(app: App, stop: asyncio.Event, every: float = 0.5) -> None:
    """The evaluation service's warmer (``EvaluationService.run``): "now" is evaluated in a
    worker thread as soon as the minute or the data moves, while requests are served the
    last evaluation."""
    await app.evaluations.run(stop, every)


def schedule_sources(app: App, scheduler: Scheduler) -> list[PullSource]:
    """Add a job per configured pull source, each on the generic schedule
    (``sources.schedule.run_forever``); return the sources."""
    sources: list[PullSource] = []
    for source in create_sources(app.loaded, app.store, app.clock):
        if not isinstance(source, PullSource):
            continue

        def run(stop: asyncio.Event, source: PullSource = source) -> Awaitable[None]:
            return run_forever(source, stop)

        def first_run_done(source: PullSource = source) -> bool:
            return source.last_report is not None

        scheduler.add(source.name, run, first_run_done)
        sources.append(source)
    return sources


def schedule_metrics_feeds(
    app: App, scheduler: Scheduler, sources: Sequence[PullSource]
) -> list[MetricsFeed]:
    """Add a job per source metrics feed (``MetricsPlugin``: the Genesys queue families),
    sharing the sources' clients; return the feeds (``/metrics`` reads them)."""
    feeds = create_metrics_feeds(app.loaded, app.clock, sources)
    for feed in feeds:
        scheduler.add(feed.name, feed.run)
    return feeds


class LeaderJobs:
    """The leader's jobs, started for each term this replica leads and stopped when it
    ends: the pull sources, their metrics feeds, the notification worker, the ``extra``
    jobs, and the alert evaluator (a listener of the evaluations, not a job). Each job runs
    inside the term's fence (``fencing.fenced``), so are the alert steps."""

    def __init__(
        self,
        app: App,
        web: Any,
        *,
        worker: DeliveryWorker | None,
        with_sources: bool,
        extra: Sequence[Job] = (),
    ) -> None:
        self.app = app
        self.web = web
        self.worker = worker
        self.with_sources = with_sources
        self.extra = list(extra)
        self.scheduler: Scheduler | None = None
        self.sources: list[PullSource] = []
        self.feeds: list[MetricsFeed] = []
        self._stop_alerting: Callable[[], None] | None = None

    async def start(self, fence: Fence) -> None:
        scheduler = Scheduler()
        sources = schedule_sources(self.app, scheduler) if self.with_sources else []
        feeds = schedule_metrics_feeds(self.app, scheduler, sources) if self.with_sources else []
        if self.worker is not None:
            scheduler.add("notifications", self.worker.run)
        for name, run in self.extra:
            scheduler.add(name, run)
        for scheduled in scheduler.jobs:
            scheduled.run = _fenced_job(scheduled.run, fence)
        self.scheduler, self.sources, self.feeds = scheduler, sources, feeds
        self.web.state.leader_scheduler = scheduler
        self.web.state.sources = sources  # their run health: /readyz and /metrics
        self.web.state.metric_feeds = feeds  # their families on /metrics
        # Alerts step at each new evaluation of "now"; the worker sends what they queue.
        self._stop_alerting = await asyncio.to_thread(self.app.start_alerting, fence)
        scheduler.start()

    async def stop(self) -> None:
        """Stop the term's jobs (each finishes its unit of work, whose writes the fence
        refuses if the lease moved on) and close the sources."""
        stop_alerting, self._stop_alerting = self._stop_alerting, None
        if stop_alerting is not None:
            stop_alerting()
        scheduler = self.scheduler
        if scheduler is not None:
            # dropped only once stopped: a stop cancelled mid-wait (serve's own wait for the
            # election ran out) leaves it for serve's next stop, which cancels what is left
            await scheduler.stop()
            self.scheduler = None
        feeds, sources = self.feeds, self.sources
        self.feeds, self.sources = [], []
        self.web.state.leader_scheduler = None
        self.web.state.sources = []
        self.web.state.metric_feeds = []
        for feed in feeds:
            await feed.aclose()
        for source in sources:
            await source.aclose()


def _fenced_job(
    run: Callable[[asyncio.Event], Awaitable[None]], fence: Fence
) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def fenced_run(stop: asyncio.Event) -> None:
        with fenced(fence):  # set in the job's own task: its worker threads inherit it
            await run(stop)

    return fenced_run


async def serve(
    app: App,
    host: str,
    port: int,
    *,
    with_sources: bool = True,
    on_started: Callable[[str], None] | None = None,
    sock: socket.socket | None = None,
    jobs: Sequence[Job] = (),
) -> None:
    """Serve ``app`` until a signal (or ``server.should_exit``) stops it.

    ``sock`` is a socket from :func:`listen` (else one is opened here, before anything
    else starts); ``jobs`` are leader's jobs, scheduled next to the collectors.
    """
    # The receivers' secrets are read first: a missing one stops serve before it listens.
    worker = app.delivery_worker(os.environ)
    settings = app.loaded.config.server
    cert, key = tls_files(app.loaded.path.parent, settings.tls)  # a missing file: before too
    sock = sock if sock is not None else listen(host, port)
    # A server write waits for the store's lock briefly, then answers 503 (Retry-After):
    # a CLI ingest holding the lock must not hold the server's threads for long.
    app.store.set_lock_timeout(settings.store_lock_timeout.total_seconds())
    web = create_app(app)
    # Everything loaded so far (modules, config, the app) lives as long as the process:
    # moved out of the collector's reach, a full collection no longer walks it. Measured
    # under the gate benchmark, full collections paused every request for 80–120 ms.
    gc.collect()
    gc.freeze()
    # An evaluation's megabytes of numpy temporaries are kept for the next one instead of
    # going back to the system and faulting in again (process_memory.py).
    keep_freed_memory()
    scheduler = Scheduler()
    web.state.scheduler = scheduler
    web.state.sources = []
    web.state.metric_feeds = []
    term = LeaderJobs(app, web, worker=worker, with_sources=with_sources, extra=jobs)
    leadership = Leadership(
        app.store,
        replica_id(),
        ttl=settings.leader.ttl.total_seconds(),
        renew_every=settings.leader.renew_every.total_seconds(),
        start_term=term.start,
        end_term=term.stop,
    )
    web.state.leadership = leadership  # /readyz, /metrics and the overview say who leads
    log.info("replica %s", leadership.replica, extra={"replica": leadership.replica})
    scheduler.add("store-checkpoint", lambda stop: checkpoint_loop(app, stop))
    scheduler.add("status-warmer", lambda stop: status_warmer(app, stop))
    scheduler.add("leader-election", leadership.run)
    config = uvicorn.Config(
        web, host=host, port=port, log_config=None, access_log=False, lifespan="off",
        ssl_certfile=cert, ssl_keyfile=key,
    )  # fmt: skip
    server = SignalFreeServer(config)
    stop_on_signals(server)
    scheduler.start()
    watcher = None
    if on_started is not None:

        async def announce() -> None:
            while not server.started:
                await asyncio.sleep(0.05)
            on_started(f"{'https' if cert else 'http'}://{host}:{port}")

        watcher = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
        gc.unfreeze()
        if watcher is not None:
            watcher.cancel()
        log.info("stopping scheduled jobs")
        await scheduler.stop()  # the election ends this replica's term and releases the lease
        await term.stop()
        log.info("stopped")
