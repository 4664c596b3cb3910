"""The Prometheus collector over HTTP against a loopback stand-in of the query API
(``fake_prometheus.py``): chunked ``query_range`` backfill, instant queries for a few live
minutes, no data never written as zero, segments from labels, broken values as data
issues, retries, errors naming the query, credentials from the environment."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fake_prometheus import FakePrometheus

from errorbudget.config import parse_config
from errorbudget.errors import ConfigError, ConfigValidationError
from errorbudget.model import from_minute, to_minute
from errorbudget.runtime_metrics import scheduled_health
from errorbudget.sources import PullSource, create_sources
from errorbudget.sources.prometheus.client import PrometheusClient
from errorbudget.sources.prometheus.collector import PrometheusCollector
from errorbudget.sources.resilience import Backoff
from errorbudget.store import Store, open_store

START = to_minute(datetime(2026, 11, 2, tzinfo=UTC))
GOOD = 'sum by (queue) (increase(ok_total{job="cc"}[1m]))'
TOTAL = 'sum by (queue) (increase(calls_total{job="cc"}[1m]))'

CONFIG = """\
store: {{path: {store}}}
services: [{{id: cc}}]
sources:
  prometheus:
    url: {url}
    auth: {{bearer_token_env: PROM_TOKEN}}
    headers: {{X-Scope-OrgID: tenant-1}}
    max_points: {points}
    max_query_span: 1d
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {{type: rolling, length: 7d}}
    segments: {{keys: [queue]}}
    indicator:
      source: prometheus
      good_query: 'sum by (queue) (increase(ok_total{{job="cc"}}[{{{{.window}}}}]))'
      total_query: 'sum by (queue) (increase(calls_total{{job="cc"}}[{{{{ .window }}}}]))'
"""


class RecordingSink:
    """The store, remembering every (series, minute) written (to tell no data from zero)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.written: dict[tuple[int, int], tuple[int, int]] = {}

    def transaction(self) -> AbstractContextManager[Any]:
        return self.store.transaction()

    def series_ids(self, slo: str, segments: Any, create: bool = True) -> list[int]:
        return self.store.series_ids(slo, segments, create)

    def write_counts(self, series: Any, minutes: Any, good: Any, total: Any,
                     source: str = "ingest") -> int:  # fmt: skip
        for row in zip(*(np.asarray(a).tolist() for a in (series, minutes, good, total)),
                       strict=True):  # fmt: skip
            self.written[(row[0], row[1])] = (row[2], row[3])
        return self.store.write_counts(series, minutes, good, total, source=source)

    def add_counts(self, *args: Any, **kwargs: Any) -> int:
        raise AssertionError("the Prometheus source replaces, never adds")


def truth_total(minute: int) -> float | None:
    offset = minute - START
    if 600 <= offset < 660:  # a scrape gap: no sample at all
        return None
    if offset == 700:
        return math.nan  # e.g. a ratio of nothing
    return float(10 + offset % 7)


def truth_good(minute: int) -> float | None:
    total = truth_total(minute)
    if total is None or math.isnan(total):
        return total
    return total - (minute % 3)


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus(prefix="/prometheus")
    server.queries = {
        GOOD: [({"queue": "a"}, truth_good), ({"queue": "b"}, lambda m: 0.0)],
        TOTAL: [({"queue": "a"}, truth_total), ({"queue": "b"}, lambda m: 0.0)],
    }
    yield server.start()
    server.stop()


def collector(
    fake: FakePrometheus, tmp_path: Path, now: datetime, points: int = 11_000
) -> tuple[PrometheusCollector, Store, RecordingSink]:
    text = CONFIG.format(store=tmp_path / "s.db", url=fake.url + "/prometheus", points=points)
    loaded = parse_config(text, tmp_path / "c.yaml", {})
    store = open_store(tmp_path / "s.db")
    [source] = list(create_sources(loaded, store, lambda: now))
    assert isinstance(source, PrometheusCollector)
    source.client = PrometheusClient(
        source.settings, environ={"PROM_TOKEN": "t0k"}, backoff=Backoff(base=0.001, cap=0.01)
    )
    sink = RecordingSink(store)
    source.sink = sink
    return source, store, sink


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROM_TOKEN", "t0k")


def test_backfill_in_chunks_writes_data_minutes_only(fake: FakePrometheus, tmp_path: Path) -> None:
    days = 3
    now = from_minute(START + days * 1440 + 30)
    source, store, sink = collector(fake, tmp_path, now, points=1000)
    done: list[tuple[int, int]] = []
    run = asyncio.run(
        source.collect_range(START, START + days * 1440, progress=lambda d, t: done.append((d, t)))
    )
    asyncio.run(source.aclose())
    assert run.error is None, run.error
    # chunks: at most 1000 points (and one day), contiguous, a 60 s step
    ranges = [r.form for r in fake.requests]
    assert {r.path for r in fake.requests} == {"/prometheus/api/v1/query_range"}
    assert all(f["step"] == "60" for f in ranges)
    spans = sorted({(int(f["start"]), int(f["end"])) for f in ranges})
    assert spans[0][0] == (START + 1) * 60 and spans[-1][1] == (START + days * 1440) * 60
    assert all((end - start) // 60 + 1 <= 1000 for start, end in spans)
    assert all(b[0] - a[1] == 60 for a, b in pairwise(spans))
    assert run.chunks == len(spans) == 5 and run.queries == 10 and done[-1] == (5, 5)
    # credentials and headers as configured
    headers = fake.requests[0].headers
    assert headers["Authorization"] == "Bearer t0k" and headers["X-Scope-OrgID"] == "tenant-1"
    # every minute of queue a but the 60-minute gap and the NaN, every minute of queue b
    [a, b] = store.series_ids("calls", [(("queue", "a"),), (("queue", "b"),)], create=False)
    minutes_a = {m for s, m in sink.written if s == a}
    expected_a = {
        m for m in range(START, START + days * 1440)
        if truth_total(m) is not None and not math.isnan(truth_total(m) or 0)
    }  # fmt: skip
    assert minutes_a == expected_a and len(expected_a) == days * 1440 - 61
    assert all(sink.written[(a, m)] == (truth_good(m), truth_total(m)) for m in expected_a)
    assert {sink.written[(b, m)] for m in range(START, START + days * 1440)} == {(0, 0)}
    assert run.rows_written == len(sink.written) and run.no_data_minutes == 61
    # 4 series × points, less the gap in both queries (the NaN is a point, without data)
    assert run.points == sum(4 * (e - s) // 60 + 4 for s, e in spans) - 2 * 60
    _, total = store.minute_arrays([a], START, START + days * 1440)
    assert total.sum() == sum(truth_total(m) for m in expected_a)  # type: ignore[misc]
    store.close()


def test_live_runs_use_instant_queries_for_the_closed_minutes(
    fake: FakePrometheus, tmp_path: Path
) -> None:
    now = from_minute(START + 100) + timedelta(seconds=20)
    source, store, _ = collector(fake, tmp_path, now)
    first = asyncio.run(source.run_once())
    assert first.error is None and first.mode == "instant"
    # lookback 3m before now (nothing stored yet): minutes 97, 98, 99 — not the open 100
    times = sorted({int(r.form["time"]) for r in fake.requests})
    assert times == [(START + m) * 60 for m in (98, 99, 100)]
    assert {r.path for r in fake.requests} == {"/prometheus/api/v1/query"}
    assert first.collected_through == START + 100
    fake.requests.clear()
    # two minutes later: from lookback before the mark, again instant
    source.clock = lambda: from_minute(START + 102) + timedelta(seconds=5)
    second = asyncio.run(source.run_once())
    times = sorted({int(r.form["time"]) for r in fake.requests})
    assert times == [(START + m) * 60 for m in range(98, 103)]
    assert second.collected_through == START + 102 and second.rows_written == 2 * 5
    health = [h for h in store.source_health() if h.source == "prometheus"]
    assert health[0].collected_through == START + 102 and health[0].runs == 2
    # a long way behind: the catch-up is a query_range, from the recorded mark
    fake.requests.clear()
    source.clock = lambda: from_minute(START + 700)
    third = asyncio.run(source.run_once())
    assert third.mode == "range" and {r.path for r in fake.requests} == {
        "/prometheus/api/v1/query_range"
    }
    assert int(fake.requests[0].form["start"]) == (START + 100) * 60
    asyncio.run(source.aclose())
    store.close()


def test_live_runs_do_not_lose_sparse_extrapolated_events(
    fake: FakePrometheus, tmp_path: Path
) -> None:
    """Each minute's stored count is finally written by the run whose lookback starts at
    it (an instant query, no carry from earlier minutes). One bad event a minute, seen as
    4/3 in three minutes of four and missed in the fourth (a 15 s scrape), must still add
    up to about one a minute, not 3/4."""

    def bad(minute: int) -> float:
        return 0.0 if minute % 4 == 3 else 4 / 3

    fake.queries = {
        GOOD: [({"queue": "a"}, lambda m: 20.0 - bad(m))],
        TOTAL: [({"queue": "a"}, lambda m: 20.0)],
    }
    now = from_minute(START + 10) + timedelta(seconds=20)
    source, store, sink = collector(fake, tmp_path, now)
    for minute in range(START + 10, START + 250):
        source.clock = lambda minute=minute: from_minute(minute) + timedelta(seconds=20)
        run = asyncio.run(source.run_once())
        assert run.error is None and run.mode == "instant"
    settled = [(g, t) for (_, m), (g, t) in sink.written.items() if START + 10 <= m < START + 240]
    assert len(settled) == 230 and all(t == 20 for _, t in settled)
    stored = sum(t - g for g, t in settled)
    expected = sum(bad(m) for m in range(START + 10, START + 240))
    assert abs(stored - expected) <= 0.1 * expected, (stored, expected)
    asyncio.run(source.aclose())
    store.close()


def test_broken_values_are_data_issues_until_a_clean_refetch(
    fake: FakePrometheus, tmp_path: Path
) -> None:
    now = from_minute(START + 200)
    source, store, sink = collector(fake, tmp_path, now)
    fake.queries[GOOD][0] = ({"queue": "a"}, lambda m: 99.0 if m - START in (5, 6) else 1.0)
    run = asyncio.run(source.collect_range(START, START + 10))
    assert run.broken_minutes == 2 and run.data_issues == 1
    [issue] = store.list_data_issues(source="prometheus")
    assert (issue.start, issue.end, issue.kind) == (START + 5, START + 7, "inconsistent")
    assert "more good events than total" in issue.detail and issue.segment == {"queue": "a"}
    [a] = store.series_ids("calls", [(("queue", "a"),)], create=False)
    assert sink.written[(a, START + 5)] == (0, 0)
    fake.queries[GOOD][0] = ({"queue": "a"}, truth_good)
    again = asyncio.run(source.collect_range(START, START + 10))
    assert again.data_issues_resolved == 1 and store.list_data_issues(source="prometheus") == []
    assert sink.written[(a, START + 5)] == (truth_good(START + 5), truth_total(START + 5))
    asyncio.run(source.aclose())
    store.close()


def test_failures_are_retried_and_errors_name_the_query(
    fake: FakePrometheus, tmp_path: Path
) -> None:
    now = from_minute(START + 3000)
    source, store, _ = collector(fake, tmp_path, now)
    busy = {"status": "error", "errorType": "unavailable", "error": "busy"}
    fake.faults = [(503, busy), (429, busy)]
    run = asyncio.run(source.collect_range(START, START + 100))
    assert run.error is None and run.retries == 2 and run.failed_requests == 2
    # a query Prometheus refuses: the run fails with its message and the query
    fake.queries.pop(TOTAL)
    failed = asyncio.run(source.collect_range(START + 1440, START + 2000))
    assert failed.error is not None and failed.rows_written == 0
    assert "HTTP 400 (bad_data: unknown sum by (queue)" in failed.error
    assert "nothing new stored" in failed.error
    # an extra series without the segment label: an error naming the SLO and the query
    fake.queries[TOTAL] = [({"queue": "a"}, truth_total), ({"job": "cc"}, lambda m: 1.0)]
    odd = asyncio.run(source.collect_range(START, START + 10))
    assert odd.error is not None
    assert "SLO calls: query 'sum by (queue) (increase(calls_total{job=\"cc\"}[{{ .window }}]))'" \
        " returned a series without the segment label(s) queue" in odd.error  # fmt: skip
    assert source.run_health.consecutive_failures == 2
    # what /readyz and /metrics read of a scheduled pull source
    assert isinstance(source, PullSource)
    health = scheduled_health([source])["prometheus"]
    assert health.outcomes == {"ok": 1, "failed": 2} and "returned a series" in str(
        health.last_error
    )
    [recorded] = [h for h in store.source_health() if h.source == "prometheus"]
    assert recorded.consecutive_failures == 2 and recorded.runs == 3
    asyncio.run(source.aclose())
    store.close()


def test_creating_the_source_needs_its_settings_and_its_secret(
    fake: FakePrometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = CONFIG.format(store=tmp_path / "s.db", url=fake.url, points=11_000)
    loaded = parse_config(text, tmp_path / "c.yaml", {})
    monkeypatch.delenv("PROM_TOKEN")
    with (
        open_store(":memory:") as store,
        pytest.raises(ConfigError, match="environment variable PROM_TOKEN is not set"),
    ):
        list(create_sources(loaded, store, lambda: datetime.now(UTC)))
    without = text.split("sources:")[0] + "slos:" + text.split("slos:")[1]
    with pytest.raises(ConfigValidationError) as invalid:
        parse_config(without, tmp_path / "c.yaml", {})
    [problem] = invalid.value.problems
    assert "indicator source 'prometheus' is not configured: add sources.prometheus" in str(problem)
