"""Checks of a config that span objects, run on the raw data so they report even where
validation failed: duplicate ids, undeclared services, unknown policy or burn catalog
names, an SLO whose indicator source nothing collects (the source plugin says why);
windows that cannot hold their burn conditions, and burn conditions adapted to a low
target (DESIGN.md, low contact-center targets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.durations import format_duration, parse_duration
from errorbudget.engine.alerts import effective_conditions
from errorbudget.engine.windows import nominal_length
from errorbudget.errors import ConfigError, Problem
from errorbudget.indicators import is_synthetic
from errorbudget.model import SLO, BurnCatalog, percent_text
from errorbudget.source_catalog import source_catalog
from errorbudget.yamlsource import NodeIndex, YamlPath, did_you_mean


class Configured(Protocol):
    """What the checks read of a loaded config (``config.Config``, which imports this
    module: naming it here would be an import cycle)."""

    @property
    def slos(self) -> Sequence[SLO]: ...

    @property
    def burn_catalogs(self) -> Sequence[BurnCatalog]: ...


_M = TypeVar("_M", bound=BaseModel)


def _items(raw: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def semantic_problems(
    raw: Any, index: NodeIndex, source: str
) -> tuple[list[Problem], set[YamlPath]]:
    """Cross-object checks on the raw data, so they run even where validation failed."""
    problems: list[Problem] = []
    suppressed: set[YamlPath] = set()

    def problem(path: YamlPath, message: str, key: bool = False) -> None:
        problems.append(Problem(source, *index.position(path, key=key), message))

    def unique(section: str, key: str, what: str) -> list[str]:
        first: dict[str, int] = {}
        for i, item in _items(raw, section):
            name = item.get(key)
            if not isinstance(name, str):
                continue
            if name in first:
                line = index.position((section, first[name], key))[0]
                problem((section, i, key), f"duplicate {what} {name!r} (first on line {line})")
            else:
                first[name] = i
        return list(first)

    sources = raw.get("sources") if isinstance(raw, dict) else None
    configured = (
        {k for k, v in sources.items() if v is not None} if isinstance(sources, dict) else set()
    )
    services = unique("services", "id", "service id")
    unique("slos", "id", "SLO id")
    policies = [*builtin_policies(), *unique("policies", "name", "policy name")]
    catalogs = [*builtin_burn_catalogs(), *unique("burn_catalogs", "name", "burn catalog name")]

    condition_names = {
        name: [c.condition_name for c in catalog.conditions]
        for name, catalog in builtin_burn_catalogs().items()
    }
    for _, catalog in _items(raw, "burn_catalogs"):
        if isinstance(catalog.get("name"), str):
            condition_names[catalog["name"]] = [
                name for _, c in _items(catalog, "conditions") if (name := _condition_name(c))
            ]

    for i, catalog in _items(raw, "burn_catalogs"):
        for j, condition in _items(catalog, "conditions"):
            try:
                long = parse_duration(str(condition.get("long_window")))
                short = parse_duration(str(condition.get("short_window")))
            except ValueError:
                continue  # pydantic reports the bad duration
            if short >= long:
                problem(
                    ("burn_catalogs", i, "conditions", j, "short_window"),
                    f"burn catalog {catalog.get('name')!r}: short_window "
                    f"{condition['short_window']} must be shorter than long_window "
                    f"{condition['long_window']}",
                )

    for i, slo in _items(raw, "slos"):
        label = f"slo {slo.get('id')!r}"
        service = slo.get("service")
        if services and isinstance(service, str) and service not in services:
            problem(
                ("slos", i, "service"),
                f"{label}: service {service!r} is not declared in services"
                f"{did_you_mean(service, services)}",
            )
        policy = slo.get("policy")
        if isinstance(policy, str) and policy not in policies:
            problem(
                ("slos", i, "policy"),
                f"{label}: unknown policy preset {policy!r}{did_you_mean(policy, policies)}",
            )
        indicator = slo.get("indicator")
        source_name = indicator.get("source") if isinstance(indicator, dict) else None
        if isinstance(source_name, str):
            unconfigured = _source_problem(source_name, configured)
            if unconfigured:
                problem(("slos", i, "indicator", "source"), f"{label}: {unconfigured}")
        alerting = slo.get("alerting")
        catalog_name = alerting.get("catalog") if isinstance(alerting, dict) else None
        if isinstance(catalog_name, str) and catalog_name not in catalogs:
            problem(
                ("slos", i, "alerting", "catalog"),
                f"{label}: unknown burn catalog {catalog_name!r}"
                f"{did_you_mean(catalog_name, catalogs)}",
            )
        tiers = alerting.get("tiers") if isinstance(alerting, dict) else None
        chosen = catalog_name if isinstance(catalog_name, str) else "google-30d"
        names = condition_names.get(chosen)
        if isinstance(tiers, dict) and names is not None:
            for tier in tiers:
                if tier not in names:
                    problem(
                        ("slos", i, "alerting", "tiers", tier),
                        f"{label}: burn catalog {chosen!r} has no condition {tier!r}"
                        f"{did_you_mean(str(tier), names)}; its conditions: " + ", ".join(names),
                        key=True,
                    )
        segments = slo.get("segments")
        keys = segments.get("keys", []) if isinstance(segments, dict) else []
        seen: dict[object, int] = {}
        for j, key in enumerate(keys if isinstance(keys, list) else []):
            if isinstance(key, str) and key in seen:
                line = index.position(("slos", i, "segments", "keys", seen[key]))[0]
                problem(
                    ("slos", i, "segments", "keys", j),
                    f"{label}: duplicate segment key {key!r} (first on line {line})",
                )
                suppressed.add(("slos", i, "segments", "keys"))
            seen.setdefault(key, j)
        for j, override in _items(segments, "overrides"):
            match = override.get("match")
            if not isinstance(match, dict) or not isinstance(keys, list):
                continue
            for name in match:
                if name not in keys:
                    path: YamlPath = ("slos", i, "segments", "overrides", j, "match", name)
                    problem(
                        path,
                        f"{label}: override matches {name!r}, which is not a segment key "
                        f"(keys: {', '.join(map(str, keys)) or 'none'})"
                        f"{did_you_mean(str(name), [str(k) for k in keys])}",
                        key=True,
                    )
                    suppressed.add(("slos", i, "segments"))
    _route_problems(raw, problem)
    return problems, suppressed


def _route_problems(raw: Any, problem: Callable[[YamlPath, str], None]) -> None:
    """A route naming a receiver that ``notifications.receivers`` does not declare."""
    notifications = raw.get("notifications") if isinstance(raw, dict) else None
    if not isinstance(notifications, dict):
        return
    declared = [
        str(item["name"]) for _, item in _items(notifications, "receivers") if "name" in item
    ]
    for j, route in _items(notifications, "routes"):
        names = route.get("receivers")
        for k, name in enumerate(names if isinstance(names, list) else []):
            if isinstance(name, str) and name not in declared:
                hint = did_you_mean(name, declared) or (
                    f" (declared: {', '.join(declared)})" if declared else " (none is declared)"
                )
                problem(
                    ("notifications", "routes", j, "receivers", k),
                    f"route {j + 1}: unknown receiver {name!r}{hint}",
                )


def _source_problem(source: str, configured: set[str]) -> str | None:
    """Why an SLO with indicator ``source`` would never get data, or None: the source's
    plugin says (``SourceKind.unconfigured_problem``). An unknown source name is reported
    by the indicator's validation."""
    catalog = source_catalog()
    if source not in catalog:
        return None
    try:
        kind = catalog.kind(source)
    except ConfigError as exc:
        return str(exc)
    return kind.unconfigured_problem(source in configured)


def _slos_and_catalogs(
    raw: Any, config: Configured | None
) -> tuple[list[tuple[int, SLO]], dict[str, BurnCatalog]]:
    """The SLOs (with their index) and burn catalogs that are valid on their own."""
    if config is not None:
        slos = list(enumerate(config.slos))
        own = config.burn_catalogs
    else:
        slos = [(i, s) for i, item in _items(raw, "slos") if (s := _try(SLO, item)) is not None]
        own = [c for _, item in _items(raw, "burn_catalogs") if (c := _try(BurnCatalog, item))]
    return slos, {**builtin_burn_catalogs(), **{c.name: c for c in own}}


def window_problems(
    raw: Any, config: Configured | None, index: NodeIndex, source: str
) -> list[Problem]:
    """Windows that cannot hold what is asked of them. A burn-rate condition whose long
    window is longer than the SLO's window judges events outside the window: an error when
    no condition of the catalog fits the window (no alert could mean anything), else a
    warning naming the ones that do not. A forecast look-back longer than the window: a
    warning (the rate is then mostly of events the window no longer holds)."""
    slos, catalogs = _slos_and_catalogs(raw, config)
    problems: list[Problem] = []
    for i, slo in slos:
        window = nominal_length(slo.window)
        catalog = catalogs.get(slo.alerting.catalog)
        if catalog is not None and slo.alerting.enabled and catalog.conditions:
            longer = sorted({c.long_window for c in catalog.conditions if c.long_window > window})
            if longer:
                fits = len(longer) < len({c.long_window for c in catalog.conditions})
                problems.append(
                    Problem(
                        source,
                        *index.position(("slos", i, "window")),
                        f"slo {slo.id!r}: the window ({slo.window.describe()}) is shorter than "
                        f"the long window{'s' if len(longer) > 1 else ''} "
                        f"{', '.join(format_duration(w) for w in longer)} of burn catalog "
                        f"{catalog.name!r}: lengthen the window, choose a catalog of shorter "
                        "windows (e.g. page-only) or set alerting.enabled: false",
                        "warning" if fits else "error",
                    )
                )
        if slo.forecast.lookback > window:
            problems.append(
                Problem(
                    source,
                    *index.position(("slos", i, "forecast", "lookback")),
                    f"slo {slo.id!r}: forecast.lookback {format_duration(slo.forecast.lookback)} "
                    f"is longer than the window ({slo.window.describe()})",
                    "warning",
                )
            )
    return problems


def _condition_name(condition: dict[str, Any]) -> str | None:
    """A raw catalog condition's name in ``alerting.tiers`` (``BurnCondition.condition_name``),
    or None when it is too broken to have one (validation reports why)."""
    if isinstance(condition.get("name"), str):
        return str(condition["name"])
    try:
        long = format_duration(parse_duration(str(condition.get("long_window"))))
        short = format_duration(parse_duration(str(condition.get("short_window"))))
    except ValueError:
        return None
    return f"{condition.get('severity')}-{long}-{short}"


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def unreachable_warnings(
    raw: Any, config: Configured | None, index: NodeIndex, source: str
) -> list[Problem]:
    """Burn conditions adapted to a low target (DESIGN.md, low contact-center targets), and
    ``alerting.synthetic`` set on an SLO that is not of synthetic checks (ignored there).

    Mostly conditions that could never fire as written; also those lowered to
    ``max_burn_fraction`` of the highest burn, since they fire below the catalog's factor.

    When validation failed, the SLOs and catalogs that are valid on their own are still
    checked, so one run shows every problem.
    """
    slos, catalogs = _slos_and_catalogs(raw, config)
    warnings: list[Problem] = []
    for i, slo in slos:
        if "synthetic" in slo.alerting.model_fields_set and not is_synthetic(slo.indicator):
            warnings.append(
                Problem(
                    source,
                    *index.position(("slos", i, "alerting", "synthetic")),
                    f"slo {slo.id!r}: alerting.synthetic is ignored: the SLO does not count "
                    "synthetic checks (its indicator is not source: synthetic)",
                    "warning",
                )
            )
        catalog = catalogs.get(slo.alerting.catalog)
        if catalog is None or not slo.alerting.enabled:
            continue
        period = nominal_length(slo.window)  # a calendar month counts as 30 days
        targets: list[tuple[str, float, YamlPath]] = [("", slo.target, ("slos", i, "target"))]
        for j, override in enumerate(slo.segments.overrides):
            match = ",".join(f"{k}={v}" for k, v in override.match.items())
            path: YamlPath = ("slos", i, "segments", "overrides", j, "target")
            targets.append((f" ({match})", override.target, path))
        for where, target, path in targets:
            conditions = effective_conditions(
                catalog, period, target, slo.alerting.max_burn_fraction
            )
            for condition in conditions:
                # Only the low-target ceiling is worth a warning; raising a factor below 1
                # to 1 is the documented floor (docs/concepts.md), not a surprise to report.
                if condition.factor >= condition.catalog_factor:
                    continue
                verdict = (
                    "is adapted"
                    if condition.reachable
                    else f"can never fire at target {percent_text(target)} (highest burn "
                    f"{_number(condition.max_burn)}); adapted"
                )
                message = (
                    f"slo {slo.id!r}{where}: {condition.severity} condition "
                    f"{condition.long_name}/{condition.short_name} of {catalog.name!r} "
                    f"(factor {_number(condition.catalog_factor)}) {verdict}: "
                    f"burn({condition.short_name}) > {_number(condition.factor)} and "
                    f"burn({condition.long_name}) > {_number(condition.long_factor)} "
                    f"({slo.alerting.max_burn_fraction:g} of the highest burn "
                    f"{_number(condition.max_burn)}"
                    + (f" at target {percent_text(target)}" if condition.reachable else "")
                    + f", and one {condition.short_name} at that rate in the "
                    f"{condition.long_name} window)"
                )
                warnings.append(Problem(source, *index.position(path), message, "warning"))
    return warnings


def _try(model: type[_M], data: Any) -> _M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None
