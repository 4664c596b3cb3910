"""What a request must show before the server reads its body or gives it a thread.

An ASGI middleware in front of every route (docs/api.md "Limits"):

1. **Authentication first.** Every write (POST, PUT, PATCH, DELETE under ``/api/v1``)
   needs a known token. Without one it is answered ``401`` from its headers alone: its
   body is never read, so an anonymous client cannot make the server buffer anything
   (before, FastAPI read and parsed the body first and answered 422). The role is checked
   later, by the route (403).
2. **Bodies capped while they stream.** ``POST /api/v1/counts`` may send
   ``server.body_limits.ingest_body`` (64 MiB), ``POST /api/v1/events``
   ``server.body_limits.events_body`` (64 MiB), every other endpoint
   ``server.body_limits.json_body`` (1 MiB). A larger ``Content-Length`` is answered
   ``413`` without reading (after the token check, for a write); a chunked body is counted
   as it arrives and answered ``413`` as soon as it passes the cap (Starlette's
   ``RequestBodyLimitMiddleware`` does the counting).
3. **Write slots.** At most ``server.max_concurrent_writes`` writes are served at once;
   another waits for a slot at most ``server.store_lock_timeout`` and is then answered
   ``503`` with ``Retry-After``, like a write that could not get the store's lock. Writes
   that would only queue behind a busy store never fill the thread pool reads need.
"""

from __future__ import annotations

import math

import anyio
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY, RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from errorbudget.config import ServerSettings
from errorbudget.errors import StoreBusyError
from errorbudget.web.auth import Authenticator

API = "/api/v1/"
INGEST_PATH = "/api/v1/counts"
EVENTS_PATH = "/api/v1/events"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def size_text(size: int) -> str:
    """``1 MiB``, ``64 MiB``, ``512 KiB``, ``1000 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size:,} bytes"


def busy_response(settings: ServerSettings, detail: str) -> JSONResponse:
    """503 with ``Retry-After`` (whole seconds): the store or the write slots are busy."""
    retry = max(1, math.ceil(settings.busy_retry_after.total_seconds()))
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": str(retry)})


class Admission:
    """The middleware (see the module docstring); ``web.state.auth`` holds the tokens."""

    def __init__(self, app: ASGIApp, web: FastAPI, settings: ServerSettings) -> None:
        self.app = app
        self.web = web
        self.settings = settings
        limits = settings.body_limits
        self.json_limit = RequestBodyLimitMiddleware(app, int(limits.json_body))
        self.ingest_limit = RequestBodyLimitMiddleware(app, int(limits.ingest_body))
        self.events_limit = RequestBodyLimitMiddleware(app, int(limits.events_body))
        self.slots = anyio.Semaphore(settings.max_concurrent_writes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limited = (
            self.ingest_limit
            if path == INGEST_PATH
            else self.events_limit
            if path == EVENTS_PATH
            else self.json_limit
        )
        headers = Headers(scope=scope)
        write = scope["method"] in WRITES and path.startswith(API)
        refused = self._unauthenticated(headers) if write else None
        if refused is None and _declared(headers) > limited.max_body_size:
            refused = too_large_response(path, limited.max_body_size)
        if refused is not None:
            await refused(scope, receive, send)
            return
        if not write:
            await limited(scope, receive, send)
            return
        wait = self.settings.store_lock_timeout.total_seconds()
        acquired = False
        with anyio.move_on_after(wait):
            await self.slots.acquire()
            acquired = True
        if not acquired:
            slots = self.settings.max_concurrent_writes
            detail = (
                f"the server is busy with {slots} write{'s' if slots != 1 else ''} already "
                f"and none finished within {wait:g} s (server.max_concurrent_writes); try "
                "again after Retry-After seconds"
            )
            await busy_response(self.settings, detail)(scope, receive, send)
            return
        try:
            await limited(scope, receive, send)
        finally:
            self.slots.release()

    def _unauthenticated(self, headers: Headers) -> Response | None:
        """A 401 for a write without a known token (the body unread), else None."""
        header = headers.get("authorization")
        if not header:
            message = "this needs an API token with the operator role"
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                message = "the Authorization header must be 'Bearer <token>'"
            else:
                auth = getattr(self.web.state, "auth", None)
                if isinstance(auth, Authenticator) and auth.identify(token.strip()) is not None:
                    return None
                message = "unknown API token"
        return JSONResponse(
            {"detail": message}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )


def _declared(headers: Headers) -> int:
    """The request's Content-Length (0 when there is none, or it is not a number)."""
    text = headers.get("content-length", "")
    return int(text) if text.isdigit() else 0


def too_large_response(path: str, cap: int | None) -> JSONResponse:
    """The 413 of a body over its cap, in the API's shape, naming the cap and its setting."""
    setting = (
        "ingest_body"
        if path == INGEST_PATH
        else "events_body"
        if path == EVENTS_PATH
        else "json_body"
    )
    size = f" of {size_text(cap)}" if isinstance(cap, int) else ""
    return JSONResponse(
        {
            "detail": f"the body is larger than the limit{size} of this endpoint "
            f"(server.body_limits.{setting}): split it"
        },
        status_code=413,
    )


def too_large(request: Request, exc: Exception) -> JSONResponse:
    """A chunked body that passed its cap while streaming (Starlette's limiter)."""
    return too_large_response(request.url.path, request.scope.get(MAX_BODY_SIZE_SCOPE_KEY))


def install(web: FastAPI, settings: ServerSettings) -> None:
    """Put :class:`Admission` in front of ``web``'s routes, answer its 413s as the API
    answers errors, and a busy store (StoreBusyError, any route) with 503."""

    def store_busy(request: Request, exc: Exception) -> JSONResponse:
        return busy_response(settings, str(exc))

    web.add_middleware(Admission, web=web, settings=settings)
    web.add_exception_handler(413, too_large)
    web.add_exception_handler(StoreBusyError, store_busy)
