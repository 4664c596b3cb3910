"""The Prometheus indicator: two PromQL queries with Sloth's ``{{.window}}`` placeholder.

Counts per minute: the count of minute ``[t − 1m, t)`` is the query with ``{{.window}}``
= ``1m`` evaluated at ``t``, so queries are written as increases —
``sum(increase(calls_total{queue=~"billing.*"}[{{.window}}]))`` — and ``increase``
handles counter resets. An SLO's ``segments.keys`` name the result labels its series come
from (``sum by (queue) (…)`` for ``keys: [queue]``).

The check here is light, not a PromQL parser: the placeholder is present, brackets and
quotes balance, and nothing else looks like a template. Prometheus parses the query when
it is run; a query it refuses fails the run with Prometheus's message and the query.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from errorbudget.indicators import IndicatorSettings

WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
"""Sloth's placeholder (spaces inside the braces allowed, as Go templates allow)."""

_PAIRS = {")": "(", "]": "[", "}": "{"}


def render(query: str, window: str = "1m") -> str:
    """``query`` with every ``{{.window}}`` replaced by ``window``."""
    return WINDOW.sub(window, query)


def query_problem(query: str) -> str | None:
    """Why ``query`` cannot be a windowed PromQL query, or None (a light check)."""
    if not query.strip():
        return "the query is empty"
    if not WINDOW.search(query):
        return (
            "the query has no {{.window}} placeholder: write it as an increase over the "
            "window, e.g. sum(increase(calls_total[{{.window}}]))"
        )
    text = render(query)
    if "{{" in text or "}}" in text:
        return "only the {{.window}} placeholder is supported"
    stack: list[str] = []
    quote: str | None = None
    escaped = comment = False
    for at, char in enumerate(text):
        if comment:  # a PromQL comment runs to the end of the line
            comment = char != "\n"
        elif quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "#":
            comment = True
        elif char in "([{":
            stack.append(char)
        elif char in ")]}" and (not stack or stack.pop() != _PAIRS[char]):
            return f"unbalanced {char!r} at character {at + 1}"
    if quote is not None:
        return f"unterminated string (opened with {quote})"
    if stack:
        return f"unclosed {stack[-1]!r}"
    return None


class PrometheusIndicator(IndicatorSettings):
    """Counts from two PromQL queries (docs/sources/prometheus.md): ``good_query`` or
    ``bad_query``, and ``total_query``, each with a ``{{.window}}`` placeholder."""

    source: Literal["prometheus"] = "prometheus"
    good_query: str | None = Field(default=None, max_length=10_000)
    bad_query: str | None = Field(default=None, max_length=10_000)
    total_query: str = Field(max_length=10_000)

    default_max_age: ClassVar[timedelta | None] = timedelta(minutes=15)

    @field_validator("good_query", "bad_query", "total_query")
    @classmethod
    def _windowed(cls, value: str | None) -> str | None:
        if value is not None:
            problem = query_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _good_or_bad(self) -> PrometheusIndicator:
        if (self.good_query is None) == (self.bad_query is None):
            raise ValueError("give exactly one of good_query and bad_query")
        return self

    @property
    def numerator(self) -> tuple[Literal["good", "bad"], str]:
        """Which count the first query gives, and the query."""
        if self.good_query is not None:
            return "good", self.good_query
        assert self.bad_query is not None
        return "bad", self.bad_query
