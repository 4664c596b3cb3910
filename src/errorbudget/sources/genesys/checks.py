"""Counts that cannot be right: which aggregate rows are broken, and why (pure).

The SLI formulas (``slis.py``) clamp good to ``[0, total]``; a row that would need the
clamp is not a number to trust but a broken answer. These checks say so *before* the
formulas run, from the Genesys metrics themselves (so they hold whatever options the
formula has):

- no count is negative;
- queues: answered over the SL target ≤ answered (``nOverSla ≤ tAnswered``), answered
  within N seconds ≤ answered (the ``tAnsweredWithin…`` view), short abandons ≤ abandons
  (when they are left out of the total);
- flows: visits with a failed outcome, or with none, never exceed the visits they filter
  (transfers and hang-ups); every count is per visit at its end, so none may shift.

With every queue check passing, ``0 ≤ good ≤ answered ≤ total`` holds for every variant
of the service-level formula, so no clamp ever happens on a row that passes.
The collector stores such a row's series-minute as 0/0 and records a data issue
(``inconsistent``), which a later clean re-fetch of the interval resolves.
"""

from __future__ import annotations

from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.queries import IntervalCounts, target_view_name, view_name


def _negative(row: IntervalCounts, metrics: list[str]) -> list[str]:
    return [f"{m} {row.get(m)}" for m in metrics if row.get(m) < 0]


def _describe(row: IntervalCounts, metrics: list[str]) -> str:
    return ", ".join(f"{m} {row.get(m)}" for m in metrics)


def queue_row_problem(
    indicator: GenesysIndicator, row: IntervalCounts, target_ms: int | None = None
) -> str | None:
    """Why one queue × media type × interval row cannot be right for ``indicator``, or
    None when it can; ``target_ms``: the service-level target in force then, whose
    ``tAnswered`` view the good count comes from (``slis.queue_good_total``)."""
    within = (
        view_name(indicator.threshold_seconds)
        if indicator.metric == "answered_within" and indicator.threshold_seconds is not None
        else target_view_name(target_ms)
        if target_ms is not None
        else None
    )
    used = ["tAnswered", within or "nOverSla"]
    if indicator.include_abandons:
        used.append("tAbandon")
        if indicator.exclude_short_abandons:
            used.append("tShortAbandon")
    if indicator.include_flow_outs:
        used.append("tFlowOut")
    problems = [f"negative count ({n})" for n in _negative(row, used)]
    answered = row.get("tAnswered")
    if within is not None and row.get(within) > answered:
        limit = (
            f"{indicator.threshold_seconds} s"
            if indicator.metric == "answered_within"
            else "the service-level target"
        )
        problems.append(f"more answered within {limit} than answered")
    if within is None and row.get("nOverSla") > answered:
        problems.append("more answered over the service-level target than answered")
    if "tShortAbandon" in used and row.get("tShortAbandon") > row.get("tAbandon"):
        problems.append("more short abandons than abandons")
    if not problems:
        return None
    return f"{'; '.join(problems)} ({_describe(row, used)})"


FLOW_METRICS_USED = [
    "tFlowDisconnect",
    "tFlowExit",
    "failed.tFlowDisconnect",
    "failed.tFlowExit",
    "no_outcome.tFlowDisconnect",
]


def flow_row_problem(row: IntervalCounts) -> str | None:
    """Why one flow × interval row (every visit that ended, merged with the visits with a
    failed outcome and those without any, ``slis.flow_good_total``) cannot be right, or
    None when it can: a filtered count never exceeds the visits it filters."""
    problems = [f"negative count ({n})" for n in _negative(row, FLOW_METRICS_USED)]
    if row.get("failed.tFlowExit") > row.get("tFlowExit"):
        problems.append("more transfers after a failed outcome than transfers")
    hung_up = row.get("failed.tFlowDisconnect") + row.get("no_outcome.tFlowDisconnect")
    if hung_up > row.get("tFlowDisconnect"):
        problems.append("more hang-ups after a failed outcome or none than hang-ups")
    if not problems:
        return None
    return f"{'; '.join(problems)} ({_describe(row, FLOW_METRICS_USED)})"
