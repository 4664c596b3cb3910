"""The API's own documentation pages, served offline: ``/docs`` (Swagger UI) and ``/redoc``
(ReDoc) over ``/openapi.json``, and ``/favicon.ico``.

FastAPI's defaults load Swagger UI and ReDoc from a CDN, so ``/docs`` is blank on a machine
without Internet access (a contact center's operations network often is one). The assets
here come from the ``fastapi-offline`` package (a maintained PyPI bundle of the
``swagger-ui-dist`` and ReDoc builds; docs/architecture.md says why) and are served under
``/docs/assets/``; nothing on these pages names another host.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, swagger_ui_default_parameters
from fastapi.responses import FileResponse, HTMLResponse

ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
}
"""The bundle's files these pages use, and their media types; nothing else is served."""
ASSETS_URL = "/docs/assets"
FAVICON_URL = "/favicon.ico"
CACHE = {"Cache-Control": "public, max-age=86400"}
OFFLINE = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
}
"""Sent with both pages: the browser loads nothing from another host, even what a bundle
asks for on its own (ReDoc's sidebar logo comes from its CDN; without it, no logo)."""


def assets_directory() -> Path:
    """Where the installed ``fastapi-offline`` keeps its Swagger UI and ReDoc builds."""
    return Path(str(resources.files("fastapi_offline").joinpath("static")))


def favicon_path() -> Path:
    return Path(str(resources.files("errorbudget.web").joinpath("static", "favicon.ico")))


def register(web: FastAPI) -> None:
    """Add ``/docs``, ``/redoc``, their assets and ``/favicon.ico`` to ``web`` (created with
    ``docs_url=None, redoc_url=None``)."""
    openapi_url = web.openapi_url or "/openapi.json"
    directory = assets_directory()

    @web.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{web.title} API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=FAVICON_URL,
            # No online validator badge: it would send the document to another host.
            swagger_ui_parameters={**swagger_ui_default_parameters, "validatorUrl": None},
        )
        page.headers.update(OFFLINE)
        return page

    @web.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{web.title} API",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=FAVICON_URL,
            with_google_fonts=False,
        )
        page.headers.update(OFFLINE)
        return page

    @web.get(f"{ASSETS_URL}/{{name}}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(status_code=404, detail=f"no documentation asset {name!r}")
        return FileResponse(directory / name, media_type=ASSETS[name], headers=CACHE)

    @web.get(FAVICON_URL, include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(favicon_path(), media_type="image/vnd.microsoft.icon", headers=CACHE)
