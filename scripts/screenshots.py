"""Photograph the dashboard for the docs: docs/screenshots/{overview,slo-detail,changes,exec}.png.

Builds the demo's 30 days of counts (``errorbudget demo``'s data, same seed) in a temporary
directory, adds what a real month also has (an approved exclusion for the carrier outage,
a deploy and a routing change on the timeline, changes waiting for approval), serves the
dashboard on a free loopback port with uvicorn, and photographs it with the system Chromium
through Playwright (never ``playwright install``; see /work/shared/TOOLCHAIN.md).

    .venv/bin/python scripts/screenshots.py                 # writes docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --at 2026-11-20T15:00Z
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from errorbudget.app import App
from errorbudget.cli.demo_command import DAYS, demo_config_text
from errorbudget.demo.traffic import Incident, generate, write_csv
from errorbudget.ingest import ingest_files
from errorbudget.model import from_minute, to_minute
from errorbudget.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWER_TOKEN = "ops-lead-screenshot-token"
TOKENS = (
    f"ops-lead:viewer:{VIEWER_TOKEN},"
    "alice:operator:alice-screenshot-token,"
    "vp-ops:approver:vp-ops-screenshot-token"
)

SHOTS = (
    ("overview.png", "/"),
    ("slo-detail.png", "/slos/voice-sla"),
    ("changes.png", "/changes"),
    ("exec.png", "/exec"),
)


def build(workdir: Path, at: datetime) -> App:
    """The demo month (as ``errorbudget demo --at``), plus exclusions, annotations, changes."""
    config = workdir / "errorbudget.yaml"
    config.write_text(demo_config_text(), encoding="utf-8")
    now = to_minute(at)
    end = now - now % 60
    start = end - DAYS * 1440
    incident_start = end - 6 * 1440 - (end % 1440) + 19 * 60  # as the demo: 14:00 New York
    incident = Incident(incident_start, incident_start + 150, "carrier degradation")
    app = App.open(config, clock=lambda: at)
    csv_path = write_csv(generate(start, end, incident, seed=7), workdir / "counts.csv")
    ingest_files(app.store, {s.id: s for s in app.slos}, [csv_path])

    app.add_exclusion(
        slo="voice-sla",
        start=from_minute(incident.start),
        end=from_minute(incident.end),
        category="external-outage",
        reason="Carrier degradation on inbound trunks (carrier ticket 4521)",
        created_by="cc-ops-lead",
        approved_by="vp-ops",
    )
    app.add_annotation(
        at=from_minute(end - 9 * 1440 + 14 * 60),
        kind="config",
        text="Overflow standard support to sales after 45 s",
        created_by="cc-ops",
        slo="voice-sla",
    )
    app.add_annotation(
        at=from_minute(end - 3 * 1440),
        kind="deploy",
        text="Spanish billing IVR prompt v2",
        created_by="cx-design",
        slo="ivr-completion",
        segment={"flow": "billing-es"},
    )
    app.submit_change(
        service="contact-center",
        title="Spanish billing menu v3",
        change_type="flow",
        risk="medium",
        slo_ids=["ivr-completion"],
        segment={"flow": "billing-es"},
        submitted_by="alice",
        description="Shorter menu; fixes the v2 regression",
    )
    app.submit_change(
        service="contact-center",
        title="New callback offer for standard support",
        change_type="routing",
        risk="high",
        slo_ids=["voice-sla"],
        submitted_by="alice",
    )
    app.submit_change(
        service="genesys-platform",
        title="Roll back API client retry settings",
        change_type="rollback",
        risk="low",
        submitted_by="alice",
    )
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(app: App) -> Iterator[str]:
    """The dashboard of ``app`` on a free loopback port, for the duration of the block."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def photograph(base: str, out: Path, width: int) -> list[Path]:
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": 900})
        # As the token field leaves it: in localStorage (for API calls) and the read cookie.
        context.add_cookies([{"name": "errorbudget_token", "value": VIEWER_TOKEN, "url": base}])
        context.add_init_script(
            f"window.localStorage.setItem('errorbudget.apiToken', '{VIEWER_TOKEN}')"
        )
        page = context.new_page()
        for name, path in SHOTS:
            page.goto(f"{base}{path}?refresh=0")
            page.wait_for_load_state("networkidle")
            target = out / name
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--at",
        type=lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")),
        default=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
        help="The instant the dashboard shows (default 2026-11-20T15:00Z, for stable images).",
    )
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["ERRORBUDGET_TOKENS"] = TOKENS
    with tempfile.TemporaryDirectory(prefix="errorbudget-shots-") as tmp:
        app = build(Path(tmp), args.at)
        try:
            with serving(app) as base:
                for path in photograph(base, args.out, args.width):
                    print(path)
        finally:
            app.close()


if __name__ == "__main__":
    main()
