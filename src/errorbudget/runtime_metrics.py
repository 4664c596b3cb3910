"""Prometheus collector for ``/metrics``: the health of the sources and of the scheduled jobs.

Per source (labels ``source``), from the store's record of every run
(``Store.source_health``: runs of this process, of earlier ones and of a cron ``collect``)
and, for the sources this process schedules, from what it saw itself (``RunHealth``: the
fresher of the two wins, so a run the store could not record yet still shows):

- ``errorbudget_source_last_success_timestamp_seconds`` and
  ``errorbudget_source_last_run_timestamp_seconds``
- ``errorbudget_source_consecutive_failures``: failed runs since the last success
- ``errorbudget_source_data_lag_seconds``: now − the end of what the source has stored
  (``collected_through``; an SLO with no traffic yet counts as current after a successful
  run, so the gauge is absent only before the first success)
- ``errorbudget_source_runs_total{outcome="ok"|"failed"}``: runs of this process (a counter)

Per scheduled job (labels ``job``): ``errorbudget_job_up`` (1 running, 0 down after a
crash) and ``errorbudget_job_restarts_total``. Alert on ``time() -
errorbudget_source_last_success_timestamp_seconds`` or ``errorbudget_source_data_lag_seconds``
rather than on ``/readyz`` (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from errorbudget.app import App
from errorbudget.model import SourceHealth, from_minute
from errorbudget.scheduler import Job
from errorbudget.sources.base import RunHealth


def scheduled_health(sources: Sequence[object]) -> dict[str, RunHealth]:
    """The in-process run health of scheduled sources, by source name."""
    found: dict[str, RunHealth] = {}
    for source in sources:
        health = getattr(source, "run_health", None)
        name = getattr(source, "name", None)
        if isinstance(health, RunHealth) and isinstance(name, str):
            found[name] = health
    return found


class RuntimeCollector(Collector):
    """Source and job series; ``jobs()`` and ``sources()`` give what the server runs now."""

    def __init__(
        self,
        app: App,
        jobs: Callable[[], Sequence[Job]],
        sources: Callable[[], Sequence[object]],
    ) -> None:
        self.app = app
        self.jobs = jobs
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        labels = ["source"]
        last_success = GaugeMetricFamily(
            "errorbudget_source_last_success_timestamp_seconds",
            "When the source's last successful run ended (Unix time).",
            labels=labels,
        )
        last_run = GaugeMetricFamily(
            "errorbudget_source_last_run_timestamp_seconds",
            "When the source's last run ended, successful or not (Unix time).",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            "errorbudget_source_consecutive_failures",
            "Failed runs of the source since its last success.",
            labels=labels,
        )
        lag = GaugeMetricFamily(
            "errorbudget_source_data_lag_seconds",
            "Now minus the end of what the source has stored.",
            labels=labels,
        )
        runs = CounterMetricFamily(
            "errorbudget_source_runs",
            "Collection runs of this process, by outcome.",
            labels=["source", "outcome"],
        )
        now = self.app.clock()
        stored = {h.source: h for h in self.app.store.source_health()}
        seen = scheduled_health(self.sources())
        for name in sorted(set(stored) | set(seen)):
            view = _merge(stored.get(name), seen.get(name))
            if view.last_success_at is not None:
                last_success.add_metric([name], view.last_success_at.timestamp())
            if view.last_run_at is not None:
                last_run.add_metric([name], view.last_run_at.timestamp())
                failures.add_metric([name], view.consecutive_failures)
            if view.collected_through is not None:
                age = (now - from_minute(view.collected_through)).total_seconds()
                lag.add_metric([name], max(age, 0.0))
            health = seen.get(name)
            if health is not None:
                for outcome in ("ok", "failed"):
                    runs.add_metric([name, outcome], health.outcomes[outcome])
        up = GaugeMetricFamily(
            "errorbudget_job_up",
            "Whether the scheduled job runs (0: down after a crash, waiting to restart).",
            labels=["job"],
        )
        restarts = CounterMetricFamily(
            "errorbudget_job_restarts", "Restarts of the scheduled job after a crash.",
            labels=["job"],
        )  # fmt: skip
        for job in self.jobs():
            up.add_metric([job.name], 1.0 if job.up else 0.0)
            restarts.add_metric([job.name], job.restarts)
        yield from (last_success, last_run, failures, lag, runs, up, restarts)


def _merge(stored: SourceHealth | None, seen: RunHealth | None) -> SourceHealth:
    """The store's view of a source, completed with the runs this process made and the
    store could not record yet (busy): those are newer than anything stored."""
    base = stored or SourceHealth(
        source="", last_run_at=None, last_success_at=None, last_error=None,
        last_error_at=None, consecutive_failures=0, collected_through=None, runs=0,
    )  # fmt: skip
    if seen is None or not seen.unrecorded:
        return base
    pending = seen.unrecorded
    # a success among the unrecorded runs restarted the count; else they extend the store's
    streak = seen.consecutive_failures if any(pending) else base.consecutive_failures + len(pending)
    successes = [t for t in (base.last_success_at, seen.last_success_at) if t is not None]
    return SourceHealth(
        source=base.source,
        last_run_at=seen.last_run_at,
        last_success_at=max(successes) if successes else None,
        last_error=seen.last_error,
        last_error_at=seen.last_run_at if seen.last_error else None,
        consecutive_failures=streak,
        collected_through=base.collected_through,
        runs=base.runs + len(pending),
    )
