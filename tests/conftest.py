"""Shared test set-up.

Integration tests need real components (Prometheus, PostgreSQL, Chromium, …). Locally a
missing component skips them with the reason; with ``ERRORBUDGET_REQUIRE_INTEGRATION=1`` (set
by ``.ci/run``) such a skip is turned into a failure, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from errorbudget.app import App
from errorbudget.model import to_minute

REQUIRE_INTEGRATION = os.environ.get("ERRORBUDGET_REQUIRE_INTEGRATION") == "1"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if REQUIRE_INTEGRATION and report.skipped and item.get_closest_marker("integration"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = (
            f"integration test skipped while ERRORBUDGET_REQUIRE_INTEGRATION=1: {reason}"
        )
    return report


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, migrated, empty PostgreSQL database (with the test role's
    password), dropped after the test; skips without a server (tests/postgres_server.py).
    A module using it is marked ``integration``."""
    from postgres_server import fresh_database

    with fresh_database() as url:
        yield url


# --- a seeded store for the API, change and timeline tests ------------------------------------

BUDGET_CONFIG = """\
version: 1
store: {path: budget.db}
server:
  tokens:
    - {name: vic, token: viewer-token-000001, role: viewer}
    - {name: olga, token: operator-token-0001, role: operator}
    - {name: otto, token: operator-token-0002, role: operator}
    - {name: vera, token: approver-token-0001, role: approver}
    - {name: ada, token: admin-token-0000001, role: admin}
slos:
  - id: answered
    service: contact-center
    target: 0.9
    window: {type: rolling, length: 7d}
    segments: {keys: [queue]}
  - id: payments
    service: billing
    target: 0.9
    window: {type: rolling, length: 7d}
    policy: voice-agent
  - id: flows
    service: ivr
    target: 0.9
    window: {type: rolling, length: 7d}
    policy: voice-agent
"""


@dataclass(frozen=True)
class BudgetWorld:
    """A config and its store holding three days of counts that end at ``at``:
    contact-center is healthy (2 % bad, queues sales and support), billing is in freeze
    (8.3 % of the budget left, burning at 1.5), ivr is exhausted (20 % bad); billing and ivr
    follow the voice-agent policy preset (exhausted blocks), contact-center the default."""

    config: Path
    at: datetime

    def open(self) -> App:
        return App.open(self.config, clock=lambda: self.at)


@pytest.fixture(scope="session")
def _budget_template(tmp_path_factory: pytest.TempPathFactory) -> BudgetWorld:
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    path = tmp_path_factory.mktemp("budget") / "errorbudget.yaml"
    path.write_text(BUDGET_CONFIG, encoding="utf-8")
    world = BudgetWorld(path, at)
    end = to_minute(at)
    minutes = np.arange(end - 3 * 1440, end, dtype=np.int64)
    total = np.full(minutes.size, 100, dtype=np.int64)
    recent = minutes >= end - 720
    bad = {
        ("answered", (("queue", "sales"),)): np.full(minutes.size, 2),
        ("answered", (("queue", "support"),)): np.full(minutes.size, 2),
        ("payments", ()): np.where(recent, 15, 8),
        ("flows", ()): np.full(minutes.size, 20),
    }
    with world.open() as app:
        for (slo, segment), bad_counts in bad.items():
            [series] = app.store.series_ids(slo, [segment])
            app.store.write_counts(
                np.full(minutes.size, series), minutes, total - bad_counts, total
            )
    return world


@pytest.fixture
def budget_world(_budget_template: BudgetWorld, tmp_path: Path) -> BudgetWorld:
    """A fresh copy of the seeded config and store (see :class:`BudgetWorld`)."""
    source = _budget_template.config.parent
    for name in ("errorbudget.yaml", "budget.db"):
        shutil.copyfile(source / name, tmp_path / name)
    return BudgetWorld(tmp_path / "errorbudget.yaml", _budget_template.at)
