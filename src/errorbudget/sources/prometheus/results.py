"""From Prometheus answers to counts per series and minute (pure: no I/O).

**Minutes.** The count of minute ``m`` (``[t − 1m, t)`` with ``t = (m + 1)·60 s``) is the
query with ``{{.window}}`` = ``1m`` evaluated at ``t``; a ``query_range`` over minutes
``[a, b)`` therefore runs from ``(a + 1)·60`` to ``b·60`` with a 60-second step: ``b − a``
points per series (:func:`chunks` keeps that within ``max_points`` and the span limit).

**No data is not zero.** A minute whose total query has no sample (an empty result, a
series missing at that step) or a NaN has no data: nothing is written for it. A numerator
that is absent where the total has a sample: a missing ``bad_query`` sample is 0 bad
events (an error counter often has no series until the first error); a missing
``good_query`` sample is 0 good events only when the total is 0 too (a zero-event
minute); with a positive total it is no data (counted, never guessed as all bad).

**Whole events.** ``increase`` extrapolates to the window's edges, so values are seldom
whole numbers; they are made whole by error diffusion over each fetched range
(``combine``), the first minute of each range offset by :func:`dither` so a minute
fetched alone (a live run's lookback) is not rounded down on average. Values that cannot
be counts — ±Inf, negative, more good (or bad) than total, more than the per-minute cap —
are *broken*: the minute is written as 0/0 with an ``inconsistent`` data issue, like the
other sources, and left out of budgets until a re-fetch answers plausible values.

**Series.** Each result series lands in the SLO's segment named by its labels for the
SLO's ``segments.keys``; a series without one of those labels, two series for one
segment, or several series for an SLO without segment keys is an error naming the query.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from errorbudget.errors import SourceDataError
from errorbudget.limits import MAX_COUNT
from errorbudget.model import Minute, SegmentKey

STEP_SECONDS = 60
"""Every query is evaluated once a minute, at the minute's end."""


@dataclass(frozen=True)
class Series:
    """One series of an answer: its labels and its (Unix seconds, value text) samples."""

    labels: Mapping[str, str]
    samples: Sequence[tuple[float, str]]


def chunks(start: Minute, end: Minute, max_points: int, max_span: int) -> list[tuple[int, int]]:
    """``[start, end)`` split into the fewest ranges of at most ``max_points`` minutes (one
    point per minute and series) and ``max_span`` minutes each, in time order."""
    size = max(1, min(max_points, max_span))
    return [(at, min(at + size, end)) for at in range(start, end, size)]


def evaluation_time(minute: Minute) -> int:
    """Unix seconds at which minute ``minute``'s count is evaluated: its end."""
    return (minute + 1) * STEP_SECONDS


def parse_answer(body: Any, where: str) -> list[Series]:
    """The series of a ``/api/v1/query`` or ``/api/v1/query_range`` answer's ``data``
    (vector, matrix or scalar). SourceDataError when it has another shape."""
    try:
        kind = body["resultType"]
        result = body["result"]
        if kind == "scalar":
            return [Series({}, [(float(result[0]), str(result[1]))])]
        if kind == "vector":
            return [
                Series(_labels(item["metric"]), [(float(item["value"][0]), str(item["value"][1]))])
                for item in result
            ]
        if kind == "matrix":
            return [
                Series(_labels(item["metric"]), [(float(t), str(v)) for t, v in item["values"]])
                for item in result
            ]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SourceDataError(f"{where}: answer of an unexpected shape ({exc!r})") from exc
    raise SourceDataError(f"{where}: result type {kind!r} is not a vector or a matrix")


def _labels(metric: Any) -> dict[str, str]:
    if not isinstance(metric, dict):
        raise TypeError("metric is not a mapping")
    return {str(k): str(v) for k, v in metric.items()}


def by_segment(
    series: Iterable[Series], keys: Sequence[str], where: str
) -> dict[SegmentKey, dict[Minute, float]]:
    """The samples of an answer per segment and minute (NaN left out: no data).
    SourceDataError, naming ``where`` (the SLO and query), when a series cannot be placed."""
    found: dict[SegmentKey, dict[Minute, float]] = {}
    for item in series:
        missing = [k for k in keys if k not in item.labels]
        if missing:
            raise SourceDataError(
                f"{where} returned a series without the segment label(s) "
                f"{', '.join(missing)} ({_describe(item.labels)}); aggregate it with sum by "
                f"({', '.join(keys)}) (…)"
            )
        segment: SegmentKey = tuple(sorted((k, item.labels[k]) for k in keys))
        if segment in found:
            what = (
                f"several series for segment {_describe(dict(segment))}"
                if keys
                else "several series (the SLO has no segment keys)"
            )
            raise SourceDataError(
                f"{where} returned {what}, e.g. {_describe(item.labels)}; aggregate it with "
                f"sum{f' by ({chr(44).join(keys)})' if keys else ''} (…)"
            )
        values: dict[Minute, float] = {}
        for at, text in item.samples:
            value = float(text)  # Prometheus's own formatting: NaN, +Inf, -Inf, numbers
            if not math.isnan(value):
                values[round(at / STEP_SECONDS) - 1] = value
        found[segment] = values
    return found


def _describe(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


@dataclass
class MinuteCounts:
    """One SLO's counts over a range, per segment: what to write, what is broken."""

    counts: dict[tuple[SegmentKey, Minute], tuple[int, int]] = field(default_factory=dict)
    """(good, total) of every minute with data (broken ones as 0/0)."""
    broken: dict[tuple[SegmentKey, Minute], str] = field(default_factory=dict)
    """Why each broken minute cannot be right."""
    no_data: int = 0
    """Minutes of a known segment without a total sample, or without a good sample while
    the total is positive (nothing written)."""
    rounded: float = 0.0
    """The sum of |value − rounded value| over the counts written (extrapolation)."""


def combine(
    numerator: Literal["good", "bad"],
    upper: Mapping[SegmentKey, Mapping[Minute, float]],
    totals: Mapping[SegmentKey, Mapping[Minute, float]],
    minutes: range,
) -> MinuteCounts:
    """(good, total) per segment and minute of ``minutes`` from the numerator's and the
    total's samples (see the module's rules for no data and broken values).

    Whole counts by error diffusion, in time order per segment: each minute's total and
    bad events are rounded after adding what rounding left over from the minutes before,
    so a range's sums stay within one event of the values' sums. (Rounding each minute
    alone is biased where events are sparse: one bad event seen in 45 s of a 60 s window
    is 1.33, rounded to 1, and missed entirely a quarter of the time — 25 % too few.) The
    carry starts at :func:`dither` of the range's first minute, so a one-minute range (an
    instant query) is unbiased too."""
    result = MinuteCounts()
    for segment in sorted(set(upper) | set(totals)):
        total_of = totals.get(segment, {})
        upper_of = upper.get(segment, {})
        carry_total = carry_bad = dither(minutes.start)
        for minute in minutes:
            total = total_of.get(minute)
            if total is None:
                result.no_data += segment in totals
                continue
            part = upper_of.get(minute)
            if part is None:
                if numerator == "good" and _whole(total) != 0:
                    result.no_data += 1
                    continue
                part = 0.0 if numerator == "bad" else total
            problem = _problem(numerator, part, total)
            key = (segment, minute)
            if problem is not None:
                result.counts[key] = (0, 0)
                result.broken[key] = problem
                continue
            bad = part if numerator == "bad" else max(0.0, total - part)
            whole_total = max(0, round(total + carry_total))
            whole_bad = min(whole_total, max(0, round(bad + carry_bad)))
            carry_total += total - whole_total
            carry_bad += bad - whole_bad
            result.rounded += abs(total - whole_total) + abs(bad - whole_bad)
            result.counts[key] = (whole_total - whole_bad, whole_total)
    return result


_GOLDEN = (math.sqrt(5) - 1) / 2


def dither(minute: Minute) -> float:
    """The carry a range starting at ``minute`` begins with: a fixed offset in
    [−0.5, 0.5), spread evenly over consecutive minutes (the golden-ratio sequence; 0 at
    minute 0). A live run's last word on a minute comes from the run whose lookback starts
    there, one instant query per minute, so no carry reaches it: rounded alone, sparse
    events seen as 4/3 in three minutes of four and missed in the fourth are 3 of 4.
    ``round(v + offset)`` is right on average over minutes and the same on every re-fetch
    of the same value; whole values are unchanged."""
    return math.fmod(minute * _GOLDEN + 0.5, 1.0) - 0.5


def _whole(value: float) -> int:
    return round(value) if math.isfinite(value) else 0


def _problem(numerator: str, part: float, total: float) -> str | None:
    if not (math.isfinite(part) and math.isfinite(total)):
        return f"not a finite number ({numerator} {part}, total {total})"
    whole_part, whole_total = _whole(part), _whole(total)
    if whole_part < 0 or whole_total < 0:
        return f"negative count ({numerator} {part:g}, total {total:g})"
    if whole_part > whole_total:
        return f"more {numerator} events than total ({numerator} {part:g}, total {total:g})"
    if whole_total > MAX_COUNT:
        return f"more events in a minute than the store accepts (total {total:g})"
    return None
