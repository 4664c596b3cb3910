"""The voice-agent simulator: calls, turns, tasks, escalations and synthetic checks, drawn
with numpy (vectorised), one UTC day at a time.

Determinism: a day's events come from its own generator, seeded by ``(seed, day)``, and are
drawn whole before the period cuts them, so the same seed gives the same events (and ids)
whatever the period asked for and in whatever order days are generated.

Every event is the consequence of a *decision* the simulator draws first (a call's fate, a
turn's stage times, whether a task needed a human, whether the agent escalated …); the event
fields are written from those decisions, and :mod:`.truth` counts the starter kit's good and
eligible events from the decisions, never from the fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from errorbudget.simulate.voice_agent.scenario import (
    STAGE_MEDIANS_MS,
    STAGE_SIGMA,
    VoiceScenario,
)
from errorbudget.sources.events.fields import END_REASONS, OUTCOMES, STAGES  # the event model's

MS_PER_MINUTE = 60_000
MINUTES_PER_DAY = 1_440
CALL_LOOKBACK_MS = 3_600_000
"""How long a call's events can follow its start (turns every 3-12 s: a call of 60 turns
ends within 15 minutes)."""


CALLS_PER_MINUTE_IDS = 10_000
"""A call's id is its minute × this + its index in the minute (tables.py splits it back)."""

PROVIDER_DIMENSION = {"tts": "tts_provider", "asr": "asr_provider", "llm": "model"}
"""Which dimension names a stage's provider (a latency incident on another stage hits every
turn)."""

# a call's fate, drawn first; the call event's fields follow from it
OK, CONNECT_FAILURE, WRONG_ROUTE, DEAD_AIR, HANGUP_BEFORE_GREETING = range(5)
FATES = ("ok", "connect_failure", "wrong_route", "dead_air", "hangup_before_greeting")
AGENT_FAILURE_OUTCOMES = (2, 3, 4)  # wrong_action, fallback_loop, failed
FAILURE_REASONS = (
    None,
    "caller_abandoned",
    "wrong_action",
    "fallback_loop",
    "tool_error",
    "unnecessary_transfer",
    "missed_escalation",
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return round(moment.astimezone(UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Each dimension's values; events hold their index (a code)."""

    values: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, scenario: VoiceScenario) -> Vocabulary:
        flows = scenario.flows
        prompts = [f.prompt_version for f in flows] + [r.prompt_version for r in scenario.releases]
        return cls(
            {
                "flow": tuple(f.name for f in flows),
                "intent": unique(i for f in flows for i in f.intents),
                "route": unique(f.route for f in flows),
                "agent_version": unique(version for _, version in scenario.agent_versions),
                "prompt_version": unique(prompts),
                "model": unique(f.model for f in flows),
                "asr_provider": unique(f.asr_provider for f in flows),
                "tts_provider": unique(f.tts_provider for f in flows),
                "language": unique(f.language for f in flows),
                "risk_tier": unique(f.risk_tier for f in flows),
                "region": tuple(scenario.regions),
            }
        )

    def code(self, dimension: str, value: str) -> int:
        return self.values[dimension].index(value)


def unique(values: object) -> tuple[str, ...]:
    """Distinct strings in first-seen order."""
    return tuple(dict.fromkeys(values))  # type: ignore[call-overload]


@dataclass(slots=True)
class Frame:
    """One event type's rows of a day: event columns (numpy; nullable ones with a presence
    mask in ``present``), dimension codes, and the decisions they were written from."""

    time_ms: IntArray
    call: IntArray
    """Index of the row's call in the day's calls (-1: a synthetic check)."""
    dims: dict[str, npt.NDArray[np.int16]]
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    present: dict[str, BoolArray] = field(default_factory=dict)
    decisions: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.time_ms)

    def take(self, keep: BoolArray) -> Frame:
        return Frame(
            time_ms=self.time_ms[keep],
            call=self.call[keep],
            dims={k: v[keep] for k, v in self.dims.items()},
            columns={k: v[keep] for k, v in self.columns.items()},
            present={k: v[keep] for k, v in self.present.items()},
            decisions={k: v[keep] for k, v in self.decisions.items()},
        )


@dataclass(slots=True)
class VoiceDay:
    """The events of one simulated UTC day (calls that start that day, and what follows
    from them, possibly a few minutes into the next day) within the period asked for."""

    day: int
    """Epoch day."""
    seed: int
    frames: dict[str, Frame]
    """Event type → its rows: ``call``, ``turn``, ``task``, ``escalation``, ``synthetic``."""
    call_keys: IntArray
    """Each call's key (epoch minute × 10,000 + its index in the minute): its id's digits."""

    @property
    def events(self) -> int:
        return sum(len(frame) for frame in self.frames.values())


class VoiceAgentSimulator:
    """Random access to the simulated voice agent's events, day by day."""

    def __init__(self, scenario: VoiceScenario, *, seed: int = 7) -> None:
        self.scenario = scenario
        self.seed = seed
        self.vocabulary = Vocabulary.of(scenario)
        self._flow_tables()

    def _flow_tables(self) -> None:
        voc, flows = self.vocabulary, self.scenario.flows
        shares = np.array([f.share for f in flows], dtype=np.float64)
        self._flow_p = shares / shares.sum()
        self._intent_offsets = []
        for f in flows:
            self._intent_offsets.append([voc.code("intent", i) for i in f.intents])
        self._flow_dim: dict[str, npt.NDArray[np.int16]] = {
            dim: np.array([voc.code(dim, getattr(f, dim)) for f in flows], dtype=np.int16)
            for dim in (
                "route",
                "prompt_version",
                "model",
                "asr_provider",
                "tts_provider",
                "language",
                "risk_tier",
            )
        }
        self._tool_share = np.array([f.tool_turn_share for f in flows])
        self._crm_share = np.array([f.crm_turn_share for f in flows])
        self._wer_median = np.array([f.wer_median for f in flows])
        self.wer_threshold = np.array([f.wer_threshold for f in flows])
        self._agent_failure = np.array([f.agent_failure for f in flows])
        self._required = np.array([f.escalation_required for f in flows])
        self._small_model = np.array([f.model.endswith("/small") for f in flows])
        self.critical_flows = np.array([i for i, f in enumerate(flows) if f.critical], dtype=int)

    # --- the period -------------------------------------------------------------------------

    def days(self, start: datetime, end: datetime) -> Iterator[VoiceDay]:
        """The events of calls starting in ``[start, end)`` (and synthetic checks in it), day
        by day; events after ``end`` (a call's last turns) are left out."""
        start_ms, end_ms = to_ms(start), to_ms(end)
        first_day = start_ms // (MS_PER_MINUTE * MINUTES_PER_DAY)
        last_day = (end_ms - 1) // (MS_PER_MINUTE * MINUTES_PER_DAY)
        for day in range(first_day, last_day + 1):
            whole = self.day(day)
            yield cut(whole, start_ms, end_ms)

    def window(self, start: datetime, end: datetime) -> Iterator[VoiceDay]:
        """The events whose time is in ``[start, end)``, day by day: what a producer has sent
        by ``end`` when it sent everything before ``start`` already (calls that began up to
        :data:`CALL_LOOKBACK_MS` before ``start`` bring their later turns, tasks and
        escalations). A live feed asks for consecutive windows; together they hold each
        event once."""
        start_ms, end_ms = to_ms(start), to_ms(end)
        first = start_ms - CALL_LOOKBACK_MS
        ms_per_day = MS_PER_MINUTE * MINUTES_PER_DAY
        for day in range(first // ms_per_day, (end_ms - 1) // ms_per_day + 1):
            yield cut(self.day(day), first, end_ms, events_from=start_ms)

    def day(self, day: int) -> VoiceDay:
        """Every event of the calls starting on epoch day ``day`` (and its synthetic
        checks)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, day]))
        scenario = self.scenario
        m0 = day * MINUTES_PER_DAY
        minutes = np.arange(m0, m0 + MINUTES_PER_DAY, dtype=np.int64)
        hour = (minutes % MINUTES_PER_DAY) / 60.0
        rate = scenario.calls_per_minute * (
            0.2 + 0.8 * (0.5 - 0.5 * np.cos(2 * np.pi * (hour - 4) / 24))
        )
        per_minute = rng.poisson(rate)
        call_minute = np.repeat(minutes, per_minute)
        n = len(call_minute)
        starts = np.cumsum(per_minute) - per_minute
        within = np.arange(n, dtype=np.int64) - np.repeat(starts, per_minute)
        if n and int(per_minute.max()) >= CALLS_PER_MINUTE_IDS:
            raise ValueError(
                f"{int(per_minute.max())} calls in one minute: call ids number at most "
                f"{CALLS_PER_MINUTE_IDS - 1} a minute (lower --calls-per-minute)"
            )
        call_keys = call_minute * CALLS_PER_MINUTE_IDS + within
        call_ms = call_minute * MS_PER_MINUTE + rng.integers(0, MS_PER_MINUTE, n)
        calls = self._calls(rng, call_ms)
        turns = self._turns(rng, calls)
        tasks, escalations = self._tasks(rng, calls, turns)
        synthetic = self._synthetic(rng, minutes)
        frames = {
            "call": calls,
            "turn": turns,
            "task": tasks,
            "escalation": escalations,
            "synthetic": synthetic,
        }
        return VoiceDay(day=day, seed=self.seed, frames=frames, call_keys=call_keys)

    # --- calls ------------------------------------------------------------------------------

    def _calls(self, rng: np.random.Generator, call_ms: IntArray) -> Frame:
        sc = self.scenario
        n = len(call_ms)
        flow = rng.choice(len(sc.flows), size=n, p=self._flow_p).astype(np.int16)
        dims = self._dims(rng, flow, call_ms)
        test = rng.random(n) < sc.test_share
        abuse = rng.random(n) < sc.abuse_share
        outage = np.zeros(n, dtype=bool)
        outage_failure = np.zeros(n, dtype=bool)
        draw = rng.random(n)
        for window in sc.outages:
            inside = (call_ms >= to_ms(window.start)) & (call_ms < to_ms(window.end))
            outage |= inside
            outage_failure |= inside & (draw < window.failure)
        u = rng.random(n)
        edges = np.cumsum(
            [sc.connect_failure, sc.wrong_route, sc.dead_air, sc.hangup_before_greeting]
        )
        # below the first edge: a connect failure, …, past the last: OK (= 0)
        fate = ((np.searchsorted(edges, u, side="right") + 1) % len(FATES)).astype(np.int8)
        fate[outage_failure] = CONNECT_FAILURE
        greeted = (fate == OK) | (fate == WRONG_ROUTE)
        greeting = lognormal(rng, 700.0, 0.35, n)
        greeting += self._incident_extra("tts", dims, call_ms)
        first_audio = np.rint(greeting).astype(np.int64)
        audited = (fate == OK) & (rng.random(n) < sc.audited_call_share)
        intent_ok = rng.random(n) >= sc.intent_error
        frame = Frame(time_ms=call_ms, call=np.arange(n, dtype=np.int64), dims=dims)
        frame.columns.update(
            test=test,
            abuse=abuse,
            external_outage=outage,
            connected=fate != CONNECT_FAILURE,
            route_correct=fate != WRONG_ROUTE,
            first_audio_ms=first_audio,
            intent_correct=intent_ok & audited,
            end_reason=np.full(n, END_REASONS.index("failed"), dtype=np.int8),
        )
        frame.present.update(first_audio_ms=greeted, intent_correct=audited)
        end_reason = frame.columns["end_reason"]
        end_reason[fate == WRONG_ROUTE] = END_REASONS.index("transferred")
        end_reason[fate == HANGUP_BEFORE_GREETING] = END_REASONS.index("caller_hangup")
        # dead air ends by the platform's no-audio watchdog ("failed"): a caller hang-up
        # without a greeting is what the hang-up-before-greeting exclusion matches
        frame.decisions.update(
            fate=fate,
            greeted=greeted,
            audited=audited,
            intent_ok=intent_ok,
            excluded=test | abuse | outage | (fate == HANGUP_BEFORE_GREETING),
            marked=test | abuse | outage,
        )
        return frame

    def _dims(
        self, rng: np.random.Generator, flow: npt.NDArray[np.int16], time_ms: IntArray
    ) -> dict[str, npt.NDArray[np.int16]]:
        sc = self.scenario
        n = len(flow)
        dims: dict[str, npt.NDArray[np.int16]] = {"flow": flow}
        pick = rng.random(n)
        intent = np.zeros(n, dtype=np.int16)
        for index, codes in enumerate(self._intent_offsets):
            rows = flow == index
            intent[rows] = np.asarray(codes, dtype=np.int16)[
                (pick[rows] * len(codes)).astype(np.int64)
            ]
        dims["intent"] = intent
        for dim, table in self._flow_dim.items():
            dims[dim] = table[flow]
        self._versions(dims, time_ms)
        dims["region"] = rng.integers(0, len(sc.regions), n).astype(np.int16)
        return dims

    def _versions(self, dims: dict[str, npt.NDArray[np.int16]], time_ms: IntArray) -> None:
        """The prompt version (after a release on the flow) and agent version in force."""
        sc, voc = self.scenario, self.vocabulary
        for release in sc.releases:
            rows = (dims["flow"] == voc.code("flow", release.flow)) & (time_ms >= to_ms(release.at))
            dims["prompt_version"][rows] = voc.code("prompt_version", release.prompt_version)
        froms = np.array([to_ms(at) for at, _ in sc.agent_versions])
        which = np.clip(np.searchsorted(froms, time_ms, side="right") - 1, 0, None)
        versions = np.array([voc.code("agent_version", v) for _, v in sc.agent_versions])
        dims["agent_version"] = versions[which].astype(np.int16)

    def _incident_extra(
        self, stage: str, dims: dict[str, npt.NDArray[np.int16]], time_ms: IntArray
    ) -> FloatArray:
        extra = np.zeros(len(time_ms))
        for incident in self.scenario.incidents:
            if incident.stage != stage:
                continue
            hit = (time_ms >= to_ms(incident.start)) & (time_ms < to_ms(incident.end))
            dimension = PROVIDER_DIMENSION.get(stage)
            if dimension is not None:
                hit &= dims[dimension] == self.vocabulary.code(dimension, incident.provider)
            extra[hit] += incident.extra_ms
        return extra

    # --- turns ------------------------------------------------------------------------------

    def _turns(self, rng: np.random.Generator, calls: Frame) -> Frame:
        sc = self.scenario
        talking = np.flatnonzero(calls.decisions["fate"] == OK)
        count = 1 + rng.poisson(sc.turns_mean - 1, len(talking))
        call = np.repeat(talking, count)
        n = len(call)
        first = np.cumsum(count) - count
        ordinal = np.arange(n, dtype=np.int64) - np.repeat(first, count)
        gap = rng.integers(3_000, 12_000, n)
        since_start = np.cumsum(gap) - np.repeat(np.cumsum(gap)[first] - gap[first], count)
        time_ms = calls.time_ms[call] + calls.columns["first_audio_ms"][call] + since_start
        dims = {k: v[call] for k, v in calls.dims.items()}
        flow = dims["flow"]
        stage = {
            s: lognormal(rng, STAGE_MEDIANS_MS[s], STAGE_SIGMA, n)
            for s in ("telephony", "asr", "llm", "tts")
        }
        stage["llm"][self._small_model[flow]] *= 0.7
        tool_calls = np.where(
            rng.random(n) < self._tool_share[flow], 1 + (rng.random(n) < 0.3), 0
        ).astype(np.int64)
        stage["tool"] = lognormal(rng, STAGE_MEDIANS_MS["tool"], STAGE_SIGMA, n) * tool_calls
        has_crm = rng.random(n) < self._crm_share[flow]
        stage["crm"] = lognormal(rng, STAGE_MEDIANS_MS["crm"], STAGE_SIGMA, n)
        for s in STAGES:
            stage[s] += self._incident_extra(s, dims, time_ms)
        stage["tool"][tool_calls == 0] = 0.0
        # a stage timing out: that stage takes seconds, and the turn says which
        failing = rng.random(n) < sc.turn_error
        on_path = np.array([STAGES.index(s) for s in ("telephony", "asr", "llm", "tts")])
        error_stage = on_path[rng.integers(0, len(on_path), n)]
        error_stage = np.where(
            (tool_calls > 0) & (rng.random(n) < 0.5), STAGES.index("tool"), error_stage
        ).astype(np.int8)
        timeout = rng.uniform(3_000, 6_000, n)
        for index, s in enumerate(STAGES):
            rows = failing & (error_stage == index)
            stage[s][rows] += timeout[rows]
        ms = {s: np.rint(stage[s]).astype(np.int64) for s in STAGES}
        crm_excess = np.where(has_crm, np.maximum(0, ms["crm"] - ms["llm"]), 0)
        latency = ms["telephony"] + ms["asr"] + ms["llm"] + ms["tool"] + ms["tts"] + crm_excess
        evaluated = rng.random(n) < sc.evaluated_turn_share
        wer = np.round(lognormal(rng, 1.0, 0.5, n) * self._wer_median[flow], 3)
        compliant = rng.random(n) >= sc.noncompliance
        frame = Frame(time_ms=time_ms.astype(np.int64), call=call, dims=dims)
        frame.columns.update(
            test=calls.columns["test"][call],
            abuse=calls.columns["abuse"][call],
            external_outage=calls.columns["external_outage"][call],
            latency_ms=latency,
            tool_calls=tool_calls,
            wer=wer,
            compliant=compliant,
            error_stage=error_stage,
            ordinal=ordinal,
            **{f"{s}_ms": ms[s] for s in STAGES},
        )
        frame.present.update(
            wer=evaluated,
            compliant=evaluated,
            error_stage=failing,
            tool_ms=tool_calls > 0,
            crm_ms=has_crm,
        )
        frame.decisions.update(
            excluded=calls.decisions["marked"][call],
            evaluated=evaluated,
            latency=latency,
            tool_turn=tool_calls > 0,
            wer_ok=wer <= self.wer_threshold[flow],
            compliant=compliant,
        )
        return frame

    # --- tasks and escalations -------------------------------------------------------------

    def _tasks(self, rng: np.random.Generator, calls: Frame, turns: Frame) -> tuple[Frame, Frame]:
        sc, voc = self.scenario, self.vocabulary
        talking = np.flatnonzero(calls.decisions["fate"] == OK)
        n = len(talking)
        last_turn = np.full(len(calls), -1, dtype=np.int64)
        np.maximum.at(last_turn, turns.call, turns.time_ms)
        end_ms = last_turn[talking] + rng.integers(2_000, 20_000, n)
        dims = {k: v[talking] for k, v in calls.dims.items()}
        flow = dims["flow"]
        failure = self._agent_failure[flow].copy()
        unnecessary = np.full(n, sc.unnecessary_escalation)
        for release in sc.releases:
            rows = dims["prompt_version"] == voc.code("prompt_version", release.prompt_version)
            failure[rows] = release.agent_failure
            unnecessary[rows] = release.unnecessary_escalation
        required = rng.random(n) < self._required[flow]
        escalated = np.where(
            required, rng.random(n) < sc.escalation_recall, rng.random(n) < unnecessary
        )
        context_complete = rng.random(n) < sc.context_complete
        u = rng.random(n)
        agent_failed = ~escalated & ~required & (u < failure)
        abandoned = ~escalated & ~required & ~agent_failed & (u < failure + sc.caller_abandon)
        missed = required & ~escalated
        outcome = np.zeros(n, dtype=np.int8)  # completed
        reason = np.zeros(n, dtype=np.int8)  # none
        kind = rng.integers(0, 3, n)
        outcome[agent_failed] = np.array(AGENT_FAILURE_OUTCOMES, dtype=np.int8)[kind[agent_failed]]
        reason[agent_failed] = np.array([2, 3, 4], dtype=np.int8)[kind[agent_failed]]
        outcome[abandoned] = OUTCOMES.index("abandoned")
        reason[abandoned] = FAILURE_REASONS.index("caller_abandoned")
        outcome[escalated] = OUTCOMES.index("transferred")
        reason[escalated & ~required] = FAILURE_REASONS.index("unnecessary_transfer")
        outcome[missed] = OUTCOMES.index("failed")
        reason[missed] = FAILURE_REASONS.index("missed_escalation")
        agent_caused = agent_failed | missed | (escalated & ~required)
        end_reason = calls.columns["end_reason"]
        end_reason[talking] = np.select(
            [outcome == OUTCOMES.index("completed"), escalated],
            [END_REASONS.index("completed"), END_REASONS.index("transferred")],
            END_REASONS.index("caller_hangup"),
        )
        marks = {m: calls.columns[m][talking] for m in ("test", "abuse", "external_outage")}
        excluded = calls.decisions["marked"][talking]
        tasks = Frame(time_ms=end_ms, call=talking, dims=dims)
        tasks.columns.update(
            **marks, outcome=outcome, agent_caused=agent_caused, failure_reason=reason
        )
        tasks.present.update(failure_reason=reason > 0)
        tasks.decisions.update(excluded=excluded, agent_caused=agent_caused)
        escalation = Frame(
            time_ms=end_ms - rng.integers(500, 1_500, n),
            call=talking,
            dims={k: v.copy() for k, v in dims.items()},
        )
        escalation.columns.update(
            **marks, required=required, escalated=escalated, context_complete=context_complete
        )
        escalation.present.update(context_complete=escalated)
        escalation.decisions.update(
            excluded=excluded,
            required=required,
            escalated=escalated,
            context_complete=context_complete,
        )
        return tasks, escalation

    # --- synthetic checks -------------------------------------------------------------------

    def _synthetic(self, rng: np.random.Generator, minutes: IntArray) -> Frame:
        sc, voc = self.scenario, self.vocabulary
        every = max(1, int(sc.synthetic_every.total_seconds() // 60))
        slots = minutes[minutes % every == 0]
        flows = self.critical_flows
        flow = np.tile(flows, len(slots)).astype(np.int16)
        time_ms = (np.repeat(slots, len(flows)) * MS_PER_MINUTE + 15_000 + 1_000 * flow).astype(
            np.int64
        )
        n = len(flow)
        dims: dict[str, npt.NDArray[np.int16]] = {"flow": flow}
        dims["intent"] = np.array([row[0] for row in self._intent_offsets], np.int16)[flow]
        for dim, table in self._flow_dim.items():
            dims[dim] = table[flow]
        self._versions(dims, time_ms)
        dims["region"] = np.zeros(n, dtype=np.int16)
        u = rng.random(n)
        failed = u < sc.synthetic_failure
        for incident in sc.incidents:
            hit = (time_ms >= to_ms(incident.start)) & (time_ms < to_ms(incident.end))
            dimension = PROVIDER_DIMENSION.get(incident.stage)
            if dimension is not None:
                hit &= dims[dimension] == voc.code(dimension, incident.provider)
            failed |= hit & (rng.random(n) < incident.synthetic_failure)
        outage = np.zeros(n, dtype=bool)
        for window in sc.outages:
            inside = (time_ms >= to_ms(window.start)) & (time_ms < to_ms(window.end))
            outage |= inside
            failed |= inside & (rng.random(n) < window.failure)
        frame = Frame(time_ms=time_ms, call=np.full(n, -1, dtype=np.int64), dims=dims)
        frame.columns.update(
            test=np.zeros(n, dtype=bool),
            abuse=np.zeros(n, dtype=bool),
            external_outage=outage,
            passed=~failed,
        )
        frame.decisions.update(excluded=outage, passed=~failed)
        return frame


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> FloatArray:
    """``n`` lognormal draws with this median."""
    return median * np.exp(sigma * rng.standard_normal(n))


def cut(day: VoiceDay, start_ms: int, end_ms: int, *, events_from: int | None = None) -> VoiceDay:
    """The day's events of calls starting in ``[start_ms, end_ms)`` (synthetic checks in
    it), without events at or after ``end_ms`` (nor before ``events_from``, if given)."""
    calls = day.frames["call"]
    call_in = (calls.time_ms >= start_ms) & (calls.time_ms < end_ms)
    earliest = start_ms if events_from is None else events_from
    frames: dict[str, Frame] = {}
    for name, frame in day.frames.items():
        in_time = (frame.time_ms >= earliest) & (frame.time_ms < end_ms)
        keep = in_time if name == "synthetic" else call_in[frame.call] & in_time
        frames[name] = frame if bool(keep.all()) else frame.take(keep)
    return VoiceDay(day=day.day, seed=day.seed, frames=frames, call_keys=day.call_keys)
