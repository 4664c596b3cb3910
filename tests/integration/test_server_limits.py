"""Issue #8 point 5 and the dashboard points: what a request must show before the server
reads its body, body caps while streaming, security headers, and ``/metrics`` access.

The body tests talk raw HTTP/1.1 over a socket to a real uvicorn server (loopback), so a
chunked body can be streamed — or not sent at all — and the moment of the answer seen.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
import uvicorn

from errorbudget.app import App
from errorbudget.simulate.server import free_port
from errorbudget.web.app import create_app
from errorbudget.web.security_headers import CONTENT_SECURITY_POLICY

VIEWER = "viewer-token-limits-01"
OPERATOR = "operator-token-limits-01"
CONFIG = f"""\
version: 1
store: {{path: eb.db}}
server:
  body_limits: {{json_body: 64KiB, ingest_body: 1MiB}}
  tokens:
    - {{name: vic, token: {VIEWER}, role: viewer}}
    - {{name: olga, token: {OPERATOR}, role: operator}}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {{type: rolling, length: 1d}}
"""


def open_app(tmp_path: Path, extra: str = "") -> App:
    config = tmp_path / "errorbudget.yaml"
    config.write_text(CONFIG.replace("server:\n", f"server:\n{extra}"), encoding="utf-8")
    return App.open(config)


@contextmanager
def running(app: App) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def head(path: str, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def read_answer(sock: socket.socket, timeout: float, answer: bytes = b"") -> bytes:
    """The answer: its head and its body (by Content-Length), or what came before the
    server closed the connection or ``timeout`` passed."""
    sock.settimeout(timeout)
    try:
        while True:
            head, sep, body = answer.partition(b"\r\n\r\n")
            if sep:
                lengths = [
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")[1:]
                    if line.lower().startswith(b"content-length:")
                ]
                if lengths and len(body) >= lengths[0]:
                    return answer
            more = sock.recv(65536)
            if not more:
                return answer
            answer += more
    except (TimeoutError, ConnectionResetError):
        return answer


def body_of(answer: bytes) -> bytes:
    return answer.partition(b"\r\n\r\n")[2]


def stream(sock: socket.socket, total: int, chunk: bytes) -> tuple[int, bytes]:
    """Send chunked frames of ``chunk`` up to ``total`` bytes, watching for an early answer;
    return (bytes sent, the answer) — the server may answer and close before the end."""
    sent, answer = 0, b""
    sock.setblocking(False)
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    try:
        while sent < total and not answer:
            view = memoryview(frame)
            while view and not answer:
                with suppress(BlockingIOError):
                    answer += sock.recv(65536)
                try:
                    view = view[sock.send(view) :]
                except BlockingIOError:
                    time.sleep(0.001)
            sent += len(chunk)
        if not answer:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.setblocking(True)
    return sent, read_answer(sock, 10, answer)


# --- point 5: authentication before the body, caps while streaming ----------------------------


def test_an_unauthenticated_chunked_post_is_refused_before_its_body(tmp_path: Path) -> None:
    with open_app(tmp_path) as app, running(app) as port:
        # headers only: a server that read the body first would wait for it
        for path in ("/api/v1/gate/decide", "/api/v1/changes", "/api/v1/counts"):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(head(path, "Content-Type: application/json",
                                  "Transfer-Encoding: chunked"))  # fmt: skip
                answer = read_answer(sock, timeout=5)
            assert status_of(answer) == 401, (path, answer)
            assert b'"this needs an API token with the operator role"' in answer
            assert b"www-authenticate: Bearer" in answer.lower().replace(b"bearer", b"Bearer")
        # an unknown token is refused the same way, and a body sent anyway is not read:
        # the server answers and closes while the client is still sending 256 MiB
        with socket.create_connection(("127.0.0.1", port)) as sock:
            unknown = "Authorization: Bearer not-a-known-token-0"
            sock.sendall(head("/api/v1/changes", unknown, "Content-Type: application/json",
                              "Transfer-Encoding: chunked"))  # fmt: skip
            sent, answer = stream(sock, 256 << 20, b"x" * (1 << 20))
        assert status_of(answer) == 401 and b"unknown API token" in answer
        assert sent < 64 << 20, f"the server took {sent >> 20} MiB before refusing"


def test_bodies_over_their_cap_are_refused_while_streaming(tmp_path: Path) -> None:
    auth = f"Authorization: Bearer {OPERATOR}"
    with open_app(tmp_path) as app, running(app) as port:
        # a declared length over the JSON cap: 413 without sending a byte of it
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(head("/api/v1/changes", auth, "Content-Type: application/json",
                              f"Content-Length: {10 << 20}"))  # fmt: skip
            answer = read_answer(sock, timeout=5)
        assert status_of(answer) == 413, answer
        assert b"(server.body_limits.json_body)" in body_of(answer)
        # chunked, no length: counted as it arrives, refused past 64 KiB
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(head("/api/v1/gate/decide", auth, "Content-Type: application/json",
                              "Transfer-Encoding: chunked"))  # fmt: skip
            sent, answer = stream(sock, 256 << 20, b" " * (64 << 10))
        assert status_of(answer) == 413, answer
        assert sent < 64 << 20
        detail = json.loads(body_of(answer))["detail"]
        assert detail == (
            "the body is larger than the limit of 64 KiB of this endpoint "
            "(server.body_limits.json_body): split it"
        )

    # the ingest endpoint has its own, larger cap
    rows = "".join(
        json.dumps({"time": "2026-11-01T00:00:00Z", "slo": "calls", "good": 1, "total": 1}) + "\n"
        for _ in range(5000)
    ).encode()
    assert 64 << 10 < len(rows) < 1 << 20  # over the JSON cap, under the ingest cap
    headers = {"Authorization": f"Bearer {OPERATOR}", "Content-Type": "application/x-ndjson"}
    with open_app(tmp_path) as app:
        ok, big = asyncio.run(asgi(app, ("POST", "/api/v1/counts", rows, headers),
                                   ("POST", "/api/v1/counts", rows * 4, headers)))  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert big.status_code == 413
    assert big.json()["detail"].startswith("the body is larger than the limit of 1 MiB ")
    assert "server.body_limits.ingest_body" in big.json()["detail"]


# --- the dashboard points: security headers, /metrics --------------------------------------------


def test_every_answer_carries_the_security_headers(tmp_path: Path) -> None:
    viewer = {"Authorization": f"Bearer {VIEWER}"}
    cookie = {"Cookie": f"errorbudget_token={VIEWER}"}
    requests = {
        "page": ("GET", "/", None, cookie),
        "sign-in": ("GET", "/", None, {}),
        "json": ("GET", "/api/v1/status", None, viewer),
        "401": ("GET", "/api/v1/status", None, {}),
        "404": ("GET", "/api/v1/slos/nope", None, viewer),
        "static": ("GET", "/static/dashboard.js", None, {}),
        "healthz": ("GET", "/healthz", None, {}),
        "metrics": ("GET", "/metrics", None, viewer),
        "write-401": ("POST", "/api/v1/changes", b"{}", {}),
        "docs": ("GET", "/docs", None, {}),
    }
    with open_app(tmp_path) as app:
        answers = dict(zip(requests, asyncio.run(asgi(app, *requests.values())), strict=True))
    for name, answer in answers.items():
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert headers["x-frame-options"] == "DENY", name
        assert "frame-ancestors 'none'" in headers["content-security-policy"], name
    assert answers["page"].status_code == 200 and answers["sign-in"].status_code == 401
    assert answers["write-401"].status_code == 401
    assert answers["page"].headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY  # no inline script on the pages
    for name in ("page", "sign-in"):  # so the pages have none: no inline handler or script
        html = answers[name].text
        assert " onclick=" not in html and "<script>" not in html and " style=" not in html
    # the API docs keep their own policy (their bundles boot from an inline script)
    assert "'unsafe-inline'" in answers["docs"].headers["content-security-policy"]


def test_an_unexpected_error_is_a_500_with_the_security_headers(tmp_path: Path) -> None:
    """Starlette answers an escaped exception outside every middleware: before, that 500
    was plain text without the headers."""

    async def get(web: object) -> httpx.Response:
        transport = httpx.ASGITransport(app=web, raise_app_exceptions=False)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://eb") as client:
            return await client.get("/boom")

    with open_app(tmp_path) as app:
        web = create_app(app)

        @web.get("/boom")
        def boom() -> None:
            raise RuntimeError("secret internals")

        answer = asyncio.run(get(web))
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error: the server's log has the details"}
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


def test_readyz_shows_its_reasons_only_to_a_token_unless_metrics_are_open(
    tmp_path: Path,
) -> None:
    """A probe needs only the status code; the reasons can carry upstream error texts."""

    class Stuck:  # the scheduler, as /readyz sees it
        jobs: tuple[object, ...] = ()

        def not_ready(self) -> list[str]:
            return ["job genesys: upstream said 'HTTP 503 from login.internal.example'"]

    async def ask(extra: str, headers: dict[str, str]) -> httpx.Response:
        with open_app(tmp_path / extra.strip().replace(" ", "_"), extra) as app:
            web = create_app(app)
            web.state.scheduler = Stuck()
            transport = httpx.ASGITransport(app=web)
            async with httpx.AsyncClient(transport=transport, base_url="http://eb") as client:
                return await client.get("/readyz", headers=headers)

    viewer = {"Authorization": f"Bearer {VIEWER}"}
    for extra, headers, shown in (
        ("", {}, False),
        ("", viewer, True),
        ("  metrics_auth: open\n", {}, True),
    ):
        (tmp_path / extra.strip().replace(" ", "_")).mkdir(exist_ok=True)
        answer = asyncio.run(ask(extra, headers))
        assert answer.status_code == 503, answer.text
        problems = answer.json()["problems"]
        if shown:
            assert problems == ["job genesys: upstream said 'HTTP 503 from login.internal.example'"]
        else:
            assert problems == ["1 problem: send an API token (any role) to read them"]
            assert "login.internal" not in answer.text


@pytest.mark.parametrize(
    ("server", "token_needed"),
    [
        ("", True),  # anonymous_read false: /metrics names every queue and budget
        ("  metrics_auth: open\n", False),
        ("  anonymous_read: true\n", False),  # follows anonymous_read by default
        ("  anonymous_read: true\n  metrics_auth: token\n", True),
    ],
)
def test_metrics_need_a_token_unless_open(tmp_path: Path, server: str, token_needed: bool) -> None:
    with open_app(tmp_path, server) as app:
        anonymous, with_token, bad_token = asyncio.run(
            asgi(
                app,
                ("GET", "/metrics", None, {}),
                ("GET", "/metrics", None, {"Authorization": f"Bearer {VIEWER}"}),
                ("GET", "/metrics", None, {"Authorization": "Bearer wrong-token-000000"}),
            )
        )
    assert with_token.status_code == 200 and "errorbudget_target" in with_token.text
    assert bad_token.status_code == 401
    if token_needed:
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert "calls" not in anonymous.text
    else:
        assert anonymous.status_code == 200 and 'slo="calls"' in anonymous.text


Request = tuple[str, str, bytes | None, dict[str, str]]


async def asgi(app: App, *requests: Request) -> list[httpx.Response]:
    """The answers of ``app``'s web app, in process, to (method, path, body, headers)."""
    transport = httpx.ASGITransport(app=create_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://eb") as client:
        return [
            await client.request(method, path, content=body, headers=headers)
            for method, path, body, headers in requests
        ]
