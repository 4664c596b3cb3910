"""OpenSLO v1 objects → errorbudget services and SLOs (the mapping: :mod:`errorbudget.openslo`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.config import Config, Service, dump_config
from errorbudget.durations import format_duration
from errorbudget.errors import Problem
from errorbudget.model import SLO, BurnCatalog, PolicyPreset
from errorbudget.openslo.alerts import (
    WantedCondition,
    alert_conditions,
    catalog_from,
    conditions_at,
    exact_catalog,
    nearest_catalog,
    same_conditions,
)
from errorbudget.openslo.objects import (
    DEFINITION_KEYS,
    GENESYS_SOURCE_TYPES,
    INGEST_SOURCE,
    NOTIFICATION_TARGET,
    OWNER_ANNOTATION,
    SETTINGS_ANNOTATION,
    SETTINGS_KEYS,
    Context,
    OpenSLOObject,
    calendar_unit,
    parse_shorthand,
    period_start_aligned,
    read_objects,
)
from errorbudget.yamlsource import YamlPath

_MAPPED_KINDS = {"Service", "SLO", "SLI", "AlertPolicy", "AlertCondition"}
_UNMAPPED_KINDS = {
    "DataSource": "connections are configured as errorbudget sources",
    "AlertNotificationTarget": "errorbudget's receivers are configured in its "
    "notifications: section (docs/alerting.md)",
    "BudgetAdjustment": "record errorbudget exclusions instead",
}
_PERIOD_STARTS = {"week": "on Monday", "month": "on the 1st", "quarter": "on Jan/Apr/Jul/Oct 1"}


@dataclass
class ImportResult:
    """What an OpenSLO import produced: services, SLOs, the burn catalogs and policy presets
    they need that were not known (defined in the documents, or made from their alert
    conditions), and every problem found."""

    services: list[Service] = field(default_factory=list)
    slos: list[SLO] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    burn_catalogs: list[BurnCatalog] = field(default_factory=list)
    policies: list[PolicyPreset] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def config(self) -> Config:
        return Config(
            services=self.services,
            policies=self.policies,
            burn_catalogs=self.burn_catalogs,
            slos=self.slos,
        )

    @property
    def config_yaml_fragment(self) -> dict[str, Any]:
        """The ``services`` and ``slos`` sections as they are written in errorbudget.yaml."""
        fragment = yaml.safe_load(self.to_yaml())
        return fragment if isinstance(fragment, dict) else {}

    def to_yaml(self) -> str:
        return dump_config(self.config)


def import_documents(
    paths: Iterable[str | Path],
    catalogs: Mapping[str, BurnCatalog] | None = None,
    policies: Mapping[str, PolicyPreset] | None = None,
) -> ImportResult:
    """Map OpenSLO v1 files (or directories of them) to errorbudget services and SLOs.

    ``catalogs`` are the burn catalogs alert conditions may map to, ``policies`` the presets
    an exported SLO may name (default: the built-ins; pass a config's to import into it).
    """
    objects, problems = read_objects(paths)
    context = Context(objects, problems)
    result = ImportResult(problems=problems)
    importer = _Importer(context, catalogs or builtin_burn_catalogs(), policies or {})
    sources: dict[str, OpenSLOObject] = {}  # SLO id → the object it came from
    for obj in objects:
        obj.get("apiVersion")
        obj.get("kind")
        if not obj.name:
            context.error(obj, ("metadata",), "metadata.name is missing")
            continue
        obj.get("metadata", "name")
        if obj.kind == "Service":
            obj.used = True
            service = importer.service(obj)
            if any(s.id == service.id for s in result.services):
                message = f"Service {service.id!r} is defined again; the first one is kept"
                context.warn(obj, ("metadata", "name"), message)
            else:
                result.services.append(service)
        elif obj.kind == "SLO":
            obj.used = True
            for slo in importer.slos(obj):
                if slo.id in sources:
                    context.error(obj, ("metadata", "name"), f"duplicate SLO id {slo.id!r}")
                else:
                    sources[slo.id] = obj
                    result.slos.append(slo)
    used_catalogs = {slo.alerting.catalog for slo in result.slos}
    used_presets = {slo.policy for slo in result.slos}
    result.burn_catalogs = [c for c in importer.new_catalogs.values() if c.name in used_catalogs]
    result.policies = [p for p in importer.new_presets.values() if p.name in used_presets]
    declared = {service.id for service in result.services}
    for slo in result.slos:
        if declared and slo.service not in declared:
            declared.add(slo.service)
            result.services.append(Service(id=slo.service))
            message = f"service {slo.service!r} has no Service object; added to services"
            context.warn(sources[slo.id], ("spec", "service"), message)
    for obj in objects:
        if obj.used:
            problems += obj.unread()
        elif obj.kind in _MAPPED_KINDS:
            context.warn(obj, (), "not used by any SLO; not imported")
        elif not (obj.kind == "AlertNotificationTarget" and obj.name == NOTIFICATION_TARGET):
            reason = _UNMAPPED_KINDS.get(obj.kind, "not an OpenSLO v1 kind errorbudget maps")
            context.warn(obj, ("kind",), f"not imported: {reason}")
    problems.sort(key=lambda p: (p.file, p.line, p.column))
    return result


class _Importer:
    def __init__(
        self,
        context: Context,
        catalogs: Mapping[str, BurnCatalog],
        policies: Mapping[str, PolicyPreset],
    ) -> None:
        self.context = context
        self.catalogs = dict(catalogs)
        self.policies = {**builtin_policies(), **policies}
        self.new_catalogs: dict[str, BurnCatalog] = {}
        """Catalogs this import adds (defined in the documents, or made from conditions)."""
        self.new_presets: dict[str, PolicyPreset] = {}

    def service(self, obj: OpenSLOObject) -> Service:
        description = _first(obj.get("spec", "description"), obj.get("metadata", "displayName"))
        obj.get("metadata", "annotations")
        owner = obj.get("metadata", "annotations", OWNER_ANNOTATION) or ""
        try:
            return Service(id=obj.name, description=str(description or ""), owner=str(owner))
        except ValidationError as exc:
            message = f"not usable as a service id: {exc.errors()[0]['msg']}"
            self.context.error(obj, ("metadata", "name"), message)
            return Service(id=re.sub(r"[^a-z0-9_.-]+", "-", obj.name.lower()).strip("-") or "x")

    def slos(self, obj: OpenSLOObject) -> list[SLO]:
        """One SLO per objective (usually one)."""
        warn, error = self.context.warn, self.context.error
        errors_before = self._errors()
        failed: set[str] = set()  # fields whose problem is already reported
        raw: dict[str, Any] = {"id": obj.name, "service": obj.get("spec", "service")}
        origin: dict[str, YamlPath] = {"id": ("metadata", "name"), "service": ("spec", "service")}
        description = _first(obj.get("spec", "description"), obj.get("metadata", "displayName"))
        if description:
            raw["description"] = str(description)
        labels = self._labels(obj)
        if labels:
            raw["labels"] = labels
        settings = self._settings(obj)
        definitions = {key: settings.pop(key) for key in DEFINITION_KEYS & set(settings)}
        raw["indicator"], origin["indicator"] = self._indicator(obj)
        raw["window"], origin["window"] = self._window(obj)
        failed.update(key for key in ("indicator", "window") if raw[key] is None)
        budgeting = obj.get("spec", "budgetingMethod")
        if budgeting == "RatioTimeslices":
            warn(obj, ("spec", "budgetingMethod"), "RatioTimeslices imported as Timeslices")
        elif budgeting is None:
            warn(obj, ("spec",), "budgetingMethod is missing; Occurrences assumed")
        elif budgeting not in ("Occurrences", "Timeslices"):
            message = f"budgetingMethod {budgeting!r} is not Occurrences or Timeslices"
            error(obj, ("spec", "budgetingMethod"), message)
            failed.add("budgeting")
        timeslices = budgeting in ("Timeslices", "RatioTimeslices")
        raw["budgeting"] = "timeslices" if timeslices else "occurrences"
        objectives = obj.get("spec", "objectives")
        if not isinstance(objectives, list) or not objectives:
            error(obj, ("spec",), "needs at least one objective")
            return []
        if len(objectives) > 1:
            message = f"{len(objectives)} objectives: imported as one SLO per objective"
            warn(obj, ("spec", "objectives"), message)
        wanted = alert_conditions(self.context, obj)
        slos = []
        for position in range(len(objectives)):
            path: YamlPath = ("spec", "objectives", position)
            item, item_origin = dict(raw), dict(origin)
            name = obj.get(*path, "displayName")
            if len(objectives) > 1:
                suffix = _slug(str(name)) if name else str(position + 1)
                item["id"] = f"{obj.name}-{suffix}"
            item["target"], item_origin["target"] = self._target(obj, path), path
            if timeslices:
                item["timeslice"], item_origin["timeslice"] = self._timeslice(obj, path), path
            for key, value in settings.items():
                item[key] = _merge(item.get(key), value)
                item_origin[key] = ("metadata", "annotations", SETTINGS_ANNOTATION)
            annotation: YamlPath = ("metadata", "annotations", SETTINGS_ANNOTATION)
            policy = settings.get("policy")
            if policy is not None and not self._known_preset(policy, definitions):
                message = f"policy preset {policy!r} is not known here; the default is used"
                warn(obj, annotation, message)
                del item["policy"]
            named = settings.get("alerting", {}).get("catalog")
            if named is not None and not self._known_catalog(named, definitions):
                message = f"burn catalog {named!r} is not known here; the nearest one is used"
                warn(obj, annotation, message)
                del item["alerting"]["catalog"]
                named = None
            if wanted:
                catalog = self._catalog(obj, item, wanted, named)
                if catalog is not None:
                    item["alerting"] = {**item.get("alerting", {}), "catalog": catalog}
            slo = self._validate(obj, item, item_origin, failed)
            if slo is not None:
                slos.append(slo)
        return slos if self._errors() == errors_before else []

    def _errors(self) -> int:
        return sum(1 for problem in self.context.problems if problem.severity == "error")

    def _validate(
        self,
        obj: OpenSLOObject,
        raw: dict[str, Any],
        origin: dict[str, YamlPath],
        failed: set[str],
    ) -> SLO | None:
        try:
            return SLO.model_validate(raw)
        except ValidationError as exc:
            for problem in exc.errors(include_url=False):
                loc = [str(e) for e in problem["loc"]]
                if loc and loc[0] in failed:
                    continue
                path = origin.get(loc[0], ()) if loc else ()
                message = problem["msg"].removeprefix("Value error, ")
                if not isinstance(problem["input"], dict | list):
                    message += f" (got {problem['input']!r})"
                self.context.error(obj, path, f"{'.'.join(loc) or 'SLO'}: {message}")
            return None

    def _labels(self, obj: OpenSLOObject) -> dict[str, str]:
        labels = obj.get("metadata", "labels", take=True)
        result = {}
        for key, value in labels.items() if isinstance(labels, dict) else ():
            values = value if isinstance(value, list) else [value]
            if len(values) > 1:
                message = f"label {key} has {len(values)} values; joined with ','"
                self.context.warn(obj, ("metadata", "labels", key), message)
            result[str(key)] = ",".join(str(v) for v in values)
        return result

    def _settings(self, obj: OpenSLOObject) -> dict[str, Any]:
        path: YamlPath = ("metadata", "annotations", SETTINGS_ANNOTATION)
        obj.get("metadata", "annotations")  # opened: other annotations are reported one by one
        text = obj.get(*path)
        if text is None:
            return {}
        try:
            settings = json.loads(str(text))
        except json.JSONDecodeError as exc:
            self.context.error(obj, path, f"not JSON: {exc.msg}")
            return {}
        if not isinstance(settings, dict):
            self.context.error(obj, path, "must be a JSON object")
            return {}
        for key in sorted(set(settings) - SETTINGS_KEYS - DEFINITION_KEYS):
            self.context.warn(obj, path, f"setting {key!r} is not mapped (ignored)")
            del settings[key]
        return settings

    def _known_preset(self, name: str, definitions: dict[str, Any]) -> bool:
        """Whether preset ``name`` is known here, or defined in the settings (then added)."""
        if name in self.policies:
            return True
        try:
            preset = PolicyPreset.model_validate(definitions.get("policy_preset"))
        except ValidationError:
            return False
        if preset.name != name:
            return False
        self.policies[name] = self.new_presets[name] = preset
        return True

    def _known_catalog(self, name: str, definitions: dict[str, Any]) -> bool:
        """Whether catalog ``name`` is known here, or defined in the settings (then added)."""
        if name in self.catalogs:
            return True
        try:
            catalog = BurnCatalog.model_validate(definitions.get("burn_catalog"))
        except ValidationError:
            return False
        if catalog.name != name:
            return False
        self.catalogs[name] = self.new_catalogs[name] = catalog
        return True

    def _target(self, obj: OpenSLOObject, path: YamlPath) -> Any:
        target = obj.get(*path, "target")
        percent = obj.get(*path, "targetPercent")
        if target is None and isinstance(percent, int | float):
            return percent / 100
        if target is not None and percent is not None:
            message = "both target and targetPercent given; target used"
            self.context.warn(obj, (*path, "targetPercent"), message)
        return target

    def _timeslice(self, obj: OpenSLOObject, path: YamlPath) -> dict[str, Any]:
        timeslice: dict[str, Any] = {}
        target = obj.get(*path, "timeSliceTarget")
        length = obj.get(*path, "timeSliceWindow")
        if target is not None:
            timeslice["target"] = target
        if length is not None:  # a bare number is minutes (OpenSLO v1)
            timeslice["length"] = f"{length}m" if isinstance(length, int) else str(length)
        if target is None or length is None:
            message = "timeslices need timeSliceTarget and timeSliceWindow; defaults used"
            self.context.warn(obj, path, message)
        return timeslice

    # --- indicator ---------------------------------------------------------------------------

    def _indicator(self, obj: OpenSLOObject) -> tuple[dict[str, Any] | None, YamlPath]:
        inline = obj.get("spec", "indicator")
        ref = obj.get("spec", "indicatorRef")
        if isinstance(inline, dict):
            if ref is not None:
                message = "both indicator and indicatorRef given; the inline indicator is used"
                self.context.warn(obj, ("spec", "indicatorRef"), message)
            obj.get("spec", "indicator", "metadata", take=True)
            return self._sli(obj, ("spec", "indicator", "spec")), ("spec", "indicator")
        sli = self.context.by_kind.get(("SLI", str(ref))) if ref is not None else None
        if sli is None:
            if ref is None:
                self.context.error(obj, ("spec",), "needs an indicator or an indicatorRef")
            else:
                self.context.error(obj, ("spec", "indicatorRef"), f"no SLI named {ref!r}")
            return None, ("spec",)
        sli.used = True
        sli.get("metadata", "displayName")
        return self._sli(sli, ("spec",)), ("spec", "indicatorRef")

    def _sli(self, obj: OpenSLOObject, spec: YamlPath) -> dict[str, Any]:
        obj.get(*spec, "description")
        ratio: YamlPath = (*spec, "ratioMetric")
        genesys = self._genesys(obj, ratio)
        if genesys is not None:
            return genesys
        parts: dict[str, tuple[str, str]] = {}
        for part in ("good", "bad", "total", "raw"):
            if obj.get(*ratio, part) is not None:
                parts[part] = self._metric(obj, (*ratio, part, "metricSource"))
        if obj.get(*spec, "thresholdMetric") is not None:
            parts["threshold"] = self._metric(obj, (*spec, "thresholdMetric", "metricSource"))
        counter = obj.get(*ratio, "counter")
        types = {source_type for source_type, _ in parts.values()}
        if types == {"Prometheus"} and "total" in parts and not {"raw", "threshold"} & set(parts):
            indicator: dict[str, Any] = {"source": "prometheus"}
            for part in ("good", "bad", "total"):
                if part in parts:
                    path = (*ratio, part, "metricSource", "spec", "query")
                    indicator[f"{part}_query"] = self._windowed(obj, path, parts[part][1], counter)
            return indicator
        if types == {INGEST_SOURCE} and set(parts) == {"good", "total"}:
            return {"source": "ingest", "good": parts["good"][1], "total": parts["total"][1]}
        text = {
            part: f"{kind}: {query}" if kind else query for part, (kind, query) in parts.items()
        }
        if "raw" in parts or "threshold" in parts:
            what = "a precomputed ratio (raw)" if "raw" in parts else "a thresholdMetric"
            good, total = text.get("raw") or text.get("threshold", ""), "valid events"
        else:
            what = " and ".join(sorted(t or "untyped" for t in types)) + " queries"
            good = text.get("good") or f"total minus bad events ({text.get('bad')})"
            total = text.get("total", "valid events")
        message = (
            f"{what} cannot be run by errorbudget: imported as an ingest indicator (push counts "
            "with errorbudget ingest) with the queries kept in its good/total descriptions"
        )
        self.context.warn(obj, spec, message)
        return {"source": "ingest", "good": good, "total": total}

    def _genesys(self, obj: OpenSLOObject, ratio: YamlPath) -> dict[str, Any] | None:
        """A Genesys indicator: good and total ``metricSource`` of type ``GenesysCloud`` whose
        specs are the indicator's fields (the same in both, but ``counts``)."""
        parts = {}
        for part in ("good", "total"):
            source_type = obj.peek(*ratio, part, "metricSource", "type")
            if not isinstance(source_type, str) or (
                source_type.casefold() not in GENESYS_SOURCE_TYPES
            ):
                return None
            parts[part] = obj.peek(*ratio, part, "metricSource", "spec")
        if set(obj.peek(*ratio) or {}) - {"good", "total", "counter"}:
            return None  # a bad or raw part besides: not errorbudget's own shape
        fields = [
            {k: v for k, v in spec.items() if k != "counts"} if isinstance(spec, dict) else None
            for spec in parts.values()
        ]
        if fields[0] is None or fields[0] != fields[1]:
            message = "a GenesysCloud indicator needs the same spec for good and total"
            self.context.error(obj, ratio, message)
            return {"source": "genesys"}
        obj.get(*ratio, "counter")
        for part in parts:
            obj.get(*ratio, part, "metricSource", "type")
            obj.get(*ratio, part, "metricSource", "spec", take=True)
        return {"source": "genesys", **fields[0]}

    def _metric(self, obj: OpenSLOObject, path: YamlPath) -> tuple[str, str]:
        """(source type, query or description) of a ``metricSource``."""
        source_type = obj.get(*path, "type")
        ref = obj.get(*path, "metricSourceRef")
        data_source = self.context.by_kind.get(("DataSource", str(ref)))
        if source_type is None and data_source is not None:
            source_type = data_source.peek("spec", "type")
        if source_type in ("Prometheus", INGEST_SOURCE):
            key = "query" if source_type == "Prometheus" else "events"
            return str(source_type), str(obj.get(*path, "spec", key) or "")
        spec = obj.get(*path, "spec", take=True)
        if isinstance(spec, dict) and set(spec) == {"query"}:
            return str(source_type or ""), str(spec["query"])
        return str(source_type or ""), json.dumps(spec, default=str)

    def _windowed(self, obj: OpenSLOObject, path: YamlPath, query: str, counter: Any) -> str:
        """A query over ``{{.window}}``: as it is, or rewritten (and reported)."""
        if "{{.window}}" in query:
            return query
        function = "increase" if counter is not False else "sum_over_time"
        simple = re.fullmatch(
            r"\s*(sum(?:\s+by\s*\([^)]*\))?\s*\()?\s*([a-zA-Z_:][\w:]*(?:\{[^{}]*\})?)\s*\)?\s*",
            query,
        )
        if simple and bool(simple.group(1)) == query.rstrip().endswith(")"):
            outer = (simple.group(1) or "sum(").rstrip()
            rewritten = f"{outer}{function}({simple.group(2)}[{{{{.window}}}}]))"
        else:
            rewritten = f"sum({function}(({query.strip()})[{{{{.window}}}}:]))"
        message = f"the query has no {{{{.window}}}} range: rewritten as {rewritten}; check it"
        self.context.warn(obj, path, message)
        return rewritten

    # --- window ------------------------------------------------------------------------------

    def _window(self, obj: OpenSLOObject) -> tuple[dict[str, Any] | None, YamlPath]:
        warn = self.context.warn
        windows = obj.get("spec", "timeWindow")
        if not isinstance(windows, list) or not windows:
            warn(obj, ("spec",), "no timeWindow: a rolling 30d window assumed")
            return {"type": "rolling", "length": "30d"}, ("spec",)
        if len(windows) > 1:
            warn(obj, ("spec", "timeWindow", 1), "only the first time window is imported")
        path: YamlPath = ("spec", "timeWindow", 0)
        duration = obj.get(*path, "duration")
        calendar = obj.get(*path, "calendar")
        rolling = obj.get(*path, "isRolling")
        parsed = parse_shorthand(duration)
        if parsed is None:
            message = f"duration {duration!r} is not a duration shorthand (e.g. 28d, 1M)"
            self.context.error(obj, (*path, "duration"), message)
            return None, path
        if rolling is True or (rolling is None and calendar is None):
            return {"type": "rolling", "length": self._length(obj, path, *parsed)}, path
        unit, exact = calendar_unit(*parsed)
        if unit is None:
            obj.get(*path, "calendar", take=True)  # dropped, and said so
            length = self._length(obj, path, *parsed)
            message = f"calendar {duration} is not a week, month or quarter: rolling {length}"
            warn(obj, (*path, "duration"), message)
            return {"type": "rolling", "length": length}, path
        if not exact:
            warn(obj, (*path, "duration"), f"calendar {duration} imported as a calendar {unit}")
        zone = obj.get(*path, "calendar", "timeZone")
        if zone is None:
            warn(obj, path, "a calendar window without timeZone: UTC assumed")
        start = obj.get(*path, "calendar", "startTime")
        if start is not None and not period_start_aligned(start, unit):
            message = f"startTime {start} ignored: a calendar {unit} starts {_PERIOD_STARTS[unit]}"
            warn(obj, (*path, "calendar", "startTime"), message)
        return {"type": "calendar", "unit": unit, "timezone": zone or "UTC"}, path

    def _length(self, obj: OpenSLOObject, path: YamlPath, count: int, unit: str) -> str:
        days = {"M": 30, "Q": 90, "Y": 365}.get(unit)
        if days is None:
            return f"{count}{unit}"
        message = f"rolling {count}{unit} imported as {count * days}d"
        self.context.warn(obj, (*path, "duration"), message)
        return f"{count * days}d"

    def _catalog(
        self,
        obj: OpenSLOObject,
        raw: dict[str, Any],
        wanted: list[WantedCondition],
        named: str | None,
    ) -> str | None:
        """The catalog that alerts like ``wanted`` (see :mod:`errorbudget.openslo.alerts`):
        ``named`` when it does, else one with exactly these conditions, else a new one."""
        try:
            slo = SLO.model_validate(raw)
        except ValidationError:
            return None  # reported when the SLO itself is validated
        which = f"{slo.id}: " if slo.id != obj.name else ""
        described = ", ".join(w.describe() for w in wanted)
        if named is not None and same_conditions(wanted, conditions_at(self.catalogs[named], slo)):
            return named
        exact = exact_catalog(wanted, slo, self.catalogs)
        if exact is not None:
            if named is not None:
                message = (
                    f"{which}burn-rate conditions ({described}) are not those of burn catalog "
                    f"{named!r} here; {exact!r} has exactly them and is used"
                )
                self.context.warn(obj, ("spec", "alertPolicies"), message)
            return exact
        made = catalog_from(wanted, slo, f"openslo-{slo.id}")
        if made is not None:
            self.catalogs[made.name] = self.new_catalogs[made.name] = made
            message = (
                f"{which}no burn catalog has the burn-rate conditions ({described}): "
                f"imported as burn catalog {made.name!r} over {format_duration(made.period)}"
            )
            self.context.warn(obj, ("spec", "alertPolicies"), message)
            return made.name
        choice, exact_match = nearest_catalog(wanted, slo, self.catalogs)
        if not exact_match:
            used = ", ".join(
                f"{c.severity} {c.long_name}/{c.short_name} > {c.factor:.3g}"
                for c in conditions_at(self.catalogs[choice], slo)
            )
            message = (
                f"{which}burn-rate conditions ({described}) "
                f"mapped to the nearest burn catalog {choice!r} ({used})"
            )
            self.context.warn(obj, ("spec", "alertPolicies"), message)
        return choice


def _first(*values: Any) -> Any:
    """The first value given (every one is read, so none is reported as unmapped)."""
    return next((value for value in values if value), None)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "objective"


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{key: _merge(base.get(key), value) for key, value in extra.items()}}
    return extra
