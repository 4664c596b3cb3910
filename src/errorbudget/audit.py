"""The audit trail as people read it: filtered pages of the chained audit log, each saying
whether the chain verifies (``GET /api/v1/audit``, ``errorbudget audit log``), and the full
verification (``errorbudget audit verify``).

A page always verifies the entries it lists: each one's hash, and its links to the entries
before and after it (an edit of any listed entry, or a deleted or inserted neighbour, shows).
With ``full`` the whole chain and every chained row are walked, as ``audit verify`` does
(measured cost in docs/operations.md). Surfaces call this module; it asks the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from errorbudget.errors import InvalidRequestError
from errorbudget.records import MAX_AUDIT_PAGE, AuditEntry, AuditQuery, ChainReport

if TYPE_CHECKING:
    from errorbudget.app import App

__all__ = ["MAX_AUDIT_PAGE", "AuditPage", "AuditQuery", "ChainCheck", "parse_anchor", "read_log"]

Scope = Literal["listed", "full"]


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Whether the chain verifies over ``scope``: problems in chain order (the first is the
    first broken entry), the head of the chain (newest entry id and hash)."""

    scope: Scope
    verified: bool
    checked_entries: int
    problems: list[str]
    head_id: int | None
    head_hash: str | None
    seconds: float | None = None

    @classmethod
    def from_report(cls, report: ChainReport) -> ChainCheck:
        return cls(
            scope="full",
            verified=report.ok,
            checked_entries=report.entries,
            problems=[str(p) for p in report.problems],
            head_id=report.head_id,
            head_hash=report.head_hash,
            seconds=report.seconds,
        )


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries newest first, the problem of each listed entry that fails (by id), the
    ``before`` of the next page (None on the last), and the chain check."""

    entries: list[AuditEntry]
    problems: dict[int, str]
    next_before: int | None
    chain: ChainCheck


def read_log(app: App, query: AuditQuery, *, scope: Scope = "listed") -> AuditPage:
    """One page of the audit log, filtered by ``query``, with its chain check."""
    if not 1 <= query.limit <= MAX_AUDIT_PAGE:
        raise InvalidRequestError(f"limit must be from 1 to {MAX_AUDIT_PAGE}, not {query.limit}")
    if query.since is not None and query.until is not None and query.until <= query.since:
        raise InvalidRequestError("until must be after since")
    entries = app.store.audit_log(query)
    next_before: int | None = None
    if len(entries) == query.limit:
        older = app.store.audit_log(
            AuditQuery(**{**_fields(query), "limit": 1, "before": entries[-1].id})
        )
        next_before = entries[-1].id if older else None
    problems = app.store.check_audit_entries(e.id for e in entries)
    if scope == "full":
        check = ChainCheck.from_report(app.store.verify_chain())
    else:
        head = app.store.audit_log(AuditQuery(limit=1))
        check = ChainCheck(
            scope="listed",
            verified=not problems,
            checked_entries=len(entries),
            problems=[problems[i] for i in sorted(problems)],
            head_id=head[0].id if head else None,
            head_hash=head[0].hash if head else None,
        )
    return AuditPage(entries, problems, next_before, check)


def _fields(query: AuditQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in AuditQuery.__dataclass_fields__}


_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def parse_anchor(text: str) -> tuple[int, str]:
    """``ID:SHA256`` (an entry id and its hash, as ``audit verify`` prints the head)."""
    found = _ANCHOR.match(text.strip())
    if found is None:
        raise InvalidRequestError(
            f"{text!r} is not an anchor: give ENTRY_ID:HASH as `audit verify` prints the head "
            "(e.g. 1234:9f86d0…, 64 hex digits)"
        )
    return int(found.group(1)), found.group(2)
