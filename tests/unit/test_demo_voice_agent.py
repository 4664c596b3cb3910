"""The demo's voice agent in its config: seed 002's starter kit joins the demo config's
lists (services, burn catalogs, SLOs), both files' comments kept, beside the contact
center's SLOs."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import yaml

from errorbudget.catalogs import voice_agent_starter_text
from errorbudget.config import ClockSettings, parse_config
from errorbudget.demo.voice_agent import (
    EVENTS_SECTION,
    VoiceAgentFeed,
    top_level_blocks,
    with_voice_agent,
)
from errorbudget.demo.world import DEMO_AT, demo_config_text, render_config
from errorbudget.services.event_ingest import EventIngestReport
from errorbudget.simulate.voice_agent import VoiceAgentSimulator, default_voice_scenario


def test_the_demo_config_holds_the_contact_center_and_the_voice_agent() -> None:
    text = render_config(
        "http://127.0.0.1:8788",
        "errorbudget-sim-secret",
        timedelta(seconds=2),
        ClockSettings(simulated_start=DEMO_AT),
    )
    loaded = parse_config(text, "/tmp/demo/errorbudget.yaml", {})
    assert loaded.warnings == []
    starter = yaml.safe_load(voice_agent_starter_text())
    demo = yaml.safe_load(demo_config_text().replace("${", "$ {"))
    ids = [slo.id for slo in loaded.config.slos]
    assert ids == [s["id"] for s in demo["slos"]] + [s["id"] for s in starter["slos"]]
    services = [s.id for s in loaded.config.services]
    assert services == ["contact-center", "genesys-platform", "voice-agent"]
    assert [c.name for c in loaded.config.burn_catalogs] == [
        "contact-center-30d",
        "voice-agent-30d",
    ]
    assert loaded.config.clock is not None  # appended after the merged lists
    for slo in loaded.config.slos:
        assert (slo.indicator.source == "events") is (slo.service == "voice-agent")
    # the demo's small voice agent: SLONoData only on the synthetic checks (the kit has it on all)
    kit = parse_config(voice_agent_starter_text(), "/tmp/kit/errorbudget.yaml", {}).config
    assert all(slo.alerting.no_data is not None for slo in kit.slos)
    quiet = {slo.id for slo in loaded.config.slos if slo.alerting.no_data is None}
    assert {slo.id for slo in kit.slos} - quiet == {"voice-synthetic-critical-flows"}
    # comments of both files are kept
    assert "# The demo's SLOs" in text and "Seed 002's burn alerts" in text


def test_blocks_keep_the_comments_that_introduce_the_next_key() -> None:
    base = "a: 1\nitems:\n  - x\n\n# about b\nb: 2\n"
    blocks = top_level_blocks(base)
    assert [key for key, _ in blocks] == [None, "a", "items", "b"]
    assert "".join(line for _, lines in blocks for line in lines) == base
    merged = with_voice_agent(
        "version: 1\nslos:\n  - {id: x, service: s, target: 0.9, "
        "window: {type: rolling, length: 30d}}\n\n# the end\n"
    )
    head, tail = merged.split("# the end\n")
    assert head.rstrip().endswith("alerting: {no_data: null}  # the demo: see above")
    assert tail == EVENTS_SECTION  # the voice agent's events retention, at the end
    assert yaml.safe_load(merged)["events"] == {"retention": "31d"}


def test_the_live_feed_sends_each_minute_once_and_in_order() -> None:
    """The live demo's job: the backfill, then every catch-up sends what happened since the
    last window (whole minutes), so no event is sent twice and none is skipped."""
    sim = VoiceAgentSimulator(default_voice_scenario(DEMO_AT, days=1).scaled(3.0), seed=7)
    batches: list[pa.Table] = []

    def ingest(table: pa.Table) -> EventIngestReport:
        batches.append(table)
        return EventIngestReport(received=table.num_rows, written_events=table.num_rows)

    feed = VoiceAgentFeed(sim, ingest)
    backfill = feed.backfill(DEMO_AT - timedelta(hours=2), DEMO_AT)
    assert backfill.events == backfill.written == sum(t.num_rows for t in batches) > 0
    assert feed.catch_up(DEMO_AT) == 0  # nothing new yet
    assert feed.catch_up(DEMO_AT + timedelta(minutes=20, seconds=42)) > 0
    assert feed.sent_until == DEMO_AT + timedelta(minutes=20)
    assert feed.catch_up(DEMO_AT + timedelta(minutes=20, seconds=59)) == 0  # same minute
    assert feed.catch_up(DEMO_AT + timedelta(minutes=30)) > 0
    ids = pa.concat_tables(batches).column("id").to_pylist()
    times = pa.concat_tables(batches).column("time").cast(pa.int64()).to_numpy() // 1000
    assert len(ids) == len(set(ids))
    start = int((DEMO_AT - timedelta(hours=2)).timestamp())
    assert start <= times.min() and times.max() < int(DEMO_AT.timestamp()) + 30 * 60
    # the same window sent at once holds the same events
    whole = VoiceAgentFeed(sim, lambda t: EventIngestReport(t.num_rows, 0, t.num_rows))
    assert whole.send(DEMO_AT - timedelta(hours=2), DEMO_AT + timedelta(minutes=30)) == (
        len(ids), len(ids),
    )  # fmt: skip
