"""`errorbudget demo` end to end: data generated, ingested, statuses and a gate decision."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.cli.main import main

AT = "2026-11-25T16:00:00Z"


def test_demo_shows_every_seed_slo_and_a_gate_decision(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), "--at", AT])
    assert result.exit_code == 0, result.output
    for slo in ("voice-sla", "digital-sla", "ivr-completion", "api-availability"):
        assert slo in result.output
    assert "Gate for contact-center" in result.output
    assert "Incident: carrier degradation" in result.output

    with App.open(tmp_path / "errorbudget.yaml") as app:
        moment = datetime.fromisoformat(AT)
        statuses = {(s.slo, s.segment): s for s in app.status(at=moment)}
    # The seeded story: the Spanish billing flow burns since its change three days ago.
    billing = statuses[("ivr-completion", (("flow", "billing-es"),))]
    assert billing.burn_rates["1d"] is not None and billing.burn_rates["1d"] > 1
    assert any(a.severity == "ticket" for a in billing.alerts)
    vip = statuses[("voice-sla", (("queue", "vip-billing"), ("tier", "vip")))]
    assert vip.target == 0.95
    # The incident hurt the API's slices, but the budget is not gone.
    api = statuses[("api-availability", ())]
    assert api.budgeting == "timeslices"
    assert api.budget_remaining_ratio is not None and 0 < api.budget_remaining_ratio < 1
