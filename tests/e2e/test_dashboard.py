"""The dashboard in a real browser: gauges, the detail chart, and a change approved while the
budget is low (the seeded data: tests/e2e/conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from errorbudget.exclusions import ExclusionProposal
from errorbudget.model import from_minute
from errorbudget.web.pages_svg import BAND_COLOURS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from conftest import Dashboard

pytestmark = pytest.mark.integration


def watch_errors(page: Page) -> list[str]:
    """Collect the page's JavaScript errors (refused requests, such as the sign-in page's 401,
    are checked by the tests themselves, not here)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", console)
    return errors


def sign_in(page: Page, base: str, token: str, path: str = "/") -> None:
    """Use the dashboard's own token field, as a person would."""
    page.goto(f"{base}{path}?refresh=0")
    page.fill("#api-token", token)
    page.press("#api-token", "Tab")  # "change" saves the token
    page.goto(f"{base}{path}?refresh=0")


def gate(dashboard: Dashboard, change_id: int) -> dict[str, Any]:
    """What ``errorbudget gate --change ID`` answers now, over the real HTTP API."""
    response = httpx.get(
        f"{dashboard.url}/api/v1/changes/{change_id}/gate",
        headers={"Authorization": f"Bearer {dashboard.viewer}"},
    )
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def test_overview_shows_one_gauge_per_sli_in_the_right_colour(
    page: Page, dashboard: Dashboard
) -> None:
    errors = watch_errors(page)
    first = page.goto(f"{dashboard.url}/")
    assert first is not None and first.status == 401
    assert page.locator("#api-token").is_visible()  # the sign-in page, not an error

    sign_in(page, dashboard.url, dashboard.viewer)
    assert page.locator("svg.gauge").count() == 3
    expected = {"chat-sla": "green", "voice-sla": "amber", "payments-ivr": "red"}
    for slo, colour in expected.items():
        card = page.locator(f'article.card[data-slo="{slo}"]')
        assert card.get_attribute("data-band") == colour
        arc = card.locator("svg.gauge path.gauge-value")
        assert arc.get_attribute("stroke") == BAND_COLOURS[colour]  # drawn in that colour
        assert arc.bounding_box() is not None  # and actually laid out
    red = page.locator('article.card[data-slo="payments-ivr"]')
    assert "critical: change freeze recommended" in red.inner_text()
    assert "critical" in red.inner_text()  # colour is never the only signal
    assert page.locator('article.card[data-slo="chat-sla"]').inner_text().count("healthy") >= 1
    assert "vic · viewer" in page.locator(".who").inner_text()
    assert page.locator(".answers .answer").count() == 4
    assert errors == []


def test_detail_chart_renders_with_annotations(page: Page, dashboard: Dashboard) -> None:
    errors = watch_errors(page)
    sign_in(page, dashboard.url, dashboard.viewer, "/slos/payments-ivr")
    chart = page.locator("#burn-chart svg.chart")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 150
    # Hourly and daily burn; the hourly line has a gap where everything was excluded.
    assert chart.locator('path.series[data-name="burn 1h"]').count() == 2
    assert chart.locator('path.series[data-name="burn 1d"]').count() == 1
    assert chart.locator(".annotation-exclusion").count() == 1
    # The seeded outage hour, and the last hours' 6h burn over its (7-day-window) factor.
    assert chart.locator(".annotation-burn_episode").count() == 2
    assert chart.locator(".annotation-deploy").count() == 1
    assert chart.locator(".annotation-marker").count() == 4
    legend = page.locator("ol.legend li")
    assert legend.count() == 4
    texts = " | ".join(legend.all_inner_texts())
    assert "maintenance" in texts and "Fast burn" in texts and "Payment menu v2" in texts
    assert page.locator("#budget-chart svg.chart path.series").count() == 1
    exclusions = page.locator("text=Card processor maintenance window")
    assert exclusions.count() >= 1  # the exclusion that explains raw vs counted failures
    assert errors == []


def test_change_submitted_by_operator_and_approved_by_approver_while_budget_is_low(
    browser: Browser, dashboard: Dashboard
) -> None:
    overview = dashboard.app.evaluations.status(slo_ids=["payments-ivr"])[0]
    assert overview.budget_remaining_ratio is not None and overview.budget_remaining_ratio < 0.2
    assert overview.state == "freeze"

    # The operator proposes a medium-risk change to the burning service, from the page.
    operator = browser.new_page(viewport={"width": 1440, "height": 900})
    errors = watch_errors(operator)
    sign_in(operator, dashboard.url, dashboard.operator, "/changes")
    form = operator.locator("form.submit-form")
    form.locator('select[name="service"]').select_option("payments")
    form.locator('input[name="title"]').fill("Shorter payment menu")
    form.locator('select[name="risk"]').select_option("medium")
    form.locator('textarea[name="description"]').fill("Cuts two prompts")
    form.locator('button[type="submit"]').click()
    row = operator.locator("tr[data-change]").filter(has_text="Shorter payment menu")
    row.wait_for()
    assert row.get_attribute("data-effective") == "approval_required"
    change_id = int(row.get_attribute("data-change") or 0)
    assert "VP approval" in row.inner_text()
    before = gate(dashboard, change_id)
    assert before["effective"] == "approval_required" and before["exit_code"] == 11

    # The operator cannot approve it: the API says why, in the page.
    row.locator('button[value="approve"]').click()
    result = row.locator(".form-result.error")
    result.wait_for()
    assert "approver" in result.inner_text()
    assert errors == []

    # An approver approves it with a comment; the gate's answer changes to allow.
    approver = browser.new_page(viewport={"width": 1440, "height": 900})
    sign_in(approver, dashboard.url, dashboard.approver, "/changes")
    row = approver.locator(f'tr[data-change="{change_id}"]')
    row.locator("textarea").fill("Reduces burn; ship it")
    row.locator('button[value="approve"]').click()
    approver.locator(f'tr[data-change="{change_id}"][data-effective="allow"]').wait_for()
    approved = approver.locator(f'tr[data-change="{change_id}"]').inner_text()
    assert "approved by victor" in approved and "Reduces burn; ship it" in approved
    after = gate(dashboard, change_id)
    assert after["effective"] == "allow" and after["exit_code"] == 0
    assert after["approved"] and after["approvals"][0]["approver"] == "victor"


def test_pages_refresh_themselves_but_not_while_someone_types(
    page: Page, dashboard: Dashboard
) -> None:
    errors = watch_errors(page)
    sign_in(page, dashboard.url, dashboard.viewer, "/exec")
    page.goto(f"{dashboard.url}/exec?refresh=1")
    assert "refresh in" in page.locator("#refresh-status").inner_text()
    with page.expect_event("load", timeout=5000):
        pass  # reloads by itself after a second

    page.goto(f"{dashboard.url}/changes?refresh=1")
    title = page.locator('form.submit-form input[name="title"]')
    title.fill("half-written")
    page.locator("h2#open-title").click()  # the field keeps its text but loses focus
    page.wait_for_timeout(2500)
    assert title.input_value() == "half-written"  # not reloaded away
    assert page.locator("#refresh-status").inner_text() == "refresh waits while you type"
    assert errors == []


def test_an_exclusion_proposed_by_an_operator_is_approved_on_the_slo_page(
    browser: Browser, dashboard: Dashboard
) -> None:
    """Issue #8: the operator's proposal counts nowhere until an approver approves it; the
    operator cannot approve it from the page, the approver can, and the budget moves."""
    app = dashboard.app
    before = app.evaluations.status(slo_ids=["voice-sla"])[0]
    proposed = app.records.propose_exclusion(
        ExclusionProposal(
            slo="voice-sla",
            start=from_minute(before.period_start),
            end=from_minute(before.at),
            category="external-outage",
            reason="Carrier outage INC-77",
            proposed_by="olivia",
        )
    )
    assert app.evaluations.status(slo_ids=["voice-sla"])[0].excluded == before.excluded

    operator = browser.new_page(viewport={"width": 1440, "height": 900})
    errors = watch_errors(operator)
    sign_in(operator, dashboard.url, dashboard.operator, "/slos/voice-sla")
    row = operator.locator(f'tr[data-exclusion="{proposed.id}"]')
    assert "pending: not counted until an approver approves it" in row.inner_text()
    assert "olivia" in row.inner_text()
    row.locator('button[value="approve"]').click()
    result = row.locator(".form-result.error")
    result.wait_for()
    assert "approver role" in result.inner_text()
    assert errors == []

    approver = browser.new_page(viewport={"width": 1440, "height": 900})
    sign_in(approver, dashboard.url, dashboard.approver, "/slos/voice-sla")
    row = approver.locator(f'tr[data-exclusion="{proposed.id}"]')
    row.locator("textarea").fill("INC-77 confirmed")
    row.locator('button[value="approve"]').click()
    approver.locator(f'tr[data-exclusion="{proposed.id}"][data-status="approved"]').wait_for()
    approved = approver.locator(f'tr[data-exclusion="{proposed.id}"]').inner_text()
    assert "approved by victor (approver)" in approved
    after = app.evaluations.status(slo_ids=["voice-sla"])[0]
    assert after.excluded > before.excluded
