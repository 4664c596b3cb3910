"""``errorbudget ingest --events`` (issue #12): NDJSON and Parquet event files into a real
store, counted once, all or nothing per file, seen by ``errorbudget status``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from errorbudget.cli.main import main
from errorbudget.services import event_files
from errorbudget.store import open_store

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
START = AT - timedelta(hours=6)

CONFIG = """\
version: 1
clock: {simulated_start: '2026-12-01T12:00:00Z'}
store: {path: budgets.db}
events: {retention: 7d}
slos:
  - id: turn-latency
    service: voice-agent
    target: 0.9
    window: {type: rolling, length: 1d}
    segments: {keys: [flow]}
    indicator:
      source: events
      event: turn
      good: {latency_ms: {le: 1200}}
      exclude:
        - {name: test-call, when: {test: true}}
"""


def turns(count: int, *, bad_every: int = 10, prefix: str = "t") -> list[dict[str, object]]:
    """``count`` turns a minute apart over two flows; every ``bad_every``-th one slow."""
    return [
        {
            "id": f"{prefix}{i}",
            "type": "turn",
            "time": (START + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "latency_ms": 2500 if i % bad_every == 0 else 600,
            "flow": "billing" if i % 2 else "faq",
            "llm_ms": 300,
        }
        for i in range(count)
    ]


def ndjson(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "errorbudget.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, [*args], env={"ERRORBUDGET_CONFIG": str(project / "errorbudget.yaml")}
    )
    return result.exit_code, result.output


def whole_slo(project: Path) -> dict[str, object]:
    code, out = run(project, "status", "--at", AT.isoformat(), "--format", "json")
    assert code == 0, out
    [row] = [r for r in json.loads(out) if r["slo"] == "turn-latency" and not r["segment"]]
    return dict(row)


def test_an_event_file_becomes_a_status_and_a_second_ingest_adds_nothing(project: Path) -> None:
    events = ndjson(project / "turns.ndjson", turns(300))
    code, out = run(project, "ingest", "--events", str(events))
    assert code == 0, out
    assert "300 events read, 300 written, 0 duplicates" in out
    assert "turn-latency: 300 eligible, 270 good, 30 kept, 2 series" in out
    first = whole_slo(project)
    assert (first["eligible"], first["bad"]) == (300, 30)

    code, out = run(project, "ingest", "--events", str(events), "--format", "json")
    assert code == 0, out
    [file] = json.loads(out)["files"]
    assert file["written"] and file["report"]["duplicates"] == 300
    assert file["report"]["written_events"] == 0
    again = whole_slo(project)
    assert (again["eligible"], again["bad"]) == (300, 30)


def test_a_bad_event_rejects_its_file_whole_and_names_its_line(project: Path) -> None:
    events = turns(50)
    events[36]["latency_ms"] = -5
    del events[41]["latency_ms"]
    bad = ndjson(project / "bad.jsonl", events)
    good = ndjson(project / "good.ndjson", turns(20, prefix="g"))
    code, out = run(project, "ingest", "--events", str(good), str(bad))
    assert code == 1
    assert f"{bad}:37: latency_ms:" in out
    assert f"{bad}:42: latency_ms:" in out
    assert "1 of 2 event file(s) rejected" in out
    assert whole_slo(project)["eligible"] == 20  # good.ndjson is written, bad.jsonl is not
    with open_store(project / "budgets.db") as store:
        assert store.claim_event_ids(["t0"], [int(START.timestamp()) // 60]).tolist() == [True]


def test_a_bad_chunk_rolls_back_the_chunks_written_before_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_files, "CHUNK_BYTES", 2000)  # ~14 events a chunk
    events = turns(100)
    events[95]["type"] = "turnn"
    path = ndjson(project / "late-error.ndjson", events)
    code, out = run(project, "ingest", "--events", str(path))
    assert code == 1 and f"{path}:96: type:" in out
    assert whole_slo(project)["eligible"] == 0
    events[95]["type"] = "turn"
    code, out = run(project, "ingest", "--events", str(ndjson(path, events)))
    assert code == 0, out
    assert whole_slo(project)["eligible"] == 100


def test_parquet_files_ingest_like_ndjson(project: Path) -> None:
    events = turns(120)
    table = pa.table(
        {
            "id": [e["id"] for e in events],
            "type": [e["type"] for e in events],
            "time": pa.array(
                [int((START + timedelta(minutes=i)).timestamp() * 1000) for i in range(120)],
                pa.int64(),
            ),
            "latency_ms": [e["latency_ms"] for e in events],
            "flow": [e["flow"] for e in events],
        }
    )
    path = project / "turns.parquet"
    pq.write_table(table, path)
    code, out = run(project, "ingest", "--events", str(path))
    assert code == 0, out
    row = whole_slo(project)
    assert (row["eligible"], row["bad"]) == (120, 12)


def test_events_options_and_file_types_are_checked(project: Path) -> None:
    path = ndjson(project / "turns.ndjson", turns(3))
    code, out = run(project, "ingest", "--events", "--skip-invalid", str(path))
    assert code == 2 and "--events takes no --skip-invalid" in out
    csv = project / "turns.csv"
    csv.write_text("id,type\n", encoding="utf-8")
    code, out = run(project, "ingest", "--events", str(csv))
    assert code == 1 and f"{csv}: not an event file" in out
    old = turns(1, prefix="old")
    old[0]["time"] = "2026-11-01T00:00:00Z"
    path = ndjson(project / "old.ndjson", old)
    code, out = run(project, "ingest", "--events", str(path))
    assert code == 1 and f"{path}:1: time: is older than the events retention (7d" in out


def test_events_after_2099_or_past_max_future_are_located(project: Path) -> None:
    events = turns(3)
    events[1]["time"] = "2150-01-01T00:00:00Z"
    events[2]["time"] = (AT + timedelta(hours=2)).isoformat()  # the clock is at AT
    path = ndjson(project / "future.ndjson", events)
    code, out = run(project, "ingest", "--events", str(path))
    assert code == 1, out
    assert f"{path}:2: time: " in out and "after 2099" in out
    del events[1]
    code, out = run(project, "ingest", "--events", str(ndjson(path, events)))
    assert code == 1, out
    assert f"{path}:2: time: is more than 1h after now (events.max_future)" in out
    events[1]["time"] = (AT + timedelta(minutes=30)).isoformat()
    code, out = run(project, "ingest", "--events", str(ndjson(path, events)))
    assert code == 0, out


def test_an_id_repeated_at_another_minute_in_a_file_rejects_it(project: Path) -> None:
    events = turns(3)
    events[2]["id"] = events[0]["id"]
    path = ndjson(project / "repeat.ndjson", events)
    code, out = run(project, "ingest", "--events", str(path))
    assert code == 1
    assert f"{path}:3: id: id 't0' repeated with another time (line 1)" in out


def test_parquet_in_batch_duplicates_are_counted_once_per_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_files, "CHUNK_ROWS", 2)
    at = int(START.timestamp() * 1000)
    table = pa.table(
        {
            "id": ["a", "a", "b", "c", "d", "e", "f"],
            "type": ["turn"] * 7,
            "time": pa.array([at] * 7, pa.int64()),
            "latency_ms": [600] * 7,
        }
    )
    path = project / "repeats.parquet"
    pq.write_table(table, path)
    code, out = run(project, "ingest", "--events", str(path), "--format", "json")
    assert code == 0, out
    [file] = json.loads(out)["files"]
    assert (file["report"]["received"], file["report"]["duplicates"]) == (7, 1)
    assert file["report"]["written_events"] == 6
