"""The Genesys client against a small scripted HTTP server on 127.0.0.1 (a real socket).

Each test scripts the answers of the endpoints it uses: the server pops the next scripted
answer for a path (the last one repeats) and records every request, so tests assert what
went over the wire: auth headers, retries, pacing, refreshes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from errorbudget.errors import SourceError
from errorbudget.sources.genesys.client import GenesysClient, api_and_login_urls
from errorbudget.sources.genesys.resilience import Backoff
from errorbudget.sources.genesys.settings import GenesysSettings

SECRET = "s3cr3t-client-secret-value"
TOKEN_PREFIX = "tok-very-secret-"


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Script:
    """Scripted answers per path; a token endpoint that issues numbered tokens."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.tokens_issued = 0
        self.token_lifetime = 86_400
        self.valid_tokens: set[str] = set()
        self.token_answers: list[Answer] = []
        self.handlers: dict[str, Callable[[dict[str, str], bytes], Answer]] = {}

    def on(self, path: str, *answers: Answer) -> None:
        self.answers[path] = list(answers)

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        with self.lock:
            self.seen.append(Seen(method, path, headers, body, time.monotonic()))
            if path == "/oauth/token":
                if self.token_answers:
                    return self.token_answers.pop(0)
                expected = "Basic " + base64.b64encode(f"client-1:{SECRET}".encode()).decode()
                if headers.get("authorization") != expected:
                    return Answer(401, {"error": "invalid_client"})
                self.tokens_issued += 1
                token = f"{TOKEN_PREFIX}{self.tokens_issued}"
                self.valid_tokens.add(token)
                return Answer(
                    200,
                    {
                        "access_token": token,
                        "token_type": "bearer",
                        "expires_in": self.token_lifetime,
                    },
                )
            bearer = headers.get("authorization", "").removeprefix("Bearer ")
            api = path.startswith("/api/v2/") and path != "/api/v2/summary.json"
            if api and bearer not in self.valid_tokens:
                return Answer(401, {"message": "bad token", "code": "bad.credentials"})
            if path in self.handlers:
                return self.handlers[path](query, body)
            queue = self.answers.get(path) or [Answer(404, {"message": "no such path"})]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        params = dict(parse_qsl(query))
        answer = self.script.answer(self.command, path, params, headers, body)
        if answer.delay:
            time.sleep(answer.delay)
        payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = _serve  # noqa: N815 (http.server's names)


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    handler = type("Handler", (_Handler,), {"script": script})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def settings(url: str, **extra: Any) -> GenesysSettings:
    values: dict[str, Any] = {
        "base_url": url,
        "client_id": "client-1",
        "client_secret": SECRET,
        "requests_per_minute": 6000,
        "circuit_reset": "1s",
        "max_attempts": 6,
    }
    values.update(extra)
    return GenesysSettings.model_validate(values)


QUEUES = "/api/v2/routing/queues"
AGG = "/api/v2/analytics/conversations/aggregates/query"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def client_for(url: str, **extra: Any) -> GenesysClient:
    """A client with short backoffs (full jitter up to 0.3 s), so failure tests run fast."""
    client = GenesysClient(settings(url, **extra))
    client.backoff = Backoff(base=0.05, cap=0.3)
    return client


# --- urls ------------------------------------------------------------------------------------


def test_region_urls_and_overrides() -> None:
    by_region = GenesysSettings(region="us-west-2", client_id="c", client_secret="s")
    assert api_and_login_urls(by_region) == (
        "https://api.usw2.pure.cloud",
        "https://login.usw2.pure.cloud",
    )
    local = settings("http://127.0.0.1:9")
    assert api_and_login_urls(local) == ("http://127.0.0.1:9", "http://127.0.0.1:9")
    proxied = GenesysSettings(
        base_url="https://api.example.test/", client_id="c", client_secret="s"
    )
    assert api_and_login_urls(proxied)[1] == "https://login.example.test"


# --- auth, paging ----------------------------------------------------------------------------


def test_client_credentials_bearer_and_paging(server: tuple[str, Script]) -> None:
    url, script = server

    def page(query: dict[str, str], body: bytes) -> Answer:
        p = int(query["pageNumber"])
        assert query["pageSize"] == "100"
        entities = [{"id": f"q{p}{i}", "name": f"Q {p}{i}"} for i in range(2)]
        return Answer(body={"entities": entities, "pageNumber": p, "pageCount": 3})

    script.handlers[QUEUES] = page

    async def main() -> list[Any]:
        async with GenesysClient(settings(url)) as client:
            first = await client.list_queues()
            names = await client.queue_names()
            return [first, names]

    queues, names = run(main())
    assert [q.id for q in queues] == ["q10", "q11", "q20", "q21", "q30", "q31"]
    assert len(names) == 6
    assert script.tokens_issued == 1
    token_request = script.requests("/oauth/token")[0]
    assert token_request.body == b"grant_type=client_credentials"
    assert all(
        s.headers["authorization"] == f"Bearer {TOKEN_PREFIX}1" for s in script.requests(QUEUES)
    )
    assert len(script.requests(QUEUES)) == 6  # 3 pages, twice (the cache was empty once)


def test_wrong_secret_is_a_clear_non_retryable_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.on(QUEUES, Answer(body={"entities": []}))

    async def main() -> None:
        async with GenesysClient(settings(url, client_secret="wrong")) as client:
            await client.list_queues()

    with pytest.raises(SourceError, match="refused the OAuth client credentials") as info:
        run(main())
    assert not info.value.retryable
    assert "wrong" not in str(info.value)


def test_revoked_token_one_refresh_for_concurrent_requests(server: tuple[str, Script]) -> None:
    url, script = server
    script.on(AGG, Answer(body={"results": []}, delay=0.05))

    async def main() -> None:
        async with GenesysClient(settings(url)) as client:
            await client.conversation_aggregates({})
            script.valid_tokens.clear()  # revoked server-side
            await asyncio.gather(*(client.conversation_aggregates({}) for _ in range(8)))

    run(main())
    assert script.tokens_issued == 2  # one refresh for eight 401s


def test_second_401_after_refresh_is_an_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.on(AGG, Answer(401, {"message": "nope", "code": "bad.credentials"}))

    async def main() -> None:
        async with GenesysClient(settings(url)) as client:
            await client.conversation_aggregates({})

    with pytest.raises(SourceError, match="HTTP 401") as info:
        run(main())
    assert info.value.status == 401
    assert script.tokens_issued == 2


def test_token_refreshed_in_background_before_expiry(server: tuple[str, Script]) -> None:
    url, script = server
    script.token_lifetime = 2  # refreshed from half its life on, without blocking
    script.on(AGG, Answer(body={"results": []}))

    async def main() -> list[float]:
        async with GenesysClient(settings(url)) as client:
            await client.conversation_aggregates({})
            await asyncio.sleep(1.2)
            started = time.monotonic()
            await asyncio.gather(*(client.conversation_aggregates({}) for _ in range(5)))
            blocked = time.monotonic() - started
            await asyncio.sleep(0.2)
            return [blocked, client.tokens.stats.background]

    blocked, background = run(main())
    assert script.tokens_issued == 2
    assert background == 1
    assert blocked < 1.0
    # the five requests used the old, still valid token: no 401 anywhere
    assert not [
        s for s in script.seen if s.path == AGG and s.headers["authorization"].endswith("2")
    ][:0]


# --- retries, rate limits, breaker, timeouts --------------------------------------------------


def test_429_honours_retry_after_for_everyone(server: tuple[str, Script]) -> None:
    url, script = server
    script.on(
        AGG,
        Answer(429, {"message": "rate limited"}, {"Retry-After": "1"}),
        Answer(body={"results": []}),
    )

    async def main() -> tuple[float, int]:
        async with GenesysClient(settings(url)) as client:
            started = time.monotonic()
            await client.conversation_aggregates({})
            return time.monotonic() - started, client.stats.rate_limited

    elapsed, limited = run(main())
    assert limited == 1
    assert elapsed >= 0.95
    assert len(script.requests(AGG)) == 2


def test_5xx_retried_then_circuit_opens_and_probes(server: tuple[str, Script]) -> None:
    url, script = server
    script.on(AGG, Answer(503, {"message": "down"}))

    async def main() -> GenesysClient:
        async with client_for(url, circuit_failures=3, max_attempts=5) as client:
            with pytest.raises(SourceError, match="giving up") as info:
                await client.conversation_aggregates({})
            assert info.value.retryable
            return client

    client = run(main())
    # 3 failures open the circuit; then waits (no request) and one half-open probe
    assert client.breaker.opened >= 1
    assert client.stats.circuit_waits >= 1
    sent = script.requests(AGG)
    assert len(sent) == 5  # max_attempts requests, the last two as half-open probes
    assert sent[3].at - sent[2].at >= 0.9  # nothing reached the server while open (1 s)
    tally = client.tally.snapshot()
    assert sum(t for (_, e), (_, t) in tally.items() if e == "conversation_aggregates") == len(
        script.requests(AGG)
    )
    assert all(g == 0 for (_, e), (g, _) in tally.items() if e == "conversation_aggregates")


def test_recovers_after_a_short_outage(server: tuple[str, Script]) -> None:
    url, script = server
    script.on(AGG, *[Answer(502, {"message": "bad gateway"})] * 4, Answer(body={"results": [1]}))

    async def main() -> Any:
        async with client_for(url, circuit_failures=3) as client:
            return await client.request("POST", AGG, endpoint="x", body={})

    assert run(main()) == {"results": [1]}


def test_timeouts_and_malformed_json_are_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.on(
        AGG,
        Answer(body={}, delay=1.5),
        Answer(raw=b'{"results": ['),
        Answer(body={"results": []}),
    )

    async def main() -> Any:
        async with client_for(url, request_timeout="1s") as client:
            return await client.conversation_aggregates({}), client.stats.failures

    answer, failures = run(main())
    assert answer == {"results": []}
    assert failures == 2


def test_400_is_mapped_with_genesys_message(server: tuple[str, Script]) -> None:
    url, script = server
    body = {"message": "granularity too fine", "code": "bad.request", "status": 400,
            "contextId": "ctx-1", "details": [], "errors": []}  # fmt: skip
    script.on(AGG, Answer(400, body))

    async def main() -> None:
        async with GenesysClient(settings(url)) as client:
            await client.conversation_aggregates({})

    with pytest.raises(SourceError) as info:
        run(main())
    assert "bad.request: granularity too fine (contextId ctx-1)" in str(info.value)
    assert not info.value.retryable


def test_pacing_follows_the_rate_limit_headers(server: tuple[str, Script]) -> None:
    url, script = server
    headers = {"inin-ratelimit-allowed": "120", "inin-ratelimit-count": "1",
               "inin-ratelimit-reset": "60"}  # fmt: skip
    script.on(AGG, Answer(body={"results": []}, headers=headers))

    async def main() -> float:
        async with GenesysClient(settings(url, requests_per_minute=300)) as client:
            await client.conversation_aggregates({})
            assert client.limiter.allowed == 120
            started = time.monotonic()
            for _ in range(3):
                await client.conversation_aggregates({})
            return time.monotonic() - started

    elapsed = run(main())
    assert elapsed >= 2 * 60 / (120 * 0.95) - 0.05  # ~0.53 s between starts


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_never_in_logs_errors_or_reprs(
    server: tuple[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    url, script = server
    script.on(AGG, Answer(500, {"message": "oops"}), Answer(403, {"message": "no permission"}))
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    async def main() -> None:
        client = GenesysClient(settings(url))
        texts.extend(
            [repr(client), repr(client.tokens), repr(client.settings), str(client.settings)]
        )
        async with client:
            try:
                await client.conversation_aggregates({})
            except SourceError as exc:
                texts.append(str(exc))
                texts.append(repr(exc.__cause__))
            texts.append(repr(client.tokens.current()))
            texts.append(f"{client.tokens.current()}")

    run(main())
    texts.extend(record.getMessage() for record in caplog.records)
    joined = "\n".join(texts)
    assert "no permission" in joined
    assert SECRET not in joined
    assert TOKEN_PREFIX not in joined
    assert base64.b64encode(f"client-1:{SECRET}".encode()).decode() not in joined
