"""Write examples/counts.csv: a week of hourly counts for examples/contact-center.yaml.

The counts are the demo's (``errorbudget demo --once --at 2026-11-25T16:00Z``, seed 7):
the simulated contact center collected through the fake Genesys Cloud API, summed per hour,
for the example's pushed SLOs (voice-sla by tier and queue, digital-sla by queue,
ivr-completion by flow), in the CSV that ``errorbudget ingest`` reads.

    .venv/bin/python scripts/example_counts.py            # writes examples/counts.csv
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from datetime import timedelta
from pathlib import Path

from errorbudget.demo.world import DEMO_AT, DemoWorld
from errorbudget.model import from_minute, to_minute

ROOT = Path(__file__).resolve().parent.parent
SLOS = ("voice-sla", "digital-sla", "ivr-completion")
COLUMNS = ("time", "slo", "tier", "queue", "flow", "good", "total")
DAYS = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "counts.csv")
    args = parser.parse_args()
    end = to_minute(DEMO_AT)
    hours = [(end - (h + 1) * 60, end - h * 60) for h in reversed(range(DAYS * 24))]
    rows: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(prefix="errorbudget-counts-") as tmp,
        DemoWorld(Path(tmp), DEMO_AT) as world,
    ):
        world.backfill()
        store = world.app.store
        for slo in SLOS:
            for series in sorted(store.list_series(slo), key=lambda s: s.segment):
                sums = store.sums([series.id], hours)[0]
                for (start, _), (good, total) in zip(hours, sums, strict=True):
                    if total:
                        rows.append(
                            {
                                "time": from_minute(start).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                "slo": slo,
                                **dict(series.segment),
                                "good": int(good),
                                "total": int(total),
                            }
                        )
    rows.sort(key=lambda row: (str(row["time"]), str(row["slo"])))
    with args.out.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    first = DEMO_AT - timedelta(days=DAYS)
    print(f"{args.out}: {len(rows)} rows, {first:%Y-%m-%d %H:%M} to {DEMO_AT:%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
