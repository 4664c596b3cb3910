"""What the API modules share: the route class that maps the package's errors to HTTP
statuses, the App dependency, and parsers whose 422s name the field."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import APIRouter, Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from errorbudget.app import App
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
from errorbudget.yamlsource import did_you_mean

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


_QUERY_NAMES = "errorbudget_query_names"


async def known_query(request: Request) -> None:
    """Refuse query parameters the route does not take, and a single-valued one given twice
    (422 naming each): ``?sevice=billing`` would otherwise answer every service's records as
    if filtered, and ``?service=a&service=b`` silently mean ``b``."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names: dict[str, bool] | None = getattr(route, _QUERY_NAMES, None)
    if names is None:
        names = dict(_query_names(route.dependant))
        setattr(route, _QUERY_NAMES, names)
    problems = []
    for name in dict.fromkeys(request.query_params):
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            message = (
                f"unknown query parameter{did_you_mean(name, sorted(names))} "
                f"(this route takes: {known})"
            )
        elif not names[name] and len(request.query_params.getlist(name)) > 1:
            message = f"{name} is given more than once; it takes one value"
        else:
            continue
        problems.append(
            {
                "loc": ("query", name),
                "msg": message,
                "type": "value_error",
                "input": request.query_params.get(name),
            }
        )
    if problems:
        raise RequestValidationError(problems)


def _query_names(dependant: Dependant) -> list[tuple[str, bool]]:
    """(name, repeatable?) of the query parameters of a route and of its dependencies."""
    names = [(p.alias, _is_list(p.field_info.annotation)) for p in dependant.query_params]
    for sub in dependant.dependencies:
        names += _query_names(sub)
    return names


def _is_list(annotation: Any) -> bool:
    """Whether a parameter's type is a list (``list[str] | None``, ``Annotated[list[…]]``)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_list(member) for member in get_args(annotation))
    return get_origin(annotation) in (list, set, tuple)


KnownQuery = Depends(known_query)


def router(tag: str) -> APIRouter:
    """A router for one concern of the API: its routes refuse unknown query parameters."""
    return APIRouter(prefix=PREFIX, tags=[tag], route_class=ApiRoute, dependencies=[KnownQuery])


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


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 for refused input, with text made encodable: a lone UTF-16 surrogate
    in the refused value (``"\\ud800"`` in a JSON body) made the error itself a 500."""
    assert isinstance(exc, RequestValidationError)
    errors = _encodable(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": errors}, status_code=422)


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    return value
