"""The simulator: random access to the conversations of any 15-minute block.

Each block of each queue and flow is generated from its own seed, derived from (seed, queue
or flow id, block number); nothing depends on what was generated before, so a 7-day
backfill, a single day and live generation give the same conversations. A queue block holds
the callers who *entered the queue* in that block: direct arrivals plus callers who left an
IVR flow for this queue (an IVR visit lasts at most 10 minutes, so those come from the
flow's same or previous block). Waits come from an Erlang-A model of the block
(:mod:`errorbudget.simulate.erlang`); outcomes are competing risks: answered when the
offered wait ends before the caller's patience and any in-queue flow-out.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np

from errorbudget.simulate.erlang import ErlangA
from errorbudget.simulate.records import (
    ABANDONED,
    ANSWERED,
    DISCONNECT,
    EXIT,
    FAILURE,
    FLOWED_OUT,
    IVR_OUTCOMES,
    QUEUE_OUTCOMES,
    SUCCESS,
    Conversation,
    FlowArrays,
    QueueArrays,
    datetime_to_ms,
    ms_to_datetime,
)
from errorbudget.simulate.scenario import (
    MAX_IVR_SECONDS,
    SIM_NAMESPACE,
    FlowSpec,
    QueueSpec,
    Scenario,
    ServiceLevelSettings,
)

BLOCK_MS = 15 * 60 * 1000
DAY_MS = 86_400_000
BLOCKS_PER_DAY = DAY_MS // BLOCK_MS
HANDLE_SIGMA = 0.5
MAX_HANDLE_FACTOR = 6.0
_QUEUE, _FLOW, _FLOW_EXTRA = 1, 2, 3

T = TypeVar("T")


class _Lru(OrderedDict[tuple[int, int, int], T]):
    """A bounded cache; one re-entrant lock per simulation makes it thread-safe."""

    def __init__(self, size: int, lock: threading.RLock) -> None:
        super().__init__()
        self.size = size
        self.lock = lock

    def fetch(self, key: tuple[int, int, int], make: Callable[[], T]) -> T:
        with self.lock:
            try:
                self.move_to_end(key)
                return self[key]
            except KeyError:
                value = make()
                self[key] = value
                if len(self) > self.size:
                    self.popitem(last=False)
                return value


class Simulation:
    """A deterministic contact center for ``scenario`` and ``seed``.

    Blocks and whole UTC days of arrays are cached (bounded LRU, thread-safe), so
    repeated and overlapping queries are cheap; cached arrays are shared, do not modify
    them.
    """

    def __init__(self, scenario: Scenario, seed: int = 7, cache_days: int = 512) -> None:
        self.scenario = scenario
        self.seed = seed
        self.zone = scenario.zone
        self._queue_keys = [uuid.UUID(q.id).int & 0xFFFFFFFF for q in scenario.queues]
        self._flow_keys = [uuid.UUID(f.id).int & 0xFFFFFFFF for f in scenario.flows]
        self._exit_shares = [self._shares(flow) for flow in scenario.flows]
        lock = threading.RLock()
        self._blocks: _Lru[QueueArrays | FlowArrays] = _Lru(4 * BLOCKS_PER_DAY * 4, lock)
        # Queue blocks read the flow blocks that transfer into them, queue after queue over
        # the same days: flow blocks get a cache of their own that holds 45 days (a few kB
        # a block), or an LRU scanned by a month's backfill would regenerate every flow
        # block once per queue (measured: 9x the flow work, 60% of a 30-day backfill).
        self._flow_blocks: _Lru[QueueArrays | FlowArrays] = _Lru(
            45 * BLOCKS_PER_DAY * max(1, len(scenario.flows)), lock
        )
        self._days: _Lru[QueueArrays | FlowArrays] = _Lru(cache_days, lock)
        self.max_queue_span_ms = [self._queue_span(q) for q in scenario.queues]
        self._open_hours: dict[tuple[int, int], bool] = {}
        self._settings_lock = threading.Lock()
        self._targets: dict[int, tuple[float, int]] = {}
        self._calculation = scenario.service_level

    # --- the org's service-level settings (changeable while running, like the real org) ---

    def service_level_target(self, queue: int) -> tuple[float, int]:
        """(percent, seconds): the queue's service-level target *now*. Genesys computes
        ``nOverSla`` (and ``oServiceLevel``) of every interval, past ones included, with the
        current target; the generated records keep the scenario's (``over_sla``)."""
        with self._settings_lock:
            spec = self.scenario.queues[queue]
            return self._targets.get(queue, (spec.sl_target_percent, spec.sl_target_seconds))

    def set_service_level_target(
        self, queue: int, *, percent: float | None = None, seconds: int | None = None
    ) -> tuple[float, int]:
        """Change a queue's target (as an admin would in Genesys Cloud); returns the new one."""
        current = self.service_level_target(queue)
        new = (percent if percent is not None else current[0], seconds or current[1])
        if not 0 < new[0] <= 100 or new[1] <= 0:
            raise ValueError("a service-level target is a percentage in (0, 100] and seconds > 0")
        with self._settings_lock:
            self._targets[queue] = new
        return new

    @property
    def service_level_calculation(self) -> ServiceLevelSettings:
        """The org's service-level calculation options now (they apply retroactively)."""
        with self._settings_lock:
            return self._calculation

    def set_service_level_calculation(self, settings: ServiceLevelSettings) -> None:
        with self._settings_lock:
            self._calculation = settings

    # --- public reads -----------------------------------------------------------------

    def queue_day(self, queue: int, day: int) -> QueueArrays:
        """Every conversation that entered queue ``queue`` (index) on UTC day ``day``."""
        made = self._days.fetch(
            (_QUEUE, queue, day),
            lambda: QueueArrays.concat(
                [self.queue_block(queue, day * BLOCKS_PER_DAY + i) for i in range(96)]
            ),
        )
        assert isinstance(made, QueueArrays)
        return made

    def flow_day(self, flow: int, day: int) -> FlowArrays:
        made = self._days.fetch(
            (_FLOW, flow, day),
            lambda: FlowArrays.concat(
                [self.flow_block(flow, day * BLOCKS_PER_DAY + i) for i in range(96)]
            ),
        )
        assert isinstance(made, FlowArrays)
        return made

    def queue_range(self, queue: int, start_ms: int, end_ms: int) -> Iterator[QueueArrays]:
        """Day arrays holding every conversation with an event in ``[start_ms, end_ms)``."""
        first = (start_ms - self.max_queue_span_ms[queue]) // DAY_MS
        for day in range(first, (end_ms - 1) // DAY_MS + 1):
            yield self.queue_day(queue, day)

    def flow_range(self, flow: int, start_ms: int, end_ms: int) -> Iterator[FlowArrays]:
        first = (start_ms - MAX_IVR_SECONDS * 1000) // DAY_MS
        for day in range(first, (end_ms - 1) // DAY_MS + 1):
            yield self.flow_day(flow, day)

    def conversations(
        self, start: datetime, end: datetime, queue: str | None = None
    ) -> list[Conversation]:
        """Conversations that *started* in ``[start, end)``, by start time (``queue``: one
        queue's, by id or name; otherwise every queue's and the IVR-only ones)."""
        start_ms, end_ms = datetime_to_ms(start), datetime_to_ms(end)
        found: list[Conversation] = []
        wanted = [self.scenario.queues.index(self.scenario.queue(queue))] if queue else None
        for q in wanted if wanted is not None else range(len(self.scenario.queues)):
            for arrays in self.queue_range(q, start_ms, end_ms + MAX_IVR_SECONDS * 1000):
                keep = np.flatnonzero((arrays.start_ms >= start_ms) & (arrays.start_ms < end_ms))
                found.extend(self._queue_record(q, arrays, int(i)) for i in keep)
        if wanted is None:
            for f in range(len(self.scenario.flows)):
                for flows in self.flow_range(f, start_ms, end_ms):
                    keep = np.flatnonzero(
                        (flows.start_ms >= start_ms)
                        & (flows.start_ms < end_ms)
                        & (flows.exit_queue < 0)
                    )
                    found.extend(self._flow_record(f, flows, int(i)) for i in keep)
        found.sort(key=lambda c: (c.start, c.id))
        return found

    # --- rates --------------------------------------------------------------------------

    def _local(self, ms: int) -> datetime:
        return ms_to_datetime(ms).astimezone(self.zone)

    def _shape(self, intraday: list[float], weekly: list[float], ms: int) -> float:
        local = self._local(ms)
        hour = local.hour + local.minute / 60 - 0.5
        low = math.floor(hour)
        frac = hour - low
        value = intraday[low % 24] * (1 - frac) + intraday[(low + 1) % 24] * frac
        return value * weekly[local.weekday()]

    def _incident_factors(self, ms: int, queue: QueueSpec) -> tuple[float, float, float, float]:
        moment = ms_to_datetime(ms)
        staffing = arrivals = patience = handle = 1.0
        for incident in self.scenario.incidents:
            if incident.active(moment) and incident.targets_queue(queue):
                staffing *= incident.staffing_factor
                arrivals *= incident.arrival_factor
                patience *= incident.patience_factor
                handle *= incident.handle_factor
        return staffing, arrivals, patience, handle

    def flow_probabilities(self, flow: int, ms: int) -> np.ndarray:
        """P(success, failure, disconnect, exit) of an entry at ``ms`` (incidents applied)."""
        spec = self.scenario.flows[flow]
        p = np.array([spec.p_success, spec.p_failure, spec.p_disconnect, spec.p_exit])
        moment = ms_to_datetime(ms)
        for incident in self.scenario.incidents:
            if incident.ivr_failure is None or not incident.active(moment):
                continue
            if not incident.targets_flow(spec):
                continue
            extra = max(0.0, incident.ivr_failure - p[FAILURE])
            for k in (SUCCESS, EXIT, DISCONNECT):
                taken = min(extra, p[k])
                p[k] -= taken
                p[FAILURE] += taken
                extra -= taken
        normalized: np.ndarray = p / p.sum()
        return normalized

    def flow_rate(self, flow: int, ms: int) -> float:
        """Flow entries per second at ``ms``."""
        spec = self.scenario.flows[flow]
        moment = ms_to_datetime(ms)
        factor = 1.0
        for incident in self.scenario.incidents:
            if incident.active(moment) and incident.targets_flow(spec):
                factor *= incident.arrival_factor
        shape = self._shape(spec.seasonality.intraday, spec.seasonality.weekly, ms)
        return spec.peak_per_hour * shape * factor / 3600

    def queue_rate(self, queue: int, ms: int) -> float:
        """Queue entries per second at ``ms``: direct arrivals plus IVR transfers."""
        spec = self.scenario.queues[queue]
        _, arrivals, _, _ = self._incident_factors(ms, spec)
        shape = self._shape(spec.seasonality.intraday, spec.seasonality.weekly, ms)
        if not self.accepts(queue, ms):
            return 0.0
        rate = spec.peak_per_hour * shape * arrivals / 3600
        for f, shares in enumerate(self._exit_shares):
            if shares[queue] > 0:
                p = self.flow_probabilities(f, ms)
                transfers = p[FAILURE] * (1 - self.scenario.flows[f].p_failure_disconnect)
                rate += self.flow_rate(f, ms) * (transfers + p[EXIT]) * shares[queue]
        return rate

    def is_open(self, queue: int, ms: int) -> bool:
        """Whether the schedule staffs the queue in the hour containing ``ms``."""
        hour = ms - ms % 3_600_000
        key = (queue, hour)
        if key not in self._open_hours:
            local = self._local(hour + 1_800_000)
            staffed = self.scenario.queues[queue].staffing[local.weekday() * 24 + local.hour]
            self._open_hours[key] = staffed > 0
        return self._open_hours[key]

    def accepts(self, queue: int, ms: int) -> bool:
        """Whether a caller arriving at ``ms`` may enter the queue (open, or waits)."""
        return not self.scenario.queues[queue].rejects_after_hours or self.is_open(queue, ms)

    def agents(self, queue: int, ms: int) -> int:
        """Agents on queue at ``ms`` (the schedule's hour of the week, incidents applied)."""
        spec = self.scenario.queues[queue]
        local = self._local(ms)
        scheduled = spec.staffing[local.weekday() * 24 + local.hour]
        staffing, _, _, _ = self._incident_factors(ms, spec)
        return math.floor(scheduled * staffing + 0.5)

    def model(self, queue: int, ms: int) -> ErlangA:
        """The Erlang-A model of the block containing ``ms``."""
        spec = self.scenario.queues[queue]
        mid = ms - ms % BLOCK_MS + BLOCK_MS // 2
        _, _, patience, handle = self._incident_factors(mid, spec)
        abandon = 0.0
        if spec.mean_patience_seconds is not None:
            abandon = 1.0 / (spec.mean_patience_seconds * max(patience, 1e-6))
        return ErlangA(
            arrival_rate=self.queue_rate(queue, mid),
            agents=self.agents(queue, mid),
            service_rate=1.0 / (spec.mean_handle_seconds * max(handle, 1e-6)),
            abandon_rate=abandon,
        )

    # --- generation ---------------------------------------------------------------------

    def _rng(self, kind: int, key: int, block: int) -> np.random.Generator:
        return np.random.default_rng([self.seed & 0xFFFFFFFF, kind, key, block & 0xFFFFFFFF])

    def flow_block(self, flow: int, block: int) -> FlowArrays:
        made = self._flow_blocks.fetch((_FLOW, flow, block), lambda: self._make_flow(flow, block))
        assert isinstance(made, FlowArrays)
        return made

    def queue_block(self, queue: int, block: int) -> QueueArrays:
        made = self._blocks.fetch((_QUEUE, queue, block), lambda: self._make_queue(queue, block))
        assert isinstance(made, QueueArrays)
        return made

    def _make_flow(self, flow: int, block: int) -> FlowArrays:
        spec = self.scenario.flows[flow]
        rng = self._rng(_FLOW, self._flow_keys[flow], block)
        start = block * BLOCK_MS
        mid = start + BLOCK_MS // 2
        count = int(rng.poisson(self.flow_rate(flow, mid) * BLOCK_MS / 1000))
        starts = np.sort(rng.integers(start, start + BLOCK_MS, size=count))
        outcome = rng.choice(4, size=count, p=self.flow_probabilities(flow, mid)).astype(np.int8)
        mean_ms = spec.mean_seconds * 1000
        duration = np.minimum(
            rng.gamma(2.0, mean_ms / 2.0, size=count) + 1000, MAX_IVR_SECONDS * 1000
        ).astype(np.int64)
        reached = (outcome == SUCCESS) | (outcome == FAILURE)
        outcome_ms = np.where(
            reached, (duration * rng.uniform(0.6, 0.95, size=count)).astype(np.int64), -1
        )
        shares = self._exit_shares[flow]
        # extra outcomes and failures that hang up: a stream of their own, so the draws
        # above (and the queues fed by this flow) do not depend on these settings
        extra = self._rng(_FLOW_EXTRA, self._flow_keys[flow], block)
        hangs_up = (outcome == FAILURE) & (extra.random(count) < spec.p_failure_disconnect)
        transferred = ((outcome == FAILURE) & ~hangs_up) | (outcome == EXIT)
        if shares.sum() > 0:
            target = rng.choice(len(shares), size=count, p=shares / shares.sum())
        else:
            target = np.full(count, -1)
        exit_queue = np.where(transferred, target, -1).astype(np.int16)
        ends = starts + duration
        for i in np.flatnonzero(exit_queue >= 0):
            if not self.accepts(int(exit_queue[i]), int(ends[i])):
                # After hours the flow does not transfer: it plays the closed message (its
                # main outcome succeeds: the caller learns when to call back) and the caller
                # hangs up in the flow. Counting these visits as hang-ups before any outcome
                # made the IVR look broken every night.
                exit_queue[i] = -1
                outcome[i] = SUCCESS
                outcome_ms[i] = int(duration[i] * 0.9)
        has_extra = extra.random(count) < spec.p_extra_outcome
        others = max(1, len(spec.outcomes) - 1)
        extra_index = 1 + extra.integers(0, others, size=count)
        extra_failed = extra.random(count) < spec.p_extra_failed
        extra_at = (duration * extra.uniform(0.1, 0.5, size=count)).astype(np.int64)
        return FlowArrays(
            key_block=np.full(count, block, dtype=np.int64),
            key_index=np.arange(count, dtype=np.int64),
            start_ms=starts.astype(np.int64),
            duration_ms=duration,
            outcome=outcome,
            outcome_ms=outcome_ms,
            exit_queue=exit_queue,
            extra_outcome=np.where(has_extra, extra_index, -1).astype(np.int16),
            extra_failed=has_extra & extra_failed,
            extra_ms=np.where(has_extra, extra_at, -1).astype(np.int64),
        )

    def _make_queue(self, queue: int, block: int) -> QueueArrays:
        spec = self.scenario.queues[queue]
        rng = self._rng(_QUEUE, self._queue_keys[queue], block)
        start, mid = block * BLOCK_MS, block * BLOCK_MS + BLOCK_MS // 2
        _, arrivals, patience_f, handle_f = self._incident_factors(mid, spec)
        shape = self._shape(spec.seasonality.intraday, spec.seasonality.weekly, mid)
        rate = spec.peak_per_hour * shape * arrivals if self.accepts(queue, mid) else 0.0
        direct = int(rng.poisson(rate * BLOCK_MS / 3_600_000))
        direct_entry = rng.integers(start, start + BLOCK_MS, size=direct).astype(np.int64)
        columns: dict[str, list[np.ndarray]] = {
            "key_block": [np.full(direct, block, dtype=np.int64)],
            "key_index": [np.arange(direct, dtype=np.int64)],
            "origin_flow": [np.full(direct, -1, dtype=np.int16)],
            "start_ms": [direct_entry],
            "ivr_ms": [np.zeros(direct, dtype=np.int64)],
            "ivr_outcome": [np.full(direct, -1, dtype=np.int8)],
        }
        for f in range(len(self.scenario.flows)):
            for flow_block in (block - 1, block):
                flows = self.flow_block(f, flow_block)
                entry = flows.end_ms
                take = (flows.exit_queue == queue) & (entry >= start) & (entry < start + BLOCK_MS)
                n = int(take.sum())
                columns["key_block"].append(flows.key_block[take])
                columns["key_index"].append(flows.key_index[take])
                columns["origin_flow"].append(np.full(n, f, dtype=np.int16))
                columns["start_ms"].append(flows.start_ms[take])
                columns["ivr_ms"].append(flows.duration_ms[take])
                columns["ivr_outcome"].append(flows.outcome[take])
        merged = {name: np.concatenate(parts) for name, parts in columns.items()}
        entry = merged["start_ms"] + merged["ivr_ms"]
        order = np.argsort(entry, kind="stable")
        merged = {name: values[order] for name, values in merged.items()}
        entry = entry[order]
        n = len(entry)

        offered = self._offered_waits(queue, block, rng, entry)
        if spec.mean_patience_seconds is None:
            patience = np.full(n, np.inf)
        else:
            patience = rng.exponential(spec.mean_patience_seconds * patience_f, size=n)
        takes_option = rng.random(n) < spec.flow_out_probability
        option_at = rng.exponential(spec.mean_flow_out_seconds, size=n)
        flow_out_at = np.minimum(np.where(takes_option, option_at, np.inf), spec.max_wait_seconds)
        handle_mean = spec.mean_handle_seconds * handle_f
        handle = np.minimum(
            rng.lognormal(math.log(handle_mean) - HANDLE_SIGMA**2 / 2, HANDLE_SIGMA, size=n),
            MAX_HANDLE_FACTOR * handle_mean,
        )

        answered = (offered <= patience) & (offered <= flow_out_at)
        abandoned = ~answered & (patience < flow_out_at)
        outcome = np.where(answered, ANSWERED, np.where(abandoned, ABANDONED, FLOWED_OUT))
        wait_s = np.where(answered, offered, np.minimum(patience, flow_out_at))
        wait_ms = np.round(wait_s * 1000).astype(np.int64)
        return QueueArrays(
            key_block=merged["key_block"],
            key_index=merged["key_index"],
            origin_flow=merged["origin_flow"],
            start_ms=merged["start_ms"],
            ivr_ms=merged["ivr_ms"],
            ivr_outcome=merged["ivr_outcome"],
            entry_ms=entry,
            wait_ms=wait_ms,
            outcome=outcome.astype(np.int8),
            handle_ms=np.where(answered, np.round(handle * 1000), 0).astype(np.int64),
            short_abandon=abandoned & (wait_ms < spec.short_abandon_seconds * 1000),
            over_sla=answered & (wait_ms > spec.sl_target_seconds * 1000),
        )

    def _offered_waits(
        self, queue: int, block: int, rng: np.random.Generator, entry: np.ndarray
    ) -> np.ndarray:
        """Offered waits (seconds). In a block without agents the caller waits for the next
        staffed hour, then for that hour's queue (how email and callbacks carry overnight)."""
        start, size = block * BLOCK_MS, len(entry)
        model = self.model(queue, start)
        if model.agents > 0 or size == 0:
            return model.sample_offered_waits(rng, size)
        opens = self._next_staffed(queue, start)
        if opens is None:
            return np.full(size, np.inf)
        later = self.model(queue, opens)
        waits: np.ndarray = (opens - entry) / 1000 + later.sample_offered_waits(rng, size)
        return waits

    def _next_staffed(self, queue: int, ms: int) -> int | None:
        hour = ms - ms % 3_600_000
        for step in range(1, 24 * 8):
            candidate = hour + step * 3_600_000
            if self.agents(queue, candidate + BLOCK_MS // 2) > 0:
                return candidate
        return None

    # --- helpers ------------------------------------------------------------------------

    def _shares(self, flow: FlowSpec) -> np.ndarray:
        names = [q.name for q in self.scenario.queues]
        shares = np.zeros(len(names))
        for name, share in flow.exit_queues.items():
            shares[names.index(name)] = share
        total = shares.sum()
        return shares / total if total > 0 else shares

    def _queue_span(self, spec: QueueSpec) -> int:
        handle = max(
            [1.0] + [i.handle_factor for i in self.scenario.incidents if i.targets_queue(spec)]
        )
        return int(
            (spec.max_wait_seconds + MAX_HANDLE_FACTOR * spec.mean_handle_seconds * handle + 1)
            * 1000
        )

    def conversation_id(self, kind: str, entity: str, block: int, index: int) -> str:
        return str(uuid.uuid5(SIM_NAMESPACE, f"{self.seed}:{kind}:{entity}:{block}:{index}"))

    def _queue_record(self, queue: int, arrays: QueueArrays, i: int) -> Conversation:
        spec = self.scenario.queues[queue]
        origin = int(arrays.origin_flow[i])
        flow = self.scenario.flows[origin] if origin >= 0 else None
        kind, entity = ("flow", flow.id) if flow else ("queue", spec.id)
        entry = int(arrays.entry_ms[i])
        wait = int(arrays.wait_ms[i])
        return Conversation(
            id=self.conversation_id(
                kind, entity, int(arrays.key_block[i]), int(arrays.key_index[i])
            ),
            media_type=spec.media_type,
            queue_id=spec.id,
            flow_id=flow.id if flow else None,
            start=ms_to_datetime(int(arrays.start_ms[i])),
            ivr_outcome=IVR_OUTCOMES[int(arrays.ivr_outcome[i])] if flow else None,
            ivr_ms=int(arrays.ivr_ms[i]),
            queue_entry=ms_to_datetime(entry),
            outcome=QUEUE_OUTCOMES[int(arrays.outcome[i])],
            ended_waiting=ms_to_datetime(entry + wait),
            wait_ms=wait,
            short_abandon=bool(arrays.short_abandon[i]),
            over_sla=bool(arrays.over_sla[i]),
            handle_ms=int(arrays.handle_ms[i]),
        )

    def _flow_record(self, flow: int, arrays: FlowArrays, i: int) -> Conversation:
        spec = self.scenario.flows[flow]
        return Conversation(
            id=self.conversation_id(
                "flow", spec.id, int(arrays.key_block[i]), int(arrays.key_index[i])
            ),
            media_type="voice",
            queue_id=None,
            flow_id=spec.id,
            start=ms_to_datetime(int(arrays.start_ms[i])),
            ivr_outcome=IVR_OUTCOMES[int(arrays.outcome[i])],
            ivr_ms=int(arrays.duration_ms[i]),
            queue_entry=None,
            outcome=None,
            ended_waiting=None,
            wait_ms=0,
            short_abandon=False,
            over_sla=False,
            handle_ms=0,
        )


def day_of(moment: datetime) -> int:
    return datetime_to_ms(moment) // DAY_MS


def block_of(moment: datetime) -> int:
    return datetime_to_ms(moment) // BLOCK_MS


BLOCK = timedelta(milliseconds=BLOCK_MS)
