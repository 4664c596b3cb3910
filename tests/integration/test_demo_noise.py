"""The demo's alerting is quiet outside its incidents and pages for its outage: ``alerts
replay`` over the demo world's last 4 weeks (docs/alerting.md, "Noise")."""

from __future__ import annotations

from pathlib import Path

from errorbudget.demo.noise import MAX_PAGES_OUTSIDE, demo_noise
from errorbudget.demo.world import DEMO_AT
from errorbudget.model import to_minute


def test_the_demo_pages_for_its_carrier_outage_and_rarely_otherwise(tmp_path: Path) -> None:
    noise = demo_noise(tmp_path, DEMO_AT)

    outside = noise.pages_outside()
    assert len(outside) <= MAX_PAGES_OUTSIDE, [(i.slo, i.segment, i.fired_at) for i in outside]
    assert not [i for i in outside if i.slo == "digital-sla"]  # no morning email page

    carrier, hurt = next((o, h) for o, h in noise.outages if o.name.startswith("Carrier"))
    pages = noise.incident_pages(carrier, hurt)
    queues = {dict(i.segment)["queue"] for i in pages}
    assert {"VIP Billing", "Sales", "Support"} <= queues  # every busy voice queue it hits
    first = min(i.fired_at for i in pages) - to_minute(carrier.start)
    assert first <= 35  # its second 15-minute interval, not 76 minutes
