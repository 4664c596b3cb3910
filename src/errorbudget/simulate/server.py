"""Run the fake Genesys Cloud API on a real uvicorn server, in a background thread.

For tests and the demo::

    with FakeGenesysServer(simulation, clock, faults=parse_faults("429=0.3")) as server:
        server.base_url   # "http://127.0.0.1:<free port>"
        server.stats()    # GET /_fake/stats

Loopback only by default; the port is chosen by the OS when ``port`` is 0.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from types import TracebackType
from typing import Any

import uvicorn

from errorbudget.simulate.clock import SimulatedClock
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.genesys_api import ApiSettings, FaultSpec, create_app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class FakeGenesysServer:
    """A uvicorn server with the fake API, started and stopped in a thread."""

    def __init__(
        self,
        simulation: Simulation,
        clock: SimulatedClock,
        faults: FaultSpec | None = None,
        settings: ApiSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.settings = settings or ApiSettings()
        self.app = create_app(simulation, clock, faults, self.settings)
        config = uvicorn.Config(
            self.app, host=host, port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-genesys", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> FakeGenesysServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake Genesys server did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C in the main thread interrupts the wait)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base_url}/_fake/stats", timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data

    def __enter__(self) -> FakeGenesysServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
