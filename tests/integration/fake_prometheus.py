"""A loopback stand-in for the Prometheus query API (``/api/v1/query``,
``/api/v1/query_range``) for the collector's tests: each known query (as sent, window
rendered) answers series whose value at a minute comes from a function; every request is
recorded, and faults (an HTTP status with a body) can be queued for the next requests.

It is not PromQL: the real thing is tested in ``test_prometheus_real.py``. This one makes
chunk boundaries, NaN, gaps, labels and faults exact and cheap to assert on.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Value = Callable[[int], float | None]
"""A series' value for the minute ending at the evaluation time (None: no sample)."""


@dataclass
class Request:
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakePrometheus:
    queries: dict[str, list[tuple[dict[str, str], Value]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    faults: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    url: str = ""

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.faults:
            return self.faults.pop(0)
        query = form.get("query", "")
        if query not in self.queries:
            return 400, {"status": "error", "errorType": "bad_data", "error": f"unknown {query}"}
        if path == "/api/v1/query":
            at = int(float(form["time"]))
            vector = []
            for labels, value in self.queries[query]:
                found = value(at // 60 - 1)
                if found is not None:
                    vector.append({"metric": labels, "value": [at, _text(found)]})
            return 200, {"status": "success", "data": {"resultType": "vector", "result": vector}}
        start, end, step = (int(float(form[k])) for k in ("start", "end", "step"))
        matrix = []
        for labels, value in self.queries[query]:
            points = []
            for at in range(start, end + 1, step):
                found = value(at // 60 - 1)
                if found is not None:
                    points.append([at, _text(found)])
            if points:
                matrix.append({"metric": labels, "values": points})
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": matrix}}

    def start(self) -> FakePrometheus:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                form = dict(urllib.parse.parse_qsl(raw.decode()))
                path = self.path.split("?")[0]
                owner.requests.append(Request(path, form, dict(self.headers)))
                status, body = owner.answer(path.removeprefix(owner.prefix), form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    prefix: str = ""
    """A path prefix the API lives under (``/prometheus`` for Mimir)."""

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
