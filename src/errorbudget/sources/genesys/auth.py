"""OAuth client credentials for Genesys Cloud, refreshed before expiry, one refresh at a time.

``POST https://login.<region>/oauth/token`` with ``grant_type=client_credentials`` and the
client id and secret as HTTP Basic credentials returns ``{access_token, token_type,
expires_in}`` (seconds; 86,400 by default for client credentials). The token goes in
``Authorization: Bearer …`` on every API request.

:class:`TokenProvider` hands out the current token. Once a token is in its last
``refresh_margin`` of life, the first caller starts a refresh in the background and every
caller keeps using the still-valid token: requests in flight are never blocked by a
refresh. Only when there is no valid token do callers wait, all for the same refresh
(single flight: one task, awaited by everyone). A 401 calls :meth:`invalidate` with the
token that failed; if it is still the current one it is dropped and one refresh replaces
it, however many requests saw the 401.

The secret and tokens never reach a log line, an error message or a ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from errorbudget.errors import SourceError
from errorbudget.sources.genesys.resilience import LoopTimer, Timer

log = logging.getLogger(__name__)

TokenFetch = Callable[[str], Awaitable["TokenGrant"]]
"""Posts the token request with the given ``Authorization`` header value."""


class Secret:
    """A string that never shows itself in ``str``, ``repr`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint returned."""

    access_token: Secret
    expires_in: float


@dataclass
class _Token:
    value: Secret
    issued_at: float
    expires_at: float

    @property
    def lifetime(self) -> float:
        return self.expires_at - self.issued_at


@dataclass
class TokenStats:
    fetched: int = 0
    forced: int = 0
    background: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)


class TokenProvider:
    """Client-credentials tokens: refreshed early in the background, one refresh at a time."""

    def __init__(
        self,
        client_id: str,
        client_secret: Secret,
        fetch: TokenFetch,
        *,
        timer: Timer | None = None,
        refresh_margin: float = 0.1,
        min_margin_seconds: float = 60.0,
    ) -> None:
        self.client_id = client_id
        self._basic = Secret(
            "Basic "
            + base64.b64encode(f"{client_id}:{client_secret.reveal()}".encode()).decode("ascii")
        )
        self._fetch = fetch
        self._timer = timer or LoopTimer()
        self._margin = refresh_margin
        self._min_margin = min_margin_seconds
        self._token: _Token | None = None
        self._refresh: asyncio.Task[_Token] | None = None
        self._lock = asyncio.Lock()
        self.stats = TokenStats()

    def __repr__(self) -> str:
        return f"TokenProvider(client_id={self.client_id!r})"

    def current(self) -> Secret | None:
        """The token in use (valid or not), without waiting; None before the first one."""
        return self._token.value if self._token is not None else None

    def _refresh_at(self, token: _Token) -> float:
        margin = max(self._margin * token.lifetime, min(self._min_margin, token.lifetime / 2))
        return token.expires_at - margin

    async def token(self) -> Secret:
        """A valid access token; waits only when there is none."""
        current = self._token
        now = self._timer.now()
        if current is not None and now < current.expires_at:
            if now >= self._refresh_at(current):
                self._start_refresh(background=True)
            return current.value
        return (await self._shared_refresh()).value

    async def invalidate(self, rejected: Secret) -> Secret:
        """The server refused ``rejected`` (401): replace it once; return the new token."""
        if self._token is not None and self._token.value == rejected:
            self._token = None
            self.stats.forced += 1
        current = self._token
        if current is not None:
            return current.value  # another request already replaced it
        return (await self._shared_refresh()).value

    def _start_refresh(self, *, background: bool = False) -> asyncio.Task[_Token]:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._do_refresh(), name="genesys-token-refresh")
            if background:
                self.stats.background += 1
            self._refresh.add_done_callback(_log_failure if background else _retrieve)
        return self._refresh

    async def _shared_refresh(self) -> _Token:
        # shield: one caller being cancelled must not cancel the refresh the others await
        return await asyncio.shield(self._start_refresh())

    async def _do_refresh(self) -> _Token:
        async with self._lock:  # belt and braces: never two token requests at once
            started = self._timer.now()
            try:
                grant = await self._fetch(self._basic.reveal())
            except SourceError as exc:
                self.stats.failures += 1
                self.stats.errors.append(str(exc))
                raise
            lifetime = max(1.0, grant.expires_in)
            token = _Token(grant.access_token, started, started + lifetime)
            self._token = token
            self.stats.fetched += 1
            log.info("genesys: new access token, valid for %.0f s", lifetime)
            return token

    async def aclose(self) -> None:
        task, self._refresh = self._refresh, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, SourceError):
                await task


def _retrieve(task: asyncio.Task[_Token]) -> None:
    """Mark the outcome as seen (its awaiters got it, or were cancelled)."""
    if not task.cancelled():
        task.exception()


def _log_failure(task: asyncio.Task[_Token]) -> None:
    """A failed background refresh is retried by the next caller; say so once."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("genesys: background token refresh failed: %s", task.exception())
