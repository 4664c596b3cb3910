"""`errorbudget serve` as a user runs it: a real process on 127.0.0.1, stopped by SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from errorbudget.cli.main import main
from errorbudget.model import to_minute
from errorbudget.simulate.server import free_port
from errorbudget.store import open_store

CONFIG = """\
version: 1
store: {path: serve.db}
server: {anonymous_read: true}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {type: rolling, length: 1d}
    segments: {keys: [queue]}
"""


def test_serve_answers_health_metrics_and_stops_gracefully(tmp_path: Path) -> None:
    (tmp_path / "errorbudget.yaml").write_text(CONFIG, encoding="utf-8")
    end = to_minute(datetime.now(tz=UTC))
    with open_store(tmp_path / "serve.db") as store:
        [series] = store.series_ids("calls", [(("queue", "q1"),)])
        minutes = np.arange(end - 600, end, dtype=np.int64)
        store.write_counts(np.full(600, series), minutes, np.full(600, 95), np.full(600, 100))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "errorbudget",
            "serve",
            "-c",
            str(tmp_path / "errorbudget.yaml"),
            "--port",
            str(port),
            "--log-format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.1)
        ready = httpx.get(base + "/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        metrics = httpx.get(base + "/metrics", timeout=5).text
        values = {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line and not line.startswith("#")
        }
        labels = 'segment="queue=q1",service="cc",slo="calls"'
        assert values[f"errorbudget_budget_remaining_ratio{{{labels}}}"] == pytest.approx(0.5)
        assert values[f'errorbudget_state{{{labels},state="watch"}}'] == 1.0
        assert values[f'errorbudget_burn_rate{{{labels},window="1h"}}'] == pytest.approx(0.5)
        assert httpx.get(base + "/", timeout=5).status_code == 200
        assert httpx.get(base + "/api/v1/status", timeout=5).json()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"serving http://127.0.0.1:{port}" in out
    messages = [json.loads(line)["msg"] for line in err.splitlines() if line.startswith("{")]
    assert "stopped" in messages  # the scheduler and store were shut down in order


def busy_port() -> tuple[socket.socket, int]:
    """A port another process (here: this test) is listening on."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder, holder.getsockname()[1]


def test_serve_on_a_busy_port_says_what_to_do_and_exits_3(tmp_path: Path) -> None:
    (tmp_path / "errorbudget.yaml").write_text(CONFIG, encoding="utf-8")
    holder, port = busy_port()
    with holder:
        result = CliRunner().invoke(
            main, ["serve", "-c", str(tmp_path / "errorbudget.yaml"), "--port", str(port)]
        )
    assert result.exit_code == 3, result.output
    assert (
        result.stderr == f"error: port {port} is in use: stop the other process or pass --port N\n"
    )


def test_demo_on_a_busy_port_fails_before_any_work(tmp_path: Path) -> None:
    holder, port = busy_port()
    began = time.monotonic()
    with holder:
        result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 3, result.output
    assert f"error: port {port} is in use: stop the other process or pass --port N" in result.stderr
    assert time.monotonic() - began < 5  # not after a 30-day backfill
    assert list(tmp_path.iterdir()) == []  # nothing was simulated, collected or written


def test_cli_reference_documents_exit_code_3() -> None:
    reference = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    assert "3 `errorbudget serve` or `errorbudget\ndemo` cannot listen on its port" in reference
