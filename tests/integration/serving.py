"""``errorbudget serve`` as a real process on 127.0.0.1, for the tests that need the real
server (its event loop, its thread pool, its scheduled jobs, SIGTERM and kill -9)."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from errorbudget.simulate.server import free_port


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start(
    config: Path,
    *args: str,
    port: int | None = None,
    timeout: float = 30,
    tls: ssl.SSLContext | None = None,
) -> Served:
    """Start ``errorbudget serve`` and wait until ``/healthz`` answers (over HTTPS, trusting
    ``tls``, when the config sets ``server.tls``)."""
    port = port or free_port()
    log = config.parent / f"serve-{port}-{time.monotonic_ns()}.log"
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "errorbudget", "serve", "-c", str(config), "--port",
             str(port), "--log-format", "json", *args],
            stdout=subprocess.DEVNULL, stderr=stderr, text=True,
        )  # fmt: skip
    scheme = "https" if tls is not None else "http"
    served = Served(f"{scheme}://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            verify: ssl.SSLContext | bool = tls if tls is not None else True
            if httpx.get(served.url + "/healthz", timeout=1, verify=verify).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}: {served.log_text()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"serve did not start: {served.log_text()}")
        time.sleep(0.05)


def stop(served: Served, timeout: float = 30) -> int:
    """SIGTERM (graceful), then the exit code."""
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
    try:
        return served.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()
        raise


@contextmanager
def serving(config: Path, *args: str) -> Iterator[Served]:
    served = start(config, *args)
    try:
        yield served
    finally:
        stop(served)
