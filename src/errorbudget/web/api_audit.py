"""The audit log, read: filtered pages of the chained entries, saying whether the chain
verifies (rules in ``errorbudget.audit``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query

from errorbudget.audit import MAX_AUDIT_PAGE, AuditQuery, read_log
from errorbudget.changes import role_at_least
from errorbudget.errors import PermissionDeniedError
from errorbudget.limits import MAX_ID, MAX_NAME
from errorbudget.schema.audit import AuditLogOut
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import READ, errors
from errorbudget.web.api_inputs import NAME_PATTERN, Instant
from errorbudget.web.auth import Viewer

routes = router("audit log")


def _text(description: str) -> Any:
    return Query(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN, description=description)


@routes.get(
    "/audit", response_model=AuditLogOut, summary="The audit log", responses=errors(*READ, 403)
)
def audit_log(
    app: EB,
    caller: Viewer,
    actor: Annotated[str | None, _text("Only this actor's entries.")] = None,
    action: Annotated[
        str | None,
        _text("Only this action (change.approve), or a prefix ending in * (change.*)."),
    ] = None,
    subject: Annotated[
        str | None, _text("Only entries about this (change:3, exclusion:2, …).")
    ] = None,
    since: Annotated[Instant | None, Query(description="Entries at or after this.")] = None,
    until: Annotated[Instant | None, Query(description="Entries before this.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
    before: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Entries older than this id: the next page."),
    ] = None,
    verify: Annotated[
        Literal["listed", "full"],
        Query(
            description="listed: the entries returned; full (admin only: it reads the whole "
            "store): the whole chain and records."
        ),
    ] = "listed",
) -> AuditLogOut:
    """Entries newest first, each with its place in the chain and whether it verifies, and
    ``chain``: whether the chain verifies over the listed entries, or (``verify=full``, for
    admins: its work grows with the store, about 3.4 s per million entries) over everything,
    as ``errorbudget audit verify``."""
    if verify == "full" and not role_at_least(caller.role, "admin"):
        raise PermissionDeniedError(
            f"verify=full reads the whole store and needs the admin role; {caller.name} has "
            f"the {caller.role} role (errorbudget audit verify does the same from the CLI)"
        )
    prefix = action[:-1] if action is not None and action.endswith("*") else None
    query = AuditQuery(
        limit=limit,
        actor=actor,
        action=None if prefix is not None else action,
        action_prefix=prefix,
        subject=subject,
        since=since,
        until=until,
        before=before,
    )
    return AuditLogOut.of(read_log(app, query, scope=verify))
