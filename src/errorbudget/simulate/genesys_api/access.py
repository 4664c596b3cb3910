"""Error bodies, OAuth client-credentials tokens and the per-token rate limit.

Error body of the Platform API (``ErrorBody`` in the SDK)::

    {"message": "...", "code": "bad.request", "status": 400, "contextId": "<uuid>",
     "details": [], "errors": []}

Tokens (``POST /oauth/token``) live ``expires_in`` seconds of *real* time; a token can be
revoked or die early by fault injection. The rate limit is a fixed 60-second window per
token (``inin-ratelimit-count`` requests so far, ``inin-ratelimit-allowed`` the limit,
``inin-ratelimit-reset`` seconds until the window resets); over the limit: 429 with
``Retry-After`` and code ``too.many.requests.retry.after``.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

RATE_WINDOW_SECONDS = 60

_MESSAGES = {
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    502: ("bad.gateway", "The server received an invalid response from an upstream server."),
    503: ("service.unavailable", "Service is currently unavailable. Please try again later."),
    504: ("gateway.timeout", "The request timed out waiting for an upstream server."),
}


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "status": status,
        "contextId": str(uuid.uuid4()),
        "details": [],
        "errors": [],
        **extra,
    }


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, **extra), status, headers=headers)


def server_error(status: int) -> JSONResponse:
    code, message = _MESSAGES.get(status, _MESSAGES[500])
    return error_response(status, code, message)


def bad_request(message: str) -> JSONResponse:
    return error_response(400, "bad.request", message)


def rate_limited(limit: int, retry_after: int, headers: dict[str, str]) -> JSONResponse:
    return error_response(
        429,
        "too.many.requests.retry.after",
        f"Rate limit exceeded the maximum. [{limit}] requests for [{RATE_WINDOW_SECONDS}] seconds",
        headers={**headers, "Retry-After": str(retry_after)},
        messageWithParams="Rate limit exceeded the maximum. [{limit}] requests for "
        "[{duration}] seconds",
        messageParams={"limit": str(limit), "duration": str(RATE_WINDOW_SECONDS)},
    )


@dataclass(slots=True)
class Token:
    value: str
    client_id: str
    issued: float
    expires: float
    """Real (monotonic) time it stops working."""
    early: bool
    revoked: bool = False


class TokenStore:
    """Issued tokens; thread-safe (the server may run handlers in threads)."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()
        self.issued = 0
        self.revocations = 0

    def issue(self, client_id: str, lifetime_seconds: float, early: bool) -> Token:
        now = time.monotonic()
        token = Token(secrets.token_urlsafe(32), client_id, now, now + lifetime_seconds, early)
        with self._lock:
            self._tokens[token.value] = token
            self.issued += 1
        return token

    def check(self, value: str) -> str | None:
        """None when the token is good, else why it is not (for the 401 message)."""
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            return "unknown"
        if token.revoked:
            return "revoked"
        if time.monotonic() >= token.expires:
            return "expired"
        return None

    def revoke_all(self) -> int:
        with self._lock:
            live = [t for t in self._tokens.values() if not t.revoked]
            for token in live:
                token.revoked = True
            self.revocations += 1
            return len(live)


class RateLimiter:
    """A fixed window of ``RATE_WINDOW_SECONDS`` per token, starting at its first request."""

    def __init__(self, per_minute: int) -> None:
        self.limit = per_minute
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> tuple[bool, dict[str, str], int]:
        """Count one request: (allowed, headers, seconds until the window resets)."""
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= RATE_WINDOW_SECONDS:
                start, count = now, 0
            allowed = count < self.limit
            if allowed:
                count += 1
            self._windows[key] = (start, count)
        reset = max(1, math.ceil(start + RATE_WINDOW_SECONDS - now))
        headers = {
            "inin-ratelimit-count": str(count),
            "inin-ratelimit-allowed": str(self.limit),
            "inin-ratelimit-reset": str(reset),
        }
        return allowed, headers, reset
