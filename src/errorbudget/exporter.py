"""Prometheus collectors for ``/metrics``: budget, burn and state gauges per series, the
cumulative good/bad/excluded event counters per series (docs/metrics.md), and the
``ALERTS``-style series of pending and firing alerts.

A custom collector over the evaluation service (prometheus_client's ``Collector``
protocol), registered on a registry owned by the web app — never the global ``REGISTRY`` — so
tests and several apps in one process stay independent. It reads the published evaluation of
"now" (``services.evaluations``), cached there by minute and store revision: however often
Prometheus scrapes, nothing is evaluated twice, and there is no second cache here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TextIO, get_args

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from errorbudget.model import BudgetStatus, Minute, PolicyState, segment_label
from errorbudget.services.alerts import ACTIVE_PHASES, AlertService
from errorbudget.services.evaluations import EvaluationKey, EvaluationService
from errorbudget.services.slo_counters import COUNTERS, CounterTotals, counter_totals

STATES: tuple[PolicyState, ...] = get_args(PolicyState)
LABELS = ["slo", "service", "segment"]


class BudgetCollector(Collector):
    """Gauges from the published evaluation; series with no data export no ratio (absent,
    not 0)."""

    def __init__(self, evaluations: EvaluationService) -> None:
        self.evaluations = evaluations

    def statuses(self) -> list[BudgetStatus]:
        """Every series' status in "now"'s evaluation (whole-SLO rows included)."""
        return self.evaluations.evaluation().statuses

    def collect(self) -> Iterator[Metric]:
        return self.families(self.statuses())

    def families(self, statuses: Sequence[BudgetStatus]) -> Iterator[Metric]:
        """The gauge families of ``statuses`` (one evaluation's)."""
        gauges = {
            "sli": GaugeMetricFamily(
                "errorbudget_sli",
                "Good share of eligible events over the SLO period.",
                labels=LABELS,
            ),
            "target": GaugeMetricFamily(
                "errorbudget_target", "Objective of the series.", labels=LABELS
            ),
            "remaining": GaugeMetricFamily(
                "errorbudget_budget_remaining_ratio",
                "Share of the error budget left (negative when overspent).",
                labels=LABELS,
            ),
            "eligible": GaugeMetricFamily(
                "errorbudget_eligible_events",
                "Eligible events in the period so far.",
                labels=LABELS,
            ),
            "bad": GaugeMetricFamily(
                "errorbudget_bad_events",
                "Budget-counting bad events in the period so far.",
                labels=LABELS,
            ),
            "exhaustion": GaugeMetricFamily(
                "errorbudget_time_to_exhaustion_seconds",
                "Time until the budget is spent at the forecast lookback's rates "
                "(absent when it is not forecast to be spent).",
                labels=LABELS,
            ),
            "projected": GaugeMetricFamily(
                "errorbudget_projected_consumed_ratio",
                "Projected budget consumption at the end of a calendar period.",
                labels=LABELS,
            ),
            "period": GaugeMetricFamily(
                "errorbudget_period_seconds",
                "Length of the budget period the series is judged over (a rolling window's "
                "length, or the current calendar period's).",
                labels=LABELS,
            ),
        }
        burn = GaugeMetricFamily(
            "errorbudget_burn_rate",
            "Burn rate over a window: 1 spends the budget exactly over the SLO period.",
            labels=[*LABELS, "window"],
        )
        state = GaugeMetricFamily(
            "errorbudget_state",
            "Policy state of the series (1 for the current state).",
            labels=[*LABELS, "state"],
        )
        condition = GaugeMetricFamily(
            "errorbudget_burn_condition",
            "Whether a multiwindow burn-rate condition holds (1) or not (0).",
            labels=[*LABELS, "severity", "long_window", "short_window"],
        )
        data_age = GaugeMetricFamily(
            "errorbudget_data_age_seconds",
            "Age of the series' newest stored minute at the evaluation instant.",
            labels=LABELS,
        )
        coverage = GaugeMetricFamily(
            "errorbudget_data_coverage_ratio",
            "Share of the window the stored data spans (below data.min_coverage the series "
            "is insufficient_data and exports no budget ratios).",
            labels=LABELS,
        )
        for status in statuses:
            labels = [status.slo, status.service, segment_label(status.segment)]
            if status.coverage is not None:
                if status.coverage.age_seconds is not None:
                    data_age.add_metric(labels, status.coverage.age_seconds)
                if status.coverage.window_minutes > 0:
                    coverage.add_metric(
                        labels, status.coverage.covered_minutes / status.coverage.window_minutes
                    )
            values = {
                "sli": status.sli,
                "target": status.target,
                "remaining": status.budget_remaining_ratio,
                "eligible": status.eligible,
                "bad": status.bad,
                "exhaustion": status.time_to_exhaustion_seconds,
                "projected": status.projected_consumed_ratio,
                "period": float((status.period_end - status.period_start) * 60),
            }
            for name, value in values.items():
                if value is not None:
                    gauges[name].add_metric(labels, value)
            for window, rate in status.burn_rates.items():
                if rate is not None:
                    burn.add_metric([*labels, window], rate)
            if status.period_burn_rate is not None:
                burn.add_metric([*labels, "period"], status.period_burn_rate)
            for name in STATES:
                state.add_metric([*labels, name], 1.0 if status.state == name else 0.0)
            for result in status.conditions:
                condition.add_metric(
                    [*labels, result.severity, result.long_window, result.short_window],
                    1.0 if result.firing else 0.0,
                )
        yield from gauges.values()
        yield from (burn, state, condition, data_age, coverage)


COUNTER_HELP = {
    "good": "Good eligible events (slices, for a timeslices SLO) in stored minutes since the "
    "exporter's anchor (exclusions, maintenance, out-of-schedule and broken minutes removed, "
    "as in status).",
    "bad": "Bad eligible events in stored minutes since the exporter's anchor "
    "(good + bad = the eligible events status counts).",
    "excluded": "Events removed by exclusions and maintenance windows since the exporter's anchor.",
}


class SloCountersCollector(Collector):
    """``errorbudget_slo_{good,bad,excluded}_events_total`` per series: cumulative events
    over the stored minutes ``[anchor, at)`` (``services.slo_counters``), ``at`` the minute
    of the published evaluation of "now" and ``anchor`` the minute of this collector's
    first collection, so every process starts its counters from 0 like any Prometheus
    counter (a restart is a clean reset).

    Computed once per evaluation (``EvaluationService.memo`` under its key: minute and store
    revision), however often Prometheus scrapes. Monotonic: a late revision or a
    retroactive exclusion that lowers a cumulative count is held (the exported value keeps
    its level and counts on from there) and the amount is added to
    ``errorbudget_slo_counter_corrections_total``, so Prometheus never reads a reset."""

    def __init__(self, evaluations: EvaluationService) -> None:
        self.evaluations = evaluations
        self.anchor: Minute | None = None
        self._lock = threading.Lock()
        self._held: dict[tuple[tuple[str, ...], str], float] = {}
        """Events held back per (series labels, counter): added to the cumulative count."""
        self._exported: dict[tuple[tuple[str, ...], str], float] = {}
        self._corrections: dict[tuple[tuple[str, ...], str], float] = {}
        self._applied: EvaluationKey | None = None
        """The evaluation whose counts were last applied."""

    def totals(self) -> tuple[EvaluationKey, CounterTotals]:
        """The cumulative counts at the published evaluation's minute (memoised by its key),
        and that key."""
        evaluation = self.evaluations.evaluation()
        with self._lock:
            if self.anchor is None:
                self.anchor = evaluation.minute
            anchor = self.anchor
        return evaluation.key, self.evaluations.memo(
            ("slo-counters", anchor),
            evaluation.key,
            lambda: counter_totals(self.evaluations, anchor, [evaluation.minute]),
        )

    def collect(self) -> Iterator[Metric]:
        key, totals = self.totals()
        families = {
            name: CounterMetricFamily(
                f"errorbudget_slo_{name}_events", COUNTER_HELP[name], labels=LABELS
            )
            for name in COUNTERS
        }
        corrections = CounterMetricFamily(
            "errorbudget_slo_counter_corrections",
            "Events by which a cumulative count fell below what was already exported (a "
            "late revision or a retroactive exclusion): held, never exported as a decrease.",
            labels=[*LABELS, "counter"],
        )
        with self._lock:
            # Counts of an evaluation older than one already applied (two scrapes at once,
            # each served a different evaluation) are not a correction: the newer stand.
            current = self._applied is None or key >= self._applied
            if current:
                self._applied = key
            for column, series in enumerate(totals.series):
                labels = tuple(series.labels)
                for index, name in enumerate(COUNTERS):
                    counter = (labels, name)
                    exported = self._exported.get(counter, 0.0)
                    if current:
                        value = float(totals.values[-1, column, index]) + self._held.get(
                            counter, 0.0
                        )
                        if value < exported:
                            lowered = exported - value
                            self._held[counter] = self._held.get(counter, 0.0) + lowered
                            self._corrections[counter] = (
                                self._corrections.get(counter, 0.0) + lowered
                            )
                            value = exported
                        self._exported[counter] = value
                    else:
                        value = exported
                    families[name].add_metric(list(labels), value)
            for (labels, name), amount in self._corrections.items():
                corrections.add_metric([*labels, name], amount)
        anchor = GaugeMetricFamily(
            "errorbudget_slo_counters_anchor_timestamp_seconds",
            "The instant the SLO event counters count from (0 there); backfill history up "
            "to it (errorbudget export openmetrics).",
        )
        anchor.add_metric([], float(totals.anchor * 60))
        yield from families.values()
        yield corrections
        yield anchor


class AlertsCollector(Collector):
    """``errorbudget_alerts``: one series per pending or firing alert, valued 1, labelled
    like Prometheus's own ``ALERTS`` (``alertstate`` pending or firing) plus the segment.
    Read from the states the alert service stored (no second computation); registered
    after the budget collector, whose evaluation of "now" steps the alerts first."""

    def __init__(self, alerts: AlertService) -> None:
        self.alerts = alerts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "errorbudget_alerts",
            "1 for each pending or firing alert (as Prometheus's ALERTS series)",
            labels=["alertname", "slo", "service", "segment", "severity", "alertstate"],
        )
        for alert in self.alerts.store.list_alerts(phases=ACTIVE_PHASES):
            family.add_metric(
                [
                    alert.alertname,
                    alert.slo,
                    alert.service,
                    segment_label(alert.segment),
                    alert.severity,
                    alert.state.phase,
                ],
                1.0,
            )
        yield family


def registry_for(
    evaluations: EvaluationService,
    alerts: AlertService | None = None,
    *,
    budget: bool = True,
) -> CollectorRegistry:
    """A fresh registry holding the budget (unless ``budget`` is False: see
    :class:`BudgetExposition`) and SLO counter collectors over ``evaluations`` and, given
    the alert service, the alerts collector."""
    registry = CollectorRegistry(auto_describe=False)
    if budget:
        registry.register(BudgetCollector(evaluations))
    registry.register(SloCountersCollector(evaluations))
    if alerts is not None:
        registry.register(AlertsCollector(alerts))
    return registry


class _Families:
    """Fixed families, in the shape ``generate_latest`` collects."""

    def __init__(self, families: Iterator[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> list[Metric]:
        return self._families


class BudgetExposition:
    """The budget gauges as ``/metrics`` text, rendered once per evaluation of "now"
    (kept with its evaluation's key) rather than on every scrape: for 1,000
    series that text is 2.5 MB and took ~200 ms to render, every scrape, of which ~65 ms
    building the families (docs/performance.md, "Issue #11 — SLO families per scrape").
    Served with a registry built by ``registry_for(..., budget=False)``; it evaluates "now"
    first, so the alerts collector reads states stepped by that evaluation."""

    def __init__(self, evaluations: EvaluationService) -> None:
        self.evaluations = evaluations
        self.collector = BudgetCollector(evaluations)
        self._lock = threading.Lock()
        self._latest: tuple[EvaluationKey, bytes] | None = None
        """The last rendering and its evaluation: only one is kept (not the service's
        memo, which holds thousands of entries: days of megabyte renderings)."""

    def render(self) -> bytes:
        evaluation = self.evaluations.evaluation()
        with self._lock:
            latest = self._latest
        if latest is not None and latest[0] == evaluation.key:
            return latest[1]
        text = generate_latest(_Families(self.collector.families(evaluation.statuses)))
        with self._lock:
            self._latest = (evaluation.key, text)
        return text


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def write_counter_history(
    totals: CounterTotals,
    moments: Sequence[int],
    out: TextIO,
    *,
    milliseconds: bool = False,
) -> int:
    """Write the SLO event counters at each of ``moments`` (Unix seconds, ascending) as
    OpenMetrics text with timestamps, for ``promtool tsdb create-blocks-from openmetrics``
    (``# EOF`` last); with ``milliseconds``, as Prometheus text with millisecond timestamps
    for VictoriaMetrics' ``/api/v1/import/prometheus``. The value at moment ``t`` is the
    cumulative count at the minute containing ``t`` (``totals`` holds every such minute):
    what the live collector anchored at ``totals.anchor`` reports at ``t``. One family at
    a time, each series' samples together in time order, as OpenMetrics asks. Returns the
    number of samples written."""
    column = {minute: index for index, minute in enumerate(totals.instants)}
    rows = [column[moment // 60] for moment in moments]
    stamps = [str(moment * 1000) if milliseconds else str(moment) for moment in moments]
    written = 0
    for index, name in enumerate(COUNTERS):
        family = f"errorbudget_slo_{name}_events"
        out.write(f"# HELP {family} {COUNTER_HELP[name]}\n# TYPE {family} counter\n")
        for position, series in enumerate(totals.series):
            pairs = zip(LABELS, series.labels, strict=True)
            labels = ",".join(f'{key}="{_escape(value)}"' for key, value in pairs)
            values = totals.values[rows, position, index]
            prefix = f"{family}_total{{{labels}}} "
            out.writelines(
                f"{prefix}{value:.17g} {stamp}\n"
                for value, stamp in zip(values.tolist(), stamps, strict=True)
            )
            written += len(stamps)
    if not milliseconds:
        out.write("# EOF\n")
    return written
