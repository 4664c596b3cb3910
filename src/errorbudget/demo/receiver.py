"""The demo's webhook receiver: where the demo's alerts are delivered, on 127.0.0.1.

``errorbudget demo`` starts it before serving and names it in its config's
``notifications:`` section (a ``webhook`` receiver, its signing secret generated per run and
read from the environment variable :data:`SECRET_ENV`). Each request is checked as any
receiver should check errorbudget's webhook (``notify.webhook.verify_signature``: the HMAC
over the timestamp and the raw body, the timestamp within five minutes); a request that
fails is answered 401 and not shown. Each notification accepted is kept (:attr:`received`)
and handed to ``on_notification``, which the demo prints (:func:`describe`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from errorbudget.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

SECRET_ENV = "DEMO_WEBHOOK_SECRET"
"""The environment variable the demo config's webhook receiver reads its secret from."""

MAX_BODY = 1_000_000


@dataclass(frozen=True, slots=True)
class Received:
    """One notification the receiver accepted (its signature checked)."""

    body: dict[str, Any]

    @property
    def event(self) -> str:
        return str(self.body.get("event", ""))

    @property
    def labels(self) -> dict[str, str]:
        labels = self.body.get("labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def segments(received: Received) -> list[str]:
    """The series a (group) notification is about, as ``queue=Sales,tier=standard`` (or
    ``(all)``): its members' segment labels (docs/alerting.md "Groups")."""
    listed = received.body.get("alerts")
    members = [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
    found = []
    for labels in [m.get("labels") for m in members] or [received.labels]:
        shown = labels if isinstance(labels, dict) else {}
        keys = sorted(set(shown) - {"alertname", "slo", "service", "severity"})
        found.append(",".join(f"{key}={shown[key]}" for key in keys) or "(all)")
    return found


def describe(received: Received) -> str:
    """One console line: ``16:02 UTC FIRING page voice-sla queue=Sales,tier=standard —
    summary — runbook: https://…`` (a group's series joined by ``; ``)."""
    body, labels = received.body, received.labels
    moment = body.get("resolved_at") if received.event == "resolved" else body.get("fired_at")
    when = f"{str(moment)[11:16]} UTC" if isinstance(moment, str) else "--:-- UTC"
    segment = "; ".join(segments(received))
    runbook = body.get("runbook_url") or "none"
    return (
        f"{when} {received.event.upper()} {labels.get('severity', '?')} "
        f"{labels.get('slo', '?')} {segment} — {body.get('summary', '')} — runbook: {runbook}"
    )


class DemoReceiver:
    """A webhook receiver on 127.0.0.1 (a free port unless ``port`` is given), served by a
    thread until :meth:`stop`; use it in a ``with`` block."""

    def __init__(
        self,
        secret: str,
        *,
        port: int = 0,
        on_notification: Callable[[Received], None] | None = None,
    ) -> None:
        self.secret = secret.encode("utf-8")
        self.on_notification = on_notification
        self.received: list[Received] = []
        self.refused = 0
        self.port = port
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to send notifications (once started: the port is taken then)."""
        if self._server is None:
            raise RuntimeError("the demo receiver is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/notify"

    def accept(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Check one request (``headers`` by lower-case name); keep and hand on the
        notification when it is errorbudget's."""
        valid = verify_signature(
            self.secret,
            timestamp=headers.get(TIMESTAMP_HEADER.lower(), ""),
            body=body,
            signature_header=headers.get(SIGNATURE_HEADER.lower(), ""),
            now=time.time(),
        )
        if not valid:
            with self._lock:
                self.refused += 1
            return False
        received = Received(orjson.loads(body))
        with self._lock:
            self.received.append(received)
        if self.on_notification is not None:
            self.on_notification(received)
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_response(413)
                    self.end_headers()
                    return
                body = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                try:
                    accepted = receiver.accept(headers, body)
                except orjson.JSONDecodeError:
                    accepted = False
                self.send_response(204 if accepted else 401)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return  # the demo prints notifications, not requests

        return Handler

    def start(self) -> DemoReceiver:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="demo-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        if thread is not None:
            server.shutdown()
            thread.join()
        server.server_close()

    def __enter__(self) -> DemoReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
