"""Timeline annotations, and the stored results of writes sent with an idempotency key
(schema v2). Each annotation is audited in the same transaction (``annotation.add``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from errorbudget.errors import StoreError
from errorbudget.records import ANNOTATION_KINDS, Annotation, AnnotationKind, StoredResponse
from errorbudget.store.shared.audit import audit
from errorbudget.store.shared.changes import labels_json, required_text, timestamp
from errorbudget.store.shared.connection import Connection, inserted_id, marks

Clock = Callable[[], datetime]

# --- annotations -----------------------------------------------------------------------------

_ANNOTATION_FIELDS = "at, kind, service, slo, segment, text, created_by, created_at, change_id"
_ANNOTATION_COLUMNS = f"id, {_ANNOTATION_FIELDS}"


def _annotation(row: Sequence[Any]) -> Annotation:
    ident, at, kind, service, slo, segment, text, created_by, created_at, change_id = row
    return Annotation(
        id=int(ident),
        at=datetime.fromtimestamp(int(at), tz=UTC),
        kind=cast(AnnotationKind, kind),
        service=None if service is None else str(service),
        slo=None if slo is None else str(slo),
        segment={str(k): str(v) for k, v in json.loads(segment).items()},
        text=str(text),
        created_by=str(created_by),
        created_at=datetime.fromisoformat(created_at),
        change_id=None if change_id is None else int(change_id),
    )


def add_annotation(
    connection: Connection,
    clock: Clock,
    *,
    at: datetime,
    kind: str,
    text: str,
    created_by: str,
    service: str | None,
    slo: str | None,
    segment: Mapping[str, str] | None,
    change_id: int | None = None,
) -> Annotation:
    """Store an annotation and audit it as ``annotation.add``."""
    required_text(text, "the annotation's text")
    required_text(created_by, "the annotation's author")
    if kind not in ANNOTATION_KINDS:
        raise StoreError(
            f"unknown annotation kind {kind!r}; use one of {', '.join(ANNOTATION_KINDS)}"
        )
    if at.tzinfo is None:
        raise StoreError("the annotation time is a naive datetime: give it a time zone")
    cursor = connection.execute(
        f"INSERT INTO annotations ({_ANNOTATION_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            int(at.timestamp()),
            kind,
            service,
            slo,
            labels_json(segment, "the annotation's"),
            text,
            created_by,
            timestamp(clock),
            change_id,
        ),
    )
    annotation_id = inserted_id(cursor)
    row = connection.execute(
        f"SELECT {_ANNOTATION_COLUMNS} FROM annotations WHERE id = ?", (annotation_id,)
    ).fetchone()
    annotation = _annotation(row)
    audit(
        connection,
        clock,
        actor=created_by,
        action="annotation.add",
        subject=f"annotation:{annotation_id}",
        details={
            "at": annotation.at.isoformat(),
            "kind": kind,
            "service": service,
            "slo": slo,
            "segment": annotation.segment,
            "text": text,
            "change_id": change_id,
        },
        records=[("annotations", annotation_id)],
    )
    return annotation


def list_annotations(
    connection: Connection,
    *,
    start: datetime | None,
    end: datetime | None,
    service: str | None,
    slo: str | None,
    kinds: Sequence[str] | None,
    limit: int,
) -> list[Annotation]:
    """Annotations in ``[start, end)`` by time (oldest first, the newest ``limit``).

    ``service`` and ``slo`` also match annotations that name no service or SLO (they
    concern everything).
    """
    conditions: list[str] = []
    parameters: list[object] = []
    if start is not None:
        conditions.append("at >= ?")
        parameters.append(int(start.timestamp()))
    if end is not None:
        conditions.append("at < ?")
        parameters.append(int(end.timestamp()))
    if service is not None:
        conditions.append("(service IS NULL OR service = ?)")
        parameters.append(service)
    if slo is not None:
        conditions.append("(slo IS NULL OR slo = ?)")
        parameters.append(slo)
    if kinds:
        conditions.append(f"kind IN ({marks(len(kinds))})")
        parameters += list(kinds)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        f"SELECT {_ANNOTATION_COLUMNS} FROM annotations{where} ORDER BY at DESC, id DESC LIMIT ?",
        (*parameters, max(limit, 0)),
    ).fetchall()
    return [_annotation(row) for row in reversed(rows)]


# --- idempotency keys ------------------------------------------------------------------------


def stored_response(connection: Connection, actor: str, key: str) -> StoredResponse | None:
    row = connection.execute(
        "SELECT request, body_sha256, status_code, response, created_at FROM idempotency_keys "
        "WHERE actor = ? AND key = ?",
        (actor, key),
    ).fetchone()
    if row is None:
        return None
    request, digest, status_code, response, created_at = row
    return StoredResponse(
        str(request),
        str(digest),
        int(status_code),
        json.loads(response),
        datetime.fromisoformat(created_at),
    )


def store_response(
    connection: Connection,
    clock: Clock,
    *,
    actor: str,
    key: str,
    request: str,
    body_sha256: str,
    status_code: int,
    response: Mapping[str, object],
) -> None:
    """Keep a write's result under (actor, key); a key already stored is left alone."""
    required_text(key, "an idempotency key")
    connection.execute(
        "INSERT INTO idempotency_keys "
        "(actor, key, request, body_sha256, status_code, response, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (actor, key) DO NOTHING",
        (
            actor,
            key,
            request,
            body_sha256,
            status_code,
            json.dumps(dict(response), default=str),
            timestamp(clock),
        ),
    )
