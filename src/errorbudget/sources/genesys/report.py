"""What one Genesys collection run did (``CollectReport``), as JSON and as one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from errorbudget.model import Minute, from_minute
from errorbudget.sources.genesys.responses import ClientStats


@dataclass
class CollectReport:
    """What one collection run did."""

    start: Minute
    end: Minute
    chunks: int = 0
    chunks_written: int = 0
    rows_written: int = 0
    collected_through: Minute | None = None
    error: str | None = None
    seconds: float = 0.0
    slos: list[str] = field(default_factory=list)
    calls: int = 0
    """Requests sent to the API and the login server (429s included)."""
    failed_calls: int = 0
    """Of those, the ones that failed (5xx, timeouts, connection errors, malformed)."""
    rate_limited: int = 0
    chunks_skipped: int = 0
    """Chunks whose answers stayed malformed: skipped, recorded as ``partial`` issues."""
    data_issues: int = 0
    """Broken ranges found by this run (new or seen before), gaps and skipped chunks."""
    data_issues_resolved: int = 0
    complete: bool = False
    """Every chunk of the range was fetched and written (or skipped as ``partial``)."""
    service_level_discrepancies: int = 0
    """Intervals whose service level differs from Genesys's ``oServiceLevel``
    (``service_level_checks``)."""

    @property
    def ok(self) -> bool:
        return self.error is None


def report_json(run: CollectReport, source: str, stats: ClientStats) -> dict[str, Any]:
    """``run`` as JSON (``errorbudget collect --format json``); ``stats``: the client's."""
    return {
        "source": source,
        "from": _iso(run.start),
        "to": _iso(run.end),
        "slos": run.slos,
        "chunks": run.chunks,
        "chunks_written": run.chunks_written,
        "rows_written": run.rows_written,
        "collected_through": _iso(run.collected_through),
        "seconds": round(run.seconds, 3),
        "requests": stats.attempts + stats.by_endpoint["oauth_token"],
        "calls": run.calls,
        "failed_calls": run.failed_calls,
        "rate_limited": run.rate_limited,
        "retries": stats.retries,
        "chunks_skipped": run.chunks_skipped,
        "data_issues": run.data_issues,
        "data_issues_resolved": run.data_issues_resolved,
        "service_level_discrepancies": run.service_level_discrepancies,
        "error": run.error,
    }


def report_line(run: CollectReport, stats: ClientStats) -> str:
    """``run`` as one line (``errorbudget collect``)."""
    data = report_json(run, "genesys", stats)
    through = data["collected_through"] or "nothing new"
    issues = f"{run.data_issues} data issue(s) found"
    if run.data_issues_resolved:
        issues += f", {run.data_issues_resolved} resolved"
    return (
        f"genesys: {'ok' if run.ok else 'FAILED'}, {data['chunks_written']}/"
        f"{data['chunks']} chunks, {data['rows_written']:,} minute rows written for "
        f"{len(run.slos)} SLO(s), collected through {through}; {run.calls} API calls "
        f"({run.failed_calls} failed, {run.rate_limited} rate limited), {issues}; "
        f"{data['seconds']:.1f} s"
    )


def _iso(minute: Minute | None) -> str | None:
    return None if minute is None else from_minute(minute).strftime("%Y-%m-%dT%H:%MZ")
