"""The demo scenario's incidents as ``incident`` annotations on the SLO timelines.

A simulated incident says what it does (slower staffing or patience on some queues, failing
IVR flows, API errors); :func:`incident_notes` maps that onto the config's SLOs: which SLO
it hurts, and which segment when it is one queue or one flow. The SLO detail pages then show
it on the burn-rate chart, as they show a real incident someone annotated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from errorbudget.model import SLO
from errorbudget.simulate.scenario import Incident, Scenario
from errorbudget.sources.genesys.indicator import GenesysIndicator

QUEUE_METRICS = ("voice_sla", "digital_sla", "answered_within")
AUTHOR = "demo-simulator"
"""Who the annotations are recorded as (``created_by``)."""


@dataclass(frozen=True, slots=True)
class IncidentNote:
    """One annotation for one incident and one SLO (or for everything: ``slo`` None)."""

    incident: Incident
    text: str
    slo: str | None = None
    segment: dict[str, str] = field(default_factory=dict)

    @property
    def at(self) -> datetime:
        return self.incident.start


def describe(incident: Incident, now: datetime) -> str:
    """``Carrier degradation (voice): simulated incident, 2026-11-22 16:00–18:30 UTC``, or
    ``…, since 2026-11-23 16:00 UTC`` while it lasts at ``now`` (its end is not known yet)."""
    start = f"{incident.start:%Y-%m-%d %H:%M}"
    if incident.end > now:
        return f"{incident.name}: simulated incident, since {start} UTC"
    end = f"{incident.end:%H:%M}"
    if incident.end.date() != incident.start.date():
        end = f"{incident.end:%Y-%m-%d %H:%M}"
    return f"{incident.name}: simulated incident, {start}–{end} UTC"


def _genesys(slos: Sequence[SLO], metrics: Sequence[str]) -> list[tuple[SLO, GenesysIndicator]]:
    return [
        (slo, slo.indicator)
        for slo in slos
        if isinstance(slo.indicator, GenesysIndicator) and slo.indicator.metric in metrics
    ]


def _queue_effect(incident: Incident) -> bool:
    factors = (
        incident.staffing_factor,
        incident.arrival_factor,
        incident.patience_factor,
        incident.handle_factor,
    )
    return any(factor != 1.0 for factor in factors)


def incident_notes(
    incident: Incident, scenario: Scenario, slos: Sequence[SLO], now: datetime
) -> list[IncidentNote]:
    """The annotations of one incident over ``slos``, as known at ``now``: each SLO it
    hurts, narrowed to the one queue or flow it hits where the SLO segments by queue or
    flow; one annotation for everything when it hurts none of them."""
    text = describe(incident, now)
    notes: list[IncidentNote] = []
    if incident.api_error_rate > 0:
        notes += [
            IncidentNote(incident, text, s.id) for s, _ in _genesys(slos, ["api_availability"])
        ]
    if incident.ivr_failure is not None:
        for slo, _ in _genesys(slos, ["ivr_completion"]):
            one = len(incident.flows) == 1 and "flow" in slo.segments.keys
            notes.append(
                IncidentNote(incident, text, slo.id, {"flow": incident.flows[0]} if one else {})
            )
    if _queue_effect(incident):
        hit = [
            queue
            for queue in scenario.queues
            if (not incident.queues or queue.name in incident.queues)
            and (not incident.tiers or queue.tier in incident.tiers)
            and (not incident.media_types or queue.media_type in incident.media_types)
        ]
        for slo, indicator in _genesys(slos, QUEUE_METRICS):
            names = [queue.name for queue in hit if queue.media_type in indicator.media]
            if not names:
                continue
            one = len(names) == 1 and "queue" in slo.segments.keys
            segment = {"queue": names[0]} if one else {}
            notes.append(IncidentNote(incident, text, slo.id, segment))
    return notes or [IncidentNote(incident, text)]
