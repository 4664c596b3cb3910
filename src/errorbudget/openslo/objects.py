"""Reading OpenSLO objects from files, remembering where each field is and whether it was read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from errorbudget.errors import Problem
from errorbudget.yamlsource import NodeIndex, YamlPath, compose_all_yaml

API_VERSION = "openslo/v1"
SETTINGS_ANNOTATION = "errorbudget.io/settings"
"""JSON of the SLO settings OpenSLO cannot express (segments, policy, alerting, …)."""
OWNER_ANNOTATION = "errorbudget.io/owner"
INGEST_SOURCE = "ErrorBudgetIngest"
"""The ``metricSource.type`` of counts pushed with ``errorbudget ingest``."""
GENESYS_SOURCE = "GenesysCloud"
"""The ``metricSource.type`` of a Genesys indicator; its ``spec`` holds the indicator's
fields (``metric``, ``queues``, …) and ``counts`` (``good`` or ``total``)."""
GENESYS_SOURCE_TYPES = frozenset({"genesyscloud", "genesys"})
"""Accepted on import, case-insensitive."""
NOTIFICATION_TARGET = "errorbudget"
"""The AlertNotificationTarget that exports before #7 referenced (accepted on import,
no longer exported: errorbudget's ``notifications:`` receivers are not OpenSLO targets)."""
SHORT_THRESHOLD_ANNOTATION = "errorbudget.io/short-window-threshold"
LONG_THRESHOLD_ANNOTATION = "errorbudget.io/long-window-threshold"
"""On an AlertCondition adapted by the low-target rule: its short and long windows' factors
(``threshold`` is the short one's). Read on import; errorbudget recomputes both from the
catalog and target, so they document the condition rather than configure it."""
SETTINGS_KEYS = frozenset(
    {"owner", "runbook_url", "segments", "policy", "alerting", "forecast", "timeslice", "schedule"}
)
DEFINITION_KEYS = frozenset({"burn_catalog", "policy_preset"})
"""Also in the settings annotation: the definition of a burn catalog or policy preset the
SLO names that is not built in (or is redefined), so an import elsewhere can recreate it."""


@dataclass(eq=False)
class OpenSLOObject:
    """One OpenSLO object (a document, or an item of a list document) and what was read."""

    source: str
    index: NodeIndex
    base: YamlPath
    data: dict[str, Any]
    consumed: set[YamlPath] = field(default_factory=set)
    touched: set[YamlPath] = field(default_factory=set)
    used: bool = False

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        metadata = self.data.get("metadata")
        return str(metadata.get("name", "")) if isinstance(metadata, dict) else ""

    def peek(self, *path: str | int) -> Any:
        """The value at ``path``, or None; not marked as read."""
        value: Any = self.data
        for element in path:
            if not isinstance(value, dict | list):
                return None
            try:
                value = value[element]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    def get(self, *path: str | int, take: bool = False) -> Any:
        """The value at ``path`` (None if absent), marked as read.

        A mapping or list is only "opened" (its unread children are still reported) unless
        ``take`` marks the whole subtree as read.
        """
        value = self.peek(*path)
        if value is None:
            return None
        self.touched.update(path[:size] for size in range(len(path) + 1))
        if take or not isinstance(value, dict | list):
            self.consumed.add(path)
        return value

    def problem(self, path: Sequence[str | int], message: str, error: bool = False) -> Problem:
        line, column = self.index.position((*self.base, *path))
        severity = "error" if error else "warning"
        return Problem(self.source, line, column, f"{self.kind} {self.name!r}: {message}", severity)

    def unread(self) -> list[Problem]:
        """A warning for each field that was not read (once per unread subtree)."""
        problems: list[Problem] = []

        def walk(path: YamlPath, value: Any) -> None:
            if path in self.consumed or value is None or value == {} or value == []:
                return  # read, or nothing to lose
            if path not in self.touched:
                shown = ".".join(str(p) for p in path)
                problems.append(self.problem(path, f"{shown} is not mapped (ignored)"))
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk((*path, key), item)
            elif isinstance(value, list):
                for position, item in enumerate(value):
                    walk((*path, position), item)

        walk((), self.data)
        return problems


@dataclass
class Context:
    """The objects of one import, by (kind, name), and the problems found so far."""

    objects: list[OpenSLOObject]
    problems: list[Problem]
    by_kind: dict[tuple[str, str], OpenSLOObject] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for obj in self.objects:
            self.by_kind.setdefault((obj.kind, obj.name), obj)

    def warn(self, obj: OpenSLOObject, path: Sequence[str | int], message: str) -> None:
        self.problems.append(obj.problem(path, message))

    def error(self, obj: OpenSLOObject, path: Sequence[str | int], message: str) -> None:
        self.problems.append(obj.problem(path, message, error=True))

    def resolve(
        self, obj: OpenSLOObject, path: YamlPath, kind: str, ref_key: str
    ) -> tuple[OpenSLOObject, YamlPath] | None:
        """The object at ``path``: inline (``obj`` and its spec path) or by reference."""
        entry = obj.peek(*path)
        if isinstance(entry, dict) and entry.get("kind") == kind:
            obj.get(*path, "kind")
            obj.get(*path, "metadata", take=True)
            return obj, (*path, "spec")
        name = obj.get(*path) if isinstance(entry, str) else obj.get(*path, ref_key)
        target = self.by_kind.get((kind, str(name)))
        if target is None:
            self.error(obj, path, f"{ref_key} {name!r} names no {kind}")
            return None
        target.used = True
        target.get("metadata", "displayName")
        return target, ("spec",)


def read_objects(paths: Iterable[str | Path]) -> tuple[list[OpenSLOObject], list[Problem]]:
    """Every ``openslo/v1`` object in the files (directories: their ``*.yaml``/``*.yml``)."""
    objects: list[OpenSLOObject] = []
    problems: list[Problem] = []
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), 0, 0, f"cannot read: {exc}"))
            continue
        for document in compose_all_yaml(text, str(file)):
            problems += document.problems
            listed = isinstance(document.data, list)
            for position, item in enumerate(document.data if listed else [document.data]):
                base: YamlPath = (position,) if listed else ()
                where = document.index.position(base)
                if item is None:
                    continue
                if not isinstance(item, dict):
                    problems.append(Problem(str(file), *where, "not an OpenSLO object"))
                    continue
                version = item.get("apiVersion")
                if version != API_VERSION:
                    message = f"apiVersion {version!r} is not supported (only {API_VERSION})"
                    problems.append(Problem(str(file), *where, message))
                    continue
                objects.append(OpenSLOObject(str(file), document.index, base, item))
    return objects, problems


# --- OpenSLO durations ---------------------------------------------------------------------

_SHORTHAND = re.compile(r"(\d+)([mhdwMQY])")


def parse_shorthand(value: Any) -> tuple[int, str] | None:
    """``"1M"`` → ``(1, "M")``; None when ``value`` is not an OpenSLO duration shorthand."""
    match = _SHORTHAND.fullmatch(str(value)) if value is not None else None
    return (int(match.group(1)), match.group(2)) if match else None


def shorthand_delta(value: Any) -> timedelta | None:
    """A fixed-length shorthand (m, h, d, w) as a timedelta; None otherwise."""
    parsed = parse_shorthand(value)
    if parsed is None or parsed[1] not in "mhdw":
        return None
    minutes = {"m": 1, "h": 60, "d": 1440, "w": 10080}[parsed[1]]
    return timedelta(minutes=parsed[0] * minutes)


def format_shorthand(value: timedelta) -> str:
    """OpenSLO durations have one unit: ``90m`` rather than ``1h30m``."""
    minutes = int(value.total_seconds() // 60)
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def calendar_unit(count: int, unit: str) -> tuple[str | None, bool]:
    """The errorbudget calendar unit for a calendar-aligned duration, and if it is exact."""
    days = {"d": 1, "w": 7}.get(unit, 0) * count
    if (count, unit) == (1, "w") or days == 7:
        return "week", True
    if (count, unit) == (1, "M"):
        return "month", True
    if days in (30, 31):
        return "month", False
    if (count, unit) in ((1, "Q"), (3, "M")):
        return "quarter", True
    if 90 <= days <= 92:
        return "quarter", False
    return None, False


def period_start_aligned(start: Any, unit: str) -> bool:
    """Whether a calendar ``startTime`` falls where errorbudget periods start."""
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.strip())
        except ValueError:
            return False
    if isinstance(start, datetime):
        if start.time() != datetime.min.time():
            return False
        start = start.date()
    if not isinstance(start, date):
        return False
    if unit == "week":
        return start.weekday() == 0
    return start.day == 1 and (unit == "month" or start.month in (1, 4, 7, 10))
