"""The App: the composition root. It loads the config, opens the store, picks the clock and
wires the services; every surface (CLI, HTTP API, dashboard, scheduler) goes through it.

The services hold the rules and never see the App: ``evaluations`` (the published "now"
evaluation and its cache: ``services.evaluations``), ``gate`` (``gate.GateService``),
``changes`` (``changes.ChangeService``), ``records`` (exclusions and annotations:
``exclusions.RecordsService``), ``events`` (voice-agent event ingest:
``services.event_ingest``) and ``alerts`` (``services.alerts.AlertService``: stepped
once per new evaluation minute of "now", which it subscribes to). Callers call the
services themselves (``app.evaluations.status(...)``, ``app.changes.submit(...)``); the
App only builds and wires them, records the config it was opened with, and closes the
store.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from errorbudget.changes import ChangeService
from errorbudget.clock import Clock, utc_now
from errorbudget.config import LoadedConfig, load_config
from errorbudget.exclusions import RecordsService
from errorbudget.gate import GateService
from errorbudget.records import (
    DEFAULT_LOCK_TIMEOUT,
    LockWaiter,
    WriterInfo,
)
from errorbudget.services.evaluations import (
    STALE_MINUTES,
    Evaluation,
    EvaluationKey,
    EvaluationService,
    SeriesConditions,
)
from errorbudget.store import Store, open_store
from errorbudget.store.fencing import Fence, fenced

if TYPE_CHECKING:
    from errorbudget.services.alerts import AlertService, SignalSource
    from errorbudget.services.deliveries import DeliveryWorker
    from errorbudget.services.event_ingest import EventIngestService
    from errorbudget.services.voice import VoiceService

__all__ = [
    "STALE_MINUTES",
    "App",
    "Evaluation",
    "EvaluationKey",
    "SeriesConditions",
    "current_user",
]

T = TypeVar("T")


def current_user() -> str:
    """Who is acting, for the audit log: the OS user, else ``$USER``, else ``unknown``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


class App:
    """Holds the loaded config, the open store, the clock and the services built on them."""

    def __init__(
        self,
        loaded: LoadedConfig,
        store: Store,
        clock: Clock = utc_now,
        *,
        alert_rules: SignalSource | None = None,
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self.evaluations = EvaluationService(loaded, store, clock)
        self._closing: list[Callable[[], None]] = []
        self._alert_rules = alert_rules
        self.gate = GateService(loaded, store, self.evaluations)
        self.changes = ChangeService(loaded, store, clock, self.evaluations, self.gate)
        self.records = RecordsService(loaded, store, clock, self.evaluations)

    @classmethod
    def open(
        cls,
        config_path: str | Path | None = None,
        clock: Clock | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        holder: WriterInfo | None = None,
        on_wait: LockWaiter | None = None,
    ) -> App:
        """Load the config, open its store, and record the config if it changed.

        The clock is ``clock`` if given, else the config's ``clock`` section (a simulated
        time, as ``errorbudget demo`` writes), else real time. ``lock_timeout``,
        ``holder`` and ``on_wait``: how the store's writes wait for its lock (``Store``)."""
        loaded = load_config(config_path)
        if clock is None:
            settings = loaded.config.clock
            clock = settings.clock() if settings is not None else utc_now
        store = open_store(
            loaded.store_location,
            lock_timeout=lock_timeout,
            holder=holder,
            password=loaded.store_password(),
        )
        store.on_wait = on_wait
        app = cls(loaded, store, clock)
        try:
            app.record_config()
        except BaseException:
            app.close()
            raise
        return app

    @cached_property
    def events(self) -> EventIngestService:
        """Voice-agent event ingest (built on first use: it needs pyarrow, which a command
        that reads statuses never loads)."""
        from errorbudget.services.event_ingest import EventIngestService

        return EventIngestService(
            self.store,
            self.evaluations.slos,
            self.clock,
            retention=self.loaded.config.events.retention,
            max_future=self.loaded.config.events.max_future,
            max_segments=self.loaded.config.events.max_segments,
            max_dimension_values=self.loaded.config.events.max_dimension_values,
        )

    @cached_property
    def alerts(self) -> AlertService:
        """The alert service (built on first use: a command that never alerts does not
        load the rules)."""
        from errorbudget.services.alerts import AlertService, configured_route, configured_rules

        notifications = self.loaded.config.notifications
        rules = self._alert_rules
        return AlertService(
            self.loaded,
            self.store,
            self.clock,
            signals=rules if rules is not None else configured_rules(self.loaded, self.store),
            route=configured_route(self.loaded),
            dashboard_url=notifications.dashboard_url if notifications is not None else None,
        )

    @cached_property
    def voice(self) -> VoiceService:
        """The voice-agent views of events SLOs (built on first use)."""
        from errorbudget.services.voice import VoiceService

        return VoiceService(self.loaded, self.store, self.evaluations)

    def start_alerting(self, fence: Fence | None = None) -> Callable[[], None]:
        """Step the alerts at every new evaluation of "now" (``errorbudget serve``'s leader
        does; a CLI command that reads a status does not: it neither moves an alert nor
        queues a notification). An evaluation published before is stepped now. With a
        ``fence`` (the leader's term), each step's transaction is refused once the lease
        moved on (``store.fencing``). Returns the call that stops it."""
        alerts = self.alerts

        def step(evaluation: Evaluation) -> None:
            with fenced(fence):
                alerts.on_evaluation(evaluation)

        stop = self.evaluations.subscribe(step)
        latest = self.evaluations.latest
        if latest is not None:
            step(latest)
        return stop

    def delivery_worker(self, environ: Mapping[str, str]) -> DeliveryWorker | None:
        """The worker that sends queued notifications to the configured receivers (None
        without ``notifications:``), their secrets read from ``environ`` now (ConfigError
        naming a missing variable). Its HTTP client is closed with the App."""
        settings = self.loaded.config.notifications
        if settings is None or not settings.receivers:
            return None
        import httpx

        from errorbudget.notify import notifiers_from_settings
        from errorbudget.services.deliveries import DeliveryWorker

        client = httpx.Client(follow_redirects=False)
        try:
            notifiers = notifiers_from_settings(settings, environ, client)
        except BaseException:
            client.close()
            raise
        self._closing.append(client.close)
        return DeliveryWorker(self.store, notifiers, self.clock, settings.retry)

    def record_config(self, actor: str | None = None) -> int | None:
        """Append a ``config.apply`` audit entry when the config differs from the last one
        applied to this store (by content, not layout); return its id, or None."""
        canonical = self.loaded.config.model_dump_json()
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        previous = self.store.audit_log(limit=1, action="config.apply")
        before: list[str] = []
        if previous:
            if previous[0].details.get("sha256") == digest:
                return None
            listed = previous[0].details.get("slos")
            before = [str(x) for x in listed] if isinstance(listed, list) else []
        slo_ids = [slo.id for slo in self.evaluations.slos]
        return self.store.audit(
            actor=actor or current_user(),
            action="config.apply",
            subject=str(self.loaded.path),
            details={
                "sha256": digest,
                "slos": slo_ids,
                "added": sorted(set(slo_ids) - set(before)),
                "removed": sorted(set(before) - set(slo_ids)),
            },
        )

    def close(self) -> None:
        while self._closing:
            self._closing.pop()()
        self.store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
