"""The ASGI app of ``errorbudget exporter``: ``/metrics`` and ``/healthz``, nothing else.

Scrape authentication (``exporter.auth``) is checked before anything else is done for a
request: a scrape without valid credentials is answered 401 without reading a metric (and
a scrape never polls anything anyway: the feeds poll on their own schedule). Basic
passwords are compared as bcrypt or SHA-256 hashes (a bcrypt check costs ~0.1 s, so a
verified credential is remembered as its SHA-256 digest, as Prometheus's exporter-toolkit
caches them) and checked in a worker thread, never on the event loop that polls and
serves; tokens and digests are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from errorbudget.errors import ConfigError
from errorbudget.exporter_settings import ExporterAuth

MAX_REMEMBERED = 64
"""Verified basic credentials remembered (as digests) so bcrypt runs once per credential."""


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class ScrapeAuth:
    """Whether a request's ``Authorization`` header may scrape (no settings: everyone)."""

    def __init__(self, settings: ExporterAuth | None, environ: Mapping[str, str]) -> None:
        self.kind = settings.type if settings is not None else None
        self._username = ""
        self._password: bytes | None = None  # SHA-256 of the password from the environment
        self._hash: str | None = None  # bcrypt or sha256:<hex>
        self._token: bytes | None = None
        self._verified: set[bytes] = set()
        if settings is None:
            return
        if settings.type == "bearer":
            assert settings.token_env is not None
            self._token = _digest(_secret(environ, settings.token_env, "exporter.auth.token_env"))
            return
        self._username = settings.username or ""
        if settings.password_env is not None:
            password = _secret(environ, settings.password_env, "exporter.auth.password_env")
            self._password = _digest(password)
        elif settings.password_hash is not None:
            self._hash = settings.password_hash.get_secret_value()
            if self._hash.startswith("$2"):
                try:
                    import bcrypt  # noqa: F401  (checked now: a scrape must not find it missing)
                except ImportError as exc:
                    raise ConfigError(
                        "exporter.auth.password_hash is a bcrypt hash: install the bcrypt "
                        "package (pip install 'errorbudget[exporter-auth]') or use sha256:<hex>"
                    ) from exc

    @property
    def slow(self) -> bool:
        """A check may run bcrypt (~0.1 s of CPU; wrong passwords are never remembered):
        the app checks off the event loop then."""
        return self._hash is not None and self._hash.startswith("$2")

    @property
    def challenge(self) -> str:
        return 'Basic realm="errorbudget exporter"' if self.kind == "basic" else "Bearer"

    def allows(self, authorization: str | None) -> bool:
        if self.kind is None:
            return True
        scheme, _, credentials = (authorization or "").partition(" ")
        credentials = credentials.strip()
        if self.kind == "bearer":
            assert self._token is not None
            return scheme.lower() == "bearer" and hmac.compare_digest(
                _digest(credentials), self._token
            )
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):  # binascii.Error, or a non-ASCII header
            return False
        username, colon, password = decoded.partition(":")
        if not colon or not hmac.compare_digest(username.encode(), self._username.encode()):
            return False
        return self._password_ok(password)

    def _password_ok(self, password: str) -> bool:
        digest = _digest(password)
        if self._password is not None:
            return hmac.compare_digest(digest, self._password)
        assert self._hash is not None
        if self._hash.startswith("sha256:"):
            return hmac.compare_digest(digest.hex(), self._hash[7:].lower())
        if digest in self._verified:
            return True
        import bcrypt

        if not bcrypt.checkpw(password.encode("utf-8"), self._hash.encode("ascii")):
            return False
        if len(self._verified) >= MAX_REMEMBERED:
            self._verified.clear()
        self._verified.add(digest)
        return True


def _secret(environ: Mapping[str, str], name: str, key: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise ConfigError(f"{key} names ${name}, which is not set (or empty)")
    return value


def create_exporter_app(
    registry: CollectorRegistry, auth: ScrapeAuth, rendered: Callable[[], bytes] = bytes
) -> Starlette:
    """``GET /metrics`` (authenticated when ``auth`` says so): ``registry`` collected, then
    ``rendered()`` (text rendered once per evaluation or poll) appended, both off the event
    loop; ``GET /healthz``."""

    async def metrics(request: Request) -> Response:
        header = request.headers.get("authorization")
        allowed = await run_in_threadpool(auth.allows, header) if auth.slow else auth.allows(header)
        if not allowed:
            return PlainTextResponse(
                "401 Unauthorized: send the exporter's credentials\n",
                status_code=401,
                headers={"WWW-Authenticate": auth.challenge},
            )
        # the SLO families read the store's evaluation: off the event loop
        body = await run_in_threadpool(lambda: generate_latest(registry) + rendered())
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/metrics", metrics, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
