"""SLO schedules and maintenance windows through the App over a real SQLite store: events out
of schedule keep their raw counts but spend no budget and fire no burn condition, and every
window, the timeslices and the timelines agree."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorbudget.app import App
from errorbudget.model import BudgetStatus, to_minute
from errorbudget.schema.status import StatusOut
from errorbudget.web.app import create_app
from errorbudget.web.pages_detail import build_detail
from exclusion_records import approved_exclusion

NEW_YORK = ZoneInfo("America/New_York")
AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # Friday 03:00 in New York: out of hours
DAYS = 3
PER_MINUTE = 20

# The demo: IVR completion fails at night (callers after hours) and is fine by day.
# ``ivr`` is eligible 08:00-20:00 New York time, every day; ``ivr-always`` is the same SLO
# without a schedule, for contrast.
CONFIG = """\
version: 1
store: {path: schedule.db}
server: {anonymous_read: true}
schedules:
  - name: ny-hours
    timezone: America/New_York
    hours: {mon-sun: ["08:00-20:00"]}
maintenance:
  - name: sunday-patching
    timezone: America/New_York
    start: "02:00"
    duration: 2h
    weekdays: [sun]
    slos: [maint]
slos:
  - id: ivr
    service: cc
    target: 0.8
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
    data: {min_coverage: 0}
    schedule: ny-hours
  - id: ivr-always
    service: cc
    target: 0.8
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
    data: {min_coverage: 0}
  - id: api
    service: platform
    target: 0.99
    window: {type: rolling, length: 1d}
    budgeting: timeslices
    timeslice: {length: 5m, target: 0.9}
    data: {min_coverage: 0}
    schedule:
      timezone: UTC
      hours: {mon-sun: ["08:00-20:02"]}
  - id: maint
    service: cc
    target: 0.8
    window: {type: rolling, length: 7d}
    data: {min_coverage: 0}
    schedule: ny-hours
"""


def make_app(tmp_path: Path, text: str = CONFIG) -> App:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(text, encoding="utf-8")
    return App.open(path, clock=lambda: AT)


def minutes_before(at: datetime, days: int) -> np.ndarray:
    end = to_minute(at)
    return np.arange(end - days * 1440, end, dtype=np.int64)


def in_hours(minutes: np.ndarray, zone: ZoneInfo = NEW_YORK, first: int = 480, end: int = 1200):
    """Whether each minute's wall clock in ``zone`` is in [first, end) minutes of the day:
    an oracle independent of the engine (no clock change in these days)."""
    found = []
    for minute in minutes.tolist():
        local = datetime.fromtimestamp(minute * 60, tz=UTC).astimezone(zone)
        found.append(first <= local.hour * 60 + local.minute < end)
    return np.array(found)


def write(app: App, slo: str, segment: tuple[tuple[str, str], ...], minutes, good, total) -> None:
    [series] = app.store.series_ids(slo, [segment])
    app.store.write_counts(
        np.full(len(minutes), series, dtype=np.int64),
        minutes,
        np.asarray(good, dtype=np.int64),
        np.asarray(total, dtype=np.int64),
    )


def seed_ivr(app: App) -> tuple[np.ndarray, np.ndarray]:
    """Two flows: 95 % good by day, 5 % by night; the same counts for ``ivr-always``."""
    minutes = minutes_before(AT, DAYS)
    day = in_hours(minutes)
    good = np.where(day, PER_MINUTE - 1, 1)
    total = np.full(len(minutes), PER_MINUTE)
    for slo in ("ivr", "ivr-always"):
        for flow in ("main", "billing"):
            write(app, slo, (("flow", flow),), minutes, good, total)
    return minutes, day


def by_segment(statuses: list[BudgetStatus]) -> dict[tuple[tuple[str, str], ...], BudgetStatus]:
    return {s.segment: s for s in statuses}


def test_failures_out_of_schedule_spend_no_budget_and_fire_nothing(tmp_path: Path) -> None:
    with make_app(tmp_path) as app:
        minutes, day = seed_ivr(app)
        night = ~day
        scheduled = by_segment(app.evaluations.status(slo_ids=["ivr"]))
        always = by_segment(app.evaluations.status(slo_ids=["ivr-always"]))
        main = scheduled[(("flow", "main"),)]

        # raw counts stay; the night is reported out of schedule, not as excluded
        assert main.raw_total == len(minutes) * PER_MINUTE
        assert main.raw_bad == day.sum() * 1 + night.sum() * (PER_MINUTE - 1)
        assert main.out_of_schedule == night.sum() * PER_MINUTE
        assert main.out_of_schedule_bad == night.sum() * (PER_MINUTE - 1)
        assert main.excluded == 0
        assert main.eligible == day.sum() * PER_MINUTE
        assert main.bad == day.sum()
        assert main.sli == pytest.approx(0.95)
        assert main.period_burn_rate == pytest.approx(0.05 / 0.2)
        assert main.state == "healthy"

        # 03:00 in New York: every window of six hours or less is out of schedule — no
        # data, not zero, and no burn-rate condition can hold
        for name in ("5m", "30m", "1h", "2h", "6h"):
            assert main.burn_rates[name] is None
        assert main.burn_rates["1d"] == pytest.approx(0.25)
        assert not main.alerts
        assert not scheduled[()].alerts
        assert scheduled[()].out_of_schedule == 2 * main.out_of_schedule

        # without a schedule the same counts page: 95 % of night calls fail (burn 4.75)
        unscheduled = always[(("flow", "main"),)]
        assert unscheduled.out_of_schedule == 0
        assert unscheduled.eligible == unscheduled.raw_total
        assert any(a.severity == "page" for a in unscheduled.alerts)

        # the JSON beside ``excluded``
        data = StatusOut.of(main).model_dump(mode="json")
        assert data["out_of_schedule"] == night.sum() * PER_MINUTE
        assert data["out_of_schedule_bad"] == night.sum() * (PER_MINUTE - 1)
        assert data["excluded"] == 0


def test_in_hours_the_burn_windows_count_only_eligible_minutes(tmp_path: Path) -> None:
    with make_app(tmp_path) as app:
        seed_ivr(app)
        # Thursday 13:30 New York (18:30Z): the 6h window holds 5h30 of open hours
        at = datetime(2026, 11, 19, 18, 30, tzinfo=UTC)
        main = by_segment(app.evaluations.status(at=at, slo_ids=["ivr"]))[(("flow", "main"),)]
        assert main.burn_rates["1h"] == pytest.approx(0.25)
        assert main.burn_rates["6h"] == pytest.approx(0.25)
        # the forecast's lookback (1d) and the period see the same eligible minutes
        assert main.outlook in ("not_at_this_rate", "not_before_period_end")
        minutes = minutes_before(at, DAYS)
        assert (
            main.eligible
            == in_hours(minutes[minutes >= to_minute(AT) - DAYS * 1440]).sum() * PER_MINUTE
        )


def test_an_exclusion_at_night_counts_out_of_schedule_once(tmp_path: Path) -> None:
    with make_app(tmp_path) as app:
        seed_ivr(app)
        before = by_segment(app.evaluations.status(slo_ids=["ivr"]))[(("flow", "main"),)]
        # 00:00-10:00Z on Thursday: 19:00-05:00 New York, one hour of it in schedule
        approved_exclusion(
            app,
            slo="ivr",
            start=datetime(2026, 11, 19, 0, 0, tzinfo=UTC),
            end=datetime(2026, 11, 19, 10, 0, tzinfo=UTC),
            category="test-traffic",
            reason="load test",
            created_by="t",
        )
        after = by_segment(app.evaluations.status(slo_ids=["ivr"]))[(("flow", "main"),)]
        assert after.out_of_schedule == before.out_of_schedule
        assert after.excluded == 60 * PER_MINUTE
        assert after.eligible == before.eligible - 60 * PER_MINUTE
        assert after.raw_total == before.raw_total


def test_maintenance_windows_are_excluded_every_sunday(tmp_path: Path) -> None:
    # Sunday 2026-11-15 02:00-04:00 New York is 07:00-09:00Z; ``maint`` is eligible
    # around the clock here so that the window falls in its schedule.
    around_the_clock = "{timezone: America/New_York, hours: {mon-sun: ['00:00-24:00']}}"
    head, _ = CONFIG.rsplit("    schedule: ny-hours\n", 1)
    at = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    with make_app(tmp_path, head + f"    schedule: {around_the_clock}\n") as app:
        minutes = minutes_before(at, 2)
        write(app, "maint", (), minutes, np.full(len(minutes), 10), np.full(len(minutes), 10))
        [status] = app.evaluations.status(at=at, slo_ids=["maint"])
        assert status.excluded == 120 * 10  # the two hours of Sunday's maintenance
        assert status.out_of_schedule == 0
        assert status.eligible == (len(minutes) - 120) * 10
        assert status.raw_total == len(minutes) * 10
        # the window is scoped to ``maint`` only
        assert app.loaded.eligibility(app.loaded.slo("ivr")).maintenance == ()


def test_maintenance_out_of_schedule_counts_as_out_of_schedule(tmp_path: Path) -> None:
    at = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    with make_app(tmp_path) as app:
        minutes = minutes_before(at, 2)
        write(app, "maint", (), minutes, np.full(len(minutes), 10), np.full(len(minutes), 10))
        [status] = app.evaluations.status(at=at, slo_ids=["maint"])
        # 02:00-04:00 New York is outside 08:00-20:00: nothing more is excluded
        assert status.excluded == 0
        assert status.eligible == in_hours(minutes).sum() * 10
        assert status.out_of_schedule == status.raw_total - status.eligible


def test_timeslices_respect_the_schedule(tmp_path: Path) -> None:
    at = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    with make_app(tmp_path) as app:
        minutes = minutes_before(at, 1)
        day = in_hours(minutes, ZoneInfo("UTC"), 480, 1202)
        # bad minutes out of schedule, good ones in it
        write(app, "api", (), minutes, np.where(day, 10, 0), np.full(len(minutes), 10))
        [api] = app.evaluations.status(at=at, slo_ids=["api"])
        # 08:00-20:00 is 144 five-minute slices; 20:00-20:05 is judged on its two
        # scheduled minutes (good): 145 slices, none bad
        assert api.eligible == 145
        assert api.bad == 0
        assert api.raw_total == 288
        # the 20:00 slice is bad on all its minutes (2 of 5 good), good on its scheduled
        # ones: counted, not out of schedule
        assert api.raw_bad == 144
        assert api.out_of_schedule == 143
        assert api.out_of_schedule_bad == 143
        assert api.excluded == 0
        assert api.state == "healthy"
        assert api.burn_rates["1h"] is None  # 23:00-00:00 is out of schedule


def test_a_timeline_agrees_with_status_at_the_same_instants(tmp_path: Path) -> None:
    with make_app(tmp_path) as app:
        seed_ivr(app)
        minutes = minutes_before(AT, 1)
        day = in_hours(minutes, ZoneInfo("UTC"), 480, 1202)
        write(app, "api", (), minutes, np.where(day, 10, 9), np.full(len(minutes), 10))
        start = AT - timedelta(days=2)
        for slo, segment in (("ivr", {}), ("ivr", {"flow": "main"}), ("api", {})):
            timeline = app.evaluations.timeline(
                slo, segment, start=start, end=AT, step=timedelta(hours=3)
            )
            for point in timeline.points()[1::3]:
                statuses = by_segment(app.evaluations.status(at=point.at, slo_ids=[slo]))
                status = statuses[tuple(sorted(segment.items()))]
                assert point.eligible == status.eligible, (slo, point.at)
                assert point.bad == status.bad
                assert point.sli == pytest.approx(status.sli)
                for name in ("1h", "6h", "1d"):
                    assert point.burn_rates[name] == pytest.approx(status.burn_rates[name])
                assert point.budget_remaining_ratio == pytest.approx(status.budget_remaining_ratio)


def test_the_detail_page_shows_maintenance_and_out_of_schedule(tmp_path: Path) -> None:
    with make_app(tmp_path) as app:
        minutes = minutes_before(AT, 2)
        write(app, "maint", (), minutes, np.full(len(minutes), 9), np.full(len(minutes), 10))
        page = build_detail(app, "maint", refresh_seconds=60)
        maintenance = [note for note in page.annotations if note.kind == "maintenance"]
        # Sundays 02:00-04:00 New York in the 30 days before Friday 2026-11-20
        assert [note.start.isoformat() for note in maintenance] == [
            "2026-10-25T06:00:00+00:00",
            "2026-11-01T07:00:00+00:00",
            "2026-11-08T07:00:00+00:00",
            "2026-11-15T07:00:00+00:00",
        ]
        assert maintenance[0].label == "Maintenance sunday-patching"
        assert maintenance[0].detail == "every Sun 02:00 for 2h (America/New_York)"
        failures = page.failures
        assert failures.schedule == "Mon–Sun 08:00–20:00 (America/New_York)"
        assert failures.out_of_schedule_total == (~in_hours(minutes)).sum() * 10
        assert failures.out_of_schedule_bad == (~in_hours(minutes)).sum()
        assert failures.excluded_total == failures.excluded_bad == 0
        assert failures.eligible + failures.out_of_schedule_total == failures.raw_total

        # the page renders them, and the status API carries the counts beside ``excluded``
        html = get(create_app(app), "/slos/maint").text
        assert "out of schedule" in html
        assert "Maintenance sunday-patching" in html
        assert 'class="annotation annotation-maintenance"' in html
        [row] = get(create_app(app), "/api/v1/slos/maint/status").json()
        assert row["out_of_schedule"] == failures.out_of_schedule_total
        assert row["excluded"] == 0


def get(web: FastAPI, path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path)

    return asyncio.run(call())


PROPERTY_CONFIG = """\
version: 1
store: {{path: property.db}}
maintenance:
  - {{name: m, timezone: Europe/Berlin, start: "{maintenance}", duration: 45m,
     weekdays: [thu], segment: {{flow: main}}}}
slos:
  - id: ivr
    service: cc
    target: 0.8
    window: {{type: rolling, length: 1d}}
    segments: {{keys: [flow]}}
    data: {{min_coverage: 0}}
    schedule:
      timezone: Europe/Berlin
      hours: {{thu: {thursday}, fri: {friday}}}
"""


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    thursday=st.lists(st.integers(0, 47), max_size=6, unique=True),
    friday=st.lists(st.integers(0, 47), min_size=1, max_size=6, unique=True),
    maintenance=st.integers(0, 95),
    excluded=st.tuples(st.integers(0, 2880), st.integers(1, 600)),
    seed=st.integers(0, 2**16),
)
def test_every_event_is_eligible_excluded_or_out_of_schedule_exactly_once(
    tmp_path_factory: pytest.TempPathFactory,
    thursday: list[int],
    friday: list[int],
    maintenance: int,
    excluded: tuple[int, int],
    seed: int,
) -> None:
    """Against a minute-by-minute oracle: open half hours on Thursday and Friday (Berlin),
    a 45-minute maintenance window on Thursday for one flow, an exclusion anywhere."""

    def halves(picked: list[int]) -> str:
        """Half hours as ranges; adjacent ones are fine (they join)."""
        ranges = [f'"{clock(30 * h)}-{clock(30 * h + 30)}"' for h in sorted(picked)]
        return "[" + ", ".join(ranges) + "]"

    def clock(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    text = PROPERTY_CONFIG.format(
        thursday=halves(thursday), friday=halves(friday), maintenance=clock(15 * maintenance)
    )
    berlin = ZoneInfo("Europe/Berlin")
    with make_app(tmp_path_factory.mktemp("property"), text) as app:
        minutes = minutes_before(AT, 2)
        rng = np.random.default_rng(seed)
        total = rng.integers(0, 5, len(minutes))
        good = rng.integers(0, total + 1)
        cut = (to_minute(AT) - excluded[0], to_minute(AT) - excluded[0] + excluded[1])
        approved_exclusion(
            app,
            slo="ivr",
            start=datetime.fromtimestamp(cut[0] * 60, tz=UTC),
            end=datetime.fromtimestamp(cut[1] * 60, tz=UTC),
            category="other",
            reason="property",
            created_by="t",
        )
        for flow in ("main", "billing"):
            write(app, "ivr", (("flow", flow),), minutes, good, total)
        window = minutes >= to_minute(AT) - 1440
        local = [datetime.fromtimestamp(m * 60, tz=UTC).astimezone(berlin) for m in minutes]
        half = np.array([t.hour * 2 + t.minute // 30 for t in local])
        weekday = np.array([t.weekday() for t in local])
        open_ = ((weekday == 3) & np.isin(half, thursday)) | (
            (weekday == 4) & np.isin(half, friday)
        )
        of_day = np.array([t.hour * 60 + t.minute for t in local])
        begin = maintenance * 15
        in_maintenance = (weekday == 3) & (of_day >= begin) & (of_day < begin + 45)
        if begin + 45 > 1440:  # runs past midnight into Friday
            in_maintenance |= (weekday == 4) & (of_day < begin + 45 - 1440)
        in_exclusion = (minutes >= cut[0]) & (minutes < cut[1])
        statuses = by_segment(app.evaluations.status(slo_ids=["ivr"]))
        for flow, maintained in (("main", in_maintenance), ("billing", np.zeros_like(open_))):
            status = statuses[(("flow", flow),)]
            counted = window & open_ & ~maintained & ~in_exclusion
            assert status.eligible == total[counted].sum()
            assert status.bad == (total - good)[counted].sum()
            assert status.out_of_schedule == total[window & ~open_].sum()
            assert status.excluded == total[window & open_ & (maintained | in_exclusion)].sum()
            assert status.raw_total == total[window].sum()


def test_changing_a_schedule_or_maintenance_window_is_audited(tmp_path: Path) -> None:
    with make_app(tmp_path):
        pass
    moved = CONFIG.replace('start: "02:00"', 'start: "03:00"')
    with make_app(tmp_path, moved) as app:
        entries = app.store.audit_log(action="config.apply")
    assert len(entries) == 2  # the first config, then the moved maintenance window
    assert entries[0].details["sha256"] != entries[1].details["sha256"]
