"""Real Prometheus-family servers for integration tests, started and stopped by the tests on
free 127.0.0.1 ports (recipes: ../shared/TOOLCHAIN.md).

- :class:`Prometheus` — ``prometheus`` with a config and a data directory; ``query`` and
  ``query_range`` over its HTTP API; ``wait_for`` polls a query until it has a result (the
  first scraped sample appears ~6 s after start even with a 1 s scrape interval).
- :func:`backfill` — ``promtool tsdb create-blocks-from openmetrics``: history written as
  OpenMetrics text (timestamps in seconds, ``# EOF`` last) becomes TSDB blocks in a data
  directory, before Prometheus starts on it.
- :class:`VictoriaMetrics` and :class:`VMAlert` — ``victoria-metrics`` and ``vmalert``
  (recording rules written back through ``-remoteWrite.url``). Stop vmalert first.

A missing binary skips the test with the package to install; under
``ERRORBUDGET_REQUIRE_INTEGRATION=1`` that skip fails (tests/conftest.py).
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

import httpx
import pytest

PACKAGES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "victoria-metrics": "victoria-metrics",
    "vmalert": "victoria-metrics",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "openssl": "openssl",
}


def require_binary(*names: str) -> None:
    """Skip unless every binary in ``names`` is on PATH."""
    for name in names:
        if shutil.which(name) is None:
            package = PACKAGES.get(name, name)
            pytest.skip(f"{name} is not installed (apt-get install {package})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_tool(args: Sequence[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a checker (promtool, amtool, vmalert -dryRun …); the caller asserts on it."""
    return subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=timeout)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key (``cert.pem``, ``key.pem``)."""
    require_binary("openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def backfill(openmetrics: str, data_dir: Path, work_dir: Path) -> None:
    """Turn OpenMetrics history into TSDB blocks under ``data_dir`` (promtool)."""
    require_binary("promtool")
    data_dir.mkdir(parents=True, exist_ok=True)
    source = work_dir / "history.om"
    text = openmetrics if openmetrics.rstrip().endswith("# EOF") else openmetrics + "# EOF\n"
    source.write_text(text, encoding="utf-8")
    done = run_tool(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


class _Server:
    """A process on a free loopback port, ready when ``ready_path`` answers 200."""

    ready_path = "/-/ready"
    name = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None
        self._log_file: BinaryIO | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, log: Path | None = None, timeout: float = 30) -> Self:
        self.log = log
        self._log_file = log.open("wb") if log is not None else None
        out = self._log_file if self._log_file is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                pytest.fail(f"{self.name} exited with {code}{self._tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.name} was not ready in {timeout:.0f} s{self._tail()}")

    def _tail(self) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return ":\n" + self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the Prometheus HTTP API (Prometheus and VictoriaMetrics both serve it) -------------

    def api(self, path: str, params: Mapping[str, str | float]) -> Any:
        answer = httpx.get(f"{self.url}{path}", params=dict(params), timeout=30)
        answer.raise_for_status()
        body = answer.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's vector: ``[{"metric": {...}, "value": [ts, "v"]}, …]``."""
        params: dict[str, str | float] = {"query": expr}
        if at is not None:
            params["time"] = at
        data = self.api("/api/v1/query", params)
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        data = self.api(
            "/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step}
        )
        result: list[dict[str, Any]] = data["result"]
        return result

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The single sample of an instant query (None: empty); more than one fails."""
        vector = self.query(expr, at)
        if not vector:
            return None
        assert len(vector) == 1, f"{expr} returned {len(vector)} series"
        value = float(vector[0]["value"][1])
        return None if math.isnan(value) else value

    def wait_for(self, expr: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns a non-empty vector."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            vector = self.query(expr)
            if vector:
                return vector
            time.sleep(0.5)
        pytest.fail(f"{self.name}: {expr} returned nothing within {timeout:.0f} s{self._tail()}")


class Prometheus(_Server):
    name = "prometheus"

    def __init__(self, config: Path, data_dir: Path, *extra: str) -> None:
        require_binary("prometheus")
        super().__init__()
        self.config, self.data_dir, self.extra = config, data_dir, list(extra)

    def command(self) -> list[str]:
        return [
            "prometheus",
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
            *self.extra,
        ]

    def reload(self) -> None:
        """Re-read the config and rule files (needs ``--web.enable-lifecycle`` in extra)."""
        httpx.post(f"{self.url}/-/reload", timeout=10).raise_for_status()


class VictoriaMetrics(_Server):
    name = "victoria-metrics"
    ready_path = "/health"

    def __init__(self, data_dir: Path, *extra: str) -> None:
        require_binary("victoria-metrics")
        super().__init__()
        self.data_dir, self.extra = data_dir, list(extra)

    def command(self) -> list[str]:
        return [
            "victoria-metrics",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.data_dir}",
            "-retentionPeriod=1",
            "-search.latencyOffset=1s",
            "-loggerLevel=WARN",
            *self.extra,
        ]

    def import_prometheus(self, exposition: str) -> None:
        """Write samples in Prometheus text format (timestamps in ms) through
        ``/api/v1/import/prometheus``, then flush so queries see them."""
        httpx.post(
            f"{self.url}/api/v1/import/prometheus", content=exposition.encode(), timeout=120
        ).raise_for_status()
        httpx.get(f"{self.url}/internal/force_flush", timeout=30).raise_for_status()


class VMAlert(_Server):
    name = "vmalert"
    ready_path = "/health"

    def __init__(
        self, rules: Sequence[Path], datasource: str, notifier: str | None = None, *extra: str
    ) -> None:
        require_binary("vmalert")
        super().__init__()
        self.rules, self.datasource, self.notifier = list(rules), datasource, notifier
        self.extra = list(extra)

    def command(self) -> list[str]:
        command = [
            "vmalert",
            *[f"-rule={rule}" for rule in self.rules],
            f"-datasource.url={self.datasource}",
            f"-remoteWrite.url={self.datasource}",
            f"-remoteRead.url={self.datasource}",
            "-evaluationInterval=1s",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-external.url={self.url}",
            "-loggerLevel=WARN",
            *self.extra,
        ]
        if self.notifier is not None:
            command.append(f"-notifier.url={self.notifier}")
        return command
