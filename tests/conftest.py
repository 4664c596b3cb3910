"""Shared test set-up.

Integration tests need real components (Prometheus, PostgreSQL, Chromium, …). Locally a
missing component skips them with the reason; with ``ERRORBUDGET_REQUIRE_INTEGRATION=1`` (set
by ``.ci/run``) such a skip is turned into a failure, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

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
