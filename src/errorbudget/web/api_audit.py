"""The audit log, read: filtered pages of the chained entries, saying whether the chain
verifies (rules in ``errorbudget.audit``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AwareDatetime

from errorbudget.audit import MAX_AUDIT_PAGE, AuditQuery, page_to_dict, read_log
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_models import AuditLogOut
from errorbudget.web.auth import Viewer

routes = router("audit log")


@routes.get("/audit", response_model=AuditLogOut, summary="The audit log")
def audit_log(
    app: EB,
    caller: Viewer,
    actor: Annotated[str | None, Query(description="Only this actor's entries.")] = None,
    action: Annotated[
        str | None,
        Query(description="Only this action (change.approve), or a prefix ending in * (change.*)."),
    ] = None,
    subject: Annotated[
        str | None, Query(description="Only entries about this (change:3, exclusion:2, …).")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="Entries at or after this.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Entries before this.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
    before: Annotated[
        int | None, Query(ge=1, description="Entries older than this id: the next page.")
    ] = None,
    verify: Annotated[
        Literal["listed", "full"],
        Query(description="listed: the entries returned; full: the whole chain and records."),
    ] = "listed",
) -> dict[str, Any]:
    """Entries newest first, each with its place in the chain and whether it verifies, and
    ``chain``: whether the chain verifies over the listed entries, or (``verify=full``)
    over everything, as ``errorbudget audit verify``."""
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
    return page_to_dict(read_log(app, query, scope=verify))
