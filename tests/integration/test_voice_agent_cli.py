"""``errorbudget init voice-agent`` and ``errorbudget simulate voice-agent`` through click:
the starter kit written (never over a file without --force) and valid; the simulator's
NDJSON and Parquet files hold the same events, read by the events parser, and its ground
truth CSV matches the fold of the starter kit over them."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from errorbudget.catalogs import voice_agent_starter_text
from errorbudget.cli.main import main
from errorbudget.config import load_config
from errorbudget.model import from_minute, segment_label
from errorbudget.sources.events import fold_events, parse_ndjson, parse_parquet

PERIOD = ["--to", "2026-11-25T16:00Z", "--days", "2", "--calls-per-minute", "2"]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("ERRORBUDGET_CONFIG", raising=False)
    return CliRunner()


def test_init_writes_the_starter_kit_and_keeps_an_existing_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "voice-agent.yaml"
    written = runner.invoke(main, ["init", "voice-agent", "-o", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == voice_agent_starter_text()
    assert "13 voice-agent SLOs" in written.output

    target.write_text("# mine\n", encoding="utf-8")
    refused = runner.invoke(main, ["init", "voice-agent", "-o", str(target)])
    assert refused.exit_code == 1
    assert "exists: not replaced (--force replaces it)" in refused.output
    assert target.read_text(encoding="utf-8") == "# mine\n"

    forced = runner.invoke(main, ["init", "voice-agent", "-o", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_text(encoding="utf-8") == voice_agent_starter_text()


def test_the_starter_kit_passes_validate(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "voice-agent.yaml"
    assert runner.invoke(main, ["init", "voice-agent", "-o", str(target)]).exit_code == 0
    checked = runner.invoke(main, ["validate", "-c", str(target)])
    assert checked.exit_code == 0, checked.output
    assert checked.output.strip().endswith("valid (13 SLOs, 1 services)")
    slos = load_config(target).config.slos
    assert all(slo.indicator.source == "events" and slo.owner for slo in slos)
    task = next(slo for slo in slos if slo.id == "voice-task-completion")
    segment = (("flow", "fraud-escalation"), ("risk_tier", "critical"))
    assert task.target_for(segment) == 0.97
    assert task.target_for((("flow", "faq-en"), ("risk_tier", "low"))) == 0.85


def test_simulate_writes_the_same_events_as_ndjson_and_parquet_and_their_truth(
    runner: CliRunner, tmp_path: Path
) -> None:
    lines, table, truth = tmp_path / "e.ndjson", tmp_path / "e.parquet", tmp_path / "truth.csv"
    first = runner.invoke(
        main, ["simulate", "voice-agent", "-o", str(lines), "--truth", str(truth), *PERIOD]
    )
    assert first.exit_code == 0, first.output
    assert "events (" in first.output and "events/s" in first.output
    assert "bad prompt release: billing-es-v8 on billing-es" in first.output
    second = runner.invoke(main, ["simulate", "voice-agent", "-o", str(table), *PERIOD])
    assert second.exit_code == 0, second.output

    from_lines = parse_ndjson(lines.read_bytes()).sort_by("id")
    from_parquet = parse_parquet(table).sort_by("id")
    assert from_lines.num_rows == from_parquet.num_rows > 10_000
    for name in ("id", "type", "time", "flow", "latency_ms", "tts_ms", "wer", "outcome"):
        assert from_lines.column(name).equals(from_parquet.column(name)), name

    # the truth file is the fold's counts of the starter kit, row for row
    target = tmp_path / "voice-agent.yaml"
    runner.invoke(main, ["init", "voice-agent", "-o", str(target)])
    fold = fold_events(from_parquet, load_config(target).config.slos)
    folded = {
        (sli.slo, segment_label(sli.segments[s]), f"{from_minute(int(m)):%Y-%m-%dT%H:%MZ}"): (
            int(g),
            int(t),
        )
        for sli in fold.per_slo
        for s, m, g, t in zip(sli.seg, sli.minute, sli.good, sli.total, strict=True)
        if t > 0
    }
    with truth.open(newline="", encoding="utf-8") as rows:
        written = {
            (r["slo"], r["segment"], r["minute"]): (int(r["good"]), int(r["total"]))
            for r in csv.DictReader(rows)
        }
    assert written == folded
    per_slo: dict[str, int] = defaultdict(int)
    for (slo, _, _), (_, total) in written.items():
        per_slo[slo] += total
    assert len(per_slo) == 13 and min(per_slo.values()) > 0


def test_same_seed_same_file_other_seed_other_file(runner: CliRunner, tmp_path: Path) -> None:
    paths = [tmp_path / f"{name}.ndjson" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ("3", "3", "4"), strict=True):
        result = runner.invoke(
            main, ["simulate", "voice-agent", "-o", str(path), "--seed", seed, *PERIOD]
        )
        assert result.exit_code == 0, result.output
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    quiet = runner.invoke(
        main,
        ["simulate", "voice-agent", "-o", str(paths[2]), "--no-incident", "--no-bad-release",
         "--no-outage", "--seed", "3", *PERIOD],
    )  # fmt: skip
    assert quiet.exit_code == 0, quiet.output
    released, quiet_events = (parse_ndjson(p.read_bytes()) for p in (paths[0], paths[2]))
    for events, present in ((released, True), (quiet_events, False)):
        new_prompt = pc.sum(pc.equal(events.column("prompt_version"), "billing-es-v8")).as_py()
        assert (new_prompt > 0) is present
        assert pc.any(events.column("external_outage")).as_py() is present


def test_simulate_refuses_an_empty_period(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main,
        ["simulate", "voice-agent", "-o", str(tmp_path / "e.ndjson"),
         "--from", "2026-11-25T16:00Z", "--to", "2026-11-25T15:00Z"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "is not before --to" in result.output
    assert not (tmp_path / "e.ndjson").exists()


def test_the_default_month_of_simulated_events_ingests_under_the_default_retention(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the newcomer's path: init, simulate the default 30 days up to now, ingest — the oldest
    # minutes must not fall outside the default events retention (30d did refuse the file)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["init", "voice-agent", "-o", "voice-agent.yaml"]).exit_code == 0
    made = runner.invoke(
        main, ["simulate", "voice-agent", "-o", "events.parquet", "--calls-per-minute", "0.2"]
    )
    assert made.exit_code == 0, made.output
    loaded = runner.invoke(main, ["ingest", "-c", "voice-agent.yaml", "--events", "events.parquet"])
    assert loaded.exit_code == 0, loaded.output


def test_calls_per_minute_stay_within_what_call_ids_can_number(runner: CliRunner) -> None:
    # a call id is minute × 10,000 + its index: a busier minute would reuse another's ids
    refused = runner.invoke(
        main, ["simulate", "voice-agent", "-o", "x.ndjson", "--calls-per-minute", "2000"]
    )
    assert refused.exit_code == 2 and "--calls-per-minute" in refused.output
