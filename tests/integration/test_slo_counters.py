"""The SLO event counters on /metrics (``errorbudget_slo_{good,bad,excluded}_events_total``)
and their history export, over a real SQLite store (docs/metrics.md).

- Differences of the cumulative counts over each window equal what ``status`` counts there
  (exclusions, maintenance windows and out-of-schedule minutes removed), for a segmented
  SLO and a one-series SLO; timeslices SLOs export none.
- The live collector is monotonic: a lowering revision or a retroactive exclusion is held
  and counted in ``errorbudget_slo_counter_corrections_total``, and later events add on top.
- A scrape never computes twice for one evaluation (minute and store revision).
- ``errorbudget export openmetrics`` writes, at each moment, what the live collector
  reported there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from errorbudget.app import App
from errorbudget.cli.main import main
from errorbudget.engine.windows import BURN_WINDOW_MINUTES
from errorbudget.exporter import SloCountersCollector, registry_for
from errorbudget.model import from_minute, segment_label, to_minute
from errorbudget.services.slo_counters import COUNTERS, counter_totals
from exclusion_records import approved_exclusion

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
CONFIG = """\
version: 1
store: {path: counters.db}
schedules:
  - name: daytime
    timezone: UTC
    hours: {mon-sun: ["06:00-22:00"]}
maintenance:
  - name: patching
    timezone: UTC
    start: "09:00"
    duration: 30m
    weekdays: [mon, tue, wed, thu, fri, sat, sun]
    slos: [calls]
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {type: rolling, length: 1d}
    segments: {keys: [queue]}
    schedule: daytime
    data: {min_coverage: 0}
  - id: api
    service: platform
    target: 0.99
    window: {type: rolling, length: 1d}
    data: {min_coverage: 0}
  - id: slices
    service: platform
    target: 0.99
    window: {type: rolling, length: 1d}
    budgeting: timeslices
    timeslice: {length: 1m, target: 0.9}
    data: {min_coverage: 0}
"""


def open_app(tmp_path: Path, moment: list[datetime]) -> App:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return App.open(path, clock=lambda: moment[0])


def write(
    app: App, slo: str, segment: tuple[tuple[str, str], ...], start: int, good: np.ndarray,
    total: np.ndarray,
) -> None:  # fmt: skip
    [series] = app.store.series_ids(slo, [segment])
    minutes = np.arange(start, start + len(total), dtype=np.int64)
    app.store.write_counts(
        np.full(len(total), series), minutes, good.astype(np.int64), total.astype(np.int64)
    )


def random_history(app: App, end: int, minutes: int, seed: int = 7) -> None:
    """``minutes`` of random counts before ``end`` for every series of every SLO."""
    rng = np.random.default_rng(seed)
    for slo, segment in [
        ("calls", (("queue", "billing"),)),
        ("calls", (("queue", "sales"),)),
        ("api", ()),
        ("slices", ()),
    ]:
        total = rng.integers(0, 40, minutes)
        good = total - rng.binomial(total, 0.15 if segment else 0.02)
        write(app, slo, segment, end - minutes, good, total)


def scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the SLO counter families: (sample name, sorted labels) → value."""
    from prometheus_client import generate_latest

    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        if family.name.startswith("errorbudget_slo_"):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def counter(found: dict, name: str, slo: str, segment: str = "(all)") -> float:  # type: ignore[type-arg]
    service = {"calls": "cc"}.get(slo, "platform")
    key = (
        f"errorbudget_slo_{name}_events_total",
        tuple(sorted({"slo": slo, "service": service, "segment": segment}.items())),
    )
    return float(found[key])


def test_window_differences_equal_what_status_counts(tmp_path: Path) -> None:
    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        random_history(app, at, 2 * 1440)
        approved_exclusion(
            app, slo="calls", segment={"queue": "billing"}, start=AT - timedelta(hours=5),
            end=AT - timedelta(hours=4), category="external-outage", reason="carrier",
            created_by="ann",
        )  # fmt: skip
        approved_exclusion(
            app, slo="slices", start=AT - timedelta(hours=3), end=AT - timedelta(hours=2),
            category="external-outage", reason="carrier", created_by="ann",
        )  # fmt: skip
        windows = {**BURN_WINDOW_MINUTES, "period": 1440}
        instants = sorted({at - length for length in windows.values()} | {at})
        totals = counter_totals(app.evaluations, at - 3 * 1440, instants)
        statuses = [s for s in app.evaluations.status() if s.segment or s.slo != "calls"]
        labelled = {(s.slo, s.segment): s for s in statuses}
        assert {(s.slo, s.segment) for s in totals.series} == {
            ("calls", "queue=billing"),
            ("calls", "queue=sales"),
            ("api", "(all)"),
            ("slices", "(all)"),
        }  # fmt: skip  (the timeslices SLO counts slices, as its status does)
        checked = 0
        for column, series in enumerate(totals.series):
            [status] = [
                s for (slo, seg), s in labelled.items()
                if slo == series.slo and segment_label(seg) == series.segment
            ]  # fmt: skip
            now = totals.values[instants.index(at), column]
            for window, length in windows.items():
                then = totals.values[instants.index(at - length), column]
                good, bad, excluded = now - then
                if window == "period":
                    assert good + bad == status.eligible
                    assert bad == status.bad
                    assert excluded == status.excluded
                    rate = status.period_burn_rate
                else:
                    rate = status.burn_rates[window]
                if good + bad == 0:
                    assert rate is None
                    continue
                assert rate == pytest.approx(bad / (good + bad) / (1 - status.target), rel=1e-12)
                checked += 1
        assert checked >= 28
        # the exclusion, the maintenance window and the schedule all removed something
        billing = labelled[("calls", (("queue", "billing"),))]
        sales = labelled[("calls", (("queue", "sales"),))]
        assert billing.excluded > sales.excluded > 0 and sales.out_of_schedule > 0
        slices = labelled[("slices", ())]
        assert slices.budgeting == "timeslices" and 0 < slices.bad < slices.eligible < 1440
        assert slices.excluded > 0  # (equal to the counters' above)


def test_the_live_counters_start_at_zero_and_count_each_new_minute(tmp_path: Path) -> None:
    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        random_history(app, at, 1440)
        registry = registry_for(app.evaluations)
        first = scrape(registry)
        assert counter(first, "good", "api") == 0 and counter(first, "bad", "api") == 0
        anchor_key = ("errorbudget_slo_counters_anchor_timestamp_seconds", ())
        assert first[anchor_key] == at * 60
        write(app, "api", (), at, np.array([7, 8]), np.array([10, 10]))
        moment[0] = AT + timedelta(minutes=1, seconds=30)
        assert counter(scrape(registry), "good", "api") == 7  # minute at + 1 is still open
        moment[0] = AT + timedelta(minutes=2)
        found = scrape(registry)
        assert (counter(found, "good", "api"), counter(found, "bad", "api")) == (15, 5)
        assert not any("corrections" in name for name, _ in found)


def test_a_lowering_revision_is_held_and_counted_never_a_decrease(tmp_path: Path) -> None:
    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        registry = registry_for(app.evaluations)
        scrape(registry)  # anchors at AT
        write(app, "api", (), at, np.array([8, 9, 9]), np.array([10, 10, 10]))
        moment[0] = AT + timedelta(minutes=3)
        before = scrape(registry)
        assert (counter(before, "good", "api"), counter(before, "bad", "api")) == (26, 4)
        # a late revision lowers minute `at`: 8 good of 10 becomes 2 good of 3
        write(app, "api", (), at, np.array([2]), np.array([3]))
        revised = scrape(registry)
        assert counter(revised, "good", "api") == 26  # held, not 20
        assert counter(revised, "bad", "api") == 4  # 2 → 1 bad: held too
        corrections = {
            dict(labels)["counter"]: value
            for (name, labels), value in revised.items()
            if name == "errorbudget_slo_counter_corrections_total"
        }
        assert corrections == {"good": 6.0, "bad": 1.0}
        # later events count on from the held level
        write(app, "api", (), at + 3, np.array([5]), np.array([9]))
        moment[0] = AT + timedelta(minutes=4)
        after = scrape(registry)
        assert (counter(after, "good", "api"), counter(after, "bad", "api")) == (31, 8)


def test_a_retroactive_exclusion_raises_excluded_and_holds_good_and_bad(tmp_path: Path) -> None:
    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        registry = registry_for(app.evaluations)
        scrape(registry)
        write(app, "api", (), at, np.array([6, 6, 6, 6]), np.array([10, 10, 10, 10]))
        moment[0] = AT + timedelta(minutes=4)
        before = scrape(registry)
        assert counter(before, "excluded", "api") == 0
        approved_exclusion(
            app, slo="api", start=AT, end=AT + timedelta(minutes=2), category="external-outage",
            reason="upstream", created_by="ann",
        )  # fmt: skip
        after = scrape(registry)
        assert counter(after, "excluded", "api") == 20
        assert (counter(after, "good", "api"), counter(after, "bad", "api")) == (24, 16)
        corrections = {
            dict(labels)["counter"]: value
            for (name, labels), value in after.items()
            if name == "errorbudget_slo_counter_corrections_total"
        }
        assert corrections == {"good": 12.0, "bad": 8.0}


def test_a_scrape_computes_once_per_evaluation(tmp_path: Path) -> None:
    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        random_history(app, at, 600)
        collector = SloCountersCollector(app.evaluations)
        calls: list[int] = []
        sums = app.store.sums

        def counted(*args: object, **kwargs: object) -> np.ndarray:
            calls.append(1)
            return sums(*args, **kwargs)  # type: ignore[arg-type]

        app.store.sums = counted  # type: ignore[method-assign]
        list(collector.collect())
        evaluated = len(calls)
        assert evaluated > 0
        for _ in range(5):
            list(collector.collect())
        assert len(calls) == evaluated  # same minute and revision: nothing read again
        write(app, "api", (), at, np.array([1]), np.array([1]))  # the revision moves
        list(collector.collect())
        assert len(calls) > evaluated


def test_the_export_writes_what_the_live_counters_reported(tmp_path: Path) -> None:
    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        random_history(app, at, 1440)
        registry = registry_for(app.evaluations)
        live: dict[int, dict] = {}  # type: ignore[type-arg]
        rng = np.random.default_rng(3)
        moment[0] = AT + timedelta(seconds=20)
        live[int(moment[0].timestamp())] = scrape(registry)  # anchors the counters at AT
        for step in range(1, 40):  # data keeps arriving while it is scraped
            write(app, "calls", (("queue", "billing"),), at + step - 1, np.array([3]),
                  np.array([rng.integers(3, 9)]))  # fmt: skip
            write(app, "api", (), at + step - 1, np.array([9]), np.array([10]))
            moment[0] = AT + timedelta(minutes=step, seconds=20)
            live[int(moment[0].timestamp())] = scrape(registry)
        config = tmp_path / "errorbudget.yaml"
        end = max(live)
    output = tmp_path / "history.om"
    result = CliRunner().invoke(
        main,
        ["export", "openmetrics", "-c", str(config), "--from",
         (AT + timedelta(seconds=20)).isoformat(),
         "--to", datetime.fromtimestamp(end, UTC).isoformat(), "--step", "60s", "-o",
         str(output)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    assert text.endswith("# EOF\n")
    exported: dict[tuple[str, tuple[tuple[str, str], ...], int], float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, value, stamp = line.rsplit(" ", 2)
        exported[(series, (), int(stamp))] = float(value)
    compared = 0
    for stamp, found in live.items():
        for (name, labels), value in found.items():
            if not name.endswith("_events_total"):
                continue
            rendered = ",".join(f'{k}="{v}"' for k, v in (
                ("slo", dict(labels)["slo"]), ("service", dict(labels)["service"]),
                ("segment", dict(labels)["segment"]),
            ))  # fmt: skip
            assert exported[(f"{name}{{{rendered}}}", (), stamp)] == value
            compared += 1
    assert compared == len(live) * 4 * 3  # every moment, 4 series, 3 counters
    # a gap in the middle of the exporter's life, filled with its anchor: the same values
    gap_start = AT + timedelta(minutes=10, seconds=20)
    result = CliRunner().invoke(
        main,
        ["export", "openmetrics", "-c", str(config), "--from", gap_start.isoformat(),
         "--to", (gap_start + timedelta(minutes=5)).isoformat(), "--anchor", AT.isoformat()],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    gap = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert len(gap) == 6 * 4 * 3
    for line in gap:
        series, value, stamp = line.rsplit(" ", 2)
        assert exported[(series, (), int(stamp))] == float(value), line
    assert any(value > 0 for (series, _, _), value in exported.items() if "bad_events" in series)


def test_the_export_in_milliseconds_for_victoriametrics(tmp_path: Path) -> None:
    moment = [AT]
    with open_app(tmp_path, moment) as app:
        random_history(app, to_minute(AT), 60)
    result = CliRunner().invoke(
        main,
        ["export", "openmetrics", "-c", str(tmp_path / "errorbudget.yaml"), "--from",
         from_minute(to_minute(AT) - 60).isoformat(), "--to", AT.isoformat(), "--step", "15s",
         "--slo", "api", "--timestamp-unit", "ms"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    samples = [line for line in result.output.splitlines() if not line.startswith("#")]
    assert "# EOF" not in result.output
    assert len(samples) == len(COUNTERS) * (60 * 4 + 1)  # one series, both ends included
    stamps = [int(line.rsplit(" ", 1)[1]) for line in samples[: 60 * 4 + 1]]
    assert stamps[0] == (to_minute(AT) - 60) * 60_000 and stamps[-1] == to_minute(AT) * 60_000
    assert all(b - a == 15_000 for a, b in pairwise(stamps))
    last_good = float(samples[60 * 4].split(" ")[1])
    assert last_good > 0


def test_an_older_evaluation_served_after_a_newer_one_is_no_correction(tmp_path: Path) -> None:
    """Two scrapes at once may each be served a different evaluation; the older one's
    counts, lower than those already exported, must not be held as a correction (that
    would add them again later)."""
    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        registry = registry_for(app.evaluations)
        scrape(registry)
        write(app, "api", (), at, np.array([5, 5, 5]), np.array([10, 10, 10]))
        moment[0] = AT + timedelta(minutes=3)
        assert counter(scrape(registry), "good", "api") == 15
        moment[0] = AT + timedelta(minutes=1)  # an older evaluation is served
        older = scrape(registry)
        assert counter(older, "good", "api") == 15
        assert not any("corrections" in name for name, _ in older)
        write(app, "api", (), at + 3, np.array([5]), np.array([10]))
        moment[0] = AT + timedelta(minutes=4)
        assert counter(scrape(registry), "good", "api") == 20  # nothing held, nothing added


def test_the_budget_gauges_are_rendered_once_per_evaluation_and_equal_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/metrics``' budget text (``BudgetExposition``) is what the budget collector would
    render, built once per evaluation however often it is scraped, and again once the
    minute or the stored data moves."""
    from prometheus_client import generate_latest

    from errorbudget.exporter import BudgetCollector, BudgetExposition

    moment = [AT]
    at = to_minute(AT)
    with open_app(tmp_path, moment) as app:
        random_history(app, at, 1440)
        built: list[int] = []
        families = BudgetCollector.families

        def counted(self: BudgetCollector, statuses: object) -> object:
            built.append(1)
            return families(self, statuses)  # type: ignore[arg-type]

        monkeypatch.setattr(BudgetCollector, "families", counted)
        budget = BudgetExposition(app.evaluations)
        alone = CollectorRegistry(auto_describe=False)
        alone.register(BudgetCollector(app.evaluations))
        first = budget.render()
        assert budget.render() is first and len(built) == 1  # a second scrape: no rebuild
        assert first == generate_latest(alone)
        assert b'errorbudget_budget_remaining_ratio{segment="(all)",service=' in first
        write(app, "api", (), at - 1, np.array([0]), np.array([50]))  # the data moves
        moved = budget.render()
        assert moved != first and moved == generate_latest(alone)
        moment[0] = AT + timedelta(minutes=1)  # the minute moves
        assert budget.render() == generate_latest(alone)
        assert len(built) == 6  # three evaluations rendered once each, and three references


def test_the_dashboards_whole_slo_panels_select_series_the_exporter_exports(
    tmp_path: Path,
) -> None:
    """The budget gauges and projected-end stats of ``generate grafana-dashboard`` read
    the whole SLO's gauges: the selector's ``segment`` must be the label /metrics gives
    that row (``segment_label(())``), or every gauge shows "no data"."""
    import re

    from prometheus_client import generate_latest

    from errorbudget.generate.grafana import dashboard_document

    moment = [AT]
    with open_app(tmp_path, moment) as app:
        random_history(app, to_minute(AT), 1440)
        exported = {
            (sample.labels["slo"], sample.labels["segment"])
            for family in text_string_to_metric_families(
                generate_latest(registry_for(app.evaluations)).decode()
            )
            if family.name == "errorbudget_budget_remaining_ratio"
            for sample in family.samples
        }
        document = dashboard_document(app.loaded)
    selector = re.compile(r'errorbudget_budget_remaining_ratio\{slo="([^"]+)", segment="([^"]*)"\}')
    wanted = {
        found
        for panel in document["panels"]
        for target in panel.get("targets", [])
        for found in selector.findall(target.get("expr", ""))
    }
    assert {slo for slo, _ in wanted} == {"calls", "api", "slices"}
    assert wanted <= exported, sorted(wanted - exported)


def test_the_budget_text_of_past_evaluations_is_not_kept(tmp_path: Path) -> None:
    """The rendered budget text is megabytes for 1,000 series and a new evaluation comes
    every minute: only the latest evaluation's text may be held, not one per evaluation
    (the shared memo keeps 4,096 entries — days of 2.5 MB renderings)."""
    from errorbudget.exporter import BudgetExposition

    moment = [AT]
    with open_app(tmp_path, moment) as app:
        random_history(app, to_minute(AT), 1440)
        budget = BudgetExposition(app.evaluations)
        texts = []
        for step in range(12):  # twelve scraped minutes
            moment[0] = AT + timedelta(minutes=step)
            texts.append(budget.render())
        memo = vars(app.evaluations)["_memo"].values()
        held = [*memo, *vars(budget).values()]  # what the service and the exposition keep
        parts = [p for v in held for p in (v if isinstance(v, tuple) else (v,))]
        size = sum(len(part) for part in parts if isinstance(part, bytes))
        assert size <= len(texts[-1])  # the latest text only
        assert budget.render() is budget.render()  # and still rendered once per evaluation
