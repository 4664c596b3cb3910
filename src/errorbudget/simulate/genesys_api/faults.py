"""Fault injection for the fake Genesys Cloud API, parsed from a one-line spec.

Syntax: comma-separated ``key=value`` items (``--faults`` of ``errorbudget simulate
genesys``)::

    429=0.3               30 % of API requests get 429 + Retry-After (default 1 s) …
    429=0.3:2s            … with Retry-After 2 s
    429=0.05:2s:20        … or storms: with probability 0.05 a storm of 20 requests starts
    5xx=0.1               10 % of API requests get a 500/502/503/504 …
    5xx=0.02:5            … or bursts: with probability 0.02 a burst of 5 failures starts
    slow=0.05:2s          5 % of API requests are delayed 2 s before they are answered
    malformed=0.01        1 % of successful API responses have a truncated JSON body
    revoke-token-after=50 every token issued so far is revoked at the 50th API request
    expire-token-early=0.2      20 % of new tokens die early, within 30 s …
    expire-token-early=0.2:10s  … within 10 s (still advertising the full ``expires_in``)
    outage=+2h:5m         full outage (every request, token included: 503) from 2 h after
                          the simulated start, for 5 simulated minutes; ISO start also
                          accepted (``outage=2026-11-02T14:00Z:5m``); repeatable
    inconsistent=+30m     the first conversation aggregates answer covering the interval
                          that holds that instant reports, for its first queue with data
                          there, a negative nOverSla (−(abandoned + 1)): answered within
                          the service level would exceed answered + abandoned. Later
                          answers are clean (a re-fetch resolves it) …
    inconsistent=+30m:3   … or the first 3 answers; ISO instants accepted; repeatable
    seed=3                fault decisions' seed (default: the simulation seed)

Decisions are drawn from one seeded generator in request order, so the n-th request meets
the same fault in every run with the same seed (a concurrent client may send its requests
in a different order). ``/api/v2/summary.json`` and ``/_fake/*`` are never faulted.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from errorbudget.durations import parse_duration
from errorbudget.simulate.intervals import parse_instant

Fault = Literal["429", "5xx", "slow", "malformed"]


class FaultSpecError(ValueError):
    """A ``--faults`` spec that cannot be parsed; the message names the item."""


@dataclass(frozen=True, slots=True)
class Outage:
    start: datetime | timedelta
    """Absolute, or relative to the simulated clock's start."""
    length: timedelta

    def window(self, clock_start: datetime) -> tuple[datetime, datetime]:
        begin = clock_start + self.start if isinstance(self.start, timedelta) else self.start
        return begin, begin + self.length


@dataclass(frozen=True, slots=True)
class Inconsistency:
    at: datetime | timedelta
    """Absolute, or relative to the simulated clock's start."""
    answers: int = 1
    """How many answers covering it are corrupted."""

    def instant(self, clock_start: datetime) -> datetime:
        return clock_start + self.at if isinstance(self.at, timedelta) else self.at


@dataclass(frozen=True, slots=True)
class FaultSpec:
    rate_429: float = 0.0
    retry_after_seconds: int = 1
    storm_429: int = 1
    rate_5xx: float = 0.0
    burst_5xx: int = 1
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    rate_malformed: float = 0.0
    revoke_token_after: int | None = None
    rate_expire_early: float = 0.0
    expire_within_seconds: float = 30.0
    outages: tuple[Outage, ...] = ()
    inconsistencies: tuple[Inconsistency, ...] = ()
    seed: int | None = None

    @property
    def empty(self) -> bool:
        return self == FaultSpec(seed=self.seed)


def _rate(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{key}: {text!r} is not a probability") from None
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{key}: {text!r} is not a probability between 0 and 1")
    return value


def _seconds(key: str, text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise FaultSpecError(f"{key}: {exc}") from None


def _count(key: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise FaultSpecError(f"{key}: {text!r} is not a positive whole number")
    return int(text)


def parse_faults(spec: str | None) -> FaultSpec:
    """Parse a ``--faults`` spec (see the module docstring); ``""``/None = no faults."""
    values: dict[str, object] = {}
    outages: list[Outage] = []
    inconsistencies: list[Inconsistency] = []
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise FaultSpecError(f"{item!r} is not KEY=VALUE")
        parts = value.split(":")
        if key == "429":
            values["rate_429"] = _rate(key, parts[0])
            if len(parts) > 1:
                values["retry_after_seconds"] = max(1, round(_seconds(key, parts[1])))
            if len(parts) > 2:
                values["storm_429"] = _count(key, parts[2])
        elif key == "5xx":
            values["rate_5xx"] = _rate(key, parts[0])
            if len(parts) > 1:
                values["burst_5xx"] = _count(key, parts[1])
        elif key == "slow":
            values["rate_slow"] = _rate(key, parts[0])
            if len(parts) > 1:
                values["slow_seconds"] = _seconds(key, parts[1])
        elif key == "malformed":
            values["rate_malformed"] = _rate(key, value)
        elif key == "revoke-token-after":
            values["revoke_token_after"] = _count(key, value)
        elif key == "expire-token-early":
            values["rate_expire_early"] = _rate(key, parts[0])
            if len(parts) > 1:
                values["expire_within_seconds"] = _seconds(key, parts[1])
        elif key == "outage":
            outages.append(_outage(value))
        elif key == "inconsistent":
            inconsistencies.append(_inconsistency(value))
        elif key == "seed":
            if not value.isdigit():
                raise FaultSpecError(f"seed: {value!r} is not a whole number")
            values["seed"] = int(value)
        else:
            raise FaultSpecError(
                f"unknown fault {key!r} (known: 429, 5xx, slow, malformed, revoke-token-after, "
                "expire-token-early, outage, inconsistent, seed)"
            )
    values["inconsistencies"] = tuple(inconsistencies)
    return FaultSpec(outages=tuple(outages), **values)  # type: ignore[arg-type]


def _outage(value: str) -> Outage:
    start_text, sep, length_text = value.rpartition(":")
    if not sep:
        raise FaultSpecError(f"outage: {value!r} is not START:LENGTH (e.g. +2h:5m)")
    length = timedelta(seconds=_seconds("outage", length_text))
    if start_text.startswith("+"):
        return Outage(timedelta(seconds=_seconds("outage", start_text[1:])), length)
    try:
        return Outage(parse_instant(start_text), length)
    except ValueError:
        raise FaultSpecError(f"outage: {start_text!r} is neither +DURATION nor a time") from None


def _inconsistency(value: str) -> Inconsistency:
    text, answers = value, 1
    head, sep, tail = value.rpartition(":")
    if sep and tail.isdigit():  # START:N, unless the whole value is an instant (…T14:00)
        try:
            parse_instant(value)
        except ValueError:
            text, answers = head, _count("inconsistent", tail)
    if text.startswith("+"):
        return Inconsistency(timedelta(seconds=_seconds("inconsistent", text[1:])), answers)
    try:
        return Inconsistency(parse_instant(text), answers)
    except ValueError:
        raise FaultSpecError(f"inconsistent: {text!r} is neither +DURATION nor a time") from None


def corrupt_interval(answer: dict[str, Any], at: datetime) -> bool:
    """Make the first group with data in the interval holding ``at`` inconsistent (a
    negative ``nOverSla``, and negative answered-within views, so the row is wrong whether
    a service level is counted from ``nOverSla`` or from a target's view); False when no
    group has data there."""
    for result in answer.get("results") or []:
        for point in result.get("data") or []:
            start_text, _, end_text = str(point.get("interval", "")).partition("/")
            try:
                start, end = parse_instant(start_text), parse_instant(end_text)
            except ValueError:
                continue
            if not start <= at < end:
                continue
            metrics = point.setdefault("metrics", [])
            counts = {m["metric"]: m.get("stats", {}).get("count", 0) for m in metrics}
            metrics[:] = [m for m in metrics if m["metric"] != "nOverSla"]
            metrics.append(
                {"metric": "nOverSla", "stats": {"count": -(counts.get("tAbandon", 0) + 1)}}
            )
            for view in point.get("views") or []:
                view["stats"] = {**view.get("stats", {}), "count": -1}
            return True
    return False


@dataclass(slots=True)
class Decision:
    """What happens to one API request."""

    status: int | None = None
    """An injected error status (429 or 5xx), or None."""
    delay_seconds: float = 0.0
    malformed: bool = False
    revoke_now: bool = False
    faults: list[str] = field(default_factory=list)


class FaultInjector:
    """Draws the fault decisions, in request order, from one seeded generator."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self._random = random.Random(spec.seed if spec.seed is not None else seed)
        self._lock = threading.Lock()
        self._requests = 0
        self._storm_left = 0
        self._burst_left = 0
        self._corrupted = [0] * len(spec.inconsistencies)

    def decide(self) -> Decision:
        spec = self.spec
        with self._lock:
            self._requests += 1
            draws = [self._random.random() for _ in range(5)]
            decision = Decision()
            if spec.revoke_token_after and self._requests == spec.revoke_token_after:
                decision.revoke_now = True
            if self._storm_left == 0 and draws[0] < spec.rate_429:
                self._storm_left = spec.storm_429
            if self._burst_left == 0 and draws[1] < spec.rate_5xx:
                self._burst_left = spec.burst_5xx
            if self._storm_left:
                self._storm_left -= 1
                decision.status = 429
                decision.faults.append("429")
            elif self._burst_left:
                self._burst_left -= 1
                decision.status = (500, 502, 503, 504)[int(draws[2] * 4)]
                decision.faults.append("5xx")
            if draws[3] < spec.rate_slow:
                decision.delay_seconds = spec.slow_seconds
                decision.faults.append("slow")
            if decision.status is None and draws[4] < spec.rate_malformed:
                decision.malformed = True
                decision.faults.append("malformed")
            return decision

    def uniform(self) -> float:
        """One draw in [0, 1) from the generator (for incident-driven errors)."""
        with self._lock:
            return self._random.random()

    def token_lifetime(self, ttl_seconds: float) -> tuple[float, bool]:
        """(real seconds a new token really lives, whether it dies early)."""
        with self._lock:
            early = self._random.random() < self.spec.rate_expire_early
            within = self._random.uniform(0.2, 1.0) * self.spec.expire_within_seconds
        return (min(ttl_seconds, within), True) if early else (ttl_seconds, False)

    def corrupt(self, answer: dict[str, Any], clock_start: datetime) -> bool:
        """Apply the ``inconsistent`` faults still due to a conversation aggregates answer."""
        done = False
        with self._lock:
            for index, fault in enumerate(self.spec.inconsistencies):
                if self._corrupted[index] >= fault.answers:
                    continue
                if corrupt_interval(answer, fault.instant(clock_start)):
                    self._corrupted[index] += 1
                    done = True
        return done

    def in_outage(self, now: datetime, clock_start: datetime) -> bool:
        for outage in self.spec.outages:
            begin, end = outage.window(clock_start)
            if begin <= now < end:
                return True
        return False
