"""`errorbudget demo` end to end: the simulator behind the fake Genesys Cloud API on
127.0.0.1, the real collector's 30-day backfill, statuses and a gate decision."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.cli.main import main

AT = "2026-11-25T16:00:00Z"


def test_demo_collects_from_the_fake_api_and_shows_budgets(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--once", "--dir", str(tmp_path), "--at", AT])
    assert result.exit_code == 0, result.output
    assert "Collected 30 days from the fake Genesys Cloud API" in result.output
    for slo in ("voice-sla", "digital-sla", "ivr-completion", "api-availability"):
        assert slo in result.output
    assert "Gate for contact-center" in result.output
    assert "Incident: Carrier degradation" in result.output

    with App.open(tmp_path / "errorbudget.yaml") as app:
        statuses = {(s.slo, s.segment): s for s in app.status(at=datetime.fromisoformat(AT))}
        applied = app.store.audit_log(action="config.apply")
    assert len(applied) == 1  # the demo's config, recorded once when it was applied
    # The seeded story: the Spanish billing IVR flow has burned since its payment step broke.
    billing = statuses[("ivr-completion", (("flow", "Billing ES"),))]
    assert billing.burn_rates["1d"] is not None and billing.burn_rates["1d"] > 1
    assert any(a.severity == "ticket" for a in billing.alerts)
    vip = statuses[("voice-sla", (("queue", "VIP Billing"), ("tier", "vip")))]
    assert vip.target == 0.95
    assert vip.eligible > 1_000
    # Every queue the scenario serves through the API shows up as a series.
    queues = {
        dict(s.segment).get("queue") for (slo, _), s in statuses.items() if slo == "voice-sla"
    }
    assert {"VIP Billing", "Sales", "Support", "Billing ES"} <= queues
