"""The generic pull schedule, the counts-write protocol, and the config errors of fields a
source plugin validates (issue #9, sources as plugins)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from errorbudget.config import parse_config
from errorbudget.errors import ConfigValidationError
from errorbudget.sources import create_sources, plugin, source_names
from errorbudget.sources.counts_sink import CountsSink
from errorbudget.sources.genesys.settings import GenesysSettings
from errorbudget.sources.schedule import Gap, PullSettings, oldest_mark, plan_run
from errorbudget.store import open_store

DAY = 1440


def test_a_run_starts_lookback_before_the_oldest_mark() -> None:
    schedule = PullSettings(lookback=timedelta(hours=1), max_backfill=timedelta(days=2))
    now = 100 * DAY
    plan = plan_run(schedule, now, {"a": now - 10, "b": now - 300})
    assert (plan.start, plan.end, plan.mark, plan.gaps) == (now - 360, now + 1, now - 300, [])


def test_a_first_run_fetches_the_lookback_and_an_old_mark_leaves_a_gap() -> None:
    schedule = PullSettings(lookback=timedelta(minutes=30), max_backfill=timedelta(days=1))
    now = 100 * DAY
    assert plan_run(schedule, now, {"a": None, "b": now - 5}).start == now - 30
    plan = plan_run(schedule, now, {"a": now - 3 * DAY, "b": now - 5})
    assert plan.start == now - DAY  # caught up no further than max_backfill
    assert plan.gaps == [Gap("a", now - 3 * DAY, now - DAY)]
    assert oldest_mark({}) is None and oldest_mark({"a": None, "b": 3}) is None


def test_genesys_settings_are_a_pull_schedule() -> None:
    settings = GenesysSettings(base_url="http://127.0.0.1:1", client_id="a", client_secret="b")
    defaults = PullSettings()
    for key in ("interval", "lookback", "max_backfill", "collect_deadline"):
        assert getattr(settings, key) == getattr(defaults, key), key


def test_the_store_takes_counts_through_the_counts_write_protocol() -> None:
    with open_store(":memory:") as store:
        sink: CountsSink = store  # mypy: the store satisfies the protocol structurally
        assert isinstance(sink, CountsSink)
        [series] = sink.series_ids("a", [()])
        minute = 29_000_000  # 2025-02
        with sink.transaction():
            assert sink.write_counts([series], [minute], [5], [9], source="x") == 1
            assert sink.write_counts([series], [minute], [1], [2], source="x") == 1  # replaces
            assert sink.add_counts([series], [minute], [1], [1], source="x") == 1
        assert store.sums([series], [(minute, minute + 1)])[0, 0].tolist() == [2.0, 3.0]


def test_builtin_plugins_and_what_they_create() -> None:
    assert source_names() == ["ingest", "prometheus", "genesys", "synthetic", "events"]
    assert plugin("synthetic").settings_model is None
    assert plugin("ingest").settings_model is None
    assert plugin("genesys").settings_model is GenesysSettings
    loaded = parse_config("version: 1\nslos: []\n", "eb.yaml", {})
    with open_store(":memory:") as store:
        assert list(create_sources(loaded, store, lambda: None)) == []  # type: ignore[arg-type, return-value]


CONFIG = """\
version: 1
sources:
  genesis: {region: us-east-1}
  genesys: {region: us-east-1, clientid: a, client_secret: 12345, granularity: 7m}
slos:
  - id: a
    service: s
    target: 0.9
    window: {type: rolling, length: 7d}
    indicator: {source: genesys, metric: voice_sal, quues: {}}
  - id: b
    service: s
    target: 0.9
    window: {type: rolling, length: 7d}
    indicator: {source: genesis}
  - id: c
    service: s
    target: 0.9
    window: {type: rolling, length: 7d}
    indicator: {metric: x}
  - id: d
    service: s
    target: 0.9
    window: {type: rolling, length: 7d}
    indicator: {source: ingest, god: x}
"""


def test_plugin_validated_fields_keep_their_place_and_suggestions() -> None:
    """``sources`` and ``indicator`` are validated by the plugins' models: the problems are
    the ones the closed unions gave (same positions, same "did you mean")."""
    with pytest.raises(ConfigValidationError) as info:
        parse_config(CONFIG, "cfg.yaml", {})
    assert [str(p) for p in info.value.problems] == [
        "cfg.yaml:3:3: sources: unknown key 'genesis' (did you mean 'genesys'?)",
        "cfg.yaml:4:12: sources.genesys: missing required key 'client_id'",
        "cfg.yaml:4:32: sources.genesys: unknown key 'clientid' (did you mean 'client_id'?)",
        "cfg.yaml:4:60: sources.genesys.client_secret: Input should be a valid string",
        "cfg.yaml:4:80: sources.genesys.granularity: granularity is a whole number of minutes"
        " that divides 60 (got '7m')",
        "cfg.yaml:10:42: slos[0].indicator.metric: Input should be 'voice_sla', 'digital_sla',"
        " 'answered_within', 'ivr_completion' or 'api_availability' (got 'voice_sal')"
        " (did you mean 'voice_sla'?)",
        "cfg.yaml:10:53: slos[0].indicator: unknown key 'quues' (did you mean 'queues'?)",
        "cfg.yaml:15:25: slos[1].indicator: source 'genesis' is not one of ingest, prometheus,"
        " genesys, synthetic, events (did you mean 'genesys'?)",
        "cfg.yaml:20:16: slos[2].indicator: missing key 'source' (one of: ingest, prometheus,"
        " genesys, synthetic, events)",
        "cfg.yaml:25:33: slos[3].indicator: unknown key 'god' (did you mean 'good'?)",
    ]
