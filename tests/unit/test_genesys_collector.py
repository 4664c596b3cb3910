"""The collector's write rules against the scripted loopback server: in-order chunks that
stop at a failure, idempotent re-fetch, zeroing of revised intervals, gap backfill."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from test_genesys_client import AGG, QUEUES, SECRET, Answer, Script, server

from errorbudget.config import GenesysSettings
from errorbudget.model import SLO, from_minute, to_minute
from errorbudget.sources.genesys.collector import GenesysCollector
from errorbudget.store import Store

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
    store = Store.open(":memory:")

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
    store = Store.open(":memory:")
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
    collector = GenesysCollector(settings, [SLO_DEF], Store.open(":memory:"))
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
        async def __aenter__(self) -> Recorder:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def collect_range(self, start: int, end: int, **_: Any) -> CollectReport:
            ranges.append((start, end))
            return CollectReport(start, end)

        def flush_calls(self) -> int:
            return 0

    app = SimpleNamespace(clock=lambda: now)
    asyncio.run(_run(cast(Any, Recorder()), cast(Any, app), now - timedelta(days=2), None, False))
    assert ranges == [(to_minute(now) - 2 * 1440, to_minute(now) + 1)]
