"""The issue #9 CLI benchmark: what a user waits for when they run a command.

Whole processes, as a user runs them (``python -m errorbudget …``, interpreter start-up,
imports, config, store and evaluation included): ``errorbudget --help``, ``errorbudget
--version`` and ``errorbudget status`` over 100 one-series SLOs with a day of 1-minute counts
each. With ``--baseline SRC`` (an older revision's ``src``: ``git archive REV src | tar -x -C
/tmp/old``) both revisions run interleaved, run by run, so load on the machine hits both
alike; the medians are compared.

Python's bytecode cache is on, as for an installed package (pip compiles the modules when it
installs them), kept in a temporary ``PYTHONPYCACHEPREFIX`` and filled by the unmeasured
first run; ``PYTHONDONTWRITEBYTECODE`` in the caller's environment would otherwise make
every run compile each module from source (~80 ms of ``status``). The ``status`` row "no
bytecode cache" measures exactly that case (a source checkout run with
``PYTHONDONTWRITEBYTECODE=1``).

    python benchmarks/cli_startup.py --runs 15 --baseline /tmp/old/src

Prints the Markdown section (``--output`` writes it into docs/performance.md instead).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEADING = "## Issue #9 — CLI start-up"
HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
SLOS = 100
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STATUS = f"errorbudget status ({SLOS} SLOs)"
PYDANTIC = {"pydantic", "pydantic_core", "annotated_types", "typing_extensions"} | {
    "typing_inspection"
}
"""Counted as pydantic in where the time goes: pydantic and the packages only it imports."""


def write_world(workdir: Path, src: Path = SRC) -> Path:
    """A config of ``SLOS`` one-series SLOs (rolling 28d) and a day of counts for each,
    ingested into its store by the revision in ``src`` (each revision reads its own store:
    their schema versions may differ)."""
    workdir.mkdir(parents=True, exist_ok=True)
    slos = "".join(
        f"  - {{id: slo-{i:03d}, service: svc-{i % 5}, target: 0.99,"
        f" window: {{type: rolling, length: 28d}}, data: {{min_coverage: 0}}}}\n"
        for i in range(SLOS)
    )
    config = workdir / "errorbudget.yaml"
    config.write_text(f"version: 1\nstore: {{path: bench.db}}\nslos:\n{slos}", encoding="utf-8")
    counts = workdir / "counts.csv"
    with counts.open("w", encoding="utf-8") as out:
        out.write("time,slo,good,total\n")
        for minute in range(24 * 60):
            stamp = (AT - timedelta(minutes=24 * 60 - minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for i in range(SLOS):
                out.write(f"{stamp},slo-{i:03d},{99 + (minute + i) % 2},100\n")
    run(src, "ingest", "-c", str(config), str(counts), "--format", "json")
    return config


def run(src: Path, *args: str, pycache: Path | None = None) -> float:
    """Seconds a whole ``python -m errorbudget ARGS`` process takes, with ``src`` first on
    the path; it must succeed. With ``pycache``, bytecode is read from and written to that
    directory; without, every module is compiled from source."""
    environment = {**os.environ, "PYTHONPATH": str(src)}
    environment.pop("PYTHONPYCACHEPREFIX", None)
    if pycache is None:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        # site-packages keep the bytecode pip wrote; errorbudget's own modules get none
        environment["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "no-such-dir")
    else:
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        environment["PYTHONPYCACHEPREFIX"] = str(pycache)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "errorbudget", *args],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"errorbudget {' '.join(args)} failed ({src}):\n{done.stderr}")
    return seconds


def measure(
    runs: int, baseline: Path | None
) -> tuple[dict[str, dict[str, list[float]]], dict[str, float]]:
    """Times per command and revision ("new", and "old" with a baseline), interleaved; and
    where the new revision's ``status`` spends its time (:func:`where_time_goes`)."""
    with tempfile.TemporaryDirectory(prefix="errorbudget-cli-") as tmp:
        revisions = {"new": SRC, **({"old": baseline} if baseline else {})}
        configs = {name: write_world(Path(tmp) / name, src) for name, src in revisions.items()}
        pycache = Path(tmp) / "pycache"

        def status(revision: str) -> list[str]:
            return ["status", "-c", str(configs[revision]), "--at", AT.isoformat()]

        commands: dict[str, tuple[Callable[[str], list[str]], Path | None]] = {
            "errorbudget --help": (lambda _: ["--help"], pycache),
            "errorbudget --version": (lambda _: ["--version"], pycache),
            STATUS: (status, pycache),
            f"{STATUS}, no bytecode cache": (status, None),
        }
        times: dict[str, dict[str, list[float]]] = {c: {r: [] for r in revisions} for c in commands}
        for name, (args, cache) in commands.items():
            for revision, src in revisions.items():
                # one run each to fill the OS caches (and the bytecode cache): not measured
                run(src, *args(revision), pycache=cache)
            for _ in range(runs):
                for revision, src in revisions.items():
                    times[name][revision].append(run(src, *args(revision), pycache=cache))
        return times, where_time_goes(status("new"), pycache, runs=min(runs, 5))


def where_time_goes(args: list[str], pycache: Path, runs: int) -> dict[str, float]:
    """Milliseconds of ``errorbudget ARGS`` (the new revision) by what spends them: each
    imported package's own import time (``-X importtime``, modules grouped by top-level
    name, pydantic with its helper packages), and "not importing" (the whole process less
    all imports); the median of ``runs`` runs each."""
    environment = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONPYCACHEPREFIX": str(pycache)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "errorbudget", *args],
            env=environment, capture_output=True, text=True, check=True,
        )  # fmt: skip
        whole = (time.perf_counter() - started) * 1000
        spent: dict[str, float] = {}
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, _, name = line.removeprefix("import time:").split("|")
            root = name.strip().split(".")[0]
            group = "pydantic" if root in PYDANTIC else root
            spent[group] = spent.get(group, 0.0) + int(own) / 1000
        spent["not importing"] = whole - sum(spent.values())
        for group, ms in spent.items():
            samples.setdefault(group, []).append(ms)
    return {group: statistics.median(ms) for group, ms in samples.items()}


def section(
    times: dict[str, dict[str, list[float]]],
    breakdown: dict[str, float],
    runs: int,
    baseline: str | None,
) -> str:
    def median_ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:,.0f} ms"

    targets = {"errorbudget --help": "< 200 ms", STATUS: "< 400 ms"}
    rows = []
    for name, by_revision in times.items():
        new = by_revision["new"]
        old = by_revision.get("old")
        before = f"{median_ms(old)}" if old else "—"
        ratio = f"{statistics.median(old) / statistics.median(new):.1f}×" if old else "—"
        rows.append(
            f"| `{name}` | {targets.get(name, '—')} | {before} | **{median_ms(new)}** "
            f"(min {min(new) * 1000:,.0f}, max {max(new) * 1000:,.0f}) | {ratio} |"
        )
    compared = f" against {baseline} (before)" if baseline else ""
    ranked = sorted(breakdown.items(), key=lambda item: -item[1])
    shown = ranked[:9]  # "not importing" and the packages that cost most
    other = sum(ms for _, ms in ranked[9:])
    spent = "\n  ".join(
        textwrap.wrap(
            ", ".join(f"{group} {ms:,.0f}" for group, ms in shown) + f", other {other:,.0f}", 88
        )
    )
    whole = sum(breakdown.values())
    status_ms = statistics.median(times[STATUS]["new"]) * 1000
    verdict = (
        f"- `status` meets its target in this run ({status_ms:,.0f} ms < 400 ms)."
        if status_ms < 400
        else f"- `status` misses its target in this run ({status_ms:,.0f} ms ≥ 400 ms, at"
        f" load {os.getloadavg()[0]:.1f}): where the time goes is below."
    )
    return f"""{HEADING}

Measured by `benchmarks/cli_startup.py` on {datetime.now(tz=UTC):%Y-%m-%d}{compared}: whole
processes (`python -m errorbudget …`), median of {runs} interleaved runs each, after one
unmeasured run to warm the OS caches (and fill the bytecode cache: Python compiles each module
once, as pip does when it installs a package; the last row compiles errorbudget's modules
on every run, as a source checkout with `PYTHONDONTWRITEBYTECODE=1` does). Load average when
it finished: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares the
machine: compare the two columns, not runs).

| command | target | before | after | faster |
|---|---|---|---|---|
{chr(10).join(rows)}

{verdict}
- The root command loads a subcommand's module only when that command runs (`COMMANDS` in
  `cli/main.py`): `--help` imports no command, and `status` imports neither the web server
  (FastAPI, uvicorn), the Genesys client (httpx) nor pyarrow; a test holds each of these.
- `status` includes reading the config, opening the store and evaluating {SLOS} SLOs of
  one series with a day of 1-minute counts each, and printing them as a table (rich).
  For a config without Genesys it loads no Genesys module; the outward schema's models only
  for `--format json|csv`, rich only for a table, the config error mapping only for an
  invalid config (tests hold each).
- Where `status`'s {whole:,.0f} ms go (milliseconds, median of the `-X importtime` runs of
  the after revision; imports by top-level package, their own time; "not importing" is
  reading the config, the store, the evaluation and rendering the table, plus the
  interpreter):
  {spent}.
- What would cut more lies outside the CLI (single runs on a quiet machine):
  `services/evaluations.py` imports asyncio at module level (~12 ms; only the warmer needs
  it); `App` imports and builds the changes, gate and records services, which `status` never
  calls (a few ms); `np.unique` in the store's `series_bounds` loads `numpy.ma` (~4 ms);
  pydantic reads every installed distribution's entry points for its plugins at the first
  model it builds (~6 ms, `importlib.metadata`); rich lays out the table's 1,313 cells
  (~70 ms: the largest single item; `--format json` skips it).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, default=None, help="an older revision's src")
    parser.add_argument("--label", default=None, help="what the baseline is, e.g. `9832d15`")
    parser.add_argument("--output", type=Path, default=None, help="docs/performance.md")
    parser.add_argument("--json", action="store_true", help="print the raw times as JSON")
    args = parser.parse_args()
    times, breakdown = measure(args.runs, args.baseline)
    if args.json:
        print(json.dumps({"times": times, "where_time_goes": breakdown}))
    label = args.label or (f"`{args.baseline}`" if args.baseline else None)
    text = section(times, breakdown, args.runs, label)
    if args.output is None:
        print(text)
        return
    sys.path.insert(0, str(HERE))
    from run import update_report  # benchmarks/run.py

    update_report(args.output, {HEADING: text})
    print(text)


if __name__ == "__main__":
    main()
