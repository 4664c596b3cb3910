"""Timelines: the grid, the prefix-sum math, and every point equal to a status at that instant
(occurrences and timeslices, segments and whole SLOs, exclusions, calendar periods)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from errorbudget import history
from errorbudget.app import App
from errorbudget.engine import timeline
from errorbudget.errors import InvalidRequestError, NotFoundError
from errorbudget.model import CalendarWindow, RollingWindow, from_minute, to_minute
from exclusion_records import approved_exclusion

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """\
version: 1
store: {path: timeline.db}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {type: rolling, length: 30d}
    segments:
      keys: [queue]
      overrides: [{match: {queue: vip}, target: 0.95}]
  - id: month
    service: cc
    target: 0.85
    window: {type: calendar, unit: month, timezone: Asia/Kolkata}
  - id: api
    service: platform
    target: 0.99
    window: {type: rolling, length: 7d}
    budgeting: timeslices
    timeslice: {length: 5m, target: 0.9}
    segments: {keys: [region]}
"""
SERIES = {
    "calls": [(("queue", "vip"),), (("queue", "std"),), (("queue", "web"),)],
    "month": [()],
    "api": [(("region", "eu"),), (("region", "us"),)],
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("timeline")
    (folder / "c.yaml").write_text(CONFIG, encoding="utf-8")
    rng = np.random.default_rng(7)
    end = to_minute(AT)
    minutes = np.arange(end - 65 * 1440, end - 17, dtype=np.int64)  # the last 17 min: no data
    with App.open(folder / "c.yaml", clock=lambda: AT) as opened:
        for slo, segments in SERIES.items():
            for series in opened.store.series_ids(slo, segments):
                total = rng.integers(0, 30, minutes.size)
                incident = rng.random(minutes.size) < 0.02
                good = total - rng.binomial(total, np.where(incident, 0.6, 0.04))
                opened.store.write_counts(np.full(minutes.size, series), minutes, good, total)
        approved_exclusion(opened,
            slo="calls", start=AT - timedelta(days=10), end=AT - timedelta(days=9, minutes=7),
            category="maintenance", reason="x", created_by="t", segment={"queue": "vip"},
        )  # fmt: skip
        approved_exclusion(opened,
            slo="api", start=AT - timedelta(days=3), end=AT - timedelta(days=2, minutes=43),
            category="maintenance", reason="x", created_by="t", segment={"region": "eu"},
        )  # fmt: skip
        yield opened


def assert_matches_status(app: App, slo: str, segment: dict[str, str], result) -> None:  # type: ignore[no-untyped-def]
    key = tuple(sorted(segment.items()))
    points = result.points()
    picks = sorted({*range(0, len(points), max(1, len(points) // 9)), len(points) - 1})
    for index in picks:
        point = points[index]
        [status] = [
            s for s in app.evaluations.status(at=point.at, slo_ids=[slo]) if s.segment == key
        ]
        assert point.eligible == status.eligible
        assert point.bad == status.bad
        for got, expected in (
            (point.sli, status.sli),
            (point.budget_remaining_ratio, status.budget_remaining_ratio),
            (point.period_burn_rate, status.period_burn_rate),
            *((point.burn_rates[w], status.burn_rates[w]) for w in timeline.TIMELINE_WINDOWS),
        ):
            assert (got is None) == (expected is None), point.at
            if got is not None:
                assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), point.at


CASES = [
    ("calls", {}, timedelta(hours=1), timedelta(days=30)),
    ("calls", {"queue": "vip"}, timedelta(hours=1), timedelta(days=30)),
    ("calls", {"queue": "std"}, timedelta(minutes=7), timedelta(days=1, minutes=3)),
    ("month", {}, timedelta(hours=1), timedelta(days=30)),
    ("month", {}, timedelta(hours=3), timedelta(days=60, minutes=17)),
    ("api", {}, timedelta(hours=1), timedelta(days=10)),
    ("api", {"region": "eu"}, timedelta(minutes=13), timedelta(days=4)),
]


@pytest.mark.parametrize(("slo", "segment", "step", "span"), CASES)
def test_every_point_is_the_status_at_that_instant(
    app: App, slo: str, segment: dict[str, str], step: timedelta, span: timedelta
) -> None:
    result = app.evaluations.timeline(slo, segment, start=AT - span, end=AT, step=step)
    assert result.at[-1] <= to_minute(AT) and len(result.at) > 10
    assert_matches_status(app, slo, segment, result)


def test_hourly_sums_give_the_same_points(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "_HOURLY_FROM", 0)  # read hourly sums even for one series
    for segment in ({}, {"queue": "vip"}):
        result = app.evaluations.timeline(
            "calls", segment, AT - timedelta(days=5), AT, timedelta(hours=2)
        )
        assert_matches_status(app, "calls", segment, result)


def test_bad_requests(app: App) -> None:
    with pytest.raises(InvalidRequestError, match="whole number of minutes"):
        app.evaluations.timeline("calls", {}, AT - timedelta(hours=1), AT, timedelta(seconds=30))
    with pytest.raises(InvalidRequestError, match="too long"):
        app.evaluations.timeline("calls", {}, AT - timedelta(days=30), AT, timedelta(minutes=1))
    with pytest.raises(InvalidRequestError, match="must end at or after"):
        app.evaluations.timeline("calls", {}, AT, AT - timedelta(hours=1))
    with pytest.raises(InvalidRequestError, match="every segment key"):
        app.evaluations.timeline("calls", {"tier": "a"}, AT - timedelta(hours=5), AT)
    with pytest.raises(NotFoundError, match="no stored series queue=nope"):
        app.evaluations.timeline("calls", {"queue": "nope"}, AT - timedelta(hours=5), AT)
    with pytest.raises(NotFoundError, match="no SLO 'cals'"):
        app.evaluations.timeline("cals")


def test_the_grid_puts_every_boundary_on_a_bin_edge() -> None:
    at = timeline.instants(1_000_020, 1_000_020 + 10 * 60, 60)  # on the hour
    grid = timeline.occurrence_grid(RollingWindow(length=timedelta(days=30)), at, 60)
    assert grid.bin_minutes == 60
    assert grid.origin == 1_000_020 - 30 * 1440
    odd = timeline.occurrence_grid(RollingWindow(length=timedelta(minutes=90)), at, 60)
    assert odd.bin_minutes == 30
    kolkata = CalendarWindow(unit="month", timezone="Asia/Kolkata")  # midnight at :30 UTC
    monthly = timeline.occurrence_grid(kolkata, at, 60)
    assert monthly.bin_minutes == 30
    for name, (starts, ends) in monthly.ranges().items():
        assert not ((starts - monthly.origin) % monthly.bin_minutes).any(), name
        assert not ((ends - monthly.origin) % monthly.bin_minutes).any(), name


def test_the_math_on_a_small_grid() -> None:
    at = timeline.instants(2880, 2880 + 120, 60)  # three instants an hour apart
    grid = timeline.occurrence_grid(RollingWindow(length=timedelta(days=1)), at, 60)
    total = np.full(grid.bins, 100.0)
    good = total - np.where(np.arange(grid.bins) == grid.bins - 1, 50.0, 1.0)
    result = timeline.evaluate(grid, good, total, 0.1)
    # The last hour is 50 % bad: burn over 1h = 0.5 / 0.1 = 5 at the last instant.
    assert result.burn_rates["1h"].tolist() == pytest.approx([0.1, 0.1, 5.0])
    assert result.step_bad.tolist() == [1.0, 1.0, 50.0]
    assert result.eligible[-1] == 2400.0
    assert result.budget_remaining_ratio[-1] == pytest.approx(1 - (23 + 50) / 240)


def test_no_data_is_none_never_zero() -> None:
    at = timeline.instants(10_000, 10_060, 60)
    grid = timeline.occurrence_grid(RollingWindow(length=timedelta(hours=2)), at, 60)
    empty = np.zeros(grid.bins)
    [first, _] = timeline.evaluate(grid, empty, empty, 0.1).points()
    assert first.sli is None and first.budget_remaining_ratio is None
    assert first.burn_rates == {"1h": None, "6h": None, "1d": None}
    assert first.at == from_minute(10_000)
