"""Bounded request inputs of the JSON API: the types of parameters and body fields.

Every value a request may send is held to ``errorbudget.limits`` here, so FastAPI answers
422 naming the field (``["query", "at"]``, ``["body", "segment"]``) and the allowed range,
and the OpenAPI document publishes the same bounds (``maxLength``, ``maximum``, patterns):

- times are RFC 3339 with a zone inside 2000-01-01 to 2100-01-01;
- ids of records are 1 … 2**63 − 1 (SQLite integers);
- names (SLO ids, services, segment keys and values, …) are 1 to 200 characters of text
  without control characters; a segment has at most 20 pairs, a scope at most 100 SLOs;
- text (titles, reasons, comments) is refused blank where it is required.

A lone UTF-16 surrogate, which JSON can spell (``"\\ud800"``) but no store or page can hold,
is refused by pydantic as any body's text; ``api_common.validation_error`` keeps it out of
the 422's own JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, WithJsonSchema

from errorbudget.limits import (
    MAX_ID,
    MAX_LIST_ITEMS,
    MAX_NAME,
    MAX_SEGMENT_PAIRS,
    TIME_RANGE_TEXT,
    time_problem,
)


def _in_range(moment: datetime) -> datetime:
    problem = time_problem(moment)
    if problem is not None:
        raise ValueError(problem)
    return moment


TIME_DESCRIPTION = f"RFC 3339 with a zone, from {TIME_RANGE_TEXT}."

Instant = Annotated[AwareDatetime, AfterValidator(_in_range), Field(description=TIME_DESCRIPTION)]
"""A time a request may name."""

NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
_TEXT = r"[^\x00-\x1f\x7f]"
_KEY = r"[^=,\x00-\x1f\x7f]*[^=,\s\x00-\x1f\x7f][^=,\x00-\x1f\x7f]*"
_VALUE = r"[^,\x00-\x1f\x7f]*[^,\s\x00-\x1f\x7f][^,\x00-\x1f\x7f]*"
SEGMENT_PAIR = (
    rf"^[^=\x00-\x1f\x7f]*[^=\s\x00-\x1f\x7f][^=\x00-\x1f\x7f]*={_TEXT}*[^\s\x00-\x1f\x7f]{_TEXT}*$"
)
"""One ``KEY=VALUE`` filter: neither side blank (the value may hold ``=``)."""
SEGMENT_LIST = rf"^{_KEY}={_VALUE}(,{_KEY}={_VALUE})*$"
"""``KEY=VALUE,KEY=VALUE`` (a page's ``segment``): neither side blank, no ``,``."""
_PATH_PAIR = rf"{_KEY}={_VALUE}".replace(",", ",/")
SERIES_PATH = rf"^(all|\(all\)|{_PATH_PAIR}(,{_PATH_PAIR})*)$"
"""A series in a path: ``all``, or ``KEY=VALUE,KEY=VALUE`` without ``/``."""
PATH_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
"""One path segment: one line of text without ``/``."""

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN),
]
"""An SLO id, service, segment key or value: one line of text, 1 to 200 characters."""

_NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": NAME_PATTERN}
SegmentLabels = Annotated[
    dict[Name, Name],
    Field(max_length=MAX_SEGMENT_PAIRS),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_SEGMENT_PAIRS,
            "propertyNames": _NAME_SCHEMA,
            "additionalProperties": _NAME_SCHEMA,
            "description": "Segment labels: at most 20 pairs of one-line text.",
        }
    ),
]
SloIds = Annotated[
    list[Name], Field(max_length=MAX_LIST_ITEMS, description="SLO ids, at most 100.")
]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("the text is blank: write something")
    return value


def _visible(max_length: int) -> WithJsonSchema:
    """The schema of a required text: not blank (``pattern: \\S``), checked by
    ``_not_blank`` so the 422 says "blank" rather than quoting a regular expression."""
    return WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": r"\S"}
    )


Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(_not_blank),
    _visible(2000),
]
"""An exclusion's reason or an annotation's text: 1 to 2,000 characters, not blank."""
Comment = Annotated[str, StringConstraints(max_length=2000)]
"""An optional comment or reason: at most 2,000 characters."""
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_not_blank),
    _visible(200),
]
Description = Annotated[str, StringConstraints(max_length=10_000)]
ChangeType = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=NAME_PATTERN),
]


# --- parameters -------------------------------------------------------------------------------

RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id, 1 to 2**63 - 1.")]
SloPath = Annotated[
    str, Path(min_length=1, max_length=MAX_NAME, description="An SLO id.", pattern=PATH_PATTERN)
]
ServiceQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN, description="A service."),
]
SloQuery = Annotated[
    list[Name], Query(max_length=MAX_LIST_ITEMS, description="SLO id (repeatable, at most 100).")
]
SegmentQuery = Annotated[
    list[Annotated[str, StringConstraints(max_length=2 * MAX_NAME + 1, pattern=SEGMENT_PAIR)]],
    Query(
        max_length=MAX_SEGMENT_PAIRS,
        description="KEY=VALUE segment label (repeatable, at most 20); only matching series.",
    ),
]
