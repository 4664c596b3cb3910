"""scripts/screenshots.py photographs the demo itself: ``make demo``'s world (its instant and
seed), served and captured by the system Chromium, one command for every image."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from errorbudget.demo.world import DEMO_AT, DemoWorld

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts/screenshots.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_screenshots_are_the_demos_world(tmp_path: Path) -> None:
    shots = script()
    out = tmp_path / "shots"
    out.mkdir()
    with DemoWorld(tmp_path / "world", DEMO_AT) as world:
        shots.build(world)
        # as errorbudget demo: the contact center's 3, the voice agent's TTS incident on 4 SLOs
        assert len(world.app.records.annotations(kinds=["incident"])) == 3 + 4
        assert len(world.app.changes.find(status=["pending"])) == 3
        with shots.serving(world.app) as base:
            page = httpx.get(f"{base}/api/v1/pages/overview", timeout=10).json()
            assert page["at"] == "2026-11-25T16:00:00Z"
            cards = [(c["slo"]["id"], c["slo"]["service"]) for c in page["cards"]]
            assert [slo for slo, _ in cards[:4]] == [
                "voice-sla",
                "digital-sla",
                "ivr-completion",
                "api-availability",
            ]
            assert {service for _, service in cards[4:]} == {"voice-agent"}  # issue #12
            assert len(cards) == 4 + 13
            written = shots.photograph(base, out, 1440)
    assert [p.name for p in written] == [name for name, _ in shots.SHOTS]
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert width == 1440 and height >= 900
    # The committed images are these pages (regenerate with the script when they change).
    assert {p.name for p in (ROOT / "docs" / "screenshots").glob("*.png")} == {
        p.name for p in written
    }
