"""A month of per-minute counts for the demo SLOs: seasonal arrivals, SLA that sags when the
queue is busy, a day-to-day drift, and one platform incident.

This is a small stand-in with the shape of real data; the full contact-center simulator
(queues, staffing, abandonment, IVR flows) lives in ``errorbudget.simulate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from errorbudget.model import Minute

UTC_OFFSET_HOURS = -5  # the demo's contact center keeps New York hours (EST in winter)


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    slo: str
    segment: dict[str, str]
    peak_per_minute: float
    good_ratio: float
    """Good ratio in a quiet minute; it sags by ``busy_penalty`` at the daily peak."""
    busy_penalty: float
    incident_good_ratio: float
    overnight_share: float = 0.03
    regression_days: int = 0
    """A change this many days before the end lowered the good ratio to the value below."""
    regression_good_ratio: float = 0.0


DEMO_SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("voice-sla", {"tier": "vip", "queue": "vip-billing"}, 6, 0.99, 0.02, 0.30),
    SeriesSpec("voice-sla", {"tier": "standard", "queue": "sales"}, 18, 0.94, 0.06, 0.25),
    SeriesSpec("voice-sla", {"tier": "standard", "queue": "support"}, 25, 0.875, 0.12, 0.20),
    SeriesSpec("digital-sla", {"queue": "chat-support"}, 9, 0.975, 0.03, 0.55),
    SeriesSpec("digital-sla", {"queue": "chat-sales"}, 4, 0.975, 0.03, 0.60),
    SeriesSpec("ivr-completion", {"flow": "main-menu"}, 40, 0.92, 0.02, 0.50, 0.08),
    SeriesSpec(
        "ivr-completion",
        {"flow": "billing-es"},
        7,
        0.88,
        0.03,
        0.35,
        0.08,
        regression_days=3,
        regression_good_ratio=0.70,
    ),
    SeriesSpec("api-availability", {}, 30, 0.9999, 0.0, 0.93, 1.0),
)
"""The demo's story: VIP on watch after the incident, standard support in freeze, sales and
chat healthy, and the Spanish billing IVR flow burning since a change three days ago."""

SEGMENT_COLUMNS = ("tier", "queue", "flow")


@dataclass(frozen=True, slots=True)
class Incident:
    start: Minute
    end: Minute
    description: str


def daily_shape(minutes: np.ndarray, overnight_share: float) -> np.ndarray:
    """Arrival intensity in [0, 1]: two bumps (late morning, mid afternoon) in opening hours,
    a trickle overnight, and weekends at 40 %."""
    local = minutes + UTC_OFFSET_HOURS * 60
    hour = (local % 1440) / 60.0
    weekday = ((local // 1440) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    bumps = np.exp(-(((hour - 11.0) / 2.2) ** 2)) + 0.85 * np.exp(-(((hour - 15.5) / 2.5) ** 2))
    open_hours = (hour >= 7.0) & (hour < 21.0)
    shape = np.where(open_hours, np.clip(bumps, 0.15, None), 0.0) / 1.0
    shape = np.maximum(shape, overnight_share)
    return np.where(weekday >= 5, shape * 0.4, shape)


def generate(start: Minute, end: Minute, incident: Incident, seed: int = 7) -> pa.Table:
    """Counts for every demo series and minute in ``[start, end)`` (rows with traffic only)."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(start, end, dtype=np.int64)
    in_incident = (minutes >= incident.start) & (minutes < incident.end)
    days = (minutes - start) // 1440
    columns: dict[str, list[np.ndarray]] = {
        name: [] for name in ("time", "slo", "good", "total", *SEGMENT_COLUMNS)
    }
    for spec in DEMO_SERIES:
        shape = daily_shape(minutes, spec.overnight_share)
        total = rng.poisson(spec.peak_per_minute * shape)
        drift = rng.normal(0.0, (1.0 - spec.good_ratio) * 0.25, size=int(days.max()) + 1)
        ratio = spec.good_ratio - spec.busy_penalty * shape**2 + drift[days]
        if spec.regression_days:
            regressed = minutes >= end - spec.regression_days * 1440
            ratio = np.where(regressed, spec.regression_good_ratio, ratio)
        ratio = np.where(in_incident, spec.incident_good_ratio, ratio)
        good = rng.binomial(total, np.clip(ratio, 0.0, 1.0))
        keep = total > 0
        count = int(keep.sum())
        columns["time"].append(minutes[keep] * 60)
        columns["slo"].append(np.full(count, spec.slo, dtype=object))
        columns["good"].append(good[keep])
        columns["total"].append(total[keep])
        for name in SEGMENT_COLUMNS:
            columns[name].append(np.full(count, spec.segment.get(name, ""), dtype=object))
    return pa.table({name: np.concatenate(parts) for name, parts in columns.items()})


def write_csv(table: pa.Table, path: Path) -> Path:
    pacsv.write_csv(table, path)
    return path
