"""The audit log: pages of chained entries and whether the chain verifies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from errorbudget.records import AuditEntry

if TYPE_CHECKING:
    from errorbudget.audit import AuditPage, ChainCheck


class AuditEntryOut(BaseModel):
    """One entry of the chained audit log."""

    id: int
    at: AwareDatetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    records: list[list[Any]] = Field(
        description="The chained rows this entry wrote: [table, id, SHA-256 of the row]."
    )
    prev_hash: str | None
    hash: str | None
    verified: bool = Field(description="Its hash and its links to its neighbours check out.")
    problem: str | None

    @classmethod
    def of(cls, entry: AuditEntry, problem: str | None = None) -> AuditEntryOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=entry.details,
            records=[list(r) for r in entry.records],
            prev_hash=entry.prev_hash,
            hash=entry.hash,
            verified=problem is None,
            problem=problem,
        )


class ChainOut(BaseModel):
    """Whether the chain verifies: the listed entries (``scope: listed``), or everything
    (``scope: full``: every entry and every chained row, as ``errorbudget audit verify``)."""

    scope: Literal["listed", "full"]
    verified: bool
    checked_entries: int
    problems: list[str] = Field(description="In chain order: the first is the first broken.")
    head_id: int | None = Field(description="The newest entry (keep it with its hash).")
    head_hash: str | None
    seconds: float | None

    @classmethod
    def of(cls, check: ChainCheck) -> ChainOut:
        return cls(
            scope=check.scope,
            verified=check.verified,
            checked_entries=check.checked_entries,
            problems=check.problems,
            head_id=check.head_id,
            head_hash=check.head_hash,
            seconds=None if check.seconds is None else round(check.seconds, 3),
        )


class AuditLogOut(BaseModel):
    entries: list[AuditEntryOut] = Field(description="Newest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )
    chain: ChainOut

    @classmethod
    def of(cls, page: AuditPage) -> AuditLogOut:
        """A page as ``GET /api/v1/audit`` and ``audit log --format json`` answer it."""
        return cls(
            entries=[AuditEntryOut.of(e, page.problems.get(e.id)) for e in page.entries],
            next_before=page.next_before,
            chain=ChainOut.of(page.chain),
        )
