"""The collector's write rules against the scripted loopback server: in-order chunks that
stop at a failure, idempotent re-fetch, zeroing of revised intervals, gap backfill."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from test_genesys_client import AGG, QUEUES, SECRET, Answer, Script, server

from errorbudget.model import SLO, from_minute, to_minute
from errorbudget.sources.genesys.collector import GenesysCollector
from errorbudget.sources.genesys.resilience import Backoff
from errorbudget.sources.genesys.settings import GenesysSettings
from errorbudget.store import Store, open_store

__all__ = ["server"]  # the fixture, imported

START = to_minute(datetime(2026, 11, 2, tzinfo=UTC))
SLO_DEF = SLO.model_validate(
    {"id": "voice", "service": "cc", "target": 0.8, "window": {"type": "rolling", "length": "7d"},
     "indicator": {"source": "genesys", "metric": "voice_sla"},
     "segments": {"keys": ["queue"]}}
)  # fmt: skip


class Upstream:
    """Aggregates: every 15-minute interval of queue q1 has 2 answered (1 late), 1 abandon."""

    def __init__(self, script: Script) -> None:
        self.failing: set[int] = set()
        self.missing: set[int] = set()
        self.queries: list[str] = []
        script.handlers[AGG] = self.aggregates
        script.handlers[QUEUES] = lambda q, b: Answer(
            body={"entities": [{"id": "q1", "name": "Billing"}], "pageCount": 1}
        )

    def aggregates(self, query: dict[str, str], body: bytes) -> Answer:
        interval = json.loads(body)["interval"]
        self.queries.append(interval)
        first, last = (
            to_minute(datetime.fromisoformat(t.replace("Z", "+00:00"))) for t in interval.split("/")
        )
        if first in self.failing:
            return Answer(400, {"message": "refused for the test", "code": "bad.request"})
        data = [
            {"interval": f"{from_minute(m).isoformat()}/{from_minute(m + 15).isoformat()}",
             "metrics": [{"metric": "tAnswered", "stats": {"count": 2}},
                         {"metric": "nOverSla", "stats": {"count": 1}},
                         {"metric": "tAbandon", "stats": {"count": 1}}]}
            for m in range(first, last, 15) if m not in self.missing
        ]  # fmt: skip
        results = [{"group": {"queueId": "q1", "mediaType": "voice"}, "data": data}]
        return Answer(body={"results": results} if data else {})


def make(url: str, store: Store, now: list[datetime]) -> GenesysCollector:
    settings = GenesysSettings.model_validate(
        {"base_url": url, "client_id": "client-1", "client_secret": SECRET,
         "max_query_span": "1h", "lookback": "1h", "requests_per_minute": 6000}
    )  # fmt: skip
    return GenesysCollector(settings, [SLO_DEF], store, clock=lambda: now[0])


def sums(store: Store, start: int, end: int) -> tuple[int, int]:
    ids = [s.id for s in store.list_series("voice")]
    result = store.sums(ids, [(start, end)])
    return int(result[..., 0].sum()), int(result[..., 1].sum())


def test_chunks_stop_at_a_failure_then_resume_idempotently(server: tuple[str, Script]) -> None:
    url, script = server
    upstream = Upstream(script)
    upstream.failing = {START + 120}
    now = [from_minute(START + 24 * 60)]
    store = open_store(":memory:")

    async def main() -> None:
        async with make(url, store, now) as collector:
            report = await collector.collect_range(START, START + 240)
            assert report.error is not None and "stopped at 2026-11-02T02:00Z" in report.error
            assert (report.chunks, report.chunks_written) == (4, 2)
            assert store.data_bounds() == (START, START + 120)  # nothing after the failure
            assert sums(store, START, START + 240) == (8, 24)

            upstream.failing.clear()
            for _ in range(2):  # twice: the second run changes nothing
                report = await collector.collect_range(START, START + 240)
                assert report.ok and report.chunks_written == 4
                assert sums(store, START, START + 240) == (16, 48)

            upstream.missing = {START + 30}  # a revised answer without that interval
            await collector.collect_range(START, START + 60)
            assert sums(store, START, START + 240) == (15, 45)
            ids = [s.id for s in store.list_series("voice")]
            _, total = store.minute_arrays(ids, START, START + 60)
            assert total[0, 30] == 0 and total[0, 0] == 3 and not total[0, 1:15].any()

    asyncio.run(main())
    (series,) = store.list_series("voice")
    assert series.segment == (("queue", "Billing"),)


def test_run_once_backfills_the_gap_since_the_last_minute_stored(
    server: tuple[str, Script],
) -> None:
    url, script = server
    upstream = Upstream(script)
    store = open_store(":memory:")
    now = [from_minute(START + 120)]

    async def main() -> None:
        async with make(url, store, now) as collector:
            first = await collector.run_once()  # nothing stored: the last hour only
            assert (first.start, first.collected_through) == (START + 60, START + 121)
            now[0] = from_minute(START + 360 + 7)  # four hours later, mid-interval
            upstream.queries.clear()
            second = await collector.run_once()
            assert second.start == START + 121 - 60  # lookback before the high-water mark
            assert second.collected_through == START + 368
            assert upstream.queries[0].startswith("2026-11-02T01:00:00")
            assert upstream.queries[-1].endswith("2026-11-02T06:15:00.000Z")  # open interval

    asyncio.run(main())
    bounds = store.data_bounds()
    assert bounds == (START + 60, START + 368)
    good, total = sums(store, START + 60, START + 368)
    assert (good, total) == (21, 63)  # 21 intervals from 01:00 to 06:00 (open), 1 good of 3


@pytest.mark.parametrize("span", ["1h", "1d"])
def test_chunking_is_the_fewest_queries(span: str, server: tuple[str, Script]) -> None:
    url, _ = server
    settings = GenesysSettings.model_validate(
        {"base_url": url, "client_id": "c", "client_secret": "s", "max_query_span": span}
    )
    collector = GenesysCollector(settings, [SLO_DEF], open_store(":memory:"))
    chunks = collector._chunks(START + 7, START + 7 + 3 * 60 * 24, now=START + 10**6)
    size = int(timedelta(hours=1 if span == "1h" else 24).total_seconds() // 60)
    assert len(chunks) == -(-(3 * 60 * 24 + 7) // size)
    assert chunks[0].start == START and all(c.start % 15 == 0 for c in chunks)
    assert all(c.end % 15 == 0 and c.end >= c.write_end for c in chunks)
    asyncio.run(collector.aclose())


def test_collect_from_without_to_includes_the_open_minute() -> None:
    """`collect --from -2d` at 12:00:00 sharp asks for the range through the current
    minute (end = now + 1), not one that stops a minute short of now (with a one-day span
    that was two chunks instead of three, and the open minute never fetched)."""
    from types import SimpleNamespace
    from typing import Any, cast

    from errorbudget.cli.collect_command import _run
    from errorbudget.sources.genesys.collector import CollectReport

    now = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # on a 15-minute boundary
    ranges: list[tuple[int, int]] = []

    class Recorder:
        async def aclose(self) -> None:
            return None

        async def collect_range(self, start: int, end: int, **_: Any) -> CollectReport:
            ranges.append((start, end))
            return CollectReport(start, end)

        def flush_calls(self) -> int:
            return 0

    app = SimpleNamespace(clock=lambda: now)
    asyncio.run(_run(cast(Any, Recorder()), cast(Any, app), now - timedelta(days=2), None, False))
    assert ranges == [(to_minute(now) - 2 * 1440, to_minute(now) + 1)]


# --- issue #7: failing sources, broken data, gaps, bounded and recorded runs ---------------

API_SLO = SLO.model_validate(
    {"id": "api", "service": "cc", "target": 0.999, "window": {"type": "rolling", "length": "7d"},
     "indicator": {"source": "genesys", "metric": "api_availability"},
     "segments": {"keys": ["endpoint"]}}
)  # fmt: skip


def fast(collector: GenesysCollector) -> GenesysCollector:
    collector.client.backoff = Backoff(base=0.05, cap=0.3)
    return collector


def make_with(url: str, store: Store, now: list[datetime], **extra: str) -> GenesysCollector:
    values = {"base_url": url, "client_id": "client-1", "client_secret": SECRET,
              "max_query_span": "1h", "lookback": "1h", "requests_per_minute": 6000,
              "circuit_reset": "1s", "max_attempts": 3, **extra}  # fmt: skip
    settings = GenesysSettings.model_validate(values)
    return fast(GenesysCollector(settings, [SLO_DEF, API_SLO], store, clock=lambda: now[0]))


def test_a_chunk_answered_malformed_is_skipped_as_partial_then_resolved(
    server: tuple[str, Script],
) -> None:
    url, script = server
    upstream = Upstream(script)
    malformed = {"on": True}
    plain = upstream.aggregates

    def aggregates(query: dict[str, str], body: bytes) -> Answer:
        interval = json.loads(body)["interval"]
        if malformed["on"] and interval.startswith("2026-11-02T01:00"):
            return Answer(body={"results": {"not": "a list"}})
        return plain(query, body)

    script.handlers[AGG] = aggregates
    store = open_store(":memory:")
    now = [from_minute(START + 24 * 60)]

    async def main() -> None:
        async with make_with(url, store, now) as collector:
            report = await collector.collect_range(START, START + 180)
            assert report.ok, report.error  # the source answered: the run goes on
            assert (report.chunks_written, report.chunks_skipped) == (2, 1)
            assert report.data_issues == 1 and report.collected_through == START + 180
            [issue] = store.list_data_issues()
            assert (issue.kind, issue.slo, issue.segment) == ("partial", "voice", {})
            assert (issue.start, issue.end) == (START + 60, START + 120)
            assert "malformed" in issue.detail and "'results' is not a list" in issue.detail
            assert sums(store, START, START + 180) == (8, 24)  # the skipped hour not written
            malformed["on"] = False
            again = await collector.collect_range(START + 30, START + 150)  # a clean re-fetch
            assert again.ok and again.data_issues_resolved == 1
            assert store.list_data_issues() == []
            assert sums(store, START, START + 180) == (12, 36)

    asyncio.run(main())


def test_a_gap_beyond_max_backfill_is_recorded_once_and_grows(server: tuple[str, Script]) -> None:
    url, script = server
    Upstream(script)
    store = open_store(":memory:")
    now = [from_minute(START + 60)]

    async def main() -> None:
        async with make_with(url, store, now, max_backfill="1d") as collector:
            assert (await collector.run_once()).ok
            now[0] = from_minute(START + 60 + 3 * 1440)  # errorbudget was down three days
            report = await collector.run_once()
            assert report.ok and report.start == START + 60 + 2 * 1440
            [gap] = store.list_data_issues()
            assert (gap.kind, gap.slo, gap.segment) == ("gap", "voice", {})
            assert (gap.start, gap.end) == (START + 61, START + 60 + 2 * 1440)
            assert "max_backfill (1d)" in gap.detail and "collect --from" in gap.detail

    asyncio.run(main())


def test_a_slow_healthy_api_is_cut_at_the_deadline_with_what_is_stored(
    server: tuple[str, Script],
) -> None:
    url, script = server
    upstream = Upstream(script)
    plain = upstream.aggregates

    def slow(query: dict[str, str], body: bytes) -> Answer:
        answer = plain(query, body)
        answer.delay = 0.4
        return answer

    script.handlers[AGG] = slow
    store = open_store(":memory:")
    now = [from_minute(START + 24 * 60)]

    async def main() -> None:
        async with make_with(url, store, now) as collector:
            collector.concurrency = 1
            began = time.monotonic()
            report = await collector.collect_range(
                START, START + 12 * 60, deadline=timedelta(seconds=1)
            )
            assert time.monotonic() - began < 2.5
            assert report.error is not None and not report.ok
            assert report.error.startswith("gave up after the collect deadline (1s): ")
            assert "allow longer (collect --deadline" in report.error
            assert 0 < report.chunks_written < 12
            voice = [s.id for s in store.list_series("voice")]
            assert store.data_bounds(voice) == (START, report.collected_through)
            [health] = store.source_health()
            assert health.consecutive_failures == 1 and health.last_error == report.error

    asyncio.run(main())


def test_an_unreachable_host_says_check_the_network_and_counts_failed_logins() -> None:
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    store = open_store(":memory:")
    now = [from_minute(START)]

    async def main() -> None:
        async with make_with(url, store, now) as collector:
            report = await collector.run_once(deadline=timedelta(seconds=1))
            assert report.error is not None
            assert f"login at {url}/oauth/token: cannot reach {url}" in report.error
            checks = report.error.split(". Check ", 1)[1]
            assert checks.startswith("the network from this host")
            assert "nothing is stored yet" in report.error
            assert report.calls == report.failed_calls > 0

    asyncio.run(main())
    [series] = store.list_series("api")
    assert series.segment == (("endpoint", "oauth_token"),)  # a failed login is a bad call
    good, total = store.minute_arrays([series.id], START, START + 1)
    assert good.sum() == 0 and total.sum() > 0


def test_calls_of_two_collectors_sharing_a_minute_add_up(server: tuple[str, Script]) -> None:
    url, script = server
    Upstream(script)
    store = open_store(":memory:")
    now = [from_minute(START + 60)]

    async def main() -> int:
        calls = 0
        for _ in range(2):  # two processes (cron beside serve): each has its own tally
            async with make_with(url, store, now) as collector:
                report = await collector.run_once()
                assert collector.flush_calls() == 0  # flushed already; nothing twice
                calls += report.calls
        return calls

    calls = asyncio.run(main())
    ids = [s.id for s in store.list_series("api")]
    good, total = store.minute_arrays(ids, START + 60, START + 61)
    assert good.sum() == total.sum() == calls > 0


def test_the_scheduled_loop_outlives_a_run_that_crashes(
    server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = server
    Upstream(script)
    store = open_store(":memory:")
    now = [from_minute(START + 60)]
    runs: list[str] = []

    async def main() -> None:
        async with make_with(url, store, now, interval="1s") as collector:
            original = collector.run_once

            async def flaky(*args: object, **kwargs: object) -> object:
                if not runs:
                    runs.append("crash")
                    raise RuntimeError("a bug in one run")
                runs.append("ok")
                return await original()

            monkeypatch.setattr(collector, "run_once", flaky)
            stop = asyncio.Event()
            loop = asyncio.create_task(collector.run_forever(stop))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if "ok" in runs:
                    break
            stop.set()
            await asyncio.wait_for(loop, 5)

    asyncio.run(main())
    assert runs[:2] == ["crash", "ok"]
    [health] = store.source_health()
    assert health.last_success_at is not None
