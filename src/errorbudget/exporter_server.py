"""``errorbudget exporter``: the sources' metrics feeds (the Genesys queue families) and,
when the store exists, the SLO families, on ``/metrics`` only (docs/exporter.md).

One process, one event loop: every feed polls on its own schedule as a task, and uvicorn
serves scrapes from the snapshots they leave (TLS and scrape authentication from
``exporter:``). The store is only read (no config is recorded, nothing collected).
SIGINT/SIGTERM stop the server, then the feeds, then close their clients and the store.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from prometheus_client.registry import CollectorRegistry

from errorbudget.app import App
from errorbudget.clock import utc_now
from errorbudget.config import LoadedConfig
from errorbudget.exporter import BudgetExposition, registry_for
from errorbudget.exporter_settings import tls_files
from errorbudget.http_server import SignalFreeServer, stop_on_signals
from errorbudget.sources import MetricsFeed, create_metrics_feeds
from errorbudget.sources.plugin import Clock
from errorbudget.store import Store, open_store
from errorbudget.web.exporter_app import ScrapeAuth, create_exporter_app

log = logging.getLogger("errorbudget.exporter")


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464``) → (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass
class Exporter:
    """What ``errorbudget exporter`` serves: a registry, the feeds that fill it, the auth."""

    loaded: LoadedConfig
    registry: CollectorRegistry
    feeds: list[MetricsFeed]
    auth: ScrapeAuth
    store: Store | None = None
    notes: list[str] = field(default_factory=list)
    budget: BudgetExposition | None = None
    """The SLO budget gauges, rendered once per evaluation (None: no store)."""

    @classmethod
    def build(
        cls, loaded: LoadedConfig, environ: Mapping[str, str], clock: Clock | None = None
    ) -> Exporter:
        """Feeds from the config's sources, the SLO families when the store exists, and
        the scrape auth (its secrets read from ``environ`` now: a missing one is a
        ConfigError before anything listens). ``clock``: the config's, else real time."""
        settings = loaded.config.exporter
        auth = ScrapeAuth(settings.auth, environ)
        if clock is None:
            clock = loaded.config.clock.clock() if loaded.config.clock is not None else utc_now
        store: Store | None = None
        budget: BudgetExposition | None = None
        notes: list[str] = []
        location = loaded.store_location
        # an SQLite file that does not exist yet is not created by a scrape endpoint; a
        # PostgreSQL store is a server, always there
        if settings.slo_metrics and (isinstance(location, str) or Path(location).is_file()):
            store = open_store(location, password=loaded.store_password(environ))
            evaluations = App(loaded, store, clock).evaluations
            budget = BudgetExposition(evaluations)
            registry = registry_for(evaluations, budget=False)
        else:
            registry = CollectorRegistry(auto_describe=False)
            if settings.slo_metrics:
                notes.append(f"no store at {location}: SLO families not served")
        feeds = create_metrics_feeds(loaded, clock)
        for feed in feeds:
            for collector in feed.collectors():
                registry.register(collector)
        if not feeds:
            notes.append("no source has metrics configured (sources.genesys.queue_metrics)")
        return cls(loaded, registry, feeds, auth, store, notes, budget)

    def exposition(self) -> bytes:
        """What is appended to the registry's text: the budget gauges (evaluated "now",
        rendered once per evaluation) and the families the feeds rendered at their last
        poll. Called off the event loop."""
        head = self.budget.render() if self.budget is not None else b""
        return head + b"".join(feed.exposition() for feed in self.feeds)

    def app(self) -> object:
        return create_exporter_app(self.registry, self.auth, self.exposition)

    async def aclose(self) -> None:
        for feed in self.feeds:
            await feed.aclose()
        if self.store is not None:
            self.store.close()


async def run_exporter(
    exporter: Exporter,
    sock: socket.socket,
    host: str,
    port: int,
    *,
    on_started: Callable[[str], None] | None = None,
    on_server: Callable[[uvicorn.Server], None] | None = None,
) -> None:
    """Serve until a signal (or ``server.should_exit``, ``on_server`` hands it out)."""
    settings = exporter.loaded.config.exporter
    cert, key = tls_files(exporter.loaded.path.parent, settings.tls)
    stop = asyncio.Event()
    tasks: Sequence[asyncio.Task[None]] = [
        asyncio.create_task(feed.run(stop), name=f"feed:{feed.name}") for feed in exporter.feeds
    ]
    config = uvicorn.Config(
        exporter.app(),  # type: ignore[arg-type]
        host=host, port=port, log_config=None, access_log=False, lifespan="off",
        ssl_certfile=cert, ssl_keyfile=key,
    )  # fmt: skip
    server = SignalFreeServer(config)
    if on_server is not None:
        on_server(server)
    stop_on_signals(server)
    watcher = None
    if on_started is not None:
        scheme = "https" if cert else "http"

        async def announce() -> None:
            while not server.started:
                await asyncio.sleep(0.05)
            on_started(f"{scheme}://{host}:{port}/metrics")

        watcher = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
        if watcher is not None:
            watcher.cancel()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await exporter.aclose()
        log.info("exporter stopped")
