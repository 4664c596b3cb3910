"""``POST /api/v1/counts``: counts ingestion over HTTP, through ``errorbudget ingest``.

The body — NDJSON, CSV, or a JSON array of row objects (written out as NDJSON) — goes
through :func:`errorbudget.ingest.ingest_files` unchanged, so the columns, the validation
and the all-or-nothing rule are those of ``errorbudget ingest``: a body with any bad row
writes nothing and answers 422 listing the problems by line.

``Idempotency-Key`` (optional, per token): the result of a successful write is kept under
the key; the same key with the same body replays it (header ``Idempotent-Replayed: true``)
without writing again, the same key with another body is 409. Failed writes are not kept,
so a corrected body may be sent again under the same key. The key is looked up, the counts
written and the result kept in one ``BEGIN IMMEDIATE`` transaction: of concurrent requests
with one key exactly one writes, the others wait and then get its replay (or 409).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from errorbudget.app import App
from errorbudget.errors import ConflictError
from errorbudget.ingest import IngestReport, ingest_files
from errorbudget.limits import MAX_NAME
from errorbudget.schema.ingest import IngestOut
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import errors
from errorbudget.web.auth import Operator

routes = router("counts")

SUFFIX_BY_TYPE = {
    "application/x-ndjson": ".ndjson",
    "application/ndjson": ".ndjson",
    "application/jsonl": ".ndjson",
    "application/json": ".json",
    "text/csv": ".csv",
}

_BODY_SCHEMA = {
    "description": "Rows with time, slo, good, total and one column per segment key.",
    "content": {
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {
            "schema": {"type": "array", "items": {"type": "object", "additionalProperties": True}}
        },
    },
    "required": True,
}


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


@routes.post(
    "/counts",
    response_model=IngestOut,
    summary="Ingest counts",
    openapi_extra={"requestBody": _BODY_SCHEMA},
    responses=errors(401, 403, 409, 413, 415, 422, 503),
)
async def ingest_counts(
    request: Request,
    app: EB,
    caller: Operator,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=MAX_NAME, pattern=r"^\S.*$"),
    ] = None,
    source: Annotated[
        str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    ] = "ingest",
) -> JSONResponse:
    """Counts as ``errorbudget ingest`` takes them; a re-sent minute replaces what
    ``source`` had stored for it. Needs the operator role. A configured collector's source
    name (``genesys``) is refused with 409: its minutes are the collector's, and replacing
    them through the API could lift the gate."""
    collected = set(app.loaded.config.sources)  # the configured sources: their collectors
    if source in collected:
        return _error(
            409,
            f"source {source!r} is written by its collector: counts sent here would replace "
            "the minutes it collected; send them under another source name",
        )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = SUFFIX_BY_TYPE.get(media)
    if suffix is None:
        known = ", ".join(SUFFIX_BY_TYPE)
        return _error(415, f"send the counts as one of {known}, not {media or 'no content type'}")
    body = await request.body()  # at most server.body_limits.ingest_body (web.admission)
    if not body.strip():
        return _error(422, "the body is empty: send at least one row")
    digest = hashlib.sha256(media.encode() + b"\n" + source.encode() + b"\n" + body).hexdigest()
    if suffix == ".json":
        try:
            body = _json_rows(body)
        except ValueError as exc:
            return _error(422, str(exc))
        suffix = ".ndjson"
    if idempotency_key is None:
        return await run_in_threadpool(_answer, app, body, suffix, source)
    key = _Key(caller.name, idempotency_key, digest)
    return await run_in_threadpool(_answer_once, app, key, body, suffix, source)


@dataclass(frozen=True, slots=True)
class _Key:
    actor: str
    key: str
    digest: str
    """SHA-256 of the content type, source and body."""


def _answer_once(app: App, key: _Key, body: bytes, suffix: str, source: str) -> JSONResponse:
    """Check and reserve the key, write and keep the result, in one exclusive transaction
    (``BEGIN IMMEDIATE``; the ingest's own transaction is a savepoint inside it), so no two
    requests with one key can both write."""
    with app.store.transaction():
        stored = app.store.stored_response(key.actor, key.key)
        if stored is not None:
            if stored.body_sha256 != key.digest:
                raise ConflictError(
                    f"idempotency key {key.key!r} was used at "
                    f"{stored.created_at.isoformat()} with another body; use a new key"
                )
            return JSONResponse(
                stored.response,
                status_code=stored.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        answer = _answer(app, body, suffix, source)
        if answer.status_code == 200:
            app.store.store_response(
                actor=key.actor,
                key=key.key,
                request="POST /api/v1/counts",
                body_sha256=key.digest,
                status_code=200,
                response=json.loads(bytes(answer.body)),
            )
        return answer


def _answer(app: App, body: bytes, suffix: str, source: str) -> JSONResponse:
    """Ingest the body; the answer: what was written, or 422 with every problem by line."""
    report, path = _ingest(app, body, suffix, source)
    rejected = report.rejected
    if rejected:
        problems = [
            {"line": p.line, "message": p.message.replace(path, "the body")}
            for p in rejected[0].problems
        ]
        count = max(rejected[0].problem_count, len(problems))
        noun = "problem" if count == 1 else "problems"
        return _error(422, f"nothing was written: {count:,} {noun}", problems=problems)
    result = IngestOut(
        rows_read=report.rows_read,
        rows_written=report.rows_written,
        rows_rejected=report.rows_rejected,
        series=report.series,
        seconds=round(report.seconds, 3),
    )
    return JSONResponse(result.model_dump())


def _json_rows(body: bytes) -> bytes:
    """A JSON array of row objects (or ``{"rows": [...]}``) as NDJSON, one line per row."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if isinstance(data, dict) and set(data) == {"rows"}:
        data = data["rows"]
    if not isinstance(data, list):
        raise ValueError('send a JSON array of row objects (or {"rows": [...]})')
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise ValueError(f"row {index + 1} is not an object")
    if not data:
        raise ValueError("the body has no rows: send at least one")
    return "".join(json.dumps(row) + "\n" for row in data).encode("utf-8")


def _ingest(app: App, body: bytes, suffix: str, source: str) -> tuple[IngestReport, str]:
    """Run ``ingest_files`` on the body in a private temporary file; return the report and
    that file's name (which problem messages may mention)."""
    with tempfile.TemporaryDirectory(prefix="errorbudget-api-") as folder:
        path = Path(folder) / f"body{suffix}"
        path.write_bytes(body)
        report = ingest_files(
            app.store,
            {slo.id: slo for slo in app.evaluations.slos},
            [path],
            source=source,
            raise_on_reject=False,
        )
    return report, str(path)
