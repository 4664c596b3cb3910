"""The JSON API under ``/api/v1`` (docs/api.md): one router per concern, registered here.

- ``api_status``: status (all series, one SLO, one series), SLOs, timelines, conditions
- ``api_records``: exclusions and annotations
- ``api_changes``: changes, approvals and gate decisions
- ``api_ingest``: counts ingestion with idempotency keys
- ``api_events``: voice-agent events, idempotent by event id (issue #12)
- ``api_audit``: the chained audit log, filtered, with whether the chain verifies
- ``api_alerts``: alerts, acknowledgements, silences and the notification delivery log
- ``api_backtest``: an SLO's targets over stored history
- ``api_voice``: voice views of events SLOs, the review queue and its JSONL export

Every route asks the App (``web.state.eb``); none computes a budget. Errors are one
sentence in ``{"detail": …}``: the package's errors map to 404 (unknown id), 409 (conflict),
403 (not allowed), 422 (cannot be acted on) in ``api_common``; malformed input is FastAPI's
422, which names the field; a record that fails verification against the audit chain
(``IntegrityError``) is a 409. Authentication and roles: ``web.auth``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from errorbudget.schema.records import IdentityOut
from errorbudget.web import (
    api_alerts,
    api_audit,
    api_backtest,
    api_changes,
    api_events,
    api_ingest,
    api_records,
    api_status,
    api_voice,
)
from errorbudget.web.api_common import PREFIX, router, validation_error
from errorbudget.web.api_errors import errors
from errorbudget.web.auth import Authenticator, Viewer

__all__ = ["PREFIX", "register"]

_identity = router("identity")


@_identity.get(
    "/whoami", response_model=IdentityOut, summary="Who the token is", responses=errors(401)
)
def whoami(caller: Viewer) -> dict[str, Any]:
    """The acting identity (a token's name and role, or anonymous when reads are open)."""
    return {"name": caller.name, "role": caller.role, "anonymous": caller.anonymous}


def register(web: FastAPI) -> None:
    """Add the API's routers to ``web`` (called by ``web.app.create_app``)."""
    # Built now so a bad $ERRORBUDGET_TOKENS fails at start-up, not on the first request.
    web.state.auth = Authenticator.from_settings(web.state.eb.loaded.config.server)
    web.add_exception_handler(RequestValidationError, validation_error)
    web.include_router(_identity)
    for module in (
        api_status,
        api_records,
        api_changes,
        api_ingest,
        api_events,
        api_audit,
        api_alerts,
        api_backtest,
        api_voice,
    ):
        web.include_router(module.routes)
