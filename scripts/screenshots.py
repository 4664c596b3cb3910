"""Photograph the demo for the docs: docs/screenshots/{overview,slo-detail,voice,changes,exec}.png.

Builds the demo's own world, as ``make demo`` does (``errorbudget demo --at
2026-11-25T16:00Z``, seed 7: the simulated contact center collected through the fake Genesys
Cloud API, the voice agent's month of simulated events ingested, its incidents annotated,
its changes waiting for approval) in a temporary
directory, with its clock held at that instant; serves its dashboard on a free loopback
port with uvicorn; and photographs it with the system Chromium through Playwright (never
``playwright install``). One command regenerates every image:

    .venv/bin/python scripts/screenshots.py                 # writes docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --at 2026-11-20T15:00Z
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from errorbudget.app import App
from errorbudget.demo.world import DEMO_AT, DEMO_SEED, DemoWorld
from errorbudget.server import listen
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
SHOTS = (
    ("overview.png", "/"),
    ("slo-detail.png", "/slos/voice-sla"),
    ("voice.png", "/slos/voice-task-completion/voice"),
    ("changes.png", "/changes"),
    ("exec.png", "/exec"),
)


def build(world: DemoWorld) -> None:
    """What ``errorbudget demo`` does before it serves: backfill (the contact center and the
    voice agent), incidents, changes."""
    world.backfill()
    world.backfill_voice_agent()
    world.record_incidents(until=world.at)
    world.submit_changes()


@contextmanager
def serving(app: App) -> Iterator[str]:
    """The dashboard of ``app`` on a free loopback port, for the duration of the block."""
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
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
        sock.close()


def photograph(base: str, out: Path, width: int) -> list[Path]:
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        for name, path in SHOTS:
            page.goto(f"{base}{path}?refresh=0")  # the demo's pages need no token to read
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
        default=DEMO_AT,
        help="The demo's instant (default 2026-11-25T16:00Z, make demo's).",
    )
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="errorbudget-shots-") as tmp,
        DemoWorld(Path(tmp), args.at, seed=args.seed) as world,
    ):
        build(world)
        with serving(world.app) as base:
            for path in photograph(base, args.out, args.width):
                print(path)


if __name__ == "__main__":
    main()
