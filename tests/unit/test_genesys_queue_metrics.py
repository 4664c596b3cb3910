"""The queue families' pure parts: answers → values, the interval ledger (a revised interval
is never counted twice), the cardinality guard, and the exporter's scrape authentication."""

from __future__ import annotations

import base64
import hashlib

import pytest

from errorbudget.errors import ConfigError
from errorbudget.exporter_settings import ExporterAuth
from errorbudget.sources.genesys.queue_metrics import (
    OTHER,
    WAIT_BUCKETS,
    IntervalTotals,
    SeriesGuard,
    aggregates_body,
    parse_aggregates,
    parse_depth_and_agents,
    route_gauges,
    wait_view,
)
from errorbudget.web.exporter_app import ScrapeAuth


def test_wait_buckets_are_the_seeds_exponential_buckets() -> None:
    assert WAIT_BUCKETS == (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def test_the_aggregates_query_asks_one_rangebound_view_per_bucket() -> None:
    body = aggregates_body(60, 120, 1, ["q1"])
    assert body["interval"] == "1970-01-01T01:00:00.000Z/1970-01-01T02:00:00.000Z"
    assert body["granularity"] == "PT1M"
    assert body["metrics"] == ["nOffered", "tWait", "oServiceLevel"]
    views = {v["name"]: v for v in body["views"]}
    # lt = bound + 1 ms: tWait is whole milliseconds, so "< b + 1" is Prometheus's "≤ b"
    assert views[wait_view(512)] == {
        "target": "tWait", "name": "wait_le_512s", "function": "rangeBound",
        "range": {"lt": 512_001},
    }  # fmt: skip
    assert body["filter"]["predicates"] == [{"dimension": "queueId", "value": "q1"}]
    assert "filter" not in aggregates_body(60, 120, 1, None)


def test_aggregates_parse_offers_misses_and_cumulative_waits() -> None:
    views = [{"name": wait_view(b), "stats": {"count": min(3, int(b))}} for b in WAIT_BUCKETS]
    answer = {
        "results": [
            {
                "group": {"queueId": "q1", "mediaType": "voice"},
                "data": [
                    {
                        "interval": "2026-11-09T14:00:00.000Z/2026-11-09T14:01:00.000Z",
                        "metrics": [
                            {"metric": "nOffered", "stats": {"count": 4}},
                            {"metric": "tWait", "stats": {"count": 3, "sum": 4500, "max": 3000}},
                            {
                                "metric": "oServiceLevel",
                                "stats": {"numerator": 2, "denominator": 3, "ratio": 0.66},
                            },
                        ],
                        "views": views,
                    }
                ],
            },
            {"group": {"queueId": 7}, "data": []},  # malformed groups are skipped
        ]
    }
    (row,) = parse_aggregates(answer)
    assert (row.queue_id, row.media_type, row.offered, row.sl_missed) == ("q1", "voice", 4, 1)
    assert (row.wait_count, row.wait_sum_ms) == (3, 4500)
    assert row.wait_within == (1, 2, 3, 3, 3, 3, 3, 3, 3, 3)
    assert parse_aggregates({}) == []


def test_agents_count_once_in_one_status_and_sum_to_the_agents_on_queue() -> None:
    answer = {
        "results": [
            {
                "group": {"queueId": "q1", "mediaType": "voice"},
                "data": [{"metric": "oWaiting", "stats": {"count": 5}}],
            },
            {
                "group": {"queueId": "q1"},
                "data": [
                    {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 3}},
                    {"metric": "oOnQueueUsers", "qualifier": "INTERACTING", "stats": {"count": 4}},
                    {"metric": "oOnQueueUsers", "qualifier": "INTERACTING", "stats": {"count": 1}},
                    {"metric": "oOffQueueUsers", "stats": {"count": 9}},  # not on queue
                ],
            },
        ]
    }
    depth, agents = parse_depth_and_agents(answer)
    assert depth == {("q1", "voice"): 5}
    assert agents == {
        ("q1", "IDLE"): 3, ("q1", "INTERACTING"): 5,
        ("q1", "COMMUNICATING"): 0, ("q1", "NOT_RESPONDING"): 0,
    }  # fmt: skip
    assert sum(agents.values()) == 8


def test_a_revised_interval_adds_only_its_gain() -> None:
    totals = IntervalTotals(1)
    key = ("q1", "voice")
    totals.add(key, key, 100, [3])
    totals.add(key, key, 100, [3])  # asked again, unchanged: nothing added
    assert totals.totals[key] == [3.0]
    totals.add(key, key, 100, [5])  # revised up: the gain only
    totals.add(key, key, 101, [2])
    assert totals.totals[key] == [7.0]
    totals.add(key, key, 100, [4])  # revised down: a counter never goes back
    assert totals.totals[key] == [7.0] and totals.revised_down == 1
    totals.add(key, key, 100, [5])  # back to what was counted: still nothing new
    assert totals.totals[key] == [7.0]
    totals.forget_before(101)
    assert list(totals.counted) == [(key, 101)]


def test_the_guard_keeps_the_first_series_and_aggregates_the_rest() -> None:
    reports: list[tuple[str, str, int]] = []
    guard = SeriesGuard("genesys_queue_depth", 2, "aggregate", lambda *r: reports.append(r))
    values = {("q1", "voice"): 1, ("q2", "voice"): 2, ("q3", "voice"): 4, ("q4", "voice"): 8}
    assert route_gauges(values, guard) == {
        ("q1", "voice"): 1.0, ("q2", "voice"): 2.0, (OTHER, "voice"): 12.0,
    }  # fmt: skip
    assert reports == [("genesys_queue_depth", "max_series", 1)] * 2
    route_gauges(values, guard)  # sticky: nothing reported twice, nobody swaps slots
    assert len(reports) == 2
    assert guard.release({"q1"}) == [("q1", "voice")]
    assert guard.route(("q5", "voice")) == ("q5", "voice")  # the freed slot
    assert guard.route(("q3", "voice")) == (OTHER, "voice")  # still refused


def test_the_guard_never_splits_a_queues_agents_between_itself_and_other() -> None:
    """A queue's routing statuses are admitted together or not at all: split at the limit,
    ``sum by (queue_id) (genesys_queue_agents)`` would give part of a queue's agents (and
    ``other`` the rest of them), and with ``overflow: drop`` a queue would lose agents."""
    statuses = ("COMMUNICATING", "IDLE", "INTERACTING", "NOT_RESPONDING")
    agents = {(q, s): 1 for q in ("q1", "q2") for s in statuses}
    reports: list[tuple[str, str, int]] = []
    guard = SeriesGuard("genesys_queue_agents", 6, "aggregate", lambda *r: reports.append(r))
    routed = route_gauges(agents, guard)
    assert {key[0] for key in routed} == {"q1", OTHER}
    assert routed == {**{("q1", s): 1.0 for s in statuses}, **{(OTHER, s): 1.0 for s in statuses}}
    assert reports == [("genesys_queue_agents", "max_series", 4)]
    dropping = SeriesGuard("genesys_queue_agents", 6, "drop", lambda *r: None)
    assert route_gauges(agents, dropping) == {("q1", s): 1.0 for s in statuses}
    agents[("q3", "IDLE")] = 2  # two free slots: a queue that fits is still admitted
    assert route_gauges(agents, dropping)[("q3", "IDLE")] == 2.0


def test_the_guard_drops_when_told_and_released_totals_fold_into_other() -> None:
    guard = SeriesGuard("genesys_queue_offer_total", 1, "drop", lambda *r: None)
    assert guard.route(("q1", "voice")) == ("q1", "voice")
    assert guard.route(("q2", "voice")) is None
    totals = IntervalTotals(1)
    totals.add(("q1", "voice"), ("q1", "voice"), 1, [5])
    totals.add(("q9", "voice"), (OTHER, "voice"), 1, [2])
    totals.release([("q1", "voice")], "aggregate")
    assert totals.totals == {(OTHER, "voice"): [7.0]}  # monotonic: other only grows
    totals.release([(OTHER, "voice")], "drop")
    assert totals.totals == {}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_scrape_auth_basic_with_a_sha256_hash() -> None:
    digest = hashlib.sha256(b"hunter2").hexdigest()
    auth = ScrapeAuth(
        ExporterAuth(type="basic", username="prom", password_hash=f"sha256:{digest}"), {}
    )
    assert auth.allows(_basic("prom", "hunter2"))
    assert not auth.allows(_basic("prom", "hunter3"))
    assert not auth.allows(_basic("other", "hunter2"))
    assert not auth.allows(None)
    assert not auth.allows("Basic !!notbase64")
    assert not auth.allows("Basic cHJvbTpodW50ZXIy\u00e9")  # not ASCII: refused, not a 500
    assert not auth.allows("Bearer hunter2")
    assert auth.challenge.startswith("Basic ")


def test_scrape_auth_basic_with_a_bcrypt_hash_is_checked_once_per_credential() -> None:
    bcrypt = pytest.importorskip("bcrypt")
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    auth = ScrapeAuth(ExporterAuth(type="basic", username="prom", password_hash=hashed), {})
    assert auth.allows(_basic("prom", "s3cret"))
    assert auth.allows(_basic("prom", "s3cret"))  # from the remembered digest
    assert not auth.allows(_basic("prom", "s3cre"))


def test_scrape_auth_from_the_environment() -> None:
    basic = ExporterAuth(type="basic", username="prom", password_env="EXPORTER_PASSWORD")
    assert ScrapeAuth(basic, {"EXPORTER_PASSWORD": "pw"}).allows(_basic("prom", "pw"))
    bearer = ExporterAuth(type="bearer", token_env="EXPORTER_TOKEN")
    auth = ScrapeAuth(bearer, {"EXPORTER_TOKEN": "tok-1"})
    assert auth.allows("Bearer tok-1") and not auth.allows("Bearer tok-2")
    assert not auth.allows(_basic("prom", "tok-1"))
    with pytest.raises(ConfigError, match=r"\$EXPORTER_TOKEN"):
        ScrapeAuth(bearer, {})
    assert ScrapeAuth(None, {}).allows(None)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "basic", "password_env": "X"},  # no username
        {"type": "basic", "username": "u"},  # no password
        {"type": "basic", "username": "u", "password_hash": "plaintext"},
        {"type": "bearer"},
        {"type": "bearer", "token_env": "T", "username": "u"},
    ],
)
def test_incomplete_auth_settings_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        ExporterAuth.model_validate(fields)


def test_a_bcrypt_cost_that_would_stall_every_scrape_is_refused() -> None:
    salt_and_hash = "a" * 53
    ExporterAuth(type="basic", username="prom", password_hash=f"$2b$14${salt_and_hash}")
    with pytest.raises(ValueError, match="bcrypt cost 31 is above 14"):
        ExporterAuth(type="basic", username="prom", password_hash=f"$2b$31${salt_and_hash}")
