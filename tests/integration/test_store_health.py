"""Schema v4: source runs (health, data age), data issues, additive call counts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from direct_sql import REFUSED, direct_sql
from errorbudget.errors import StoreError
from errorbudget.model import DataIssue, from_minute, to_minute
from errorbudget.records import FoundIssue
from errorbudget.store import Store, open_store
from errorbudget.store.counts import rollups
from errorbudget.store.shared import health as health_table
from errorbudget.store.sqlite import schema

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
M0 = to_minute(T0)


@pytest.fixture
def store_clock() -> Callable[[], datetime]:
    """The clock of the shared ``store`` fixture (tests/integration/conftest.py)."""
    return lambda: T0


def test_a_version_3_store_migrates_to_the_latest_version_and_keeps_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v3.db"
    with monkeypatch.context() as v3_code:  # errorbudget as it was at schema v3
        v3_code.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
        v3_code.setattr(schema, "LATEST_VERSION", 3)
        v3_code.setattr(rollups, "widen_series_bounds", lambda *_: None)  # no rollups at v3
        v3_code.setattr(rollups, "write_day_totals", lambda *_: None)
        with open_store(path) as v3:
            [series] = v3.series_ids("voice", [(("queue", "billing"),)])
            v3.write_counts([series], [M0], [8], [10], source="genesys")
            assert v3.schema_version == 3
        old = sqlite3.connect(path)  # an exclusion as v3 wrote it
        old.execute(
            "INSERT INTO exclusions (slo, segment, start_minute, end_minute, category, reason, "
            "created_by, created_at) VALUES ('voice', '{}', ?, ?, 'maintenance', 'test', 'ops', ?)",
            (M0, M0 + 5, T0.isoformat()),
        )
        old.commit()
        old.close()
    with open_store(path) as migrated:
        assert migrated.schema_version == schema.LATEST_VERSION
        assert migrated.sums([series], [(M0, M0 + 1)]).tolist() == [[[8.0, 10.0]]]
        assert migrated.series_bounds([series]) == [(M0, M0 + 1)]  # backfilled by v7
        assert [e.slo for e in migrated.list_exclusions()] == ["voice"]
        assert migrated.source_health() == [] and migrated.list_data_issues() == []
        migrated.record_source_run("genesys", started_at=T0, finished_at=T0, ok=True)
        assert migrated.source_health()[0].runs == 1
    connection = sqlite3.connect(path)
    versions = [v for (v,) in connection.execute("SELECT version FROM schema_migrations")]
    connection.close()
    assert versions == list(range(1, schema.LATEST_VERSION + 1))


def test_source_health_answers_failures_last_error_and_data_age(store: Store) -> None:
    assert store.source_health() == []
    version = store.revision()
    at = [T0 + timedelta(minutes=i) for i in range(6)]
    store.record_source_run("genesys", started_at=at[0], finished_at=at[0], ok=True,
                            collected_through=M0 + 1, calls=4)  # fmt: skip
    store.record_source_run("genesys", started_at=at[1], finished_at=at[1], ok=False,
                            error="Genesys Cloud unreachable: HTTP 503", calls=8,
                            failed_calls=8, collected_through=M0 + 1)  # fmt: skip
    store.record_source_run("genesys", started_at=at[2], finished_at=at[2] + timedelta(seconds=5),
                            ok=False, error="still 503", calls=3, failed_calls=3)  # fmt: skip
    store.record_source_run("prometheus", started_at=at[2], finished_at=at[2], ok=True)
    assert store.revision() == version  # runs never invalidate cached statuses

    genesys, prometheus = store.source_health()
    assert (genesys.source, prometheus.source) == ("genesys", "prometheus")
    assert genesys.consecutive_failures == 2 and genesys.runs == 3
    assert genesys.last_error == "still 503"
    assert genesys.last_error_at == at[2] + timedelta(seconds=5)
    assert genesys.last_run_at == at[2] + timedelta(seconds=5)
    assert genesys.last_success_at == at[0]
    assert genesys.collected_through == M0 + 1
    now = T0 + timedelta(minutes=30)
    assert genesys.collected_through is not None
    assert now - from_minute(genesys.collected_through) == timedelta(minutes=29)  # data age
    assert prometheus.consecutive_failures == 0 and prometheus.last_error is None
    assert prometheus.collected_through is None

    store.record_source_run("genesys", started_at=at[5], finished_at=at[5], ok=True,
                            collected_through=M0 + 6)  # fmt: skip
    [recovered, _] = store.source_health()
    assert recovered.consecutive_failures == 0 and recovered.last_error is None
    assert recovered.last_error_at is None and recovered.last_success_at == at[5]
    assert recovered.collected_through == M0 + 6


def test_a_failed_run_needs_its_error_and_sane_call_counts(store: Store) -> None:
    with pytest.raises(StoreError, match="failed run's error"):
        store.record_source_run("genesys", started_at=T0, finished_at=T0, ok=False)
    with pytest.raises(StoreError, match="failed_calls"):
        store.record_source_run("genesys", started_at=T0, finished_at=T0, ok=True,
                                calls=1, failed_calls=2)  # fmt: skip


def test_old_runs_are_pruned_but_the_last_success_is_kept(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_table, "KEEP_RUNS", 5)
    monkeypatch.setattr(health_table, "PRUNE_EVERY", 1)
    store.record_source_run("genesys", started_at=T0, finished_at=T0, ok=True)
    for i in range(1, 30):
        moment = T0 + timedelta(minutes=i)
        store.record_source_run("genesys", started_at=moment, finished_at=moment, ok=False,
                                error=f"failure {i}")  # fmt: skip
    [health] = store.source_health()
    assert health.runs == 6  # the newest 5, and the last success
    assert health.last_success_at == T0
    assert health.consecutive_failures == 29  # however many were pruned
    assert health.last_error == "failure 29"


def test_data_issues_are_added_once_listed_by_overlap_and_resolved_inside(store: Store) -> None:
    version = store.revision()
    first = store.add_data_issue(source="genesys", slo="voice", segment={"queue": "Billing"},
                                 start=M0, end=M0 + 15, kind="inconsistent",
                                 detail="good 16 > total 15")  # fmt: skip
    assert store.revision() != version  # statuses change: the range is broken
    version = store.revision()
    again = store.add_data_issue(source="genesys", slo="voice", segment={"queue": "Billing"},
                                 start=M0, end=M0 + 15, kind="inconsistent",
                                 detail="seen again")  # fmt: skip
    assert again == first and store.revision() == version
    gap = store.add_data_issue(source="genesys", slo="voice", segment={}, start=M0 - 600,
                               end=M0 - 60, kind="gap", detail="given up")  # fmt: skip

    [issue] = store.list_data_issues(start=M0 + 14, end=M0 + 100)
    assert isinstance(issue, DataIssue) and issue.id == first
    assert issue.segment == {"queue": "Billing"} and issue.detected_at == T0
    assert issue.applies_to("voice", (("queue", "Billing"), ("tier", "vip")))
    assert not issue.applies_to("voice", (("queue", "Sales"),))
    assert not issue.applies_to("digital", (("queue", "Billing"),))
    assert [i.id for i in store.list_data_issues()] == [first, gap]
    assert store.list_data_issues(start=M0 + 15, end=M0 + 30) == []  # half-open

    version = store.revision()
    assert store.resolve_data_issues(source="genesys", slo="voice", start=M0 - 60, end=M0 + 10) == 0
    assert store.revision() == version  # nothing resolved, nothing changed
    assert store.resolve_data_issues(source="genesys", slo="voice", start=M0, end=M0 + 15) == 1
    assert store.revision() != version
    assert [i.id for i in store.list_data_issues()] == [gap]
    [resolved, _] = store.list_data_issues(include_resolved=True)
    assert resolved.resolved_at == T0 and not resolved.applies_to("voice", ())
    with pytest.raises(StoreError, match="unknown data issue kind"):
        store.add_data_issue(source="genesys", slo="voice", segment={}, start=M0, end=M0 + 1,
                             kind="bogus", detail="x")  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(StoreError, match="start < end"):
        store.add_data_issue(source="genesys", slo="voice", segment={}, start=M0, end=M0,
                             kind="gap", detail="x")  # fmt: skip
    with pytest.raises(REFUSED, match="kept"):
        direct_sql(store, "DELETE FROM data_issues")


def test_sync_keeps_issues_found_again_and_splits_the_ones_partly_refetched(
    store: Store,
) -> None:
    kept = store.add_data_issue(source="genesys", slo="voice", segment={"queue": "Billing"},
                                start=M0, end=M0 + 15, kind="inconsistent", detail="a")  # fmt: skip
    wide = store.add_data_issue(source="genesys", slo="voice", segment={}, start=M0 - 60,
                                end=M0 + 120, kind="partial", detail="malformed")  # fmt: skip
    found = [FoundIssue({"queue": "Billing"}, M0, M0 + 15, "inconsistent", "a again"),
             FoundIssue({"queue": "Sales"}, M0 + 15, M0 + 30, "inconsistent", "b")]  # fmt: skip
    added, resolved = store.sync_data_issues(source="genesys", slo="voice", start=M0,
                                             end=M0 + 60, found=found)  # fmt: skip
    assert (added, resolved) == (1, 0)  # Sales; the wide issue narrowed to its two ends
    issues = store.list_data_issues()
    assert [(i.start - M0, i.end - M0, i.kind) for i in issues] == [
        (0, 15, "inconsistent"), (-60, 0, "partial"), (60, 120, "partial"),
        (15, 30, "inconsistent"),
    ]  # fmt: skip
    assert issues[0].id == kept and issues[0].detail == "a"
    assert wide not in [i.id for i in issues]
    # a clean fetch of the whole range resolves everything inside it
    assert store.sync_data_issues(source="genesys", slo="voice", start=M0 - 60,
                                  end=M0 + 120, found=[]) == (0, 4)  # fmt: skip
    assert len(store.list_data_issues(include_resolved=True)) == 5
    assert store.list_data_issues() == []


def test_add_counts_accumulates_where_write_counts_replaces(store: Store) -> None:
    [series] = store.series_ids("api", [()])
    store.add_counts([series, series], [M0, M0 + 1], [3, 1], [4, 1], source="genesys")
    store.add_counts([series], [M0], [0], [2], source="genesys")  # another process's calls
    store.write_counts([series], [M0 + 5], [7], [7], source="ingest")
    store.add_counts([series], [M0 + 5], [0], [1], source="genesys")
    good, total = store.minute_arrays([series], M0, M0 + 6)
    assert good.tolist() == [[3, 1, 0, 0, 0, 7]]
    assert total.tolist() == [[6, 1, 0, 0, 0, 8]]
    with pytest.raises(StoreError):
        store.add_counts([series], [M0], [2], [1], source="genesys")
    assert np.array_equal(store.minute_arrays([series], M0, M0 + 1)[1], [[6]])
