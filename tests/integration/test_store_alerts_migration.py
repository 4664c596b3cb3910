"""The alert tables' migration (schema v8): a store written before alerts existed gains
them empty, keeps its data and its audit chain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from errorbudget.alert_records import NewNotification
from errorbudget.store import open_store
from errorbudget.store.sqlite import schema

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60
ALERTS = 8


def test_a_store_from_before_alerts_migrates_with_empty_alert_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "before.db"
    before_alerts = [m for m in schema.MIGRATIONS if m.version < ALERTS]
    with monkeypatch.context() as old_code:
        old_code.setattr(schema, "MIGRATIONS", tuple(before_alerts))
        old_code.setattr(schema, "LATEST_VERSION", before_alerts[-1].version)
        with open_store(path, clock=lambda: T0) as old:
            [series] = old.series_ids("calls", [()])
            old.write_counts([series], [M0], [8], [10])
            old.audit(actor="ci", action="test.entry", subject="x", details={})
            head = old.verify_chain()
    with open_store(path, clock=lambda: T0) as migrated:
        assert migrated.schema_version == schema.LATEST_VERSION
        assert migrated.list_alerts() == [] and migrated.alert_minute() is None
        assert migrated.list_silences(include_expired=True) == []
        assert migrated.list_notifications() == []
        after = migrated.verify_chain()
        assert after.ok and after.head_hash == head.head_hash
        assert migrated.sums([series], [(M0, M0 + 1)]).tolist() == [[[8.0, 10.0]]]
        [queued] = migrated.queue_notifications(
            [NewNotification("pager", "f" * 16, "test", "f" * 16 + "-0", {})]
        )
        assert migrated.next_notification("pager", T0) == queued
