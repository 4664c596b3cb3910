"""Alert noise on the demo contact center: errorbudget's rules beside a threshold alert.

Builds the demo's world (``errorbudget.demo``: the simulated contact center with its
incidents, 30 days collected by the real collector through the fake Genesys Cloud API), runs
``alerts replay`` over its last 28 days at 1-minute steps with the demo config's rules, and
writes the section "Noise: errorbudget's rules beside a threshold alert" of docs/alerting.md:
notifications per week from the rules (pages, tickets and notices apart) beside what a
single-window threshold alert (SLI over 5 minutes below target) sends on the same data, and
what each simulated incident did.

    .venv/bin/python scripts/alert_noise.py                       # rewrite the section
    .venv/bin/python scripts/alert_noise.py --output /dev/stdout  # only look

Deterministic (the demo's instant and seed): the figures change only with the rules, the
simulator or the collector.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from errorbudget.demo.noise import (
    MAX_PAGES_OUTSIDE,
    WEEKS,
    DemoNoise,
    demo_noise,
    during,
    hurts,
)
from errorbudget.demo.world import DEMO_AT, DEMO_SEED
from errorbudget.model import from_minute, to_minute
from errorbudget.replay import Incident, Replay

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Noise: errorbudget's rules beside a threshold alert"

WHY = [
    "Before these changes (commit 873cf03) the same replay found 36 page episodes outside "
    "the incidents (27 on `digital-sla` queue=Email, all in its first open hour; 9 on the "
    "small VIP Billing voice queue) and the carrier incident paged after 76 minutes, on VIP "
    "Billing only. Each change is one a contact-center team would make:",
    "",
    "- **Email's service level is one business day (24 h), not 4 h** (the simulated org's "
    "queue setting, `simulate/default_scenario.py`): the queue closes 14 hours a night and "
    "carries its mail over, so every email received after 18:00 missed 4 h and all of them "
    "were answered, and counted, in the first open hour (SLI 0.76-0.80 in that hour), a page "
    "every morning that nobody could act on.",
    "- **VIP Billing is staffed for the 95 % within 30 s its tier promises** (square-root "
    "staffing β 1.6 → 2.2): it delivered 95.6 % over the month, so an ordinary month spent its "
    "whole budget and any busy hour paged; it now delivers 98 %, the margin a center staffs "
    "its VIP tier with.",
    "- **The carrier degradation is the major outage its story says** (three agent lines in "
    "four down instead of 45 %): at 45 % it left the standard queues near 50 % within 30 s on "
    "a quiet Sunday, a 2.5× burn at 80 % that rightly pages nobody (below the 3.6× factor), "
    "and only VIP's 95 % turned it into a page, after 76 minutes.",
    "- **Pages keep firing 15 minutes after their condition last held** (`tiers: "
    "{page-1h-5m: {keep: 15m}, page-6h-30m: {keep: 15m}}`): the demo's data arrive in "
    "15-minute intervals, so a 5-minute window holds each interval for 5 of its 15 minutes "
    "and one burn paged, resolved and paged again every interval.",
    "",
    "Detection is bounded by those intervals: an interval's counts arrive at its end, so the "
    "carrier outage pages when its second interval lands, the first at which the hour's burn "
    "exceeds 3.6× (VIP Billing and Sales in one grouped notification; Support 15 minutes "
    "later). Paging within 5 minutes needs minute data; on 15-minute data google-30d's "
    "adapted 14.4× condition pages on single bad intervals of the quiet evening queues "
    "(tried on these weeks: 45 pages outside incidents), so the demo keeps its own catalog. "
    "The pages left outside the incidents are on VIP Billing, where at a 95 % target a "
    "handful of late calls in a quiet hour pass a page condition; after the carrier outage the 6h "
    "window still holds its burn, and one late call in a Sunday evening's 30-minute window "
    "pages again. The Spanish billing IVR incident fails 30 % of one flow's visits: a steady "
    "burn below every page condition, left to tickets. The Analytics API incident hurts only "
    "`api-availability`, a timeslice SLO that replay leaves out.",
]
"""Why the demo's figures are what they are (one sentence per change)."""


def revision() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    return found.stdout.strip() or "unknown"


def _week(found: Replay, incident: Incident) -> int:
    return (incident.fired_at - found.start) // (7 * 1440)


def _segment(incident: Incident) -> str:
    return ",".join(f"{k}={v}" for k, v in incident.segment) or "(all)"


def _by_series(incidents: list[Incident]) -> str:
    by_series: dict[str, list[int]] = {}
    for incident in incidents:
        key = f"{incident.slo} {_segment(incident)}"
        by_series.setdefault(key, []).append(incident.fired_at)
    return (
        "; ".join(
            f"{key}: {len(fired)} ("
            + ", ".join(f"{from_minute(m):%a %m-%d %H:%M}" for m in sorted(fired))
            + ")"
            for key, fired in sorted(by_series.items())
        )
        or "none"
    )


def section(noise: DemoNoise) -> str:
    """The Markdown section."""
    found = noise.replay
    told = [i for i in found.incidents if not i.inhibited]
    rows = []
    totals = [0, 0, 0, 0]
    for week in range(WEEKS):
        begins = from_minute(found.start) + timedelta(weeks=week)
        counts = [
            sum(i.notifications for i in told if _week(found, i) == week and i.severity == s)
            for s in ("page", "ticket", "notice")
        ]
        threshold = sum(
            i.notifications for i in found.threshold_incidents if _week(found, i) == week
        )
        totals = [a + b for a, b in zip(totals, [*counts, threshold], strict=True)]
        rows.append(
            f"| {begins:%Y-%m-%d} | {counts[0]} | {counts[1]} | {counts[2]} | {sum(counts)} "
            f"| {threshold} |"
        )
    rows.append(
        f"| **4 weeks** | **{totals[0]}** | **{totals[1]}** | **{totals[2]}** "
        f"| **{sum(totals[:3])}** | **{totals[3]}** |"
    )
    tickets = [i for i in told if i.severity == "ticket"]
    outage_rows = []
    ticketed: set[int] = set()
    for outage, hurt in noise.outages:
        its = noise.incident_pages(outage, hurt)
        began = to_minute(outage.start)
        if its:
            paged = "; ".join(
                f"{i.slo} {_segment(i)} at {from_minute(i.fired_at):%H:%M} "
                f"(+{i.fired_at - began} min)"
                for i in sorted(its, key=lambda i: i.fired_at)
            )
        else:
            paged = "no page"
        its_tickets = [i for i in tickets if hurts(i, hurt) and during(i, outage)]
        ticketed.update(id(i) for i in its_tickets)
        slos = ", ".join(sorted({slo for slo, _ in hurt})) or "none"
        outage_rows.append(
            f"| {outage.name} | {outage.start:%m-%d %H:%M}–{outage.end:%m-%d %H:%M} "
            f"| {slos} | {len(its)}: {paged} | {len(its_tickets)} |"
        )
    outside = noise.pages_outside()
    tickets_outside = [i for i in tickets if id(i) not in ticketed]
    burn_tickets = [i for i in tickets_outside if i.alertname == "ErrorBudgetBurn"]
    end = from_minute(found.end)
    lines = [
        HEADING,
        "",
        f"Written by `scripts/alert_noise.py` (commit {revision()}): the demo contact center "
        f"(seed {DEMO_SEED}) collected through the fake Genesys Cloud API, replayed with "
        f"`alerts replay` at 1-minute steps over the {WEEKS} weeks "
        f"{from_minute(found.start):%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC "
        f"({found.series} series; the timeslice SLO `api-availability` is left out by replay), "
        "with the demo config's rules (its `contact-center-30d` catalog, pages kept 15 minutes, "
        "budget alerts, "
        "no-data and stale alerts off). A notification is a firing or a resolve; an "
        "inhibited episode sends none. The threshold alert fires whenever the SLI over the "
        "last 5 minutes is below target and resolves when it is not, per series.",
        "",
        "Notifications per week (a page episode sends two: its firing and its resolve):",
        "",
        "| week from | pages | tickets | notices | errorbudget, all | threshold alert |",
        "|---|--:|--:|--:|--:|--:|",
        *rows,
        "",
        "What each simulated incident in those weeks did:",
        "",
        "| incident | when (UTC) | SLOs it hurts | pages (series, fired, after its start) "
        "| tickets |",
        "|---|---|---|---|--:|",
        *outage_rows,
        "",
        f"Outside those incidents, over {WEEKS} weeks: **{len(outside)} page episodes** "
        f"({len(outside) / WEEKS:g} a week; each a firing and a resolve): "
        f"{_by_series(outside)}; and {len(tickets_outside)} ticket episodes "
        f"({len(tickets_outside) / WEEKS:g} a week: {len(burn_tickets)} slow burns, "
        f"{len(tickets_outside) - len(burn_tickets)} budget-consumed warnings).",
        "",
        *WHY,
        "",
    ]
    return "\n".join(lines)


def update(path: Path, text: str) -> None:
    """Replace the section in ``path`` (or append it)."""
    if str(path) == "/dev/stdout":
        print(text)
        return
    current = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(HEADING) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "alerting.md")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 when more than {MAX_PAGES_OUTSIDE} pages fall outside the incidents",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="errorbudget-noise-") as directory:
        noise = demo_noise(Path(directory), DEMO_AT)
    update(args.output, section(noise))
    outside = len(noise.pages_outside())
    if args.check and outside > MAX_PAGES_OUTSIDE:
        print(f"{outside} pages outside the demo's incidents (at most {MAX_PAGES_OUTSIDE})")
        sys.exit(1)


if __name__ == "__main__":
    main()
