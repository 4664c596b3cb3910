"""The records the store keeps besides counts, as every layer sees them.

Plain data, no I/O: a series, an audit entry and the query for a page of them, a change and
its approvals, a timeline annotation, the stored result of an idempotent write, a gate
snapshot as stored, an issue a source found, the verdict of a walk of the audit chain, and
who writes the store. The store's protocols (``errorbudget.store.protocols``) take and
return these; its backends (``store/sqlite/``) build them from their rows; services and
surfaces import them from here, never from a backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import orjson

from errorbudget.errors import StoreError
from errorbudget.model import DataIssueKind, Minute, SegmentKey

# --- series and the audit log -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One stored series: one SLO x one segment (``()`` is the whole SLO)."""

    id: int
    slo: str
    segment: SegmentKey


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the append-only audit log: who did what to which thing, and when (UTC).

    ``records`` are the chained rows the entry wrote, as ``(table, id, digest)``;
    ``prev_hash`` and ``hash`` place it in the chain (``store.shared.chain``)."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, object]
    records: list[tuple[str, int, str]] = field(default_factory=list)
    prev_hash: str | None = None
    hash: str | None = None


MAX_AUDIT_PAGE = 1000
"""The most audit entries one page returns through the API and the CLI (their ``limit``
bound; the store itself reads as many as asked, e.g. a source replaying its history)."""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit entries to read, newest first: exact ``actor``, ``action`` and
    ``subject``, an ``action_prefix`` (``change.``), ``at`` in ``[since, until)``, ids
    below ``before`` (the next page), at most ``limit``."""

    limit: int = 100
    actor: str | None = None
    action: str | None = None
    action_prefix: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One thing wrong: the table and row (``audit_log`` and an entry id for the chain
    itself) and a sentence saying what."""

    table: str
    id: int
    message: str

    def __str__(self) -> str:
        return f"{self.table} {self.id}: {self.message}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What a walk of the whole audit chain found: entries walked, rows checked per table,
    the head (last entry id and hash) and every problem in chain order (the first is the
    first broken entry)."""

    entries: int
    records: dict[str, int]
    head_id: int | None
    head_hash: str | None
    problems: list[ChainProblem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> ChainProblem | None:
        return self.problems[0] if self.problems else None


# --- gate snapshots -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodedSnapshot:
    """A gate snapshot's canonical JSON and its SHA-256 (what is stored and referenced)."""

    body: bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class SavedSnapshot:
    id: int
    sha256: str
    created: bool
    """Whether this call stored it (then the caller's audit entry must bind it)."""


def encode_snapshot(rows: Sequence[Mapping[str, object]]) -> EncodedSnapshot:
    """The canonical JSON (sorted keys) of a gate decision's budget snapshot, and its hash."""
    try:
        body = orjson.dumps(list(rows), default=str, option=orjson.OPT_SORT_KEYS)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"a gate snapshot cannot be stored as JSON: {exc}") from exc
    return EncodedSnapshot(body, hashlib.sha256(body).hexdigest())


# --- changes, approvals, annotations ----------------------------------------------------------

ChangeStatus = Literal["pending", "approved", "rejected", "withdrawn", "shipped"]
ReviewDecision = Literal["approve", "reject"]
GateVerdict = Literal["allow", "review", "approval_required", "blocked"]

CHANGE_STATUSES: tuple[str, ...] = get_args(ChangeStatus)


@dataclass(frozen=True, slots=True)
class Change:
    """A change asking to ship, with the gate decision it was last judged by.

    ``slos`` empty means every SLO of ``service``; ``segment`` narrows to series with those
    labels. ``estimated_impact`` is the share of the period budget the change is expected
    to consume in its first 24 hours (``impact_basis`` says how it was estimated).
    ``snapshot`` is the per-series budget snapshot behind ``decision``.
    """

    id: int
    service: str
    slos: tuple[str, ...]
    segment: dict[str, str]
    change_type: str
    risk: str
    title: str
    description: str
    submitted_by: str
    submitted_at: datetime
    status: ChangeStatus
    status_by: str
    status_at: datetime
    estimated_impact: float
    impact_basis: dict[str, Any]
    decision: GateVerdict
    decision_at: datetime
    snapshot: list[dict[str, Any]]
    shipped_at: datetime | None


@dataclass(frozen=True, slots=True)
class Approval:
    """One reviewer's decision on a change; ``role`` is the reviewer's role at the time."""

    id: int
    change_id: int
    approver: str
    role: str
    decision: ReviewDecision
    comment: str
    at: datetime


AnnotationKind = Literal["deploy", "config", "model", "incident", "other"]
ANNOTATION_KINDS: tuple[str, ...] = get_args(AnnotationKind)


@dataclass(frozen=True, slots=True)
class Annotation:
    """A marker on the timeline (deploy, config or model change, incident, …).

    ``service``, ``slo`` and ``segment`` say what it concerns (None / empty: everything);
    ``change_id`` links an annotation written when a change shipped.
    """

    id: int
    at: datetime
    kind: AnnotationKind
    service: str | None
    slo: str | None
    segment: dict[str, str]
    text: str
    created_by: str
    created_at: datetime
    change_id: int | None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The result of an earlier write sent with the same idempotency key."""

    request: str
    body_sha256: str
    status_code: int
    response: dict[str, Any]
    created_at: datetime


# --- source health -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundIssue:
    """An issue a source found in a range it just fetched (``sync_data_issues``)."""

    segment: Mapping[str, str]
    start: Minute
    end: Minute
    kind: DataIssueKind
    detail: str


# --- who writes the store, and waiting for it ---------------------------------------------------

DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds a writer waits for the store's write lock before StoreBusyError (the CLI's
default; ``errorbudget serve`` uses ``server.store_lock_timeout``)."""


@dataclass(frozen=True, slots=True)
class WriterInfo:
    """A process that writes to the store: what to call it in a message."""

    command: str
    pid: int
    host: str
    since: datetime

    @classmethod
    def current(cls, command: str | None = None) -> WriterInfo:
        """This process, named ``command`` (default: how it was started)."""
        name = command or " ".join(Path(sys.argv[0]).name.split()[:1] + sys.argv[1:2])
        return cls(name or "python", os.getpid(), socket.gethostname(), datetime.now(tz=UTC))

    def at(self, since: datetime) -> WriterInfo:
        return WriterInfo(self.command, self.pid, self.host, since)

    def describe(self) -> str:
        """``errorbudget ingest (pid 1234) since 17:02:03 UTC`` (the host when not this one)."""
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        since = self.since.astimezone(UTC).strftime("%H:%M:%S UTC")
        return f"`{self.command}` (pid {self.pid}{where}) since {since}"

    def to_json(self) -> str:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> WriterInfo:
        data = json.loads(text)
        return cls(
            command=str(data["command"]),
            pid=int(data["pid"]),
            host=str(data["host"]),
            since=datetime.fromisoformat(str(data["since"])),
        )


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a named lease (``serve``'s ``leader``) until when.

    ``token`` is the fencing epoch: it moves up by one at every change of holder (never on
    a renewal), so a write checked against the token its holder was given is refused once
    another holder took the lease (``Leases.check_fence``). Times are the database's clock
    (PostgreSQL) or the system clock (SQLite), never a simulated one."""

    name: str
    holder: str
    token: int
    acquired_at: datetime
    """When this holder took the lease (kept across renewals)."""
    expires_at: datetime
    """Unless renewed before, the lease is free from then on."""


class LockWaiter(Protocol):
    """Told while a write waits for another connection's write lock (the CLI shows it)."""

    def waiting(self, holder: WriterInfo | None, waited: float) -> None:
        """Still waiting after ``waited`` seconds; ``holder`` if it announced itself."""

    def acquired(self, waited: float) -> None:
        """The lock was taken after ``waited`` seconds of waiting."""
