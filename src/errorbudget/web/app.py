"""The ASGI application factory: one FastAPI app over one :class:`errorbudget.app.App`.

Routers register here the way commands register on the CLI group: the JSON API
(``web.api``), the OTLP/HTTP trace receiver (``web.api_otlp``: ``/v1/traces``), the
dashboard pages (``web.pages``), the operational endpoints (``web.ops``: /healthz, /readyz,
/metrics) and the API's documentation pages with their assets and the favicon, served
offline (``web.docs_ui``: /docs, /redoc, /favicon.ico). State lives on
``fastapi_app.state.eb`` (the App), never in module globals, so tests build a fresh app per
test and drive it in-process with ``httpx.ASGITransport``. In front of the routes:
``web.admission`` (a write's token before its body, body caps, write slots, a busy store as
503) and ``web.security_headers``.
"""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

from errorbudget import __version__
from errorbudget.app import App
from errorbudget.web import admission
from errorbudget.web.security_headers import SecurityHeaders, internal_error

ROUTER_MODULES = (
    "errorbudget.web.ops",
    "errorbudget.web.docs_ui",
    "errorbudget.web.api",
    "errorbudget.web.api_otlp",
    "errorbudget.web.pages",
    "errorbudget.web.pages_voice",
)
"""Modules that expose ``register(web: FastAPI) -> None``."""


def create_app(app: App) -> FastAPI:
    """The web application for ``app`` (config, store, clock)."""
    web = FastAPI(
        title="errorbudget",
        version=__version__,
        description="SLOs, error budgets, burn-rate alerts and release gates.",
        docs_url=None,  # /docs and /redoc are served offline by web.docs_ui
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    web.state.eb = app
    for name in ROUTER_MODULES:
        import_module(name).register(web)
    # Outermost last: security headers on every answer, the admission's 401/413/503 too.
    admission.install(web, app.loaded.config.server)
    web.add_middleware(SecurityHeaders)
    web.add_exception_handler(Exception, internal_error)  # the outermost answer: a 500
    return web
