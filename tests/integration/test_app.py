"""The App over a real SQLite store: evaluation with exclusions, timeslices, config audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorbudget.app import App
from errorbudget.config import parse_config
from errorbudget.model import to_minute
from errorbudget.store import open_store
from exclusion_records import approved_exclusion

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# These tests write an hour or a few into day-long windows: they judge the budget on
# whatever data there is (min_coverage 0); coverage has its own tests.
CONFIG = """\
version: 1
store: {path: app.db}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {type: rolling, length: 1d}
    segments: {keys: [queue]}
    data: {min_coverage: 0}
  - id: api
    service: platform
    target: 0.99
    window: {type: rolling, length: 1d}
    budgeting: timeslices
    timeslice: {length: 1m, target: 0.9}
    segments: {keys: [region]}
    data: {min_coverage: 0}
"""


def make_app(tmp_path: Path, text: str = CONFIG) -> App:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(text, encoding="utf-8")
    return App.open(path, clock=lambda: AT)


def write(
    app: App, slo: str, segment: tuple[tuple[str, str], ...], good: np.ndarray, total: np.ndarray
) -> None:
    """Minute counts ending just before AT."""
    end = to_minute(AT)
    minutes = np.arange(end - len(total), end, dtype=np.int64)
    [series] = app.store.series_ids(slo, [segment])
    app.store.write_counts(
        np.full(len(total), series, dtype=np.int64),
        minutes,
        good.astype(np.int64),
        total.astype(np.int64),
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    counts=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=300),
)
def test_excluding_everything_gives_no_data(
    tmp_path_factory: pytest.TempPathFactory, counts: list[tuple[int, int]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("app")
    with make_app(tmp_path) as app:
        total = np.array([t for _, t in counts])
        good = np.array([min(g, t) for g, t in counts])
        write(app, "calls", (("queue", "q1"),), good, total)
        write(app, "api", (("region", "eu"),), good, total)
        for slo in ("calls", "api"):
            approved_exclusion(
                app,
                slo=slo,
                start=AT - timedelta(days=2),
                end=AT,
                category="maintenance",
                reason="all of it",
                created_by="test",
            )
        for status in app.evaluations.status():
            assert status.state == "no_data"
            assert status.sli is None
            assert status.budget_remaining_ratio is None
            assert all(rate is None for rate in status.burn_rates.values())


def test_partial_exclusion_counts_each_minute_once(tmp_path: Path) -> None:
    with make_app(tmp_path) as app:
        total = np.full(120, 10)
        good = np.full(120, 5)  # every minute half bad
        write(app, "calls", (("queue", "q1"),), good, total)
        # two overlapping exclusions over the last 30 minutes
        for start in (30, 20):
            approved_exclusion(
                app,
                slo="calls",
                start=AT - timedelta(minutes=start),
                end=AT,
                category="test-traffic",
                reason="load test",
                created_by="t",
            )
        [whole, q1] = app.evaluations.status(slo_ids=["calls"])
        assert q1.raw_total == 1_200
        assert q1.excluded == 300
        assert q1.eligible == 900
        assert q1.bad == 450
        assert q1.burn_rates["30m"] is None  # all excluded: no data, not zero
        assert q1.burn_rates["1h"] == pytest.approx(0.5 / 0.1)
        assert whole.eligible == 900


def test_timeslices_per_series_and_whole_slo(tmp_path: Path) -> None:
    with make_app(tmp_path) as app:
        # eu: 100 minutes, 3 of them below the 90 % slice target
        eu_total = np.full(100, 10)
        eu_good = np.full(100, 10)
        eu_good[[10, 50, 90]] = 6
        write(app, "api", (("region", "eu"),), eu_good, eu_total)
        # us: 30 calls a minute, all fine; the summed minutes are 36/40 = 90 %: good slices
        write(app, "api", (("region", "us"),), np.full(100, 30), np.full(100, 30))
        statuses = {s.segment: s for s in app.evaluations.status(slo_ids=["api"])}
        eu = statuses[(("region", "eu"),)]
        assert eu.eligible == 100
        assert eu.bad == 3
        assert eu.budget_total == pytest.approx(1.0)
        assert eu.state == "exhausted"
        whole = statuses[()]
        assert whole.eligible == 100
        # The whole SLO judges slices on summed minutes, not by adding segment slices.
        assert whole.bad == 0
        assert whole.state == "healthy"


def test_config_changes_are_audited_once(tmp_path: Path) -> None:
    with make_app(tmp_path):
        pass
    with make_app(tmp_path):
        pass
    changed = CONFIG.replace("target: 0.9\n", "target: 0.95\n", 1)
    with make_app(tmp_path, changed):
        pass
    with open_store(tmp_path / "app.db") as store:
        entries = store.audit_log(action="config.apply")
    assert len(entries) == 2
    assert entries[1].details["added"] == ["api", "calls"]
    assert entries[0].details["added"] == []
    assert entries[0].details["sha256"] != entries[1].details["sha256"]


def test_layout_only_config_change_is_not_a_change(tmp_path: Path) -> None:
    with make_app(tmp_path):
        pass
    with make_app(tmp_path, "# a comment\n" + CONFIG):
        pass
    with open_store(tmp_path / "app.db") as store:
        assert len(store.audit_log(action="config.apply")) == 1
    assert parse_config(CONFIG, tmp_path / "x.yaml").config.slos[0].id == "calls"


def test_burn_one_for_a_whole_window_spends_exactly_the_budget(tmp_path: Path) -> None:
    """Through the real store: 1 bad in 100 every minute at 99 % for a rolling 30 days."""
    config = CONFIG.replace(
        "target: 0.9\n    window: {type: rolling, length: 1d}",
        "target: 0.99\n    window: {type: rolling, length: 30d}",
    )
    with make_app(tmp_path, config) as app:
        minutes = 30 * 1440 + 720  # half a day more than the window: it must not count
        write(app, "calls", (("queue", "q1"),), np.full(minutes, 99), np.full(minutes, 100))
        [_, q1] = app.evaluations.status(slo_ids=["calls"])
        assert q1.eligible == 30 * 1440 * 100
        assert q1.budget_total == pytest.approx(30 * 1440)
        assert q1.period_burn_rate == pytest.approx(1.0)
        assert all(rate == pytest.approx(1.0) for rate in q1.burn_rates.values())
        assert q1.budget_remaining_ratio == pytest.approx(0.0, abs=1e-12)


def test_calendar_month_across_dst_through_the_store(tmp_path: Path) -> None:
    """New York's November starts at 04:00Z (EDT): October's minutes must not count."""
    config = CONFIG.replace(
        "target: 0.9\n    window: {type: rolling, length: 1d}",
        "target: 0.9\n    window: {type: calendar, unit: month, timezone: America/New_York}",
    )
    november = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    with make_app(tmp_path, config) as app:
        [series] = app.store.series_ids("calls", [(("queue", "q1"),)])
        start = to_minute(november) - 600  # ten hours of October, all bad
        minutes = np.arange(start, start + 600 + 32 * 60, dtype=np.int64)
        good = np.where(minutes < to_minute(november), 0, 10).astype(np.int64)
        app.store.write_counts(
            np.full(len(minutes), series), minutes, good, np.full(len(minutes), 10, dtype=np.int64)
        )
        [_, q1] = app.evaluations.status(at=november + timedelta(hours=32), slo_ids=["calls"])
        assert q1.period_start == to_minute(november)
        assert q1.eligible == 32 * 60 * 10
        assert q1.bad == 0
        assert q1.state == "healthy"
        [_, october] = app.evaluations.status(at=november, slo_ids=["calls"])
        assert october.period_start == to_minute(datetime(2026, 10, 1, 4, 0, tzinfo=UTC))
        assert october.eligible == 600 * 10
        assert october.bad == 600 * 10
        assert october.state == "exhausted"


def test_cached_statuses_follow_every_kind_of_write(tmp_path: Path) -> None:
    """Statuses are cached per minute and data version: any write must show at once."""
    with make_app(tmp_path) as app:
        write(app, "calls", (("queue", "q1"),), np.full(60, 10), np.full(60, 10))
        first = {s.segment: s for s in app.evaluations.status(slo_ids=["calls"])}
        assert first[(("queue", "q1"),)].eligible == 600
        assert (
            app.evaluations.status(slo_ids=["calls"])[1] is first[(("queue", "q1"),)]
        )  # served cached

        write(app, "calls", (("queue", "q1"),), np.full(60, 5), np.full(60, 10))  # revised
        assert app.evaluations.status(slo_ids=["calls"])[1].bad == 300

        approved_exclusion(
            app,
            slo="calls",
            start=AT - timedelta(minutes=30),
            end=AT,
            category="maintenance",
            reason="planned",
            created_by="t",
        )
        assert app.evaluations.status(slo_ids=["calls"])[1].eligible == 300

        # another process (here: another connection) commits counts for a new queue
        with open_store(tmp_path / "app.db") as other:
            [series] = other.series_ids("calls", [(("queue", "q2"),)])
            end = to_minute(AT)
            other.write_counts(
                np.array([series]), np.array([end - 1]), np.array([7]), np.array([8])
            )
        segments = {s.segment for s in app.evaluations.status(slo_ids=["calls"])}
        assert (("queue", "q2"),) in segments


def moving_app(tmp_path: Path, text: str = CONFIG) -> tuple[App, list[datetime]]:
    """An App whose clock is ``moment[0]``, with an hour of counts of calls/q1 before AT."""
    path = tmp_path / "errorbudget.yaml"
    path.write_text(text, encoding="utf-8")
    moment = [AT]
    app = App.open(path, clock=lambda: moment[0])
    write(app, "calls", (("queue", "q1"),), np.full(60, 9), np.full(60, 10))
    return app, moment


def test_with_a_warmer_now_is_served_the_last_evaluation_until_it_refreshes(
    tmp_path: Path,
) -> None:
    app, moment = moving_app(tmp_path)
    woken: list[int] = []
    with app:
        first = app.evaluations.evaluation()
        assert first.minute == to_minute(AT)
        app.evaluations.refresh_in_background(lambda: woken.append(1))

        moment[0] = AT + timedelta(minutes=1)  # the minute moves: served stale, warmer woken
        assert app.evaluations.evaluation() is first and len(woken) == 1
        assert app.evaluations.status(slo_ids=["calls"])[0].at == to_minute(AT)
        # an explicit time is evaluated for itself and does not displace "now"
        past = app.evaluations.evaluation(at=AT - timedelta(hours=2))
        assert past.minute == to_minute(AT) - 120 and app.evaluations.evaluation() is first
        refreshed = app.evaluations.refresh()
        assert refreshed.minute == to_minute(AT) + 1 and app.evaluations.evaluation() is refreshed

        write(app, "calls", (("queue", "q1"),), np.full(60, 5), np.full(60, 10))  # data moves
        assert app.evaluations.evaluation() is refreshed and len(woken) == 4
        assert app.evaluations.refresh().statuses[1].bad == refreshed.statuses[1].bad + 240

        moment[0] = AT + timedelta(minutes=10)  # far behind (a warmer that died): evaluate
        assert app.evaluations.evaluation().minute == to_minute(AT) + 10

        app.evaluations.refresh_in_background(None)  # without a warmer, callers evaluate themselves
        moment[0] = AT + timedelta(minutes=11)
        assert app.evaluations.evaluation().minute == to_minute(AT) + 11


def test_results_derived_from_an_evaluation_are_kept_under_its_key(tmp_path: Path) -> None:
    """The API's encoded status is memoised per evaluation: an answer built from the last
    minute's evaluation (served while the new one runs) is not filed under the new minute."""
    import asyncio

    import httpx

    from errorbudget.web.app import create_app

    app, moment = moving_app(tmp_path, CONFIG + "server: {anonymous_read: true}\n")

    async def minute_of_status() -> int:
        transport = httpx.ASGITransport(app=create_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.get("/api/v1/status", params={"slo": "calls"})
            assert answer.status_code == 200, answer.text
            return to_minute(datetime.fromisoformat(answer.json()[0]["at"]))

    with app:
        assert asyncio.run(minute_of_status()) == to_minute(AT)
        app.evaluations.refresh_in_background(lambda: None)
        moment[0] = AT + timedelta(minutes=1)
        assert asyncio.run(minute_of_status()) == to_minute(AT)  # stale, while "evaluating"
        app.evaluations.refresh()
        assert asyncio.run(minute_of_status()) == to_minute(AT) + 1


def test_the_warmer_evaluates_the_new_minute_when_a_request_notices(tmp_path: Path) -> None:
    import asyncio

    from errorbudget.server import status_warmer

    app, moment = moving_app(tmp_path)

    async def scenario() -> int:
        stop = asyncio.Event()
        # checks every 60 s on its own: only the request's wake-up makes it evaluate soon
        warmer = asyncio.create_task(status_warmer(app, stop, every=60))
        while app.evaluations._refresher is None or app.evaluations._latest is None:
            await asyncio.sleep(0.01)
        moment[0] = AT + timedelta(minutes=1)
        served = app.evaluations.evaluation().minute  # stale, and wakes the warmer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while app.evaluations.evaluation().minute != to_minute(AT) + 1:
            assert loop.time() < deadline, "the warmer did not evaluate the new minute"
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(warmer, 5)
        return served

    with app:
        assert asyncio.run(scenario()) == to_minute(AT)
        assert app.evaluations._refresher is None  # stopped: callers evaluate for themselves again


def test_a_busy_evaluation_serves_a_recent_one_and_waits_for_an_old_one(tmp_path: Path) -> None:
    import threading

    app, moment = moving_app(tmp_path)
    with app:
        first = app.evaluations.evaluation()
        held, release = threading.Event(), threading.Event()

        def evaluate_elsewhere() -> None:  # another thread in the middle of an evaluation
            with app.evaluations._status_lock:
                held.set()
                release.wait(10)

        for refresher in (None, lambda: None):  # without and with a warmer
            app.evaluations.refresh_in_background(refresher)
            other = threading.Thread(target=evaluate_elsewhere)
            held.clear()
            release.clear()
            other.start()
            held.wait(5)
            moment[0] += timedelta(minutes=1)
            assert app.evaluations.evaluation().minute == to_minute(moment[0]) - 1  # recent: served
            moment[0] += timedelta(minutes=30)
            timer = threading.Timer(0.2, release.set)
            timer.start()
            assert app.evaluations.evaluation().minute == to_minute(
                moment[0]
            )  # too old: waited for
            other.join(5)
            timer.join(5)
        assert first.minute == to_minute(AT)


def test_pages_share_the_evaluation_of_now(tmp_path: Path) -> None:
    """The dashboard asks for "now": under a warmer a page never evaluates on the request
    path, and the current minute asked for explicitly is not evaluated a second time."""
    import asyncio

    import httpx

    from errorbudget.web.app import create_app

    app, moment = moving_app(tmp_path, CONFIG + "server: {anonymous_read: true}\n")
    evaluations: list[int] = []
    evaluate = app.evaluations._evaluate

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        evaluations.append(1)
        return evaluate(*args, **kwargs)

    app.evaluations._evaluate = counting  # type: ignore[method-assign]

    async def pages() -> None:
        transport = httpx.ASGITransport(app=create_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path in ("/", "/slos/calls", "/exec"):
                answer = await client.get(path)
                assert answer.status_code == 200, answer.text

    with app:
        now = app.evaluations.evaluation(at=AT)  # the current minute, asked for explicitly
        assert app.evaluations.evaluation() is now and len(evaluations) == 1
        app.evaluations.refresh_in_background(lambda: None)
        moment[0] = AT + timedelta(minutes=1)
        asyncio.run(pages())
        assert len(evaluations) == 1  # served the last evaluation; the warmer would refresh


def test_broken_data_is_left_out_and_said_so_never_counted_bad(tmp_path: Path) -> None:
    """Issue #7: minutes a source reports broken (a data issue) are not bad events: they
    are left out of the budget like an exclusion, the status says "SLI data broken" with
    how many minutes, and resolving the issue brings the counts back."""
    with make_app(tmp_path) as app:
        good = np.full(600, 10)
        good[-60:-30] = 0  # 30 minutes the source later reports as inconsistent
        write(app, "calls", (("queue", "q1"),), good, np.full(600, 10))
        end = to_minute(AT)
        before = {s.segment: s for s in app.evaluations.status(slo_ids=["calls"])}
        assert before[(("queue", "q1"),)].bad == 300
        issue_id = app.store.add_data_issue(
            source="genesys",
            slo="calls",
            segment={"queue": "q1"},
            start=end - 60,
            end=end - 30,
            kind="inconsistent",
            detail="good > total",
        )
        after = {s.segment: s for s in app.evaluations.status(slo_ids=["calls"])}
        series, whole = after[(("queue", "q1"),)], after[()]
        assert series.bad == 0 and series.raw_bad == 300  # raw counts stay
        assert series.eligible == 5_700
        # reported as broken, not as excluded (an exclusion is an audited record)
        assert (series.broken, series.broken_bad, series.excluded) == (300, 300, 0)
        assert series.coverage is not None and series.coverage.broken_minutes == 30
        assert series.burn_rates["1h"] == 0.0  # the broken half hour burns nothing
        assert whole.coverage is not None and whole.coverage.broken_minutes == 30
        from errorbudget.wording import data_note

        assert data_note(series.coverage) == (
            "SLI data broken: 30 minutes left out (a source reported them wrong or missing)"
        )
        # a timeline at the same instant agrees with the status
        [point] = app.evaluations.timeline(
            "calls", {"queue": "q1"}, start=AT, end=AT, step=timedelta(hours=1)
        ).points()
        assert point.bad == series.bad and point.eligible == series.eligible
        # the source re-fetched the range cleanly: the issue is resolved, counts return
        assert (
            app.store.resolve_data_issues(
                source="genesys", slo="calls", start=end - 60, end=end - 30
            )
            == 1
        )
        assert issue_id
        again = {s.segment: s for s in app.evaluations.status(slo_ids=["calls"])}
        assert again[(("queue", "q1"),)].bad == 300
        assert again[(("queue", "q1"),)].coverage.broken_minutes == 0  # type: ignore[union-attr]


def test_subscribers_hear_of_each_new_evaluation_of_now_and_metrics_read_it(
    tmp_path: Path,
) -> None:
    """The evaluation service publishes "now": a subscriber is called once per new
    evaluation (not for a cached one, nor for an explicit past minute), and ``/metrics``'
    collector reads that same evaluation rather than keeping a cache of its own."""
    from errorbudget.exporter import BudgetCollector

    app, moment = moving_app(tmp_path)
    heard: list[int] = []
    with app:
        unsubscribe = app.evaluations.subscribe(lambda evaluation: heard.append(evaluation.minute))
        first = app.evaluations.evaluation()
        assert app.evaluations.evaluation() is first and heard == [to_minute(AT)]
        app.evaluations.evaluation(
            AT - timedelta(minutes=5)
        )  # an explicit past minute: not published
        assert heard == [to_minute(AT)]
        collector = BudgetCollector(app.evaluations)
        assert collector.statuses() is first.statuses
        moment[0] = AT + timedelta(minutes=1)
        assert collector.statuses() is app.evaluations.latest.statuses  # type: ignore[union-attr]
        assert heard == [to_minute(AT), to_minute(AT) + 1]
        unsubscribe()
        moment[0] = AT + timedelta(minutes=2)
        app.evaluations.evaluation()
        assert heard == [to_minute(AT), to_minute(AT) + 1]


def test_memoised_results_are_kept_for_the_latest_evaluations_only(tmp_path: Path) -> None:
    """Results derived from an evaluation (a status response, the /metrics text) are kept
    for the latest two evaluations and at most ``MEMO_ENTRIES`` in all: one kept per
    minute for thousands of minutes grew a busy server by gigabytes."""
    from errorbudget.services.evaluations import MEMO_ENTRIES, MEMO_EVALUATIONS

    app, moment = moving_app(tmp_path)
    with app:
        computed: list[int] = []
        for minute in range(12):
            moment[0] = AT + timedelta(minutes=minute)
            key = app.evaluations.evaluation().key
            for query in range(3):
                app.evaluations.memo(("q", query), key, lambda: computed.append(1) or b"x")
            assert app.evaluations.memo(("q", 0), key, lambda: b"again") == b"x"  # a hit
        kept = app.evaluations._memo
        assert len({basis for _, basis in kept}) == MEMO_EVALUATIONS == 2
        assert len(kept) == 3 * MEMO_EVALUATIONS and len(computed) == 12 * 3
        latest = app.evaluations.evaluation().key
        for query in range(MEMO_ENTRIES + 10):  # many distinct queries of one evaluation
            app.evaluations.memo(("distinct", query), latest, lambda: b"y")
        assert len(app.evaluations._memo) == MEMO_ENTRIES
