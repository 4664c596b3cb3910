"""``/docs`` (Swagger UI), ``/redoc`` and ``/favicon.ico`` work offline: the pages name no
other host, and every asset they load is served by the app itself."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from errorbudget.app import App
from errorbudget.web.app import create_app

CONFIG = """\
version: 1
store: {path: docs.db}
slos:
  - {id: calls, service: cc, target: 0.9, window: {type: rolling, length: 1d}}
"""
REFERENCE = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


def fetch(tmp_path: Path, *paths: str, config_text: str = CONFIG) -> list[httpx.Response]:
    config = tmp_path / "errorbudget.yaml"
    config.write_text(config_text, encoding="utf-8")

    async def get() -> list[httpx.Response]:
        with App.open(config) as app:
            transport = httpx.ASGITransport(app=create_app(app))
            async with httpx.AsyncClient(transport=transport, base_url="http://eb") as client:
                return [await client.get(path) for path in paths]

    return asyncio.run(get())


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "/docs",
            ["/docs/assets/swagger-ui.css", "/favicon.ico", "/docs/assets/swagger-ui-bundle.js"],
        ),
        ("/redoc", ["/favicon.ico", "/openapi.json", "/docs/assets/redoc.standalone.js"]),
    ],
)
def test_docs_pages_reference_no_other_host(tmp_path: Path, page: str, expected: list[str]) -> None:
    [response] = fetch(tmp_path, page)
    assert response.status_code == 200
    html = response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("://", "")
    found = references(html)
    assert set(expected) <= set(found), found
    assert all(url.startswith("/") and not url.startswith("//") for url in found), found
    if page == "/docs":
        assert "'/openapi.json'" in html
        assert '"validatorUrl": null' in html  # no badge that sends the document elsewhere


def test_docs_assets_openapi_and_favicon_are_served(tmp_path: Path) -> None:
    css, bundle, redoc, openapi, icon, other = fetch(
        tmp_path,
        "/docs/assets/swagger-ui.css",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/redoc.standalone.js",
        "/openapi.json",
        "/favicon.ico",
        "/docs/assets/..%2F..%2Fpyproject.toml",
    )
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert len(css.content) > 50_000
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert redoc.status_code == 200 and len(redoc.content) > 500_000
    assert openapi.status_code == 200 and openapi.json()["openapi"].startswith("3.")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert other.status_code == 404


def test_dashboard_pages_name_the_favicon(tmp_path: Path) -> None:
    [page] = fetch(tmp_path, "/", config_text=CONFIG + "server: {anonymous_read: true}\n")
    assert page.status_code == 200
    assert '<link rel="icon" href="/favicon.ico">' in page.text
