"""What the Genesys client keeps of its answers: outcomes, call tallies, error text.

``CallTally`` is the ``api_availability`` SLI as the collector saw it; ``ClientStats`` the
figures the CLI and the acceptance test report; the rest turns Genesys answers (error
bodies ``{message, code, status, contextId}``, token grants, status pages) into values
and sentences without ever including a secret.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from errorbudget.errors import SourceError
from errorbudget.model import Minute
from errorbudget.sources.genesys.auth import Secret, TokenGrant

STATUS_COMPONENT = "Platform API"


class CallTally:
    """API call outcomes per (minute, endpoint): ``[good, total]`` (429s are not counted)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[Minute, str], list[int]] = {}

    def record(self, minute: Minute, endpoint: str, ok: bool) -> None:
        cell = self._counts.setdefault((minute, endpoint), [0, 0])
        cell[0] += int(ok)
        cell[1] += 1

    def snapshot(self) -> dict[tuple[Minute, str], tuple[int, int]]:
        return {key: (good, total) for key, (good, total) in self._counts.items()}

    def forget_before(self, minute: Minute) -> None:
        for key in [k for k in self._counts if k[0] < minute]:
            del self._counts[key]


@dataclass
class ClientStats:
    """What the client did: the figures the CLI and the acceptance test report."""

    attempts: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    failures: int = 0
    circuit_waits: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_endpoint_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Answers per (endpoint, HTTP status), ``timeout`` and ``connection`` for requests that
    got none (the exporter's ``genesys_exporter_api_errors_total``)."""


def status_page_verdict(page: Mapping[str, Any]) -> bool:
    """The ``Platform API`` component is ``operational`` (else: the page indicator is
    ``none``)."""
    for component in page.get("components") or []:
        if isinstance(component, Mapping) and component.get("name") == STATUS_COMPONENT:
            return component.get("status") == "operational"
    status = page.get("status")
    return isinstance(status, Mapping) and status.get("indicator") == "none"


@dataclass
class Outcome:
    verdict: str  # ok | retry | unauthorized | fatal
    data: Any = None
    problem: str = ""
    status: int | None = None
    retry_after: float | None = None


def as_mapping(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SourceError(f"Genesys Cloud answered with {type(data).__name__}, not an object")
    return data


def error_detail(response: httpx.Response) -> str:
    """`` code: message (contextId …)`` from a Genesys error body, when there is one."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    parts = []
    if body.get("code") or body.get("error"):
        parts.append(str(body.get("code") or body.get("error")))
    if body.get("message") or body.get("error_description"):
        parts.append(str(body.get("message") or body.get("error_description"))[:300])
    text = ": ".join(parts)
    if body.get("contextId"):
        text += f" (contextId {body['contextId']})"
    return f" {text}" if text else ""


HINTS = {
    401: "; the access token was refused even after a refresh",
    403: "; the OAuth client's role lacks a permission (docs/sources/genesys.md lists them)",
    404: "; check base_url / region",
}


def error_hint(status: int) -> str:
    return HINTS.get(status, "")


def token_grant(response: httpx.Response, login_url: str) -> TokenGrant:
    try:
        body = response.json()
        token = body["access_token"]
        expires_in = float(body.get("expires_in", 86_400))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SourceError(
            f"the token response of {login_url} has no access_token/expires_in",
            retryable=True,
        ) from exc
    if not isinstance(token, str) or not token:
        raise SourceError(f"the token response of {login_url} has an empty access_token")
    return TokenGrant(Secret(token), expires_in)
