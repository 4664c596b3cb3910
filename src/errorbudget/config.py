"""``errorbudget.yaml``: YAML → typed models, with every problem named by file:line:col.

Loading is four steps, and every step reports *all* it finds before anything is raised:

1. YAML is composed into a node tree (so every key and value keeps its line and column);
   duplicate keys are problems (PyYAML would silently keep the last one).
2. ``${NAME}`` and ``${NAME:-default}`` in string scalars are replaced from the environment
   (``$${`` is a literal ``${``); an unquoted scalar is re-typed after substitution, so
   ``target: ${VIP_TARGET:-0.95}`` is a number.
3. The data is validated by the pydantic models below and in :mod:`errorbudget.model`;
   ``sources:`` and each SLO's ``indicator`` by the models of the source plugins they name
   (``config_sources``, ``indicators``). Each pydantic error is mapped back to the node its
   ``loc`` names (``config_errors``: discriminator tags such as ``calendar`` in
   ``("window", "calendar", "unit")`` are skipped), unknown keys get a "did you mean" from
   the model's field names at that level.
4. Semantic checks that span objects (``config_checks``: duplicate ids, undeclared
   services, unknown policy or burn catalog names, an SLO whose indicator source nothing
   collects, as its plugin says: ``genesys`` without ``sources.genesys``, ``prometheus``
   without ``sources.prometheus``) and warnings: burn conditions that can never fire at
   an SLO's (or a segment override's) target, see
   :func:`errorbudget.engine.alerts.effective_conditions`. A calendar window is scaled
   as 7d / 30d / 91d for week / month / quarter
   (:func:`errorbudget.engine.windows.nominal_length`).

Policy presets and burn catalogs defined in the config may reuse a built-in name: the config
one then replaces the built-in (e.g. to change what ``policy: default`` means everywhere).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.clock import ScaledClock
from errorbudget.config_checks import semantic_problems, unreachable_warnings, window_problems
from errorbudget.config_sources import SourcesSettings
from errorbudget.database_urls import has_password, is_postgres_url
from errorbudget.durations import Duration
from errorbudget.engine.schedule import Eligibility, WeeklySchedule, compile_schedule
from errorbudget.errors import ConfigError, ConfigValidationError, NotFoundError, Problem
from errorbudget.exporter_settings import ENV_NAME, ExporterSettings, ExporterTLS
from errorbudget.limits import time_problem
from errorbudget.model import SLO, BurnCatalog, PolicyPreset
from errorbudget.notification_settings import NotificationSettings
from errorbudget.schedule_checks import schedule_problems
from errorbudget.schedules import HolidayCalendar, MaintenanceWindow, NamedSchedule, Schedule
from errorbudget.source_catalog import BUILTIN_SOURCES
from errorbudget.yamlsource import NodeIndex, compose_yaml, did_you_mean

CONFIG_ENV = "ERRORBUDGET_CONFIG"
DEFAULT_CONFIG = "errorbudget.yaml"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


DEFAULT_STORE_PATH = "errorbudget.db"
DEFAULT_PASSWORD_ENV = "ERRORBUDGET_STORE_PASSWORD"


class StoreSettings(_Settings):
    """Where the store is: an SQLite file (``path``, the default) or a PostgreSQL database
    (``url``), never both. A PostgreSQL password is never written in the file: it comes
    from the environment variable ``password_env`` (or libpq's ``PGPASSWORD``/``.pgpass``)."""

    path: str | None = Field(default=None, min_length=1)
    """SQLite file (default ``errorbudget.db``); relative to the config file's directory."""
    url: str | None = Field(default=None, min_length=1)
    """PostgreSQL: ``postgresql://user@host:port/database`` (no password in it)."""
    password_env: str = Field(default=DEFAULT_PASSWORD_ENV, pattern=ENV_NAME)
    """The environment variable holding the PostgreSQL password."""

    @model_validator(mode="after")
    def _one_location(self) -> StoreSettings:
        if self.path is not None and self.url is not None:
            raise ValueError(
                "give either path (an SQLite file) or url (a PostgreSQL database), not both"
            )
        if self.url is not None:
            if not is_postgres_url(self.url):
                raise ValueError(
                    "url must be a PostgreSQL URL: postgresql://user@host:port/database "
                    "(an SQLite store is given by path)"
                )
            if has_password(self.url):
                raise ValueError(
                    "url holds a password: a config file must not; write "
                    "postgresql://user@host/database and put the password in the "
                    f"environment variable {self.password_env} (store.password_env)"
                )
        return self


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
    """``POST /api/v1/counts``, and the OTLP receiver ``POST /v1/traces`` (as sent, and once
    decompressed)."""
    events_body: ByteSize = Field(default=ByteSize(64 << 20), gt=0)
    """``POST /api/v1/events`` (its number of events is capped by
    ``events.max_request_events``)."""


class ReadinessSettings(_Settings):
    """When ``/readyz`` says the server is not ready (docs/operations.md)."""

    source_failure_age: Duration | None = timedelta(minutes=2)
    """Not ready once a scheduled source has failed every run for this long (an upstream
    outage, a store it cannot write); ``null``: sources never make it unready."""


class LeaderSettings(_Settings):
    """Leader election among ``serve`` replicas on one store (docs/operations.md "Replicas
    and leader election"): the replica holding the ``leader`` lease runs the collectors,
    the alert evaluator and the notifiers; it renews the lease every ``renew_every`` and
    stops them as soon as it cannot have renewed it within ``ttl``."""

    ttl: Duration = timedelta(seconds=15)
    """How long the lease holds without a renewal: after a leader dies, another replica
    takes over within about this long."""
    renew_every: Duration = timedelta(seconds=5)
    """How often the leader renews (and a follower tries to take) the lease."""

    @model_validator(mode="after")
    def _renew_well_within_ttl(self) -> LeaderSettings:
        if self.renew_every.total_seconds() <= 0:
            raise ValueError("renew_every must be above 0")
        if self.renew_every * 2 > self.ttl:
            raise ValueError(
                "renew_every must be at most half of ttl, so that one missed renewal does "
                "not lose the lease"
            )
        return self


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
    leader: LeaderSettings = Field(default_factory=LeaderSettings)
    tls: ExporterTLS | None = None
    """HTTPS for the dashboard, the API and ``/metrics``: ``cert_file`` and ``key_file``
    (PEM; relative to the config file's directory), as ``exporter.tls``. Default: plain
    HTTP (on loopback, or behind a proxy that terminates TLS)."""

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


class EventsSettings(_Settings):
    """Voice-agent events (docs/events-ingest.md): how long their records are kept and how
    many one request may send."""

    retention: Duration = timedelta(days=30)
    """Kept (bad and excluded) events and claimed event ids older than this are pruned
    after each ingest; events older than this are refused (they could not be deduplicated).
    Counts and hourly rollups stay."""
    max_request_events: int = Field(default=100_000, ge=1, le=10_000_000)
    """The most events one ``POST /api/v1/events`` may carry (413 beyond)."""
    max_request_spans: int = Field(default=200_000, ge=1, le=100_000_000)
    """The most spans (events or not) one OTLP ``POST /v1/traces`` may carry (413 beyond,
    counted right after decoding)."""
    max_segments: int = Field(default=1_000, ge=1, le=1_000_000)
    """The most series (segments) one events SLO may have; events of a segment beyond it
    are counted under the segment whose values are all ``other`` (reported as
    ``overflow``)."""
    max_dimension_values: int = Field(default=1_000, ge=2, le=1_000_000)
    """The most values of one dimension (``flow`` aside) one ingest adds to an SLO's hourly
    rollups; the rarest beyond it are summed under ``other`` (reported as ``overflow``)."""
    max_future: Duration = timedelta(hours=1)
    """Events timed more than this after now are refused (a located ``time`` problem; the
    OTLP receiver rejects their spans): a producer's clock or time-zone error would
    otherwise count in minutes that have not happened."""

    @field_validator("retention")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        if value < timedelta(days=1):
            raise ValueError("events retention must be at least 1d")
        return value


class Config(_Settings):
    version: Literal[1] = 1
    store: StoreSettings = Field(default_factory=StoreSettings)
    sources: SourcesSettings = Field(default_factory=dict)
    """Source name → its settings, validated by the source plugin (``config_sources``)."""
    gate: GateSettings = Field(default_factory=GateSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    exporter: ExporterSettings = Field(default_factory=ExporterSettings)
    """``errorbudget exporter``: listen address, TLS, scrape authentication."""
    services: list[Service] = Field(default_factory=list)
    policies: list[PolicyPreset] = Field(default_factory=list)
    burn_catalogs: list[BurnCatalog] = Field(default_factory=list)
    holiday_calendars: list[HolidayCalendar] = Field(default_factory=list)
    schedules: list[NamedSchedule] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    slos: list[SLO] = Field(default_factory=list)
    clock: ClockSettings | None = None
    """None: real time."""
    notifications: NotificationSettings | None = None
    """Receivers, routes and delivery retries (docs/alerting.md); None: nothing is sent."""
    events: EventsSettings = Field(default_factory=EventsSettings)
    """Voice-agent events: retention of their records, request caps (issue #12)."""


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
        """The SQLite store file (ConfigError when the store is PostgreSQL: ``store.url``)."""
        settings = self.config.store
        if settings.url is not None:
            raise ConfigError(
                f"the store of {self.path} is a PostgreSQL database (store.url), not a file"
            )
        store = Path(settings.path or DEFAULT_STORE_PATH).expanduser()
        return store if store.is_absolute() else self.path.parent / store

    @property
    def store_location(self) -> str | Path:
        """What ``open_store`` opens: the PostgreSQL URL (``store.url``) or the SQLite file."""
        url = self.config.store.url
        return url if url is not None else self.store_path

    def store_password(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The PostgreSQL password from ``store.password_env`` in ``environ`` (default: this
        process's environment); None for an SQLite store or an unset variable (then libpq's
        ``PGPASSWORD`` or ``.pgpass`` may still give one)."""
        settings = self.config.store
        if settings.url is None:
            return None
        return (os.environ if environ is None else environ).get(settings.password_env)

    def source_settings(self, name: str) -> BaseModel | None:
        """``sources.<name>`` as its plugin validated it (None: not configured)."""
        return self.config.sources.get(name)

    def sources_used(self) -> list[str]:
        """The sources this config uses: configured under ``sources:`` or named by an SLO's
        indicator; built-in ones first in their order, then the others alphabetically (the
        catalog's order, without importing a plugin or reading entry points)."""
        used = set(self.config.sources) | {s.indicator.source for s in self.config.slos}
        builtin = [name for name in BUILTIN_SOURCES if name in used]
        return builtin + sorted(used.difference(BUILTIN_SOURCES))

    def slos_of(self, source: str) -> list[SLO]:
        """The SLOs whose indicator names ``source``."""
        return [s for s in self.config.slos if s.indicator.source == source]

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


# --- validation ------------------------------------------------------------------------------


def _validate(raw: Any, index: NodeIndex, source: str) -> tuple[Config | None, list[Problem]]:
    problems: list[Problem] = []
    config: Config | None = None
    semantic, suppressed = semantic_problems(raw, index, source)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        # mapping errors back to file:line:col is needed only now (not for a valid config)
        from errorbudget.config_errors import error_problem

        for error in exc.errors(include_url=False):
            if error["type"] == "value_error" and tuple(error["loc"]) in suppressed:
                continue  # reported more precisely by the semantic checks
            if index.deepest(error["loc"])[0] in index.unresolved:
                continue  # the missing ${VARIABLE} is the problem, already reported
            problems.append(error_problem(error, index, source, Config))
    problems += semantic
    problems += schedule_problems(raw, index, source)
    problems += window_problems(raw, config, index, source)
    problems += unreachable_warnings(raw, config, index, source)
    return config, problems
