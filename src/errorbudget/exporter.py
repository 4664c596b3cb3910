"""Prometheus collectors for ``/metrics``: budget, burn and state gauges per series, and
the ``ALERTS``-style series of pending and firing alerts.

A custom collector over the evaluation service (prometheus_client's ``Collector``
protocol), registered on a registry owned by the web app — never the global ``REGISTRY`` — so
tests and several apps in one process stay independent. It reads the published evaluation of
"now" (``services.evaluations``), cached there by minute and store revision: however often
Prometheus scrapes, nothing is evaluated twice, and there is no second cache here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import get_args

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from errorbudget.model import BudgetStatus, PolicyState, segment_label
from errorbudget.services.alerts import ACTIVE_PHASES, AlertService
from errorbudget.services.evaluations import EvaluationService

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
        statuses = self.statuses()
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
    evaluations: EvaluationService, alerts: AlertService | None = None
) -> CollectorRegistry:
    """A fresh registry holding the budget collector over ``evaluations`` and, given the
    alert service, the alerts collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BudgetCollector(evaluations))
    if alerts is not None:
        registry.register(AlertsCollector(alerts))
    return registry
