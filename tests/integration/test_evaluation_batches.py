"""SLOs evaluated together — one read per plan, one pass of the engine per batch — get
exactly the statuses each gets evaluated alone: whatever the other SLOs' targets (the
allowed bad events of an SLO stay at its own scale in the plan's read, and a batch whose
common scale would pass int64 is evaluated a scale at a time), burn catalogs (a batch
shares one) or alerting settings."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.engine.alerts import slo_conditions
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.status import evaluate_batch, range_counts, series_inputs
from errorbudget.engine.windows import plan
from errorbudget.evaluation import SloInputs, SloMemo, evaluate_slos
from errorbudget.model import SLO, to_minute
from errorbudget.store import Store, open_store

AT = to_minute(datetime(2026, 11, 16, 5, 7, tzinfo=UTC))
CATALOGS = builtin_burn_catalogs()
PRESET = builtin_policies()["contact-center"]


def _conditions(slo: SLO, target: object) -> list[EffectiveCondition]:
    return slo_conditions(CATALOGS[slo.alerting.catalog], slo, target)  # type: ignore[arg-type]


def _slo(name: str, target: float, **alerting: object) -> SLO:
    return SLO.model_validate(
        {
            "id": name,
            "service": "cc",
            "target": target,
            "window": {"type": "rolling", "length": "30d"},
            "segments": {"keys": ["queue"]},
            "alerting": alerting,
        }
    )


def _fill(store: Store, slo: SLO, queues: int, per_minute: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = store.series_ids(slo.id, [(("queue", f"q{i}"),) for i in range(queues)])
    minutes = np.arange(AT - 31 * 1440, AT, 7, dtype=np.int64)
    for series in ids:
        total = rng.poisson(per_minute, size=minutes.size)
        good = rng.binomial(total, 0.985)
        store.write_counts(np.full(minutes.size, series), minutes, good, total)


def _evaluate(store: Store, slos: list[SLO], memo: SloMemo | None = None) -> dict[str, object]:
    series = {}
    for info in store.list_series(None):
        series.setdefault(info.slo, []).append(info)
    inputs = [SloInputs(slo, series[slo.id], PRESET, None) for slo in slos]
    found = evaluate_slos(store, inputs, AT, [], _conditions, memo=memo)
    return {slo_id: (result.statuses, result.groups) for slo_id, result in found.items()}


@pytest.fixture
def store() -> Store:
    return open_store(":memory:")


def test_slos_together_get_what_each_gets_alone(store: Store) -> None:
    slos = [
        _slo("plain", 0.99),
        # sixteen decimals: a scale of 10**16, its own allowed bad events' only — on the plan
        # of the others (apart: alerting off) and in a batch with "plain" (the same key)
        _slo("fine", 0.9999999999999999, enabled=False),
        _slo("finer", 0.9999999999999999),
        _slo("paged", 0.95, catalog="page-only"),
        _slo("google", 0.999, catalog="google-30d"),
        _slo("guarded", 0.99, min_events=500),
    ]
    for seed, slo in enumerate(slos):
        _fill(store, slo, queues=3, per_minute=200, seed=seed)
    together = _evaluate(store, slos, SloMemo())
    for slo in slos:
        alone = _evaluate(store, [slo])
        assert together[slo.id] == alone[slo.id], slo.id
    plain_total = together["plain"][0][0]  # type: ignore[index]
    assert plain_total.budget_total > 0 and plain_total.state != "no_data"


def test_a_batch_refuses_rows_of_different_burn_catalogs() -> None:
    """What ``batch_key`` keeps apart is refused if it is put together anyway: the
    conditions are stacked catalog row by catalog row."""
    paged, google = _slo("paged", 0.99, catalog="page-only"), _slo("google", 0.99)
    evaluation = plan(paged.window, AT, paged.forecast.lookback)
    width = len(evaluation.names)
    counted = np.stack([np.full((1, width), 990.0), np.full((1, width), 1000.0)], axis=-1)
    counts = range_counts(counted, counted, [0.99], [(AT - 50_000, AT)])
    items = [
        series_inputs(paged, [(("queue", "a"),)], evaluation, counts),
        series_inputs(google, [(("queue", "b"),)], evaluation, counts),
    ]
    with pytest.raises(ValueError, match="burn catalog"):
        evaluate_batch(items, evaluation, PRESET, _conditions)
