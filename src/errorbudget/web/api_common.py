"""What the API modules share: the route class that maps the package's errors to HTTP
statuses, the App dependency, and parsers whose 422s name the field."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from errorbudget.app import App
from errorbudget.durations import parse_duration
from errorbudget.errors import (
    ConflictError,
    ErrorBudgetError,
    GateError,
    IngestError,
    IntegrityError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    StoreBusyError,
)

PREFIX = "/api/v1"

STATUS_CODES: tuple[tuple[type[ErrorBudgetError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (IntegrityError, 409),
    (PermissionDeniedError, 403),
    (InvalidRequestError, 422),
    (GateError, 422),
    (IngestError, 422),
)
"""The HTTP status of each error of the package; any other is a 500 with its sentence
(StoreBusyError: 503 with ``Retry-After``, see ``web.admission``)."""


def error_response(exc: ErrorBudgetError) -> JSONResponse:
    code = next((code for kind, code in STATUS_CODES if isinstance(exc, kind)), 500)
    return JSONResponse({"detail": str(exc)}, status_code=code)


class ApiRoute(APIRoute):
    """A route whose ErrorBudgetErrors become JSON errors (only on this API's routes, so the
    dashboard keeps its own error pages)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except StoreBusyError:
                raise  # 503 with Retry-After: web.admission's handler, for every route
            except ErrorBudgetError as exc:
                return error_response(exc)

        return route


def router(tag: str) -> APIRouter:
    """A router for one concern of the API."""
    return APIRouter(prefix=PREFIX, tags=[tag], route_class=ApiRoute)


async def get_app(request: Request) -> App:  # async: no thread-pool hop (see web.auth)
    app = request.app.state.eb
    assert isinstance(app, App)
    return app


EB = Annotated[App, Depends(get_app)]


def invalid(where: tuple[str, ...], message: str, value: object) -> RequestValidationError:
    """A 422 in FastAPI's own shape, naming the field (``("query", "step")``)."""
    return RequestValidationError(
        [{"loc": where, "msg": message, "type": "value_error", "input": value}]
    )


def parse_segment(pairs: list[str], name: str = "segment") -> dict[str, str]:
    """``["queue=billing", "tier=vip"]`` (repeated query parameter) → labels."""
    segment: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise invalid(("query", name), f"{pair!r} is not KEY=VALUE", pair)
        segment[key.strip()] = value.strip()
    return segment


def parse_step(text: str, name: str = "step") -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise invalid(("query", name), str(exc), text) from exc
