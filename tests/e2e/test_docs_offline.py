"""``/docs`` in a real browser with every request to another host refused: Swagger UI still
renders the API's operations (it used to be blank offline: its assets came from a CDN), and
the browser finds the favicon."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

    from conftest import Dashboard

pytestmark = pytest.mark.integration


def offline(page: Page, base: str) -> list[str]:
    """Refuse every request that does not go to ``base``; return the refused URLs."""
    refused: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        if url.startswith(base):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_swagger_ui_renders_offline(page: Page, dashboard: Dashboard) -> None:
    refused = offline(page, dashboard.url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    failed: list[Any] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{dashboard.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert page.locator(".swagger-ui .opblock").count() > 10  # the API's operations
    assert "errorbudget" in page.locator(".swagger-ui .info .title").inner_text()
    assert refused == [] and failed == [] and errors == []


def test_redoc_renders_offline(page: Page, dashboard: Dashboard) -> None:
    refused = offline(page, dashboard.url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{dashboard.url}/redoc")
    page.wait_for_selector("redoc .api-content h1, redoc h1", timeout=20_000)
    assert "errorbudget" in page.locator("redoc h1").first.inner_text()
    assert page.locator("redoc [data-section-id]").count() > 10  # the API's operations
    assert refused == [] and errors == []


def test_the_browser_finds_the_favicon(page: Page, dashboard: Dashboard) -> None:
    response = page.goto(f"{dashboard.url}/favicon.ico")
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/vnd.microsoft.icon"
