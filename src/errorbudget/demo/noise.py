"""The demo's alert noise: ``alerts replay`` over the demo world's last weeks, and which of
its pages belong to a simulated incident (``scripts/alert_noise.py`` writes them into
docs/alerting.md, "Noise"; a test holds the pages outside incidents to a ceiling)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from errorbudget.demo.incidents import incident_notes
from errorbudget.demo.world import DEMO_SEED, DemoWorld
from errorbudget.model import from_minute, to_minute
from errorbudget.replay import Incident, Replay, replay
from errorbudget.simulate.scenario import Incident as Outage

WEEKS = 4
MAX_PAGES_OUTSIDE = 4
"""Page episodes no simulated incident explains that the demo may send over ``WEEKS`` weeks
(36 before its Email service level, VIP staffing and 15-minute page keep were set; held by
tests/integration/test_demo_noise.py and ``scripts/alert_noise.py --check``)."""
MATCH_AFTER = timedelta(hours=1)
"""A page fired up to this long after an incident's end is counted as the incident's (its
burn is still in the windows)."""

Hurt = tuple[str, dict[str, str]]
"""An SLO an incident hurts and the segment keys it narrows to."""


@dataclass(frozen=True, slots=True)
class DemoNoise:
    """What a replay of the demo world found, beside the simulated incidents of those weeks
    (each with the SLOs and segments it hurts)."""

    replay: Replay
    outages: list[tuple[Outage, list[Hurt]]]

    @property
    def pages(self) -> list[Incident]:
        """Page episodes that notify (not inhibited)."""
        return [i for i in self.replay.incidents if i.severity == "page" and not i.inhibited]

    def incident_pages(self, outage: Outage, hurt: Sequence[Hurt]) -> list[Incident]:
        """The pages of the series ``outage`` hurts, fired while it lasted (or just after)."""
        return [i for i in self.pages if hurts(i, hurt) and during(i, outage)]

    def pages_outside(self) -> list[Incident]:
        """Pages no simulated incident explains: noise."""
        explained = {
            id(page) for outage, hurt in self.outages for page in self.incident_pages(outage, hurt)
        }
        return [i for i in self.pages if id(i) not in explained]


def hurts(incident: Incident, hurt: Sequence[Hurt]) -> bool:
    segment = dict(incident.segment)
    return any(
        slo == incident.slo and all(segment.get(k) == v for k, v in keys.items())
        for slo, keys in hurt
    )


def during(incident: Incident, outage: Outage) -> bool:
    fired = from_minute(incident.fired_at)
    return outage.start <= fired <= outage.end + MATCH_AFTER


def demo_noise(directory: Path, at: datetime, weeks: int = WEEKS) -> DemoNoise:
    """Build the demo world at ``at`` in ``directory`` (30 days collected through the fake
    API) and replay its alert rules over the last ``weeks`` weeks at 1-minute steps."""
    with DemoWorld(directory, at, seed=DEMO_SEED) as world:
        world.backfill()
        app = world.app
        loaded = app.loaded
        slos = [
            (
                slo,
                loaded.catalog(slo.alerting.catalog),
                loaded.policy(slo.policy),
                loaded.eligibility(slo),
            )
            for slo in loaded.config.slos
            if slo.alerting.enabled
        ]
        start = to_minute(at - timedelta(weeks=weeks))
        found = replay(app.store, slos, start, to_minute(at))
        scenario, config_slos = world.simulation.scenario, app.evaluations.slos
        outages = [
            (
                outage,
                [
                    (note.slo, dict(note.segment))
                    for note in incident_notes(outage, scenario, config_slos, at)
                    if note.slo is not None
                ],
            )
            for outage in world.incidents
            if outage.start < at and outage.end > from_minute(start)
        ]
    return DemoNoise(found, outages)
