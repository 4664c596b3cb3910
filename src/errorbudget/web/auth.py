"""API tokens and roles: who is calling, and may they?

Roles are ordered, each allowed what the ones before it are: ``viewer`` (reads) <
``operator`` (ingest counts, exclusions, annotations, submit and ship changes) < ``approver``
(approve and reject changes) < ``admin`` (everything, e.g. withdraw anyone's change).

Tokens come from the config (``server.tokens``: name, token — write ``${ENV}`` — and role)
and from ``$ERRORBUDGET_TOKENS`` (``name:role:token,…``; a name given there replaces the
config's). A request sends ``Authorization: Bearer <token>``; the token's *name* is the
acting identity written into records (author, approver). Reads may be anonymous when
``server.anonymous_read`` is true; every write needs a token with the role.

Tokens are kept only as SHA-256 digests, compared with ``hmac.compare_digest`` against every
known token (no early exit), and never logged or put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from errorbudget.config import ROLES, Role, ServerSettings
from errorbudget.errors import ConfigError

TOKENS_ENV = "ERRORBUDGET_TOKENS"
MIN_TOKEN_LENGTH = 16
_ROLE_BY_NAME: dict[str, Role] = {role: role for role in ROLES}


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a token's name and role, or the anonymous reader."""

    name: str
    role: Role
    anonymous: bool = False

    def allows(self, minimum: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(minimum)


ANONYMOUS = Identity("anonymous", "viewer", anonymous=True)


@dataclass(frozen=True, slots=True)
class _Known:
    name: str
    role: Role
    digest: bytes


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def parse_env_tokens(text: str) -> list[tuple[str, Role, str]]:
    """``name:role:token,…`` → (name, role, token); ConfigError naming the entry by
    position and name (never the token)."""
    found: list[tuple[str, Role, str]] = []
    for position, entry in enumerate(text.split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        name, _, rest = entry.partition(":")
        role, _, token = rest.partition(":")
        where = f"${TOKENS_ENV} entry {position}"
        if not name or not token:
            raise ConfigError(f"{where} is not name:role:token")
        if role not in _ROLE_BY_NAME:
            raise ConfigError(
                f"{where} ({name}): unknown role {role!r}; use one of {', '.join(ROLES)}"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"{where} ({name}): a token needs at least {MIN_TOKEN_LENGTH} characters"
            )
        found.append((name, _ROLE_BY_NAME[role], token))
    return found


class Authenticator:
    """The known tokens (as digests) and whether reads may be anonymous."""

    def __init__(self, tokens: Sequence[tuple[str, Role, str]], anonymous_read: bool) -> None:
        by_name: dict[str, _Known] = {}
        for name, role, token in tokens:
            by_name[name] = _Known(name, role, _digest(token))
        digests = [known.digest for known in by_name.values()]
        if len(set(digests)) != len(digests):
            raise ConfigError("two API tokens have the same value: each identity needs its own")
        self._known = tuple(by_name.values())
        self.anonymous_read = anonymous_read

    @classmethod
    def from_settings(
        cls, settings: ServerSettings, environ: Mapping[str, str] | None = None
    ) -> Authenticator:
        """Tokens of ``server.tokens`` plus ``$ERRORBUDGET_TOKENS`` (which wins by name)."""
        environ = os.environ if environ is None else environ
        tokens: list[tuple[str, Role, str]] = [
            (t.name, t.role, t.token.get_secret_value()) for t in settings.tokens
        ]
        tokens += parse_env_tokens(environ.get(TOKENS_ENV, ""))
        return cls(tokens, settings.anonymous_read)

    @property
    def names(self) -> list[str]:
        return [known.name for known in self._known]

    def identify(self, token: str) -> Identity | None:
        """The identity holding ``token``, or None; constant time over the known tokens."""
        presented = _digest(token)
        match: _Known | None = None
        for known in self._known:
            if hmac.compare_digest(presented, known.digest):
                match = known
        return None if match is None else Identity(match.name, match.role)

    def __repr__(self) -> str:
        return f"Authenticator(tokens={self.names}, anonymous_read={self.anonymous_read})"


def authenticator(request: Request) -> Authenticator:
    """The web app's Authenticator, built from its App's config on first use."""
    state = request.app.state
    found = getattr(state, "auth", None)
    if not isinstance(found, Authenticator):
        found = Authenticator.from_settings(state.eb.loaded.config.server)
        state.auth = found
    return found


_bearer = HTTPBearer(auto_error=False, description="An API token from server.tokens.")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


async def identify(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity | None:
    """The caller's identity from ``Authorization: Bearer``; None without a header, 401 for a
    malformed header or an unknown token."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise _unauthorized("the Authorization header must be 'Bearer <token>'")
        return None
    found = authenticator(request).identify(credentials.credentials)
    if found is None:
        raise _unauthorized("unknown API token")
    return found


def require(minimum: Role) -> Callable[..., Awaitable[Identity]]:
    """A FastAPI dependency: the caller, who must hold ``minimum`` (401 without a token,
    403 with too low a role). ``viewer`` accepts anonymous callers when reads are open."""

    # Dependencies are ``async`` although they do no I/O: FastAPI runs a sync dependency in
    # its thread pool, a hop per dependency per request that costs more than the check.
    async def dependency(
        request: Request, caller: Annotated[Identity | None, Depends(identify)]
    ) -> Identity:
        if caller is None:
            if minimum == "viewer" and authenticator(request).anonymous_read:
                return ANONYMOUS
            raise _unauthorized(f"this needs an API token with the {minimum} role")
        if not caller.allows(minimum):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {minimum} role; {caller.name} has the {caller.role} role",
            )
        return caller

    dependency.__name__ = f"require_{minimum}"
    return dependency


Viewer = Annotated[Identity, Depends(require("viewer"))]
Operator = Annotated[Identity, Depends(require("operator"))]
Approver = Annotated[Identity, Depends(require("approver"))]
Admin = Annotated[Identity, Depends(require("admin"))]
