"""Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis, in
process over ASGI), issue #8: for every operation under ``/api/v1``, schema-valid and
schema-violating requests, sent with each role's token (and none, and an unknown one):

- no answer is a 5xx (an exception escaping the app counts as one);
- every status is one the operation documents, with the documented content type, and every
  body matches the documented schema (``401``/``403``/``404``/``409``/``422`` included);
- a schema-violating request is refused (4xx);
- a schema-valid request refused with 422 is refused for a documented bound the schema
  cannot state (a time outside 2000–2100, blank text, a timeline over 400 days, an SLO that
  does not exist …): a ``value_error`` or one sentence, never a type or pattern the schema
  claims to allow.

Bounded for CI: a fixed number of examples per operation and mode, derandomized (the same
cases every run), about 30 s. The figures are in docs/operations.md ("Bad input").
"""

from __future__ import annotations

import collections
import contextlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from errorbudget.app import App
from errorbudget.changes import ChangeRequest
from errorbudget.web.app import create_app
from exclusion_records import approved_exclusion

EXAMPLES = 40
"""Per operation and mode: 40 × 2 modes × 26 operations ≈ 2,000 requests."""
TOKENS = [
    "viewer-token-000001",
    "operator-token-0001",
    "operator-token-0002",
    "approver-token-0001",
    "admin-token-0000001",
    "admin-token-0000001",
]
"""Each role's token (the admin's twice: it reaches every route). Cases are also generated
without one, with schemathesis's own credentials (none, malformed or unknown: 401)."""
IGNORED = [
    schemathesis.checks.not_a_server_error,  # checked below, with exceptions counted too
    schemathesis.checks.positive_data_acceptance,  # semantic 422s: checked below instead
]


@pytest.fixture
def app(budget_world):  # type: ignore[no-untyped-def]
    with budget_world.open() as opened:
        now = opened.clock()
        opened.changes.submit(
            ChangeRequest(service="contact-center", title="greeting", submitted_by="olga")
        )
        approved_exclusion(
            opened,
            slo="payments", start=now.replace(hour=1), end=now.replace(hour=2),
            category="maintenance", reason="window", created_by="olga",
        )  # fmt: skip
        yield opened


def _schema_refusal(response: Any) -> bool:
    """Whether a 422 refuses what the schema says is allowed (a type, a pattern, a length)
    rather than a documented bound it cannot state (``value_error``, or one sentence)."""
    detail = response.json().get("detail")
    return isinstance(detail, list) and any(e.get("type") != "value_error" for e in detail)


class _Fuzz:
    """Sends generated cases and keeps what went wrong."""

    def __init__(self) -> None:
        self.sent = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.failures: list[str] = []

    def send(self, case: Any, mode: GenerationMode) -> None:
        self.sent += 1
        label = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
        try:
            response = case.call()
        except Exception as exc:  # an exception escaping the app: a 500
            self.failures.append(f"exception {type(exc).__name__}: {exc} <- {label}")
            return
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {response.text[:200]} <- {label}")
        positive = mode is GenerationMode.POSITIVE
        if positive and response.status_code == 422 and _schema_refusal(response):
            self.failures.append(f"schema-valid refused: {response.text[:300]} <- {label}")
        try:
            case.validate_response(response, excluded_checks=IGNORED)
        except BaseException as exc:  # schemathesis raises a BaseExceptionGroup
            self.failures.append(f"{str(exc).splitlines()[0]}: {exc} <- {label}")

    def run(self, operation: Any, mode: GenerationMode) -> None:
        # A token is supplied, not generated, so a negative case never has its mutation (of
        # a parameter or of the credentials) undone by a token added afterwards.
        with_tokens = [
            operation.as_strategy(generation_mode=mode, headers={"Authorization": f"Bearer {t}"})
            for t in TOKENS
        ]
        strategy = st.one_of(*with_tokens, operation.as_strategy(generation_mode=mode))

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def cases(case: Any) -> None:
            self.send(case, mode)

        with contextlib.suppress(Unsatisfiable):  # no invalid request without parameters
            cases()


def test_the_api_answers_every_generated_request_as_documented(app: App) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app))
    fuzz = _Fuzz()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/v1/"):
            continue  # /healthz, /readyz, /metrics: the operational endpoints
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz.run(operation, mode)
    assert fuzz.sent > 1500, fuzz.sent
    shown = "\n\n".join(fuzz.failures[:10])
    assert not fuzz.failures, f"{len(fuzz.failures)} of {fuzz.sent} requests failed:\n{shown}"
    assert {401, 403, 404, 422} <= set(fuzz.statuses), fuzz.statuses
