"""A third-party source plugin, as a package outside errorbudget would write one: counts of
queue calls read from a JSON file (``[{"minute": …, "queue": …, "good": …, "total": …}]``).

It is installed for the tests through the ``errorbudget.sources`` entry-point group (a
dist-info in a temporary directory on ``sys.path``, ``tests/integration/test_source_plugins.py``)
and uses only the public plugin API: its settings (the generic pull schedule plus a path),
its indicator (which queue; segment key ``queue`` only), the generic schedule, and the
counts-write protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field

from errorbudget.indicators import IndicatorSettings
from errorbudget.model import SLO, Minute, to_minute
from errorbudget.sources import RunHealth, SourceContext
from errorbudget.sources.counts_sink import CountsSink
from errorbudget.sources.plugin import Clock, Progress
from errorbudget.sources.schedule import PullSettings, plan_run

NAME = "filecounts"


class FileCountsSettings(PullSettings):
    path: str = Field(min_length=1)
    """The JSON file of counts (relative to the config file)."""


class FileCountsIndicator(IndicatorSettings):
    source: Literal["filecounts"] = "filecounts"
    queue: str
    default_max_age: ClassVar[timedelta | None] = timedelta(minutes=30)

    def segment_key_problem(self, keys: list[str]) -> str | None:
        unknown = [k for k in keys if k != "queue"]
        return f"segment key(s) {unknown} cannot be filled by filecounts" if unknown else None


@dataclass
class FileRun:
    start: Minute
    end: Minute
    rows_written: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FileCountsSource:
    name = NAME

    def __init__(self, settings: FileCountsSettings, slos: list[SLO], sink: CountsSink,
                 path: Path, clock: Clock) -> None:  # fmt: skip
        self.settings, self.slos, self.sink, self.path, self.clock = (
            settings, slos, sink, path, clock,
        )  # fmt: skip
        self.run_health = RunHealth()
        self.last_report: FileRun | None = None
        self.marks: dict[str, Minute | None] = {s.id: None for s in slos}

    @property
    def interval(self) -> timedelta:
        return self.settings.interval

    async def collect(self, start: datetime, end: datetime) -> int:
        return (await self.collect_range(to_minute(start), to_minute(end))).rows_written

    async def aclose(self) -> None:
        return None

    async def run_once(self, *, deadline: timedelta | None = None) -> FileRun:
        plan = plan_run(self.settings, to_minute(self.clock()), self.marks)
        return await self.collect_range(plan.start, plan.end)

    async def collect_range(self, start: Minute, end: Minute, *,
                            progress: Progress | None = None,
                            deadline: timedelta | None = None) -> FileRun:  # fmt: skip
        run = FileRun(start, end)
        rows = json.loads(self.path.read_text(encoding="utf-8"))
        with self.sink.transaction():
            for slo in self.slos:
                assert isinstance(slo.indicator, FileCountsIndicator)
                mine = [r for r in rows if r["queue"] == slo.indicator.queue
                        and start <= r["minute"] < end]  # fmt: skip
                if not mine:
                    continue
                segment = (("queue", slo.indicator.queue),) if slo.segments.keys else ()
                [series] = self.sink.series_ids(slo.id, [segment])
                run.rows_written += self.sink.write_counts(
                    np.full(len(mine), series, dtype=np.int64),
                    np.asarray([r["minute"] for r in mine], dtype=np.int64),
                    np.asarray([r["good"] for r in mine], dtype=np.int64),
                    np.asarray([r["total"] for r in mine], dtype=np.int64),
                    source=NAME,
                )
                self.marks[slo.id] = max(r["minute"] for r in mine) + 1
        self.last_report = run
        return run

    def report(self, run: FileRun) -> dict[str, Any]:
        return {"source": NAME, "from": run.start, "to": run.end,
                "rows_written": run.rows_written, "error": run.error}  # fmt: skip

    def summary(self, run: FileRun) -> str:
        return f"{NAME}: {run.rows_written} minute rows written"


@dataclass(frozen=True)
class FileCountsPlugin:
    name: str = NAME
    indicator_model: type[IndicatorSettings] = FileCountsIndicator
    settings_model: type[BaseModel] | None = FileCountsSettings

    def unconfigured_problem(self, configured: bool) -> str | None:
        return None if configured else "indicator source 'filecounts' needs sources.filecounts"

    def create(self, context: SourceContext) -> FileCountsSource | None:
        if not context.slos:
            return None
        assert isinstance(context.settings, FileCountsSettings)
        path = context.config_path.parent / context.settings.path
        return FileCountsSource(context.settings, context.slos, context.store, path, context.clock)


plugin = FileCountsPlugin()
