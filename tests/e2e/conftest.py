"""Browser tests: the system Chromium, headless, driven by Playwright, against a real uvicorn
server on a free loopback port over a temporary store seeded with known data.

Never ``playwright install`` (its download is blocked): the browser is ``/usr/bin/chromium``
(Debian package ``chromium``). Without it, or without playwright and pytest-playwright, the
tests here skip with the reason (and fail in CI, where ERRORBUDGET_REQUIRE_INTEGRATION=1).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from errorbudget.app import App
from errorbudget.exclusions import AnnotationRequest
from errorbudget.model import to_minute
from exclusion_records import approved_exclusion

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if importlib.util.find_spec("pytest_playwright") is None:
        return "pytest-playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing()
    if reason is None:
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=reason))


if importlib.util.find_spec("pytest_playwright") is not None:

    @pytest.fixture(scope="session")
    def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
        return {
            **browser_type_launch_args,
            "executable_path": str(CHROMIUM),
            "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
        }

    @pytest.fixture(scope="session")
    def base_url() -> str | None:
        """Replaces pytest-base-url's fixture (the tests build their own URLs), whose
        class-based definition warns under pytest 9; warnings are errors here."""
        return None

    # pytest-playwright keeps one Playwright (and its asyncio loop, marked running on the
    # main thread) for the whole session, which breaks every later asyncio.run() in other
    # test directories. Here Playwright and the browser live for one test module and stop
    # before the next module starts.

    @pytest.fixture(scope="module")
    def playwright() -> Iterator[Any]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as running:
            yield running

    @pytest.fixture(scope="module")
    def browser_type(playwright: Any) -> Any:
        return playwright.chromium

    @pytest.fixture(scope="module")
    def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: Any) -> Any:
        def launch(**options: Any) -> Any:
            return browser_type.launch(**{**browser_type_launch_args, **options})

        return launch

    @pytest.fixture(scope="module")
    def browser(launch_browser: Any) -> Iterator[Any]:
        opened = launch_browser()
        yield opened
        opened.close()

    @pytest.fixture(scope="module")
    def browser_context_args() -> dict[str, Any]:
        return {"viewport": {"width": 1440, "height": 900}}


# --- the seeded server --------------------------------------------------------------------------

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
VIEWER = "viewer-token-e2e-0123456789"
OPERATOR = "operator-token-e2e-0123456789"
APPROVER = "approver-token-e2e-0123456789"

CONFIG = f"""\
version: 1
store: {{path: e2e.db}}
gate: {{enforcement: enforce}}
server:
  anonymous_read: false
  tokens:
    - {{name: vic, token: {VIEWER}, role: viewer}}
    - {{name: olivia, token: {OPERATOR}, role: operator}}
    - {{name: victor, token: {APPROVER}, role: approver}}
services:
  - {{id: contact-center, description: Voice and chat queues}}
  - {{id: payments, description: Payment IVR}}
slos:
  - id: chat-sla
    service: contact-center
    description: Chats answered within 60 s
    target: 0.9
    window: {{type: rolling, length: 7d}}
  - id: voice-sla
    service: contact-center
    description: Calls answered within 30 s
    target: 0.9
    window: {{type: rolling, length: 7d}}
    segments: {{keys: [queue]}}
  - id: payments-ivr
    service: payments
    description: Payment calls completed in the IVR
    target: 0.9
    window: {{type: rolling, length: 7d}}
"""

DAYS = 7
SERIES: tuple[tuple[str, dict[str, str], int, int], ...] = (
    ("chat-sla", {}, 2, 2),
    ("voice-sla", {"queue": "sales"}, 5, 5),
    ("voice-sla", {"queue": "support"}, 8, 8),
    ("payments-ivr", {}, 9, 15),
)
"""(SLO, segment, bad per 100 events a minute, and in the last 6 hours): chat-sla 80 % left
(green), voice-sla 35 % (amber), payments-ivr about 8 % left and burning 1.5× (red, freeze:
a medium-risk change needs an approver)."""

SPIKE = (AT - timedelta(days=3), AT - timedelta(days=3) + timedelta(hours=1))
"""An hour in which payments-ivr fails 80 % of calls (1h burn 8× over its 6× fast-burn
factor): a burn episode on its chart; about 4 % of its budget is then left."""

MAINTENANCE = (AT - timedelta(days=5), AT - timedelta(days=5) + timedelta(hours=2))


def seed(app: App) -> None:
    end = to_minute(AT)
    minutes = np.arange(end - DAYS * 1440, end, dtype=np.int64)
    recent = minutes >= end - 360
    spike = (minutes >= to_minute(SPIKE[0])) & (minutes < to_minute(SPIKE[1]))
    for slo, segment, bad, bad_recent in SERIES:
        [series] = app.store.series_ids(slo, [tuple(sorted(segment.items()))])
        total = np.full(len(minutes), 100, dtype=np.int64)
        failed = np.where(recent, bad_recent, bad)
        if slo == "payments-ivr":
            failed = np.where(spike, 80, failed)
        app.store.write_counts(np.full(len(minutes), series), minutes, total - failed, total)
    approved_exclusion(
        app,
        slo="payments-ivr",
        start=MAINTENANCE[0],
        end=MAINTENANCE[1],
        category="maintenance",
        reason="Card processor maintenance window",
        created_by="olivia",
        approver="victor",
    )
    app.records.add_annotation(
        AnnotationRequest(
            at=AT - timedelta(days=1),
            kind="deploy",
            text="Payment menu v2",
            created_by="olivia",
            slo="payments-ivr",
        )
    )


@dataclass
class Dashboard:
    """The running dashboard: its base URL, its App, and a token of each role."""

    url: str
    app: App
    viewer: str = VIEWER
    operator: str = OPERATOR
    approver: str = APPROVER


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    """``errorbudget``'s web app over a freshly seeded store, served by uvicorn on
    127.0.0.1 at a free port for the test; stopped (and waited for) afterwards."""
    import uvicorn

    from errorbudget.web.app import create_app

    os.environ.pop("ERRORBUDGET_TOKENS", None)
    config = tmp_path / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    with App.open(config, clock=lambda: AT) as app:
        seed(app)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        try:
            yield Dashboard(f"http://127.0.0.1:{port}", app)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
