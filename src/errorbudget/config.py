"""``errorbudget.yaml``: YAML → typed models, with every problem named by file:line:col.

Loading is four steps, and every step reports *all* it finds before anything is raised:

1. YAML is composed into a node tree (so every key and value keeps its line and column);
   duplicate keys are problems (PyYAML would silently keep the last one).
2. ``${NAME}`` and ``${NAME:-default}`` in string scalars are replaced from the environment
   (``$${`` is a literal ``${``); an unquoted scalar is re-typed after substitution, so
   ``target: ${VIP_TARGET:-0.95}`` is a number.
3. The data is validated by the pydantic models below and in :mod:`errorbudget.model`; each
   pydantic error is mapped back to the node its ``loc`` names (discriminator tags such as
   ``calendar`` in ``("window", "calendar", "unit")`` are skipped), unknown keys get a
   "did you mean" from the model's field names at that level.
4. Semantic checks that span objects (duplicate ids, undeclared services, unknown policy or
   burn catalog names, an SLO whose indicator source nothing collects: ``genesys`` without
   ``sources.genesys``, ``prometheus`` in this version) and warnings: burn conditions that
   can never fire at an SLO's (or a segment override's) target, see
   :func:`errorbudget.engine.alerts.effective_conditions`.
   A calendar window is scaled as 7d / 30d / 91d for week / month / quarter
   (:func:`errorbudget.engine.windows.nominal_length`).

Policy presets and burn catalogs defined in the config may reuse a built-in name: the config
one then replaces the built-in (e.g. to change what ``policy: default`` means everywhere).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.clock import ScaledClock
from errorbudget.durations import Duration, format_duration, parse_duration
from errorbudget.engine.alerts import effective_conditions
from errorbudget.engine.schedule import Eligibility, WeeklySchedule, compile_schedule
from errorbudget.engine.windows import nominal_length
from errorbudget.errors import ConfigError, ConfigValidationError, NotFoundError, Problem
from errorbudget.limits import time_problem
from errorbudget.model import SLO, BurnCatalog, PolicyPreset, percent_text
from errorbudget.schedule_checks import schedule_problems
from errorbudget.schedules import HolidayCalendar, MaintenanceWindow, NamedSchedule, Schedule
from errorbudget.yamlsource import NodeIndex, YamlPath, compose_yaml, did_you_mean

CONFIG_ENV = "ERRORBUDGET_CONFIG"
DEFAULT_CONFIG = "errorbudget.yaml"

_M = TypeVar("_M", bound=BaseModel)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StoreSettings(_Settings):
    path: str = Field(default="errorbudget.db", min_length=1)
    """SQLite file; a relative path is relative to the config file's directory."""


class GateSettings(_Settings):
    enforcement: Literal["enforce", "advisory"] = "enforce"
    exempt_types: list[str] = Field(
        default_factory=lambda: ["incident-fix", "security-fix", "rollback", "burn-reduction"]
    )
    """Change types the gate always lets through, whatever the budget."""
    min_segment_share: float = Field(default=0.05, ge=0.0, le=1.0)
    """A change that names no segment is judged by each SLO's whole row and by the segments
    holding at least this share of their SLO's eligible events; a smaller segment cannot
    decide for the whole service alone (docs/concepts.md "The release gate")."""


Role = Literal["viewer", "operator", "approver", "admin"]
"""API roles, each allowed everything the ones before it are (docs/api.md)."""

ROLES: tuple[Role, ...] = ("viewer", "operator", "approver", "admin")


class ApiToken(_Settings):
    """One API token: who holds it (the acting identity in records) and what it may do."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$", max_length=100)
    token: SecretStr
    role: Role

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("an API token needs at least 16 characters")
        return value


class BodyLimits(_Settings):
    """The largest request bodies ``serve`` takes, counted while they stream in (chunked
    ones too): a larger one is answered 413 without reading the rest (docs/api.md)."""

    json_body: ByteSize = Field(default=ByteSize(1 << 20), gt=0)
    """Every JSON endpoint (changes, exclusions, annotations, the gate, …)."""
    ingest_body: ByteSize = Field(default=ByteSize(64 << 20), gt=0)
    """``POST /api/v1/counts``."""


class ReadinessSettings(_Settings):
    """When ``/readyz`` says the server is not ready (docs/operations.md)."""

    source_failure_age: Duration | None = timedelta(minutes=2)
    """Not ready once a scheduled source has failed every run for this long (an upstream
    outage, a store it cannot write); ``null``: sources never make it unready."""


class ServerSettings(_Settings):
    """``errorbudget serve``: where to listen and who may call the API (docs/api.md)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=1, le=65535)
    anonymous_read: bool = False
    """Whether reads (GET) work without a token; writes always need one."""
    tokens: list[ApiToken] = Field(default_factory=list)
    metrics_auth: Literal["token", "open"] | None = None
    """``/metrics`` needs a token (any role) or is open; default: open when
    ``anonymous_read`` is, else a token."""
    store_lock_timeout: Duration = timedelta(seconds=2)
    """A write that cannot get the store's write lock this soon answers 503."""
    busy_retry_after: Duration = timedelta(seconds=5)
    """The ``Retry-After`` of that 503."""
    max_concurrent_writes: int = Field(default=8, ge=1, le=1024)
    """Write requests served at once; more wait up to ``store_lock_timeout``, then 503."""
    body_limits: BodyLimits = Field(default_factory=BodyLimits)
    readiness: ReadinessSettings = Field(default_factory=ReadinessSettings)

    @property
    def metrics_open(self) -> bool:
        """Whether ``/metrics`` answers without a token."""
        return self.anonymous_read if self.metrics_auth is None else self.metrics_auth == "open"

    @model_validator(mode="after")
    def _unique_tokens(self) -> ServerSettings:
        names = [t.name for t in self.tokens]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"token name(s) {repeated} are given more than once")
        secrets = [t.token.get_secret_value() for t in self.tokens]
        if len(set(secrets)) != len(secrets):
            raise ValueError("two tokens have the same value: each identity needs its own")
        return self


class GenesysSettings(_Settings):
    """How to reach one Genesys Cloud org, and how often to collect (docs/sources/genesys.md)."""

    region: str | None = None
    """Region domain (``usw2.pure.cloud``) or AWS name (``us-west-2``)."""
    base_url: str | None = None
    """Platform API root instead of the region's ``https://api.<domain>``."""
    login_url: str | None = None
    """OAuth server root; default: the region's, or ``base_url`` with ``api.`` → ``login.``."""
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    interval: Duration = timedelta(seconds=60)
    """How often scheduled collection runs."""
    lookback: Duration = timedelta(hours=1)
    """Each run re-fetches this much before what is stored: open and revised intervals."""
    granularity: Duration = timedelta(minutes=15)
    """Aggregate query granularity; counts land on each interval's start minute."""
    max_query_span: Duration = timedelta(days=1)
    """Longest interval one aggregate query asks for (history is split into such chunks)."""
    max_backfill: Duration = timedelta(days=31)
    """Scheduled runs catch up at most this far back after an outage."""
    requests_per_minute: int = Field(default=300, ge=1, le=100_000)
    request_timeout: Duration = timedelta(seconds=30)
    connect_timeout: Duration = timedelta(seconds=10)
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Tries per request (429, 5xx, timeouts and connection errors are retried)."""
    circuit_failures: int = Field(default=5, ge=1, le=1000)
    """Consecutive 5xx or transport failures that open the circuit breaker."""
    circuit_reset: Duration = timedelta(seconds=30)
    """How long the circuit stays open before one probe request is let through."""
    queue_cache_ttl: Duration = timedelta(minutes=15)
    status_page_url: str | None = None
    """Statuspage ``summary.json`` polled each run for ``api_availability``; default: none."""
    collect_deadline: Duration = timedelta(minutes=3)
    """Longest one collection run (``collect --once``/``--from``, each scheduled run) may
    take; a run that reaches it stops, keeps what it stored and is recorded as failed."""

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from errorbudget.sources.genesys.regions import find_region

        return find_region(value).domain

    @field_validator("base_url", "login_url", "status_page_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value is not None else None

    @field_validator("granularity")
    @classmethod
    def _granularity_divides_hour(cls, value: timedelta) -> timedelta:
        minutes = value.total_seconds() / 60
        if minutes != int(minutes) or 60 % int(minutes):
            raise ValueError("granularity is a whole number of minutes that divides 60")
        return value

    @model_validator(mode="after")
    def _where(self) -> GenesysSettings:
        if (self.region is None) == (self.base_url is None):
            raise ValueError("give exactly one of region and base_url")
        if self.max_query_span < self.granularity:
            raise ValueError("max_query_span must be at least the granularity")
        if self.max_query_span % self.granularity:
            raise ValueError("max_query_span must be a whole number of granularity intervals")
        return self

    def __repr__(self) -> str:  # the secret is a SecretStr; the id is not secret
        return f"GenesysSettings(region={self.region!r}, base_url={self.base_url!r})"


class SourcesSettings(_Settings):
    genesys: GenesysSettings | None = None


class Service(_Settings):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    description: str = ""
    owner: str = ""


class ClockSettings(_Settings):
    """A simulated "now" for every command and server that reads this config (``errorbudget
    demo`` writes one): now = ``simulated_start`` + (wall-clock time − ``real_start``) ×
    ``speed``; ``speed`` 0 holds it at ``simulated_start``."""

    simulated_start: AwareDatetime
    real_start: AwareDatetime | None = None
    """The wall-clock instant at which the simulated clock read ``simulated_start``."""
    speed: float = Field(default=0.0, ge=0.0, le=100_000.0)

    @field_validator("simulated_start", "real_start")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        problem = None if value is None else time_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _running_needs_real_start(self) -> ClockSettings:
        if self.speed > 0 and self.real_start is None:
            raise ValueError("a running clock (speed above 0) needs real_start")
        return self

    def clock(self) -> ScaledClock:
        return ScaledClock(self.simulated_start, self.real_start, self.speed)


class Config(_Settings):
    version: Literal[1] = 1
    store: StoreSettings = Field(default_factory=StoreSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    services: list[Service] = Field(default_factory=list)
    policies: list[PolicyPreset] = Field(default_factory=list)
    burn_catalogs: list[BurnCatalog] = Field(default_factory=list)
    holiday_calendars: list[HolidayCalendar] = Field(default_factory=list)
    schedules: list[NamedSchedule] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    slos: list[SLO] = Field(default_factory=list)
    clock: ClockSettings | None = None
    """None: real time."""


# --- the loaded configuration ----------------------------------------------------------------


@dataclass(frozen=True)
class LoadedConfig:
    """A valid configuration, where it came from, and the warnings it raised."""

    config: Config
    path: Path
    warnings: list[Problem] = field(default_factory=list)
    _eligibility: dict[str, Eligibility] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def policies(self) -> dict[str, PolicyPreset]:
        """Built-in presets, replaced or extended by the config's ``policies``."""
        return {**builtin_policies(), **{p.name: p for p in self.config.policies}}

    @property
    def catalogs(self) -> dict[str, BurnCatalog]:
        """Built-in burn catalogs, replaced or extended by the config's ``burn_catalogs``."""
        return {**builtin_burn_catalogs(), **{c.name: c for c in self.config.burn_catalogs}}

    @property
    def store_path(self) -> Path:
        store = Path(self.config.store.path).expanduser()
        return store if store.is_absolute() else self.path.parent / store

    def slo(self, slo_id: str) -> SLO:
        for slo in self.config.slos:
            if slo.id == slo_id:
                return slo
        hint = did_you_mean(slo_id, [s.id for s in self.config.slos])
        raise NotFoundError(f"no SLO {slo_id!r} in {self.path}{hint}")

    def policy(self, name: str) -> PolicyPreset:
        presets = self.policies
        if name not in presets:
            raise NotFoundError(f"no policy preset {name!r}{did_you_mean(name, list(presets))}")
        return presets[name]

    def catalog(self, name: str) -> BurnCatalog:
        catalogs = self.catalogs
        if name not in catalogs:
            hint = did_you_mean(name, list(catalogs))
            raise NotFoundError(f"no burn catalog {name!r}{hint}")
        return catalogs[name]

    def schedule(self, slo: SLO) -> Schedule | None:
        """The definition of the SLO's schedule, its name resolved (None: always eligible).
        :meth:`eligibility` has it ready to evaluate, holidays merged."""
        if isinstance(slo.schedule, str):
            named = next((s for s in self.config.schedules if s.name == slo.schedule), None)
            if named is None:
                raise NotFoundError(f"SLO {slo.id!r}: no schedule {slo.schedule!r}")
            return named
        return slo.schedule

    def eligibility(self, slo: SLO) -> Eligibility:
        """The SLO's schedule and the maintenance windows scoped to it (cached: the
        evaluation of every minute asks)."""
        found = self._eligibility.get(slo.id)
        if found is None:
            config = self.config
            calendars = {c.name: c for c in config.holiday_calendars}
            definition = self.schedule(slo)
            schedule: WeeklySchedule | None = None
            if definition is not None:
                name = slo.schedule if isinstance(slo.schedule, str) else ""
                schedule = compile_schedule(definition, calendars, name)
            windows = tuple(
                w
                for w in config.maintenance
                if w.covers(slo.id, slo.service) and set(w.segment) <= set(slo.segments.keys)
            )  # a window keyed on labels the SLO does not segment by matches none of it
            found = Eligibility(schedule, windows)
            self._eligibility[slo.id] = found
        return found


def default_config_path() -> Path:
    """``$ERRORBUDGET_CONFIG`` if set, else ``./errorbudget.yaml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Read and validate a config file; raise ConfigValidationError listing every problem."""
    config_path = Path(path) if path is not None else default_config_path()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"config file {config_path} not found (give -c PATH or set ${CONFIG_ENV})"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {config_path}: {exc}") from exc
    return parse_config(text, config_path, environ)


def parse_config(
    text: str, path: str | Path = "<string>", environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Validate config ``text`` as if read from ``path`` (which anchors relative paths)."""
    source = str(path)
    document = compose_yaml(text, source, environ if environ is not None else os.environ)
    problems = list(document.problems)
    config: Config | None = None
    if document.data is not None or not problems:  # None with problems: a syntax error
        raw = document.data if document.data is not None else {}
        config, found = _validate(raw, document.index, source)
        problems += found
    errors = [p for p in problems if p.severity == "error"]
    if errors or config is None:
        raise ConfigValidationError(sorted(problems, key=_order))
    return LoadedConfig(config=config, path=Path(path), warnings=sorted(problems, key=_order))


def dump_config(config: Config) -> str:
    """YAML for ``config`` without default values (discriminator tags are always kept)."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    full = config.model_dump(mode="json")
    for slo, complete in zip(data.get("slos", []), full["slos"], strict=True):
        for key in [key for key, value in slo.items() if value == {}]:
            del slo[key]  # e.g. a default timeslice of a timeslices SLO
        slo["window"] = {"type": complete["window"]["type"], **slo["window"]}
        if "indicator" in slo:
            slo["indicator"] = {"source": complete["indicator"]["source"], **slo["indicator"]}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _order(problem: Problem) -> tuple[str, int, int]:
    return (problem.file, problem.line, problem.column)


# --- pydantic errors → problems --------------------------------------------------------------


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``None`` from a union."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _strip(members[0])
    return annotation


def _tags(annotation: Any) -> dict[str, type[BaseModel]]:
    """Discriminator tag → member model for a union of models with ``Literal`` fields, or of
    members tagged with ``Tag`` (a callable discriminator)."""
    tags: dict[str, type[BaseModel]] = {}
    for member in get_args(annotation):
        tagged = [m.tag for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
        member = _strip(member)
        if tagged and isinstance(member, type) and issubclass(member, BaseModel):
            tags[tagged[0]] = member
            continue
        if isinstance(member, type) and issubclass(member, BaseModel):
            for info in member.model_fields.values():
                literal = get_origin(info.annotation) is Literal
                if literal and get_args(info.annotation) == (info.default,):
                    tags[str(info.default)] = member
    return tags


def _type_at(loc: Sequence[str | int]) -> Any:
    """The annotation a pydantic ``loc`` points at, from :class:`Config` down."""
    current: Any = Config
    for element in loc:
        current = _strip(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(element))
            if info is None:
                return None
            current = info.annotation
        elif origin is list and isinstance(element, int):
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
        elif origin in (Union, UnionType) and str(element) in _tags(current):
            current = _tags(current)[str(element)]
        else:
            return None
    return _strip(current)


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for element in path:
        text += f"[{element}]" if isinstance(element, int) else f".{element}"
    return text.lstrip(".") or "(top level)"


_YAML_BOOLEANS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def _error_problem(error: ErrorDetails, index: NodeIndex, source: str) -> Problem:
    loc = [e for e in error["loc"] if e != "[key]"]
    on_key = error["loc"][-1:] == ("[key]",) or error["type"] == "extra_forbidden"
    found, skipped = index.deepest(loc)
    kind, ctx = error["type"], error.get("ctx", {})
    message = error["msg"].removeprefix("Value error, ")
    where = _dotted(found)
    if kind == "missing" and skipped:
        message = f"missing required key {skipped[-1]!r}"
    elif kind == "extra_forbidden":
        parent = _type_at(loc[:-1])
        is_model = isinstance(parent, type) and issubclass(parent, BaseModel)
        fields = list(parent.model_fields) if is_model else []
        hint = did_you_mean(str(loc[-1]), fields)
        if not hint and fields:
            hint = f" (expected one of: {', '.join(fields)})"
        message = f"unknown key {loc[-1]!r}{hint}"
        where = _dotted(found[:-1])
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx.get("discriminator", "'type'")).strip("'")
        tags = list(_tags(_type_at(loc)))
        if kind == "union_tag_invalid":
            found = (*found, discriminator)
            hint = did_you_mean(str(ctx.get("tag")), tags)
            message = f"{discriminator} {ctx.get('tag')!r} is not one of {', '.join(tags)}{hint}"
        else:
            message = f"missing key {discriminator!r} (one of: {', '.join(tags)})"
    elif kind in ("model_attributes_type", "model_type"):
        message = "expected a mapping (key: value lines)"
    if _type_at(loc) is SecretStr:
        pass  # a secret is never echoed, not even a wrong one
    elif kind == "string_type":
        node = index.values.get(found)
        if isinstance(node, yaml.ScalarNode) and node.style is None:
            if node.value.lower() in _YAML_BOOLEANS:
                message += f" (YAML reads unquoted {node.value} as a boolean: quote it)"
            elif node.tag != "tag:yaml.org,2002:str":
                message += f" (got {node.value}: quote it to make it a string)"
    elif not isinstance(error["input"], dict | list) and kind not in (
        "missing",
        "extra_forbidden",
    ):
        message += f" (got {repr(error['input'])[:60]})"
        if kind == "literal_error":
            expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            message += did_you_mean(str(error["input"]), expected)
    line, column = index.position(found, key=on_key)
    return Problem(source, line, column, f"{where}: {message}")


# --- validation ------------------------------------------------------------------------------


def _validate(raw: Any, index: NodeIndex, source: str) -> tuple[Config | None, list[Problem]]:
    problems: list[Problem] = []
    config: Config | None = None
    semantic, suppressed = _semantic_problems(raw, index, source)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if error["type"] == "value_error" and tuple(error["loc"]) in suppressed:
                continue  # reported more precisely by the semantic checks
            if index.deepest(error["loc"])[0] in index.unresolved:
                continue  # the missing ${VARIABLE} is the problem, already reported
            problems.append(_error_problem(error, index, source))
    problems += semantic
    problems += schedule_problems(raw, index, source)
    problems += _window_problems(raw, config, index, source)
    problems += _unreachable_warnings(raw, config, index, source)
    return config, problems


def _items(raw: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _semantic_problems(
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
    return problems, suppressed


INDICATOR_SOURCES: dict[str, str | None] = {"ingest": None, "genesys": "genesys"}
"""Indicator source → the ``sources`` section it needs collected by (None: nothing, counts
are pushed). An indicator source missing here has no collector in this version."""


def _source_problem(source: str, configured: set[str]) -> str | None:
    """Why an SLO with indicator ``source`` would never get data, or None.

    An SLO whose counts nothing collects would show "no data" forever while ``validate``
    called it valid: that is an error, not a warning."""
    if source not in INDICATOR_SOURCES:
        if source == "prometheus":
            return (
                "indicator source 'prometheus' is not available in this version: no "
                "Prometheus source is configured or can be, so nothing would query it (push "
                "the counts with errorbudget ingest and indicator source: ingest instead)"
            )
        return None  # an unknown source name: pydantic reports it
    needed = INDICATOR_SOURCES[source]
    if needed is None or needed in configured:
        return None
    return (
        f"indicator source {source!r} is not configured: add sources.{needed} "
        f"(docs/sources/{needed}.md), or nothing collects this SLO's counts"
    )


def _slos_and_catalogs(
    raw: Any, config: Config | None
) -> tuple[list[tuple[int, SLO]], dict[str, BurnCatalog]]:
    """The SLOs (with their index) and burn catalogs that are valid on their own."""
    if config is not None:
        slos = list(enumerate(config.slos))
        own = config.burn_catalogs
    else:
        slos = [(i, s) for i, item in _items(raw, "slos") if (s := _try(SLO, item)) is not None]
        own = [c for _, item in _items(raw, "burn_catalogs") if (c := _try(BurnCatalog, item))]
    return slos, {**builtin_burn_catalogs(), **{c.name: c for c in own}}


def _window_problems(
    raw: Any, config: Config | None, index: NodeIndex, source: str
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


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _unreachable_warnings(
    raw: Any, config: Config | None, index: NodeIndex, source: str
) -> list[Problem]:
    """Burn conditions adapted to a low target (DESIGN.md, low contact-center targets).

    Mostly conditions that could never fire as written; also those lowered to
    ``max_burn_fraction`` of the highest burn, since they fire below the catalog's factor.

    When validation failed, the SLOs and catalogs that are valid on their own are still
    checked, so one run shows every problem.
    """
    slos, catalogs = _slos_and_catalogs(raw, config)
    warnings: list[Problem] = []
    for i, slo in slos:
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
                    "is lowered to"
                    if condition.reachable
                    else f"can never fire at target {percent_text(target)} (highest burn "
                    f"{_number(condition.max_burn)}); adapted to"
                )
                message = (
                    f"slo {slo.id!r}{where}: {condition.severity} condition "
                    f"{condition.long_name}/{condition.short_name} of {catalog.name!r} "
                    f"(factor {_number(condition.catalog_factor)}) {verdict} "
                    f"{_number(condition.factor)}"
                )
                if condition.reachable:
                    message += (
                        f" ({slo.alerting.max_burn_fraction:g} of the highest burn "
                        f"{_number(condition.max_burn)} at target {percent_text(target)})"
                    )
                warnings.append(Problem(source, *index.position(path), message, "warning"))
    return warnings


def _try(model: type[_M], data: Any) -> _M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None
