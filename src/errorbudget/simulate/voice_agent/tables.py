"""A simulated day as event-model rows: one Arrow table per event type (its own fields
only), or one wide table of every type; and NDJSON lines built column-wise.

Field names and types are the event model's (``docs/sources/events.md``): ``time`` as a
UTC timestamp in milliseconds (epoch milliseconds in NDJSON), dimensions as strings, markers
as booleans, nulls where a value does not exist (no greeting, a turn not evaluated, no tool
call, …).
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from errorbudget.event_records import EVENT_DIMENSIONS as DIMENSIONS
from errorbudget.simulate.voice_agent.engine import (
    CALLS_PER_MINUTE_IDS,
    FAILURE_REASONS,
    Frame,
    VoiceAgentSimulator,
    VoiceDay,
)
from errorbudget.sources.events.fields import END_REASONS, EVENT_TYPES, OUTCOMES, STAGES

TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "call": ("connected", "route_correct", "first_audio_ms", "end_reason", "intent_correct"),
    "turn": (
        "latency_ms",
        *(f"{stage}_ms" for stage in STAGES),
        "tool_calls",
        "wer",
        "compliant",
        "error_stage",
    ),
    "task": ("outcome", "agent_caused", "failure_reason"),
    "escalation": ("required", "escalated", "context_complete"),
    "synthetic": ("passed", "check"),
}
"""The fields the simulator writes for each type, besides the common ones."""

ENUMS: dict[str, tuple[str | None, ...]] = {
    "end_reason": END_REASONS,
    "outcome": OUTCOMES,
    "failure_reason": FAILURE_REASONS,
    "error_stage": STAGES,
}
LINKED = frozenset({"call", "task"})
"""Types that carry the call's audio and transcript links."""
SAFE = re.compile(r'^[^"\\\x00-\x1f]*$')
"""Strings written into NDJSON as they are (no character needs escaping)."""


def type_table(sim: VoiceAgentSimulator, day: VoiceDay, kind: str) -> pa.Table:
    """The rows of one event type of ``day``: the common fields, then the type's own."""
    frame = day.frames[kind]
    columns: dict[str, pa.Array] = {}
    call_ids = call_id_strings(sim, day, frame)
    columns["id"] = event_ids(kind, frame, call_ids, sim)
    columns["type"] = pa.array(np.full(len(frame), kind, dtype=object), pa.string())
    columns["time"] = pa.array(frame.time_ms, pa.timestamp("ms", tz="UTC"))
    if kind != "synthetic":
        columns["call_id"] = call_ids
        trace_words = mix(np.uint64(sim.seed), day.call_keys[frame.call].astype(np.uint64))
        columns["trace_id"] = hex_strings(trace_words, mix(trace_words, np.uint64(0x9E37)))
        if kind == "turn":
            ordinal = frame.columns["ordinal"].astype(np.uint64)
            columns["span_id"] = hex_strings(mix(trace_words, ordinal + np.uint64(1)))
    for dim in DIMENSIONS:
        values = pa.array(sim.vocabulary.values[dim], pa.string())
        columns[dim] = values.take(pa.array(frame.dims[dim]))
    for marker in ("test", "abuse", "external_outage"):
        columns[marker] = pa.array(frame.columns[marker], pa.bool_())
    if kind in LINKED:
        base = sim.scenario.links_base
        columns["audio_url"] = pc.binary_join_element_wise(base + "/", call_ids, ".wav", "")
        columns["transcript_url"] = pc.binary_join_element_wise(base + "/", call_ids, ".json", "")
    for name in TYPE_FIELDS[kind]:
        if name == "check":
            columns[name] = pc.binary_join_element_wise(columns["flow"], "-e2e", "")
        else:
            columns[name] = field_array(frame, name)
    return pa.table(columns)


def field_array(frame: Frame, name: str) -> pa.Array:
    """One type field as Arrow: codes of an enumeration as its strings, absent values null."""
    values = frame.columns[name]
    present = frame.present.get(name)
    mask = None if present is None else ~present
    if name in ENUMS:
        names = pa.array([v for v in ENUMS[name]], pa.string())
        return names.take(pa.array(values.astype(np.int32), mask=mask))
    if values.dtype == np.bool_:
        return pa.array(values, pa.bool_(), mask=mask)
    if values.dtype.kind == "f":
        return pa.array(values, pa.float64(), mask=mask)
    return pa.array(values.astype(np.int64), pa.int64(), mask=mask)


def call_id_strings(sim: VoiceAgentSimulator, day: VoiceDay, frame: Frame) -> pa.Array:
    """``va{seed}-{minute}-{n}``: the id of each row's call (the check's id for a synthetic
    check)."""
    if len(frame) and frame.call[0] < 0:
        minute = frame.time_ms // 60_000
        flows = pa.array(sim.vocabulary.values["flow"], pa.string()).take(
            pa.array(frame.dims["flow"])
        )
        return pc.binary_join_element_wise(
            f"va{sim.seed}-synthetic-", pa.array(minute).cast(pa.string()), "-", flows, ""
        )
    keys = day.call_keys[frame.call]
    minute = pa.array(keys // CALLS_PER_MINUTE_IDS).cast(pa.string())
    index = pa.array(keys % CALLS_PER_MINUTE_IDS).cast(pa.string())
    return pc.binary_join_element_wise(f"va{sim.seed}-", minute, "-", index, "")


def event_ids(kind: str, frame: Frame, call_ids: pa.Array, sim: VoiceAgentSimulator) -> pa.Array:
    """Unique event ids: the call's id, plus ``-t{n}`` (turn), ``-task``, ``-esc``."""
    if kind in ("call", "synthetic"):
        return call_ids
    if kind == "turn":
        ordinal = pa.array(frame.columns["ordinal"]).cast(pa.string())
        return pc.binary_join_element_wise(call_ids, "-t", ordinal, "")
    suffix = "-task" if kind == "task" else "-esc"
    return pc.binary_join_element_wise(call_ids, suffix, "")


def day_tables(sim: VoiceAgentSimulator, day: VoiceDay) -> dict[str, pa.Table]:
    """Every event type's table of ``day`` (types without rows left out)."""
    tables: dict[str, pa.Table] = {}
    for kind in EVENT_TYPES:
        if not len(day.frames[kind]):
            continue
        tables[kind] = type_table(sim, day, kind)
    return tables


def wide_schema() -> pa.Schema:
    """Every column the simulator writes, in one order (the event model's names)."""
    fields = [
        pa.field("id", pa.string()),
        pa.field("type", pa.string()),
        pa.field("time", pa.timestamp("ms", tz="UTC")),
        pa.field("call_id", pa.string()),
        pa.field("trace_id", pa.string()),
        pa.field("span_id", pa.string()),
        *(pa.field(dim, pa.string()) for dim in DIMENSIONS),
        *(pa.field(marker, pa.bool_()) for marker in ("test", "abuse", "external_outage")),
        pa.field("audio_url", pa.string()),
        pa.field("transcript_url", pa.string()),
    ]
    kinds = {"first_audio_ms": pa.int64(), "latency_ms": pa.int64(), "tool_calls": pa.int64()}
    kinds.update({f"{stage}_ms": pa.int64() for stage in STAGES})
    kinds["wer"] = pa.float64()
    strings = {*ENUMS, "check"}
    for kind in EVENT_TYPES:
        for name in TYPE_FIELDS[kind]:
            fields.append(
                pa.field(name, pa.string() if name in strings else kinds.get(name, pa.bool_()))
            )
    return pa.schema(fields)


WIDE_SCHEMA = wide_schema()


def wide_table(tables: dict[str, pa.Table]) -> pa.Table:
    """One table of every type's rows with :data:`WIDE_SCHEMA`'s columns (null where a type
    has no such field)."""
    parts = []
    for table in tables.values():
        columns = [
            table.column(f.name)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in WIDE_SCHEMA
        ]
        parts.append(pa.table(columns, schema=WIDE_SCHEMA))
    if not parts:
        return WIDE_SCHEMA.empty_table()
    return pa.concat_tables(parts)


# --- NDJSON, column-wise -----------------------------------------------------------------------


def ndjson(table: pa.Table) -> bytes:
    """The rows of one type's table as NDJSON lines (``time`` as epoch milliseconds; a null
    written as ``null``), built with Arrow's string kernels, not row by row."""
    if table.num_rows == 0:
        return b""
    fragments: list[pa.Array] = []
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        fragments.append(pc.binary_join_element_wise(f'"{name}":', json_values(column), ""))
    body = pc.binary_join_element_wise(*fragments, ",")
    lines = pc.binary_join_element_wise("{", body, "}\n", "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset :][: len(lines) + 1]
    data = lines.buffers()[2]
    assert data is not None
    return bytes(memoryview(data)[int(offsets[0]) : int(offsets[-1])])


def json_values(column: pa.Array) -> pa.Array:
    """Each value as JSON text."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        text = column.cast(pa.int64()).cast(pa.string())
    elif pa.types.is_string(kind):
        text = pc.binary_join_element_wise('"', column, '"', "")
    else:
        text = column.cast(pa.string())
    return pc.fill_null(text, "null")


def check_safe(values: list[str]) -> None:
    """Refuse strings that NDJSON would need to escape (the writer writes them as they
    are)."""
    for value in values:
        if not SAFE.match(value):
            raise ValueError(f"{value!r} needs escaping in JSON")


# --- hex ids -----------------------------------------------------------------------------------

_HEX_PAIRS = np.frombuffer(
    "".join(f"{byte:02x}" for byte in range(256)).encode(), dtype=np.uint8
).reshape(256, 2)
"""Each byte's two hex digits."""


def mix(
    a: npt.NDArray[np.uint64] | np.uint64,
    b: npt.NDArray[np.uint64] | np.uint64,
) -> npt.NDArray[np.uint64]:
    """A splitmix64 hash of two words (vectorised): stable ids from the seed and a key."""
    with np.errstate(over="ignore"):
        z = np.asarray(a, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.asarray(
            b, dtype=np.uint64
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def hex_strings(*words: npt.NDArray[np.uint64]) -> pa.Array:
    """Lower-case hex of each row's words, concatenated (16 characters a word)."""
    n = len(words[0])
    octets = np.concatenate(
        [np.ascontiguousarray(w, dtype=">u8").view(np.uint8).reshape(n, 8) for w in words], axis=1
    )
    digits = _HEX_PAIRS[octets]
    width = 16 * len(words)
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(np.ascontiguousarray(digits).tobytes())
    )
