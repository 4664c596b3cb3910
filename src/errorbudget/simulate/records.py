"""What the simulator produces: column arrays per block, and conversation records.

Times are integer milliseconds since the Unix epoch (UTC). The arrays are what the fake API
aggregates; :class:`Conversation` is the readable form for tests and reports.

Event times (the interval a metric is counted in, as Genesys Cloud counts interval
metrics where they occur):

- queue: offered at ``entry_ms``; answered / abandoned / flowed out at ``entry_ms +
  wait_ms``; handle (``tHandle``) at ``entry_ms + wait_ms + handle_ms``;
- flow: entered at ``start_ms``; main outcome at ``start_ms + outcome_ms``, extra outcome
  at ``start_ms + extra_ms``; left the flow (``tFlow``, ``tFlowDisconnect``,
  ``tFlowExit``) at ``start_ms + duration_ms``.

A flow visit is **good** (IVR completion, docs/sources/genesys.md) when none of its
outcomes failed and it either reached a successful outcome or was transferred to a queue;
it is bad when an outcome failed, or when the caller hung up (or was disconnected) before
any outcome. :attr:`FlowArrays.good` is that, per visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

ANSWERED, ABANDONED, FLOWED_OUT = 0, 1, 2
QUEUE_OUTCOMES: tuple[Literal["answered", "abandoned", "flow_out"], ...] = (
    "answered",
    "abandoned",
    "flow_out",
)
SUCCESS, FAILURE, DISCONNECT, EXIT = 0, 1, 2, 3
IVR_OUTCOMES: tuple[Literal["success", "failure", "disconnect", "exit"], ...] = (
    "success",
    "failure",
    "disconnect",
    "exit",
)

QueueOutcome = Literal["answered", "abandoned", "flow_out"]
IvrOutcome = Literal["success", "failure", "disconnect", "exit"]


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a time zone")
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class QueueArrays:
    """Conversations that entered one queue, one row each (sorted by ``entry_ms``)."""

    key_block: np.ndarray  # int64: block of the record that names the conversation
    key_index: np.ndarray  # int64: its row in that block
    origin_flow: np.ndarray  # int16: index of the IVR flow it came from, -1 direct
    start_ms: np.ndarray  # int64: conversation start (IVR entry, or queue entry)
    ivr_ms: np.ndarray  # int64: time in the IVR (0 when direct)
    ivr_outcome: np.ndarray  # int8: FAILURE or EXIT for IVR callers, -1 direct
    entry_ms: np.ndarray  # int64
    wait_ms: np.ndarray  # int64: time in queue until answered / abandoned / flowed out
    outcome: np.ndarray  # int8: ANSWERED, ABANDONED or FLOWED_OUT
    handle_ms: np.ndarray  # int64: 0 unless answered
    short_abandon: np.ndarray  # bool
    over_sla: np.ndarray  # bool: answered later than the service-level target

    def __len__(self) -> int:
        return len(self.entry_ms)

    @property
    def exit_ms(self) -> np.ndarray:
        exits: np.ndarray = self.entry_ms + self.wait_ms
        return exits

    @property
    def handle_end_ms(self) -> np.ndarray:
        ends: np.ndarray = self.entry_ms + self.wait_ms + self.handle_ms
        return ends

    @staticmethod
    def concat(parts: list[QueueArrays]) -> QueueArrays:
        if not parts:
            return EMPTY_QUEUE
        return QueueArrays(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in QueueArrays.__slots__)
        )


@dataclass(frozen=True, slots=True)
class FlowArrays:
    """IVR flow entries of one flow, one row each (sorted by ``start_ms``)."""

    key_block: np.ndarray  # int64
    key_index: np.ndarray  # int64
    start_ms: np.ndarray  # int64
    duration_ms: np.ndarray  # int64
    outcome: np.ndarray  # int8: SUCCESS, FAILURE, DISCONNECT or EXIT (how the visit ended)
    outcome_ms: np.ndarray  # int64: from start to the main flow outcome; -1 when none
    exit_queue: np.ndarray  # int16: queue index when transferred to a queue, else -1
    extra_outcome: np.ndarray  # int16: index of an earlier extra outcome (>= 1), -1 none
    extra_failed: np.ndarray  # bool: that extra outcome failed
    extra_ms: np.ndarray  # int64: from start to the extra outcome; -1 when none

    def __len__(self) -> int:
        return len(self.start_ms)

    @property
    def end_ms(self) -> np.ndarray:
        ends: np.ndarray = self.start_ms + self.duration_ms
        return ends

    @property
    def reached_main(self) -> np.ndarray:
        reached: np.ndarray = (self.outcome == SUCCESS) | (self.outcome == FAILURE)
        return reached

    @property
    def has_extra(self) -> np.ndarray:
        extra: np.ndarray = self.extra_outcome >= 0
        return extra

    @property
    def any_failed(self) -> np.ndarray:
        """Visits with at least one failed outcome."""
        failed: np.ndarray = (self.outcome == FAILURE) | (self.has_extra & self.extra_failed)
        return failed

    @property
    def any_success(self) -> np.ndarray:
        """Visits with at least one successful outcome."""
        success: np.ndarray = (self.outcome == SUCCESS) | (self.has_extra & ~self.extra_failed)
        return success

    @property
    def any_outcome(self) -> np.ndarray:
        reached: np.ndarray = self.reached_main | self.has_extra
        return reached

    @property
    def exited(self) -> np.ndarray:
        """Visits that left the flow for a queue (``tFlowExit``); the others disconnected."""
        exited: np.ndarray = self.exit_queue >= 0
        return exited

    @property
    def good(self) -> np.ndarray:
        """Good visits: no failed outcome, and a successful outcome or a transfer to a queue."""
        good: np.ndarray = ~self.any_failed & (self.exited | self.any_success)
        return good

    @staticmethod
    def concat(parts: list[FlowArrays]) -> FlowArrays:
        if not parts:
            return EMPTY_FLOW
        return FlowArrays(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in FlowArrays.__slots__)
        )


def _empty(dtype: type | str) -> np.ndarray:
    array = np.zeros(0, dtype=dtype)
    array.setflags(write=False)
    return array


EMPTY_QUEUE = QueueArrays(
    *(
        _empty(t)
        for t in (
            "int64",
            "int64",
            "int16",
            "int64",
            "int64",
            "int8",
            "int64",
            "int64",
            "int8",
            "int64",
            "bool",
            "bool",
        )
    )
)
EMPTY_FLOW = FlowArrays(
    *(
        _empty(t)
        for t in (
            "int64",
            "int64",
            "int64",
            "int64",
            "int8",
            "int64",
            "int16",
            "int16",
            "bool",
            "int64",
        )
    )
)


@dataclass(frozen=True, slots=True)
class Conversation:
    """One simulated conversation (readable form). Times are UTC; durations milliseconds.

    An IVR-only conversation has ``queue_id`` None; a direct queue arrival has ``flow_id``
    None. ``ivr_outcome`` is how the IVR visit ended; ``outcome`` how the queue visit ended.
    """

    id: str
    media_type: str
    queue_id: str | None
    flow_id: str | None
    start: datetime
    ivr_outcome: IvrOutcome | None
    ivr_ms: int
    queue_entry: datetime | None
    outcome: QueueOutcome | None
    ended_waiting: datetime | None
    """When the caller was answered, abandoned or flowed out."""
    wait_ms: int
    short_abandon: bool
    over_sla: bool
    handle_ms: int

    @property
    def answered(self) -> datetime | None:
        return self.ended_waiting if self.outcome == "answered" else None

    @property
    def abandoned(self) -> datetime | None:
        return self.ended_waiting if self.outcome == "abandoned" else None

    @property
    def flow_out(self) -> bool:
        return self.outcome == "flow_out"

    @property
    def end(self) -> datetime:
        """When the conversation ended (IVR end, or queue exit plus handle time)."""
        if self.queue_entry is None or self.ended_waiting is None:
            return self.start.fromtimestamp(self.start.timestamp() + self.ivr_ms / 1000, UTC)
        return self.ended_waiting.fromtimestamp(
            self.ended_waiting.timestamp() + self.handle_ms / 1000, UTC
        )
