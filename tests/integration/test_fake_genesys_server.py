"""The fake Genesys Cloud API on a real uvicorn server (loopback, free port): a small
backfill through injected faults, and the ``errorbudget simulate genesys`` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from errorbudget.simulate import SimClock, Simulation, default_scenario, ground_truth
from errorbudget.simulate.genesys_api import ApiSettings, parse_faults
from errorbudget.simulate.server import FakeGenesysServer, free_port

START = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
SECRET = ("errorbudget-sim", "errorbudget-sim-secret")


def _send(client: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    """POST with retries: honours Retry-After, retries 5xx and malformed bodies."""
    for _ in range(50):
        response = client.post(
            "/api/v2/analytics/conversations/aggregates/query", json=body, headers=headers
        )
        if response.status_code == 429:
            time.sleep(min(float(response.headers["Retry-After"]), 0.05))
            continue
        if response.status_code >= 500:
            continue
        try:
            response.json()
        except ValueError:
            continue
        return response
    raise AssertionError("no answer after 50 tries")


def test_backfill_through_faults_matches_ground_truth() -> None:
    sim = Simulation(default_scenario(START), seed=7)
    clock = SimClock(start=START, speed=60)
    faults = parse_faults("429=0.2:1s,5xx=0.1,malformed=0.05,seed=2")
    with FakeGenesysServer(sim, clock, faults, ApiSettings()) as server:
        assert server.host == "127.0.0.1"
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            token = client.post(
                "/oauth/token", auth=SECRET, data={"grant_type": "client_credentials"}
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            counts: dict[tuple[str, str], int] = {}
            day_start = START - timedelta(days=1)
            for hour in range(0, 24, 6):
                start = day_start + timedelta(hours=hour)
                end = start + timedelta(hours=6)
                body = {
                    "interval": f"{start.isoformat()}/{end.isoformat()}",
                    "granularity": "PT15M",
                    "groupBy": ["queueId"],
                    "metrics": ["nOffered", "tAnswered"],
                }
                for result in _send(client, headers, body).json().get("results", []):
                    for point in result["data"]:
                        for metric in point["metrics"]:
                            key = (result["group"]["queueId"], metric["metric"])
                            counts[key] = counts.get(key, 0) + metric["stats"]["count"]
        stats = server.stats()
    truth = ground_truth(sim, START - timedelta(days=1), START)
    for queue in sim.scenario.queues:
        offered = sum(c.offered for (q, _, _), c in truth.items() if q == queue.id)
        answered = sum(c.answered for (q, _, _), c in truth.items() if q == queue.id)
        assert counts.get((queue.id, "nOffered"), 0) == offered
        assert counts.get((queue.id, "tAnswered"), 0) == answered
    path = stats["byPath"]["/api/v2/analytics/conversations/aggregates/query"]
    assert path["200"] >= 4 and stats["faults"]
    assert not server._thread.is_alive()  # stopped cleanly
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/_fake/stats", timeout=1)


def test_cli_serves_until_interrupted() -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "errorbudget",
        "simulate",
        "genesys",
        "--port",
        str(port),
        "--speed",
        "120",
        "--start",
        "2026-11-10T15:00:00Z",
        "--client-id",
        "cli",
        "--client-secret",
        "cli-secret",
        "--faults",
        "seed=1",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                token = httpx.post(
                    f"{base}/oauth/token",
                    auth=("cli", "cli-secret"),
                    data={"grant_type": "client_credentials"},
                    timeout=2,
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        queues = httpx.get(f"{base}/api/v2/routing/queues", headers=headers, timeout=5)
        assert queues.json()["total"] == 8
        clock = httpx.get(f"{base}/_fake/clock", timeout=5).json()
        assert clock["start"].startswith("2026-11-10T15:00:00") and clock["speed"] == 120
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"127.0.0.1:{port}" in out
