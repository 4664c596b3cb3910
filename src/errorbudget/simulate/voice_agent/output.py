"""Simulated events into files: NDJSON (one event a line, each type with its own fields) or
Parquet (one wide table, a row group per simulated day), and the ground truth as CSV."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from errorbudget.model import from_minute, segment_label
from errorbudget.simulate.voice_agent.engine import VoiceAgentSimulator, VoiceDay
from errorbudget.simulate.voice_agent.tables import (
    WIDE_SCHEMA,
    day_tables,
    ndjson,
    wide_table,
)
from errorbudget.simulate.voice_agent.truth import SliTruth
from errorbudget.sources.events.fields import EVENT_TYPES

Format = Literal["ndjson", "parquet"]


@dataclass(slots=True)
class WriteReport:
    """What a run wrote: events per type, and how long it took."""

    path: Path
    format: Format
    events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, 0))
    seconds: float = 0.0
    bytes: int = 0

    @property
    def total(self) -> int:
        return sum(self.events.values())

    @property
    def events_per_second(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0


def format_of(path: Path) -> Format:
    """The format a file name asks for: ``.parquet`` → Parquet, anything else NDJSON."""
    return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "ndjson"


def write_events(
    sim: VoiceAgentSimulator,
    start: datetime,
    end: datetime,
    path: Path,
    *,
    fmt: Format = "ndjson",
    on_day: Callable[[VoiceDay], None] | None = None,
) -> WriteReport:
    """Simulate ``[start, end)`` into ``path``, a day at a time (written to a temporary file
    beside it, renamed when complete); ``on_day`` sees each day after it is written (a
    progress bar, the ground truth)."""
    report = WriteReport(path=path, format=fmt)
    began = time.perf_counter()
    partial = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "parquet":
            write_parquet(sim, sim.days(start, end), partial, report, on_day)
        else:
            with partial.open("wb") as out:
                for day, tables in simulated(sim, sim.days(start, end)):
                    for kind, table in tables.items():
                        report.bytes += out.write(ndjson(table))
                        report.events[kind] += table.num_rows
                    if on_day is not None:
                        on_day(day)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - began
    report.bytes = path.stat().st_size
    return report


def simulated(
    sim: VoiceAgentSimulator, days: Iterator[VoiceDay]
) -> Iterator[tuple[VoiceDay, dict[str, pa.Table]]]:
    for day in days:
        yield day, day_tables(sim, day)


def write_parquet(
    sim: VoiceAgentSimulator,
    days: Iterator[VoiceDay],
    path: Path,
    report: WriteReport,
    on_day: Callable[[VoiceDay], None] | None,
) -> None:
    with pq.ParquetWriter(path, WIDE_SCHEMA, compression="zstd") as writer:
        for day, tables in simulated(sim, days):
            table = wide_table(tables)
            if table.num_rows:
                writer.write_table(table)
            for kind, part in tables.items():
                report.events[kind] += part.num_rows
            if on_day is not None:
                on_day(day)


def write_truth_csv(truth: Mapping[str, SliTruth], path: Path) -> int:
    """The ground truth as CSV: ``slo, segment, minute, good, total`` (``segment`` as
    ``key=value,…``; ``minute`` as its UTC start), sorted; returns the rows written."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["slo", "segment", "minute", "good", "total"])
        for slo in sorted(truth):
            sli = truth[slo]
            for (segment, minute), (good, total) in sorted(sli.counts().items()):
                writer.writerow(
                    [
                        slo,
                        segment_label(segment),
                        f"{from_minute(minute):%Y-%m-%dT%H:%MZ}",
                        good,
                        total,
                    ]
                )
                rows += 1
    return rows
