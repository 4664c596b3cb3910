"""Issue #8, dashboard point: under the Content-Security-Policy every page still works in a
real browser — nothing it loads or runs is refused — the sign-in page's "Continue" (once an
inline handler, which the policy blocks) signs in, and no other site can frame the
dashboard (``frame-ancestors 'none'``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from conftest import Dashboard

pytestmark = pytest.mark.integration

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__violations || []")
    return found


def test_every_page_works_under_the_content_security_policy(
    page: Page, dashboard: Dashboard
) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)

    first = page.goto(f"{dashboard.url}/?refresh=0")
    assert first is not None and first.status == 401
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    page.fill("#api-token", dashboard.viewer)
    page.press("#api-token", "Tab")  # saved in the browser
    with page.expect_navigation():
        page.click("#sign-in-continue")  # a listener from dashboard.js, not inline script
    assert page.locator("svg.gauge").count() == 3  # signed in: the overview
    assert violations(page) == []

    for path in ("/slos/voice-sla", "/changes", "/exec", "/?refresh=5"):
        response = page.goto(f"{dashboard.url}{path}")
        assert response is not None and response.status == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
        page.wait_for_load_state("load")
        assert violations(page) == [], path
    assert page.locator("#refresh-toggle").is_visible()  # its script ran (refresh=5)
    assert refused == []


def test_another_site_cannot_frame_the_dashboard(page: Page, dashboard: Dashboard) -> None:
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text))
    page.set_content(f'<iframe id="embedded" src="{dashboard.url}/healthz"></iframe>')
    page.wait_for_timeout(500)
    frame = page.frame_locator("#embedded")
    assert frame.locator("body").inner_text(timeout=5000) != '{"status":"ok"}'
    assert any("frame-ancestors" in text for text in blocked), blocked
