"""What one Prometheus collection run did (``PrometheusRun``), as JSON and as one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from errorbudget.model import Minute, from_minute


@dataclass
class PrometheusRun:
    """What one collection run did."""

    start: Minute
    end: Minute
    mode: Literal["instant", "range"] = "range"
    """Instant queries (a few closed minutes) or ``query_range`` chunks."""
    slos: list[str] = field(default_factory=list)
    chunks: int = 0
    chunks_written: int = 0
    rows_written: int = 0
    collected_through: Minute | None = None
    queries: int = 0
    requests: int = 0
    retries: int = 0
    failed_requests: int = 0
    points: int = 0
    no_data_minutes: int = 0
    """Series-minutes without data (no sample, NaN): nothing written, never zero."""
    broken_minutes: int = 0
    """Series-minutes whose values cannot be counts: written 0/0 with a data issue."""
    data_issues: int = 0
    data_issues_resolved: int = 0
    rounding: float = 0.0
    """Sum of |value − whole count| over what was written (``increase`` extrapolation)."""
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def report_json(run: PrometheusRun, source: str) -> dict[str, Any]:
    """``run`` as JSON (``errorbudget collect --format json``)."""
    return {
        "source": source,
        "from": _iso(run.start),
        "to": _iso(run.end),
        "mode": run.mode,
        "slos": run.slos,
        "chunks": run.chunks,
        "chunks_written": run.chunks_written,
        "rows_written": run.rows_written,
        "collected_through": _iso(run.collected_through),
        "seconds": round(run.seconds, 3),
        "queries": run.queries,
        "requests": run.requests,
        "retries": run.retries,
        "failed_requests": run.failed_requests,
        "points": run.points,
        "no_data_minutes": run.no_data_minutes,
        "broken_minutes": run.broken_minutes,
        "data_issues": run.data_issues,
        "data_issues_resolved": run.data_issues_resolved,
        "rounding": round(run.rounding, 3),
        "error": run.error,
    }


def report_line(run: PrometheusRun, source: str) -> str:
    """``run`` as one line (``errorbudget collect``)."""
    through = _iso(run.collected_through) or "nothing new"
    return (
        f"{source}: {'ok' if run.ok else 'FAILED'}, {run.chunks_written}/{run.chunks} "
        f"{'minutes' if run.mode == 'instant' else 'chunks'}, {run.rows_written:,} minute "
        f"rows written for {len(run.slos)} SLO(s), collected through {through}; "
        f"{run.queries} queries ({run.requests} requests, {run.failed_requests} failed), "
        f"{run.points:,} points, {run.no_data_minutes:,} minute(s) without data, "
        f"{run.broken_minutes} broken; {run.seconds:.1f} s"
    )


def _iso(minute: Minute | None) -> str | None:
    return None if minute is None else from_minute(minute).strftime("%Y-%m-%dT%H:%MZ")
