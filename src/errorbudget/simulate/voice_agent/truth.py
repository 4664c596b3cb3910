"""Ground truth: for each starter-kit SLI, the good and eligible events per segment and
minute that the simulator generated, counted from its own decisions (a call's fate, a
turn's latency, whether a task needed a human, …), not by evaluating the SLI's rules over
the event fields. Tests hold the fold (``sources/events/fold``) to these, exactly.

=================================  ==========  ===================================================
SLO (starter kit)                  events      eligible → good
=================================  ==========  ===================================================
``voice-connection-success``       call        not excluded¹ → fate ``ok``
``voice-first-audio``              call        connected, not excluded → greeted (ok, wrong route)
``voice-time-to-first-word``       call        connected, not excluded → greeted within 1.5 s
``voice-intent-accuracy``          call        audited, not excluded → intent right
``voice-turn-latency``             turn        no tool call, not excluded² → latency ≤ 1.2 s
``voice-tool-turn-latency``        turn        a tool call, not excluded → latency ≤ 2.5 s
``voice-prompt-compliance``        turn        evaluated, not excluded → compliant
``voice-asr-quality``              turn        evaluated, not excluded → WER ≤ the flow's threshold
``voice-task-completion``          task        not excluded → not agent-caused
``voice-escalation-recall``        escalation  required, not excluded → escalated
``voice-unnecessary-escalation``   escalation  not required, not excluded → not escalated
``voice-context-handoff``          escalation  escalated, not excluded → context complete
``voice-synthetic-critical-flows`` synthetic   not during a known outage → passed
=================================  ==========  ===================================================

¹ a call is excluded when it is a test call, abuse, in a known external outage, or its caller
hung up before the greeting (the starter kit's named exclusions); ² the other events carry
their call's test, abuse and outage markers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from errorbudget.model import SegmentKey
from errorbudget.simulate.voice_agent.engine import (
    CONNECT_FAILURE,
    OK,
    BoolArray,
    Frame,
    IntArray,
    VoiceAgentSimulator,
    VoiceDay,
)

Masks = tuple[BoolArray, BoolArray]
"""(eligible, good) over a frame's rows."""


def _not_excluded(frame: Frame) -> BoolArray:
    return ~frame.decisions["excluded"].astype(bool)


def _connection(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return _not_excluded(frame), frame.decisions["fate"] == OK


def _first_audio(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    connected = frame.decisions["fate"] != CONNECT_FAILURE
    return connected & _not_excluded(frame), frame.decisions["greeted"]


def _first_word(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    eligible, greeted = _first_audio(frame, sim)
    return eligible, greeted & (frame.columns["first_audio_ms"] <= 1_500)


def _intent(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return frame.decisions["audited"] & _not_excluded(frame), frame.decisions["intent_ok"]


def _turn_latency(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    eligible = ~frame.decisions["tool_turn"] & _not_excluded(frame)
    return eligible, frame.decisions["latency"] <= 1_200


def _tool_turn_latency(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    eligible = frame.decisions["tool_turn"] & _not_excluded(frame)
    return eligible, frame.decisions["latency"] <= 2_500


def _compliance(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return frame.decisions["evaluated"] & _not_excluded(frame), frame.decisions["compliant"]


def _asr(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return frame.decisions["evaluated"] & _not_excluded(frame), frame.decisions["wer_ok"]


def _task(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return _not_excluded(frame), ~frame.decisions["agent_caused"]


def _recall(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return frame.decisions["required"] & _not_excluded(frame), frame.decisions["escalated"]


def _unnecessary(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return ~frame.decisions["required"] & _not_excluded(frame), ~frame.decisions["escalated"]


def _handoff(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    escalated = frame.decisions["escalated"]
    return escalated & _not_excluded(frame), frame.decisions["context_complete"]


def _synthetic(frame: Frame, sim: VoiceAgentSimulator) -> Masks:
    return _not_excluded(frame), frame.decisions["passed"]


@dataclass(frozen=True, slots=True)
class TruthRule:
    event: str
    masks: Callable[[Frame, VoiceAgentSimulator], Masks]


TRUTH_RULES: dict[str, TruthRule] = {
    "voice-connection-success": TruthRule("call", _connection),
    "voice-first-audio": TruthRule("call", _first_audio),
    "voice-time-to-first-word": TruthRule("call", _first_word),
    "voice-intent-accuracy": TruthRule("call", _intent),
    "voice-turn-latency": TruthRule("turn", _turn_latency),
    "voice-tool-turn-latency": TruthRule("turn", _tool_turn_latency),
    "voice-prompt-compliance": TruthRule("turn", _compliance),
    "voice-asr-quality": TruthRule("turn", _asr),
    "voice-task-completion": TruthRule("task", _task),
    "voice-escalation-recall": TruthRule("escalation", _recall),
    "voice-unnecessary-escalation": TruthRule("escalation", _unnecessary),
    "voice-context-handoff": TruthRule("escalation", _handoff),
    "voice-synthetic-critical-flows": TruthRule("synthetic", _synthetic),
}
"""Starter-kit SLO id → how the simulator counts it."""


@dataclass(slots=True)
class SliTruth:
    """One SLI's true counts: good and eligible events per (segment, minute), as arrays
    sorted by segment code and minute (a pair without eligible events is absent)."""

    slo: str
    keys: tuple[str, ...]
    segments: dict[int, SegmentKey] = field(default_factory=dict)
    """Segment code → its key."""
    seg: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    minute: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    good_counts: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    total_counts: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def good(self) -> int:
        return int(self.good_counts.sum())

    @property
    def total(self) -> int:
        return int(self.total_counts.sum())

    def counts(self) -> dict[tuple[SegmentKey, int], tuple[int, int]]:
        """(segment, minute) → (good, eligible)."""
        return {
            (self.segments[int(s)], int(m)): (int(g), int(t))
            for s, m, g, t in zip(
                self.seg, self.minute, self.good_counts, self.total_counts, strict=True
            )
        }

    def by_segment(self) -> dict[SegmentKey, tuple[int, int]]:
        """Segment → (good, eligible) over the whole period."""
        result: dict[SegmentKey, tuple[int, int]] = {}
        for code, key in self.segments.items():
            rows = self.seg == code
            result[key] = (int(self.good_counts[rows].sum()), int(self.total_counts[rows].sum()))
        return result


class GroundTruth:
    """Accumulates the true counts of the given SLOs (id → segment keys) over simulated
    days."""

    def __init__(self, sim: VoiceAgentSimulator, slos: Mapping[str, Sequence[str]]) -> None:
        unknown = sorted(set(slos) - set(TRUTH_RULES))
        if unknown:
            raise KeyError(f"no ground truth for {unknown}")
        self.sim = sim
        self.slis = {slo: SliTruth(slo, tuple(keys)) for slo, keys in slos.items()}
        self._parts: dict[str, list[tuple[IntArray, IntArray, IntArray, IntArray]]] = {
            slo: [] for slo in slos
        }

    def add(self, day: VoiceDay) -> None:
        for slo, sli in self.slis.items():
            rule = TRUTH_RULES[slo]
            frame = day.frames[rule.event]
            eligible, good = rule.masks(frame, self.sim)
            segment = segment_codes(frame, sli.keys, self.sim)
            minute = frame.time_ms // 60_000
            self._parts[slo].append(
                grouped(segment[eligible], minute[eligible], good[eligible].astype(np.int64))
            )

    def add_all(self, days: Iterable[VoiceDay]) -> GroundTruth:
        for day in days:
            self.add(day)
        return self

    def result(self) -> dict[str, SliTruth]:
        """Each SLI's counts (a (segment, minute) without eligible events is absent)."""
        for slo, sli in self.slis.items():
            parts = self._parts[slo]
            if not parts:
                continue
            seg, minute, good, total = (np.concatenate(p) for p in zip(*parts, strict=True))
            sli.seg, sli.minute, sli.good_counts, sli.total_counts = grouped_sums(
                seg, minute, good, total
            )
            sli.segments = {
                int(code): segment_name(self.sim, sli.keys, int(code))
                for code in np.unique(sli.seg)
            }
        return self.slis


def segment_codes(frame: Frame, keys: Sequence[str], sim: VoiceAgentSimulator) -> IntArray:
    """One integer per row naming its segment (mixed radix over the keys' vocabularies)."""
    code = np.zeros(len(frame), dtype=np.int64)
    for key in keys:
        code = code * len(sim.vocabulary.values[key]) + frame.dims[key]
    return code


def segment_name(sim: VoiceAgentSimulator, keys: Sequence[str], code: int) -> SegmentKey:
    """The segment key a code names (its ``(name, value)`` pairs sorted by name, as
    ``model.segment_key`` builds them)."""
    values = []
    for key in reversed(keys):
        vocabulary = sim.vocabulary.values[key]
        values.append((key, vocabulary[code % len(vocabulary)]))
        code //= len(vocabulary)
    return tuple(sorted(values))


def grouped(
    seg: IntArray, minute: IntArray, good: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    return grouped_sums(seg, minute, good, np.ones(len(seg), dtype=np.int64))


def grouped_sums(
    seg: IntArray, minute: IntArray, good: IntArray, total: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Sums of good and total per distinct (segment, minute), sorted by both."""
    if not len(seg):
        empty: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    # minutes since 1970 fit in 32 bits for 8,000 years: one 64-bit key per pair
    key = (seg << 32) | minute
    unique, inverse = np.unique(key, return_inverse=True)
    good_sum = np.bincount(inverse, weights=good, minlength=len(unique)).astype(np.int64)
    total_sum = np.bincount(inverse, weights=total, minlength=len(unique)).astype(np.int64)
    return unique >> 32, unique & 0xFFFFFFFF, good_sum, total_sum
