"""The Prometheus source's pure parts: query checks, chunking, answers → counts per minute
(no data vs zero, broken values, segments from labels), settings validation."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from errorbudget.errors import ConfigError, SourceDataError
from errorbudget.sources.prometheus.indicator import PrometheusIndicator, query_problem, render
from errorbudget.sources.prometheus.results import (
    Series,
    by_segment,
    chunks,
    combine,
    evaluation_time,
    parse_answer,
)
from errorbudget.sources.prometheus.settings import PrometheusAuth, PrometheusSettings

NAN = math.nan


@pytest.mark.parametrize(
    "query",
    [
        "sum(increase(calls_total[{{.window}}]))",
        'sum by (queue) (increase(calls_total{code=~"5.."}[{{ .window }}]))',
        'sum(increase(x{path="/a(b"}[{{.window}}]))  # a comment with ( in it',
        "sum(increase((sum(rate(x[5m])))[{{.window}}:]))",
        "x[{{.window}}]",
    ],
)
def test_windowed_queries_pass_the_light_check(query: str) -> None:
    assert query_problem(query) is None


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("sum(increase(calls_total[5m]))", "no {{.window}} placeholder"),
        ("  ", "empty"),
        ("sum(increase(x[{{.window}}])", "unclosed '('"),
        ("sum(increase(x[{{.window}}))]", "unbalanced ')'"),
        ('sum(increase(x{a="b}[{{.window}}]))', "unterminated string"),
        ("sum(increase(x[{{.window}}])) / {{.other}}", "only the {{.window}} placeholder"),
    ],
)
def test_queries_that_cannot_be_windowed_are_refused(query: str, problem: str) -> None:
    found = query_problem(query)
    assert found is not None and problem in found


def test_indicator_renders_the_window_and_needs_one_numerator() -> None:
    indicator = PrometheusIndicator(
        bad_query="sum(increase(err[{{.window}}]))", total_query="sum(increase(all[{{.window}}]))"
    )
    assert indicator.numerator == ("bad", "sum(increase(err[{{.window}}]))")
    assert render(indicator.total_query) == "sum(increase(all[1m]))"
    with pytest.raises(ValidationError, match="exactly one of good_query and bad_query"):
        PrometheusIndicator(total_query="sum(increase(all[{{.window}}]))")


@pytest.mark.parametrize(
    ("start", "end", "points", "span", "expected"),
    [
        (0, 30 * 1440, 11_000, 1440, [(d * 1440, (d + 1) * 1440) for d in range(30)]),
        (0, 25_000, 11_000, 10**9, [(0, 11_000), (11_000, 22_000), (22_000, 25_000)]),
        (5, 6, 11_000, 1440, [(5, 6)]),
        (10, 10, 11_000, 1440, []),
    ],
)
def test_chunks_respect_points_and_span_and_cover_the_range(
    start: int, end: int, points: int, span: int, expected: list[tuple[int, int]]
) -> None:
    found = chunks(start, end, points, span)
    assert found == expected
    assert all(b - a <= min(points, span) for a, b in found)


def test_a_minute_is_evaluated_at_its_end() -> None:
    assert evaluation_time(0) == 60 and evaluation_time(29_000_000) == 29_000_001 * 60


def test_answers_parse_into_series_and_bad_shapes_are_data_errors() -> None:
    matrix = {
        "resultType": "matrix",
        "result": [{"metric": {"queue": "a"}, "values": [[120, "3"], [180, "NaN"]]}],
    }
    (series,) = parse_answer(matrix, "q")
    assert series.labels == {"queue": "a"} and series.samples == [(120.0, "3"), (180.0, "NaN")]
    (scalar,) = parse_answer({"resultType": "scalar", "result": [60, "2"]}, "q")
    assert scalar.labels == {}
    with pytest.raises(SourceDataError, match="q: answer of an unexpected shape"):
        parse_answer({"resultType": "vector", "result": [{"value": [1, "2"]}]}, "q")
    with pytest.raises(SourceDataError, match="result type 'string'"):
        parse_answer({"resultType": "string", "result": [1, "x"]}, "q")


def test_segments_come_from_the_labels_the_slo_names() -> None:
    series = [
        Series({"queue": "a", "instance": "x"}, [(120.0, "1"), (180.0, "NaN")]),
        Series({"queue": "b"}, [(120.0, "2")]),
    ]
    found = by_segment(series, ["queue"], "SLO s: query 'q'")
    assert found == {(("queue", "a"),): {1: 1.0}, (("queue", "b"),): {1: 2.0}}


def test_series_that_cannot_be_placed_name_the_query() -> None:
    where = "SLO s: query 'sum(x)'"
    with pytest.raises(SourceDataError, match=r"SLO s: query 'sum\(x\)' returned a series "
                       r"without the segment label\(s\) queue \(\{job=\"j\"\}\)"):  # fmt: skip
        by_segment([Series({"job": "j"}, [])], ["queue"], where)
    with pytest.raises(SourceDataError, match="several series for segment"):
        by_segment([Series({"queue": "a", "i": "1"}, []), Series({"queue": "a"}, [])], ["queue"],
                   where)  # fmt: skip
    with pytest.raises(SourceDataError, match=r"several series \(the SLO has no segment keys"):
        by_segment([Series({"i": "1"}, []), Series({"i": "2"}, [])], [], where)


SEG = (("queue", "a"),)


def test_no_data_is_never_zero() -> None:
    totals = {SEG: {0: 10.0, 1: 0.0, 3: 5.0, 4: 5.0}}  # minute 2: no sample; NaN was dropped
    good = {SEG: {0: 9.0, 4: 4.0}}
    counts = combine("good", good, totals, range(5))
    # 0: counted; 1: a zero-event minute although good is absent; 2: no data;
    # 3: good absent with a positive total: no data, not all bad; 4: counted
    assert counts.counts == {(SEG, 0): (9, 10), (SEG, 1): (0, 0), (SEG, 4): (4, 5)}
    assert counts.no_data == 2 and counts.broken == {}


def test_an_absent_bad_series_is_zero_bad_events() -> None:
    counts = combine("bad", {}, {SEG: {0: 7.0}}, range(1))
    assert counts.counts == {(SEG, 0): (7, 7)}
    counts = combine("bad", {SEG: {0: 2.0}}, {SEG: {0: 7.0}}, range(1))
    assert counts.counts == {(SEG, 0): (5, 7)}


def test_extrapolated_values_are_rounded_and_the_rounding_is_kept() -> None:
    counts = combine("good", {SEG: {0: 9.6}}, {SEG: {0: 10.4}}, range(1))
    assert counts.counts == {(SEG, 0): (9, 10)}  # 0.8 bad events: one
    assert counts.rounded == pytest.approx(0.4 + 0.2)


def test_rounding_diffuses_so_sparse_events_are_not_lost() -> None:
    # one bad event in each of three minutes, each seen as 4/3 (45 s of samples scaled to
    # 60 s): rounding each alone gives 1 + 1 + 1 = 3 of 4 extrapolated; diffused, 4
    four_thirds = 4 / 3
    bad = {SEG: {0: four_thirds, 1: four_thirds, 2: four_thirds}}
    totals = {SEG: {m: 100 * four_thirds for m in range(3)}}
    counts = combine("bad", bad, totals, range(3))
    assert sum(t - g for g, t in counts.counts.values()) == 4
    assert sum(t for _, t in counts.counts.values()) == 400
    assert all(0 <= g <= t for g, t in counts.counts.values())


def test_minutes_fetched_one_at_a_time_are_not_rounded_down_on_average() -> None:
    """A live run's last word on a minute comes from the run whose lookback starts there
    (instant queries, one minute each, the range's first): no carry reaches it. Sparse
    bad events seen as 4/3 in three minutes of four and missed in the fourth (a 15 s
    scrape) are then 1 + 1 + 1 + 0 = 3 of 4 when rounded alone: 25 % of them lost."""
    bad_of = {m: (0.0 if m % 4 == 3 else 4 / 3) for m in range(1_000, 1_400)}
    stored_bad = 0
    for minute, bad in bad_of.items():
        counts = combine(
            "bad", {SEG: {minute: bad}}, {SEG: {minute: 20.0}}, range(minute, minute + 1)
        )
        [(good, total)] = counts.counts.values()
        assert total == 20 and 0 <= good <= total
        stored_bad += total - good
    expected = sum(bad_of.values())  # 400: one event a minute
    assert abs(stored_bad - expected) <= 0.05 * expected, stored_bad


@pytest.mark.parametrize(
    ("good", "total", "problem"),
    [
        (-3.0, 10.0, "negative count"),
        (12.0, 10.0, "more good events than total"),
        (math.inf, 10.0, "not a finite number"),
        (1.0, 2e9, "more events in a minute than the store accepts"),
    ],
)
def test_values_that_cannot_be_counts_are_broken(good: float, total: float, problem: str) -> None:
    counts = combine("good", {SEG: {0: good}}, {SEG: {0: total}}, range(1))
    assert counts.counts == {(SEG, 0): (0, 0)}
    assert problem in counts.broken[(SEG, 0)]


@pytest.mark.parametrize(
    "url", ["https://eb:hunter2@prometheus.internal", "http://hunter2@p:9090/prometheus"]
)
def test_a_url_with_credentials_is_refused_without_echoing_them(url: str) -> None:
    """httpx would send a URL's user info as basic auth, and the URL is in every error
    message, run health and the collector's repr: the secret would be stored and shown."""
    with pytest.raises(ValidationError, match="credentials go in auth") as caught:
        PrometheusSettings.model_validate({"url": url})
    assert all("hunter2" not in error["msg"] for error in caught.value.errors())


def test_settings_are_validated_and_secrets_come_from_the_environment() -> None:
    settings = PrometheusSettings.model_validate(
        {"url": "https://mimir.internal/prometheus/", "headers": {"X-Scope-OrgID": "t1"}}
    )
    assert settings.url == "https://mimir.internal/prometheus"
    assert settings.max_points == 11_000 and settings.max_query_span.total_seconds() == 86_400
    for bad, message in [
        ({"url": "mimir"}, "is not an http(s) URL"),
        ({"url": "http://p", "headers": {"Authorization": "Bearer x"}}, "set by errorbudget"),
        ({"url": "http://p", "auth": {"bearer_token_env": "s3cr3t-token!"}}, "variable name"),
        ({"url": "http://p", "auth": {"username": "u"}}, "needs both username and password_env"),
    ]:
        with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            PrometheusSettings.model_validate(bad)
    bearer = PrometheusAuth(bearer_token_env="PROM_TOKEN")
    assert bearer.header({"PROM_TOKEN": "abc"}) == "Bearer abc"
    basic = PrometheusAuth(username="eb", password_env="PROM_PASSWORD")
    assert basic.header({"PROM_PASSWORD": "pw"}) == "Basic ZWI6cHc="
    with pytest.raises(ConfigError, match="environment variable PROM_TOKEN is not set"):
        bearer.header({})
