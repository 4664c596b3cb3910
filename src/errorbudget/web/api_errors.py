"""The error answers of the JSON API, as the OpenAPI document publishes them.

Every error is ``{"detail": …}``: one sentence, or — for input FastAPI refuses — its list of
``{"loc", "msg", "type", …}`` naming the field (``["query", "step"]``) with what is allowed.
``POST /counts`` adds ``problems``, one per bad row. Each route documents the statuses it
can answer (:func:`errors`), so a client generated from the schema knows every one, and the
fuzz test (tests/integration/test_api_fuzz.py) fails on any status a route does not list.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorOut(BaseModel):
    """An error: one sentence saying what is wrong and what is allowed."""

    detail: str


class FieldErrorOut(BaseModel):
    """One refused value: where it is and why."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description='Where, e.g. ["query", "step"] or ["body", "at"].')
    msg: str = Field(description="What is wrong, and what is allowed.")
    type: str


class LineProblemOut(BaseModel):
    """A bad row of a counts body: its line (for a JSON array, the row number)."""

    line: int
    message: str


class InvalidOut(BaseModel):
    """Input that cannot be used (422)."""

    detail: str | list[FieldErrorOut]
    problems: list[LineProblemOut] | None = Field(
        default=None, description="POST /counts: every bad row, by line."
    )


_DESCRIPTIONS: dict[int, tuple[str, type[BaseModel]]] = {
    400: ("The body cannot be read as JSON text (e.g. it is not UTF-8).", ErrorOut),
    401: ("No token where one is needed, an unknown token, or not 'Bearer <token>'.", ErrorOut),
    403: ("The token's role is too low, or the rule forbids it.", ErrorOut),
    404: ("An unknown SLO, series, exclusion or change.", ErrorOut),
    409: ("The record is not in a state that allows this.", ErrorOut),
    413: ("The body is larger than its endpoint's limit (server.body_limits).", ErrorOut),
    415: ("The body is of a content type this route does not read.", ErrorOut),
    422: (
        "Input that cannot be used: the field and what is allowed, or one sentence.",
        InvalidOut,
    ),
    503: (
        "Another writer held the store's write lock (or every write slot was busy) for "
        "longer than server.store_lock_timeout: nothing was written; Retry-After says when "
        "to try again.",
        ErrorOut,
    ),
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can answer these error statuses."""
    return {
        code: {"description": _DESCRIPTIONS[code][0], "model": _DESCRIPTIONS[code][1]}
        for code in codes
    }


READ = (401, 422)
"""A read with parameters: no token (when reads need one), or a refused parameter."""
WRITE = (400, 401, 403, 413, 422, 503)
"""A write with a JSON body: unreadable, no token, a role too low, too large, a refused
field, or the store busy."""
