"""Config checks that span objects for schedules, holiday calendars and maintenance windows.

Run on the raw YAML data (like the other semantic checks of :mod:`errorbudget.config`), so
they report at the exact key even where model validation failed: duplicate names, an SLO's
``schedule`` or a schedule's ``holiday_calendars`` naming nothing defined (with a
suggestion), a maintenance window scoped to unknown SLOs or services, or to a segment key
none of its SLOs segment by. A schedule no SLO uses is a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from errorbudget.errors import Problem
from errorbudget.yamlsource import NodeIndex, YamlPath, did_you_mean


def _items(raw: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _strings(raw: Any, key: str) -> list[tuple[int, str]]:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, str)]


def schedule_problems(raw: Any, index: NodeIndex, source: str) -> list[Problem]:
    problems: list[Problem] = []

    def problem(path: YamlPath, message: str, key: bool = False, severity: str = "error") -> None:
        problems.append(Problem(source, *index.position(path, key=key), message, severity))

    def unique(section: str, what: str) -> list[str]:
        first: dict[str, int] = {}
        for i, item in _items(raw, section):
            name = item.get("name")
            if not isinstance(name, str):
                continue
            if name in first:
                line = index.position((section, first[name], "name"))[0]
                problem((section, i, "name"), f"duplicate {what} {name!r} (first on line {line})")
            else:
                first[name] = i
        return list(first)

    calendars = unique("holiday_calendars", "holiday calendar name")
    schedules = unique("schedules", "schedule name")
    unique("maintenance", "maintenance window name")

    def check_calendars(schedule: dict[str, Any], path: YamlPath) -> None:
        for j, name in _strings(schedule, "holiday_calendars"):
            if name not in calendars:
                known = ", ".join(calendars) or "none is defined"
                problem(
                    (*path, "holiday_calendars", j),
                    f"unknown holiday calendar {name!r} (holiday_calendars: {known})"
                    f"{did_you_mean(name, calendars)}",
                )

    for i, schedule in _items(raw, "schedules"):
        check_calendars(schedule, ("schedules", i))

    used: set[str] = set()
    slos = _items(raw, "slos")
    for i, slo in slos:
        reference = slo.get("schedule")
        if isinstance(reference, dict):
            check_calendars(reference, ("slos", i, "schedule"))
        elif isinstance(reference, str):
            used.add(reference)
            if reference not in schedules:
                known = ", ".join(schedules) or "none is defined"
                problem(
                    ("slos", i, "schedule"),
                    f"slo {slo.get('id')!r}: unknown schedule {reference!r} (schedules: "
                    f"{known}){did_you_mean(reference, schedules)}",
                )
    for i, schedule in _items(raw, "schedules"):
        name = schedule.get("name")
        if isinstance(name, str) and name not in used:
            problem(
                ("schedules", i, "name"),
                f"schedule {name!r} is not used by any SLO (slos[].schedule)",
                severity="warning",
            )

    slo_ids = [s["id"] for _, s in slos if isinstance(s.get("id"), str)]
    declared = [s["id"] for _, s in _items(raw, "services") if isinstance(s.get("id"), str)]
    used_services = {s["service"] for _, s in slos if isinstance(s.get("service"), str)}
    services = declared or sorted(used_services)
    for i, window in _items(raw, "maintenance"):
        label = f"maintenance {window.get('name')!r}"
        for j, slo_id in _strings(window, "slos"):
            if slo_id not in slo_ids:
                problem(
                    ("maintenance", i, "slos", j),
                    f"{label}: unknown SLO {slo_id!r}{did_you_mean(slo_id, slo_ids)}",
                )
        for j, service in _strings(window, "services"):
            if service not in services:
                problem(
                    ("maintenance", i, "services", j),
                    f"{label}: unknown service {service!r}{did_you_mean(service, services)}",
                )
        _check_segment(raw, window, i, label, problem)
    return problems


def _check_segment(
    raw: Any, window: dict[str, Any], i: int, label: str, problem: Callable[..., None]
) -> None:
    """A maintenance window's segment keys must be keys its SLOs segment by (like an
    exclusion's); a scope that holds no SLO at all is an error too."""
    wanted_slos = [s for _, s in _strings(window, "slos")]
    wanted_services = [s for _, s in _strings(window, "services")]
    keys: set[str] = set()
    scoped = 0
    for _, slo in _items(raw, "slos"):
        if wanted_slos and slo.get("id") not in wanted_slos:
            continue
        if wanted_services and slo.get("service") not in wanted_services:
            continue
        scoped += 1
        segments = slo.get("segments")
        found = segments.get("keys") if isinstance(segments, dict) else None
        if isinstance(found, list):
            keys.update(str(k) for k in found)
    if not scoped:
        known = {slo.get("id") for _, slo in _items(raw, "slos")}
        known_services = {slo.get("service") for _, slo in _items(raw, "slos")}
        if set(wanted_slos) <= known and set(wanted_services) <= known_services and known:
            problem(("maintenance", i), f"{label}: no SLO is in its scope (slos and services)")
        return  # else an unknown name is the problem, already reported
    segment = window.get("segment")
    if not isinstance(segment, dict):
        return
    for key in segment:
        if str(key) not in keys:
            problem(
                ("maintenance", i, "segment", key),
                f"{label}: segment key {key!r} is not one its SLOs segment by "
                f"({', '.join(sorted(keys)) or 'none'}){did_you_mean(str(key), sorted(keys))}",
                key=True,
            )
