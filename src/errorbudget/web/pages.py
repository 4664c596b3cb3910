"""The dashboard: server-rendered pages and their JSON twins.

=====================  ============================  ===========================================
page                   JSON twin                     answers
=====================  ============================  ===========================================
``/``                  ``/api/v1/pages/overview``    callers affected? which SLO burns? which
                                                     segment? may we ship?
``/slos/{id}``         ``/api/v1/pages/slos/{id}``   how did this SLO burn over 30 days, where,
                                                     and what was excluded?
``/changes``           ``/api/v1/pages/changes``     what waits to ship, what does the gate say,
                                                     who approved?
``/exec``              ``/api/v1/pages/exec``        is each service inside policy this month?
=====================  ============================  ===========================================

Each page builds one view-model (``web.pages_models``) from the App; the template renders it
and the JSON twin returns it, so both always show the same figures. Pages refresh
themselves every ``?refresh=`` seconds (default 60, 0 turns it off; a small script that
waits while a form is being filled in, and a ``<noscript>`` meta refresh). Everything is
served from the package (templates, CSS, JS): no CDN, works offline.

Reading a page needs what reading the API needs (``web.auth``): a viewer token, unless
``server.anonymous_read`` is on. A browser cannot send a Bearer header on navigation, so
the dashboard's token field also keeps the token in a ``SameSite=Strict`` cookie that pages
accept for reading only (``TOKEN_COOKIE``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment

from errorbudget.app import App
from errorbudget.errors import InvalidRequestError, NotFoundError
from errorbudget.limits import MAX_NAME, MAX_SEGMENT_PAIRS
from errorbudget.web.api_common import KnownQuery
from errorbudget.web.api_errors import READ, errors
from errorbudget.web.api_inputs import SEGMENT_LIST, SloPath
from errorbudget.web.auth import ANONYMOUS, Identity, authenticator, identify
from errorbudget.web.ops import leader_view
from errorbudget.web.pages_changes import build_changes
from errorbudget.web.pages_detail import build_detail, parse_segment
from errorbudget.web.pages_models import ChangesPage, ExecPage, OverviewPage, SloDetailPage
from errorbudget.web.pages_overview import build_exec, build_overview
from errorbudget.web.pages_render import environment

DEFAULT_REFRESH_SECONDS = 60
SegmentQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_SEGMENT_PAIRS * (2 * MAX_NAME + 2),
        pattern=SEGMENT_LIST,
        description="Follow one series: every segment key as key=value, comma-separated.",
    ),
]
Refresh = Annotated[
    int,
    Query(ge=0, le=86_400, description="Auto-refresh period of the page in seconds; 0 is off."),
]


# --- who may read ------------------------------------------------------------------------------

TOKEN_COOKIE = "errorbudget_token"
"""The dashboard's token field saves the token in the browser (localStorage) and in this
cookie (``SameSite=Strict``), so page loads can be authorised like API reads. The cookie is
only ever read for GET pages and their JSON twins, and only grants reading: approvals send
the token as a Bearer header from JavaScript, so a forged cross-site request cannot write."""


async def reader(
    request: Request, caller: Annotated[Identity | None, Depends(identify)]
) -> Identity | None:
    """Who reads a page: the Bearer token's identity (as for the API), else the token saved
    by the dashboard's token field, else anonymous when ``server.anonymous_read`` is on;
    None when reading needs a token. Any role may read."""
    if caller is not None:
        return caller
    auth = authenticator(request)
    token = unquote(request.cookies.get(TOKEN_COOKIE, ""))
    found = auth.identify(token) if token else None
    if found is not None:
        return found
    return ANONYMOUS if auth.anonymous_read else None


Reader = Annotated[Identity | None, Depends(reader)]


async def json_reader(caller: Reader) -> Identity:
    if caller is None:
        raise HTTPException(
            status_code=401,
            detail="this needs an API token with the viewer role",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


JsonReader = Annotated[Identity, Depends(json_reader)]


# --- routes ------------------------------------------------------------------------------------


def _app(request: Request) -> App:
    app: App = request.app.state.eb
    return app


def render(
    request: Request,
    template: str,
    page: Any,
    json_url: str,
    caller: Identity | None,
    status: int = 200,
) -> HTMLResponse:
    env: Environment = request.app.state.pages_env
    html = env.get_template(template).render(
        page=page, json_url=json_url, path=request.url.path, caller=caller
    )
    # Live figures: never served from a cache, the page refreshes itself instead.
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def problem(
    request: Request, code: int, title: str, message: str, caller: Identity | None
) -> HTMLResponse:
    page = {"title": title, "message": message, "refresh_seconds": 0}
    return render(request, "problem.html", page, "", caller, code)


def sign_in(request: Request) -> HTMLResponse:
    page = {"title": "API token needed", "refresh_seconds": 0}
    return render(request, "sign_in.html", page, "", None, 401)


def register(web: FastAPI) -> None:
    """Add the dashboard pages, their JSON twins and ``/static`` to ``web``."""
    web.state.pages_env = environment()
    web.mount("/static", StaticFiles(packages=[("errorbudget.web", "static")]), name="static")

    @web.get(
        "/api/v1/pages/overview",
        response_model=OverviewPage,
        tags=["pages"],
        responses=errors(*READ),
        dependencies=[KnownQuery],
    )
    def overview_json(
        request: Request, caller: JsonReader, refresh: Refresh = DEFAULT_REFRESH_SECONDS
    ) -> OverviewPage:
        """The overview page's data: exactly what ``/`` renders."""
        return build_overview(_app(request), refresh, leader_view(request.app))

    @web.get(
        "/api/v1/pages/slos/{slo_id}",
        response_model=SloDetailPage,
        tags=["pages"],
        responses=errors(*READ, 404),
        dependencies=[KnownQuery],
    )
    def detail_json(
        request: Request,
        caller: JsonReader,
        slo_id: SloPath,
        refresh: Refresh = DEFAULT_REFRESH_SECONDS,
        segment: SegmentQuery = None,
    ) -> SloDetailPage:
        """The SLO detail page's data: exactly what ``/slos/{slo_id}`` renders."""
        try:
            return build_detail(_app(request), slo_id, refresh, parse_segment(segment))
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        except InvalidRequestError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    @web.get(
        "/api/v1/pages/changes",
        response_model=ChangesPage,
        tags=["pages"],
        responses=errors(*READ),
        dependencies=[KnownQuery],
    )
    def changes_json(
        request: Request, caller: JsonReader, refresh: Refresh = DEFAULT_REFRESH_SECONDS
    ) -> ChangesPage:
        """The changes page's data: exactly what ``/changes`` renders."""
        return build_changes(_app(request), refresh)

    @web.get(
        "/api/v1/pages/exec",
        response_model=ExecPage,
        tags=["pages"],
        responses=errors(*READ),
        dependencies=[KnownQuery],
    )
    def exec_json(
        request: Request, caller: JsonReader, refresh: Refresh = DEFAULT_REFRESH_SECONDS
    ) -> ExecPage:
        """The exec view's data: exactly what ``/exec`` renders."""
        return build_exec(_app(request), refresh)

    @web.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(
        request: Request, caller: Reader, refresh: Refresh = DEFAULT_REFRESH_SECONDS
    ) -> HTMLResponse:
        if caller is None:
            return sign_in(request)
        page = build_overview(_app(request), refresh, leader_view(request.app))
        return render(request, "overview.html", page, "/api/v1/pages/overview", caller)

    @web.get("/slos/{slo_id}", response_class=HTMLResponse, include_in_schema=False)
    def detail_page(
        request: Request,
        caller: Reader,
        slo_id: SloPath,
        refresh: Refresh = DEFAULT_REFRESH_SECONDS,
        segment: SegmentQuery = None,
    ) -> HTMLResponse:
        if caller is None:
            return sign_in(request)
        try:
            page = build_detail(_app(request), slo_id, refresh, parse_segment(segment))
        except NotFoundError as exc:
            return problem(request, 404, "Not found", str(exc), caller)
        except InvalidRequestError as exc:
            return problem(request, 422, "Cannot show this", str(exc), caller)
        query = f"?segment={quote(segment)}" if segment else ""
        return render(request, "slo.html", page, f"/api/v1/pages/slos/{slo_id}{query}", caller)

    @web.get("/changes", response_class=HTMLResponse, include_in_schema=False)
    def changes_page(
        request: Request, caller: Reader, refresh: Refresh = DEFAULT_REFRESH_SECONDS
    ) -> HTMLResponse:
        if caller is None:
            return sign_in(request)
        page = build_changes(_app(request), refresh)
        return render(request, "changes.html", page, "/api/v1/pages/changes", caller)

    @web.get("/exec", response_class=HTMLResponse, include_in_schema=False)
    def exec_page(
        request: Request, caller: Reader, refresh: Refresh = DEFAULT_REFRESH_SECONDS
    ) -> HTMLResponse:
        if caller is None:
            return sign_in(request)
        page = build_exec(_app(request), refresh)
        return render(request, "exec.html", page, "/api/v1/pages/exec", caller)
