"""The demo's world: the simulated contact center behind the fake Genesys Cloud API on
127.0.0.1, a config and a store in one directory, and 30 days collected by the real
collector; its incidents annotated and a few changes waiting for approval.

``errorbudget demo`` runs it (and serves it); ``scripts/screenshots.py`` photographs it; the
README tour's test explores it. Its clock is written into its config (``clock:``), so every
command that reads that config evaluates at the world's simulated instant:

- held still (``speed`` 0): ``errorbudget demo --once``, the screenshots, the tests;
- running ``speed`` times faster than real time: the live demo. When the demo stops, the
  clock in the config is held at the instant it stopped (:meth:`DemoWorld.freeze`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import TracebackType

import yaml

from errorbudget.app import App
from errorbudget.changes import ChangeRequest, ChangeReview
from errorbudget.clock import ScaledClock, utc_now
from errorbudget.config import ClockSettings
from errorbudget.demo.incidents import AUTHOR, IncidentNote, incident_notes
from errorbudget.demo.receiver import SECRET_ENV, DemoReceiver, Received
from errorbudget.demo.voice_agent import (
    VOICE_CALLS_PER_MINUTE,
    VoiceAgentFeed,
    VoiceBackfill,
    voice_notes,
    with_voice_agent,
)
from errorbudget.engine.policy import Risk
from errorbudget.exclusions import AnnotationRequest
from errorbudget.model import to_minute
from errorbudget.records import Annotation
from errorbudget.simulate.clock import ManualClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.genesys_api import ApiSettings
from errorbudget.simulate.scenario import Incident
from errorbudget.simulate.server import FakeGenesysServer
from errorbudget.simulate.voice_agent import VoiceAgentSimulator, default_voice_scenario
from errorbudget.sources.genesys import create_source
from errorbudget.sources.genesys.collector import GenesysCollector

DAYS = 30
DEMO_AT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
"""The instant ``make demo`` and the screenshots simulate (a Wednesday, 11:00 in New York):
fixed, so the README's tour, its figures and its screenshots are what the demo shows."""
DEMO_SEED = 7
CONFIG_NAME = "errorbudget.yaml"
STORE_NAME = "errorbudget-demo.db"
DEMO_RATE_LIMIT = 6_000
"""Requests per minute the demo's fake org allows (the real default is 300): a month of
history then backfills in seconds instead of minutes."""


@dataclass(frozen=True, slots=True)
class SampleChange:
    service: str
    title: str
    change_type: str
    risk: Risk
    slo_ids: tuple[str, ...] = ()
    segment: tuple[tuple[str, str], ...] = ()
    description: str = ""


SAMPLE_CHANGES = (
    SampleChange(
        "contact-center",
        "Spanish billing IVR: fix the payment step",
        "flow",
        "medium",
        ("ivr-completion",),
        (("flow", "Billing ES"),),
        "Restores the payment step that fails since the last Architect publish",
    ),
    SampleChange(
        "contact-center",
        "Callback offer for Support",
        "routing",
        "high",
        ("voice-sla",),
        (("queue", "Support"),),
        "Offer a callback after 90 s in queue",
    ),
    SampleChange(
        "genesys-platform",
        "Genesys API client: longer retry back-off",
        "config",
        "low",
    ),
)
"""What the change-approval panel shows in the demo: changes waiting for the gate, one of
them in a frozen segment (an approver's approval needed), submitted by the demo operator."""
SUBMITTER = "ops-lead"


def demo_config_text() -> str:
    """The packaged demo config, with its ``${…}`` placeholders."""
    return resources.files("errorbudget.demo").joinpath("config.yaml").read_text("utf-8")


DEFAULT_DASHBOARD_URL = "http://127.0.0.1:8787"


def render_config(
    base_url: str,
    secret: str,
    collect_every: timedelta,
    clock: ClockSettings,
    *,
    webhook_url: str = "http://127.0.0.1:8789/notify",
    dashboard_url: str = DEFAULT_DASHBOARD_URL,
) -> str:
    """The demo config with the fake server's address and secret, the demo receiver's and
    the dashboard's addresses, and the clock filled in."""
    text = (
        with_voice_agent(demo_config_text())
        .replace("${FAKE_GENESYS_URL:-http://127.0.0.1:8788}", base_url)
        .replace("${DEMO_WEBHOOK_URL:-http://127.0.0.1:8789/notify}", webhook_url)
        .replace("${DEMO_DASHBOARD_URL:-http://127.0.0.1:8787}", dashboard_url)
        .replace("${FAKE_GENESYS_SECRET:-errorbudget-sim-secret}", secret)
        .replace("${FAKE_GENESYS_RPM:-300}", str(DEMO_RATE_LIMIT))
        .replace("${DEMO_COLLECT_INTERVAL:-60s}", f"{int(collect_every.total_seconds())}s")
    )
    section = clock.model_dump(mode="json", exclude_none=True)
    return (
        text
        + "# The demo's simulated clock (docs/config.md): every command that reads this file\n"
        + "# evaluates at the same simulated instant as the demo's dashboard.\n"
        + yaml.safe_dump({"clock": section}, sort_keys=False)
    )


def clear(directory: Path) -> None:
    """Remove an earlier demo's config and store from ``directory`` (nothing else)."""
    for name in (CONFIG_NAME, STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm"):
        (directory / name).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Backfill:
    rows: int
    requests: int
    seconds: float


class DemoWorld:
    """The simulated contact center, its fake API, and an App over the demo config.

    ``speed`` 0 holds the clock at ``at`` (a :class:`ManualClock`, which tests may move);
    above 0 it runs that many times faster than real time from now on.

    Its alerts go to :attr:`receiver`, a webhook receiver on 127.0.0.1 whose signing secret
    (:attr:`webhook_secret`, new each run) the config reads from :data:`SECRET_ENV`
    (:attr:`environ`); ``on_notification`` is called with each notification it accepts.
    """

    def __init__(
        self,
        directory: Path,
        at: datetime,
        *,
        seed: int = DEMO_SEED,
        speed: float = 0.0,
        dashboard_url: str = DEFAULT_DASHBOARD_URL,
        on_notification: Callable[[Received], None] | None = None,
    ) -> None:
        self.directory = directory
        self.at = at.astimezone(UTC).replace(second=0, microsecond=0)
        self.speed = speed
        self.clock: ScaledClock | ManualClock
        if speed > 0:
            self.clock = ScaledClock(self.at, utc_now(), speed)
        else:
            self.clock = ManualClock(self.at)
        self.simulation = Simulation(default_scenario(self.at), seed=seed)
        self.voice = VoiceAgentSimulator(
            default_voice_scenario(self.at, days=DAYS).scaled(VOICE_CALLS_PER_MINUTE), seed=seed
        )
        self._voice_feed: VoiceAgentFeed | None = None
        self.server = FakeGenesysServer(
            self.simulation, self.clock, settings=ApiSettings(rate_limit_per_minute=DEMO_RATE_LIMIT)
        )
        # Collect about every simulated minute, but no more often than every 2 real seconds.
        seconds = max(2, round(60 / speed)) if speed > 0 else 60
        self.collect_every = timedelta(seconds=seconds)
        self.config_path = directory / CONFIG_NAME
        self.dashboard_url = dashboard_url
        self.webhook_secret = secrets.token_urlsafe(32)
        self.receiver = DemoReceiver(self.webhook_secret, on_notification=on_notification)
        self._app: App | None = None
        self._annotated: set[str] = set()

    @property
    def environ(self) -> dict[str, str]:
        """The environment the demo config's receiver needs (its signing secret)."""
        return {SECRET_ENV: self.webhook_secret}

    @property
    def app(self) -> App:
        if self._app is None:
            raise RuntimeError("the demo world is not open (use it in a with block)")
        return self._app

    @property
    def incidents(self) -> list[Incident]:
        return list(self.simulation.scenario.incidents)

    def clock_settings(self) -> ClockSettings:
        if isinstance(self.clock, ScaledClock) and self.clock.speed > 0:
            return ClockSettings(
                simulated_start=self.clock.start,
                real_start=self.clock.real_start,
                speed=self.clock.speed,
            )
        return ClockSettings(simulated_start=self.clock())

    def write_config(self) -> Path:
        text = render_config(
            self.server.base_url,
            self.server.settings.client_secret,
            self.collect_every,
            self.clock_settings(),
            webhook_url=self.receiver.url,
            dashboard_url=self.dashboard_url,
        )
        self.config_path.write_text(text, encoding="utf-8")
        return self.config_path

    def __enter__(self) -> DemoWorld:
        self.directory.mkdir(parents=True, exist_ok=True)
        clear(self.directory)
        self.server.start()
        self.receiver.start()
        try:
            self._app = App.open(self.write_config(), clock=self.clock)
        except BaseException:
            self.receiver.stop()
            self.server.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._app is not None:
                self._app.close()
                self._app = None
        finally:
            self.receiver.stop()
            self.server.stop()

    def collector(self) -> GenesysCollector:
        collector = create_source(self.app.loaded, self.app.store, self.clock)
        assert collector is not None  # the demo config has Genesys SLOs
        return collector

    def backfill(self) -> Backfill:
        """Collect the ``DAYS`` days before ``at`` through the fake API, as ``errorbudget
        collect --from`` would."""
        began = time.perf_counter()
        start, end = to_minute(self.at - timedelta(days=DAYS)), to_minute(self.at)

        async def collect() -> int:
            async with self.collector() as collector:
                report = await collector.collect_range(start, end)
                return report.rows_written + collector.flush_calls()

        rows = asyncio.run(collect())
        requests = sum(self.server.stats()["byStatus"].values())
        return Backfill(rows, requests, time.perf_counter() - began)

    @property
    def voice_feed(self) -> VoiceAgentFeed:
        """The simulated voice agent, sending its events to the App's event ingest."""
        if self._voice_feed is None:
            self._voice_feed = VoiceAgentFeed(self.voice, self.app.events.ingest)
        return self._voice_feed

    def backfill_voice_agent(self) -> VoiceBackfill:
        """The voice agent's ``DAYS`` days before ``at``, ingested as its events, and its
        scenario's incident and prompt release annotated on the SLOs they hurt."""
        backfill = self.voice_feed.backfill(self.at - timedelta(days=DAYS), self.at)
        slo_ids = {slo.id for slo in self.app.evaluations.slos}
        for note in voice_notes(self.voice.scenario, slo_ids):
            self.app.records.add_annotation(
                AnnotationRequest(
                    at=note.at, kind=note.kind, text=note.text, created_by=AUTHOR, slo=note.slo
                )
            )
        return backfill

    async def voice_agent_job(self, stop: asyncio.Event, every: float = 2.0) -> None:
        """A scheduled job of the live demo: the voice agent's new events, every few
        seconds."""
        while not stop.is_set():
            await asyncio.to_thread(self.voice_feed.catch_up, self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def notes(self, now: datetime | None = None) -> list[IncidentNote]:
        """What each incident's annotations say at ``now`` (default: the clock's now)."""
        moment, scenario = now or self.clock(), self.simulation.scenario
        slos = self.app.evaluations.slos
        return [n for i in self.incidents for n in incident_notes(i, scenario, slos, moment)]

    def record_incidents(self, until: datetime | None = None) -> list[Annotation]:
        """Annotate every incident that started before ``until`` (default: now) and is not
        annotated yet, over the SLOs and segments it hurts."""
        moment = until or self.clock()
        recorded = []
        for note in self.notes(moment):
            key = f"{note.incident.name}|{note.slo}|{sorted(note.segment.items())}"
            if note.at >= moment or key in self._annotated:
                continue
            recorded.append(
                self.app.records.add_annotation(
                    AnnotationRequest(
                        at=note.at,
                        kind="incident",
                        text=note.text,
                        created_by=AUTHOR,
                        slo=note.slo,
                        segment=note.segment,
                    )
                )
            )
            self._annotated.add(key)
        return recorded

    async def record_incidents_job(self, stop: asyncio.Event, every: float = 2.0) -> None:
        """A scheduled job of the live demo: annotate incidents as they begin."""
        while not stop.is_set():
            await asyncio.to_thread(self.record_incidents)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def submit_changes(self) -> list[ChangeReview]:
        """Submit :data:`SAMPLE_CHANGES` as the demo operator (each judged by the gate)."""
        return [
            self.app.changes.submit(
                ChangeRequest(
                    service=change.service,
                    title=change.title,
                    submitted_by=SUBMITTER,
                    change_type=change.change_type,
                    risk=change.risk,
                    slo_ids=change.slo_ids,
                    segment=dict(change.segment),
                    description=change.description,
                )
            )
            for change in SAMPLE_CHANGES
        ]

    def freeze(self) -> datetime:
        """Hold the clock in the config at the current instant (the live demo stops): later
        commands then show what the dashboard showed last."""
        moment = self.clock().replace(second=0, microsecond=0)
        self.clock = ManualClock(moment)
        self.write_config()
        return moment
