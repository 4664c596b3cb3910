"""``GET /api/v2/summary.json``: the Genesys Cloud status page (Atlassian Statuspage shape:
``page``, ``status {indicator, description}``, ``components``, ``incidents``,
``scheduled_maintenances``), reflecting the scenario's incidents active at the simulated
now and any fault-injected outage.

Component status by incident impact: minor → ``degraded_performance``, major →
``partial_outage``, critical → ``major_outage``; the page indicator is the highest impact
(``none``, ``minor``, ``major``, ``critical``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from errorbudget.simulate.scenario import Incident, Scenario

PAGE_ID = "5pctgcfmsr2z"
COMPONENTS = (
    "Platform API",
    "Login",
    "Analytics",
    "Architect",
    "Routing",
    "Voice",
    "Digital Messaging",
    "Web Messaging",
)
COMPONENT_STATUS = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
}
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
CREATED = "2019-01-01T00:00:00.000Z"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _component_id(name: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"status:{name}").hex[:12]


def summary(scenario: Scenario, now: datetime, outage: bool) -> dict[str, Any]:
    active: list[Incident] = [i for i in scenario.incidents if i.active(now)]
    impacts = {name: "none" for name in COMPONENTS}
    for incident in active:
        impacts.setdefault(incident.component, "none")
        if _RANK[incident.impact] > _RANK[impacts[incident.component]]:
            impacts[incident.component] = incident.impact
    if outage:
        for name in ("Platform API", "Login", "Analytics"):
            impacts[name] = "critical"
    indicator = max(impacts.values(), key=_RANK.__getitem__)
    components = [
        {
            "id": _component_id(name),
            "name": name,
            "status": COMPONENT_STATUS[impact],
            "created_at": CREATED,
            "updated_at": _ts(now),
            "position": position,
            "description": None,
            "showcase": False,
            "start_date": None,
            "group_id": None,
            "page_id": PAGE_ID,
            "group": False,
            "only_show_if_degraded": False,
        }
        for position, (name, impact) in enumerate(impacts.items(), start=1)
    ]
    incidents = [_incident(i, now) for i in active]
    if outage:
        incidents.append(
            _incident(
                Incident(
                    name="Genesys Cloud API unavailable",
                    start=now,
                    end=now.replace(year=now.year + 1),
                    component="Platform API",
                    impact="critical",
                ),
                now,
            )
        )
    return {
        "page": {
            "id": PAGE_ID,
            "name": "Genesys Cloud (simulated)",
            "url": "http://127.0.0.1/status",
            "time_zone": "Etc/UTC",
            "updated_at": _ts(now),
        },
        "status": {"indicator": indicator, "description": DESCRIPTIONS[indicator]},
        "components": components,
        "incidents": incidents,
        "scheduled_maintenances": [],
    }


def _incident(incident: Incident, now: datetime) -> dict[str, Any]:
    incident_id = uuid.uuid5(uuid.NAMESPACE_URL, f"incident:{incident.name}").hex[:12]
    started = _ts(incident.start)
    return {
        "id": incident_id,
        "name": incident.name,
        "status": "identified",
        "created_at": started,
        "updated_at": _ts(now),
        "monitoring_at": None,
        "resolved_at": None,
        "impact": incident.impact,
        "shortlink": f"http://127.0.0.1/incidents/{incident_id}",
        "started_at": started,
        "page_id": PAGE_ID,
        "incident_updates": [
            {
                "id": incident_id + "u1",
                "status": "identified",
                "body": f"We are investigating: {incident.name}.",
                "incident_id": incident_id,
                "created_at": started,
                "updated_at": started,
                "display_at": started,
                "affected_components": None,
            }
        ],
        "components": [
            {
                "id": _component_id(incident.component),
                "name": incident.component,
                "status": COMPONENT_STATUS[incident.impact],
            }
        ],
    }
