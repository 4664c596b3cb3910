"""The ASGI application factory: one FastAPI app over one :class:`errorbudget.app.App`.

Routers register here the way commands register on the CLI group: the JSON API
(``web.api``), the dashboard pages (``web.pages``) and the operational endpoints
(``web.ops``: /healthz, /readyz, /metrics). State lives on ``fastapi_app.state.eb`` (the App),
never in module globals, so tests build a fresh app per test and drive it in-process with
``httpx.ASGITransport``.
"""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

from errorbudget import __version__
from errorbudget.app import App

ROUTER_MODULES = ("errorbudget.web.ops", "errorbudget.web.api", "errorbudget.web.pages")
"""Modules that expose ``register(web: FastAPI) -> None``."""


def create_app(app: App) -> FastAPI:
    """The web application for ``app`` (config, store, clock)."""
    web = FastAPI(
        title="errorbudget",
        version=__version__,
        description="SLOs, error budgets, burn-rate alerts and release gates.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    web.state.eb = app
    for name in ROUTER_MODULES:
        import_module(name).register(web)
    return web
