"""The release gate over a real store: scoped to what a change touches, a small segment cannot
block a whole service alone, stale or too little data never lets a change through unseen,
and the record says how old the data was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from errorbudget.app import App
from errorbudget.errors import GateError
from errorbudget.model import to_minute

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """\
version: 1
store: {path: gate.db}
slos:
  - id: voice
    service: cc
    target: 0.9
    window: {type: rolling, length: 7d}
    segments: {keys: [queue]}
    policy: voice-agent
  - id: connection
    service: agent
    target: 0.99
    window: {type: rolling, length: 7d}
    policy: voice-agent
  - id: agent-tasks
    service: agent
    target: 0.9
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
    policy: voice-agent
    data: {max_age: 1h}
"""


def write(
    app: App, slo: str, segment: dict[str, str], total: int, bad: int, *, days: float = 7,
    end: datetime = AT,
) -> None:  # fmt: skip
    """``total`` events a minute, ``bad`` of them bad, for ``days`` ending at ``end``."""
    stop = to_minute(end)
    minutes = np.arange(stop - int(days * 1440), stop, dtype=np.int64)
    [series] = app.store.series_ids(slo, [tuple(sorted(segment.items()))])
    app.store.write_counts(
        np.full(minutes.size, series),
        minutes,
        np.full(minutes.size, total - bad),
        np.full(minutes.size, total),
    )


@pytest.fixture
def app(tmp_path: Path) -> App:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    opened = App.open(path, clock=lambda: AT)
    write(opened, "voice", {"queue": "main"}, 100, 2)  # 98 % at 90 %: healthy
    write(opened, "voice", {"queue": "tiny"}, 4, 2)  # 50 % bad: exhausted, 3.8 % of calls
    write(opened, "agent-tasks", {"flow": "billing-es"}, 20, 8)  # 40 % bad: exhausted
    write(opened, "agent-tasks", {"flow": "faq-en"}, 20, 0)  # healthy
    write(opened, "connection", {}, 100, 0)  # connection success: healthy, not segmented
    return opened


def test_a_small_exhausted_queue_cannot_block_every_change_alone(app: App) -> None:
    result = app.gate.decide(service="cc", risk="high", record=False)
    assert result.decision == "allow"
    tiny = next(v for v in result.verdicts if v.status.segment == (("queue", "tiny"),))
    assert tiny.decision == "blocked" and not tiny.binding
    assert any("below the minimum volume" in line for line in result.reasons)
    # a change to that queue is judged by it, whatever its volume
    scoped = app.gate.decide(service="cc", segment={"queue": "tiny"}, record=False)
    assert scoped.decision == "blocked"


def test_a_larger_segment_does_block_an_unscoped_change(app: App) -> None:
    write(app, "voice", {"queue": "tiny"}, 6, 3)  # now 5.7 % of the calls
    assert app.gate.decide(service="cc", record=False).decision == "blocked"


def test_a_burning_flow_does_not_block_a_change_to_another_flow(app: App) -> None:
    """Seed 002: if only the Spanish billing flow burns, English FAQ changes may ship; an
    unscoped change is judged by every flow with enough volume."""
    assert app.gate.decide(service="agent", segment={"flow": "faq-en"}, record=False).decision == (
        "allow"
    )
    assert app.gate.decide(
        service="agent", segment={"flow": "billing-es"}, record=False
    ).decision == ("blocked")
    assert app.gate.decide(service="agent", record=False).decision == "blocked"


def test_stale_data_never_lets_a_change_through(app: App, tmp_path: Path) -> None:
    path = tmp_path / "errorbudget.yaml"
    later = AT + timedelta(hours=30)  # the source stopped 30 hours ago
    with App.open(path, clock=lambda: later) as stale:
        result = stale.gate.decide(service="agent", segment={"flow": "faq-en"}, actor="ci")
        assert result.decision == "review"
        assert result.reasons[0].startswith("agent-tasks flow=faq-en: data stale")
        [entry] = stale.gate.decisions(service="agent")
        rows = {r["slo"]: r for r in entry.details["snapshot"]}  # type: ignore[attr-defined]
        assert set(rows) == {"connection", "agent-tasks"}  # the global SLO is in scope
        row = rows["agent-tasks"]
        assert row["data_age_seconds"] == 30 * 3600 and row["stale"] is True
        # within max_age the same flow is allowed, and the record says how old the data was
        fresh = app.gate.decide(service="agent", segment={"flow": "faq-en"}, actor="ci")
        assert fresh.decision == "allow"
        [latest, _] = app.gate.decisions(service="agent")
        ages = [r["data_age_seconds"] for r in latest.details["snapshot"]]  # type: ignore[attr-defined]
        assert ages == [0, 0]


def test_too_little_data_asks_for_review_of_risky_changes(tmp_path: Path) -> None:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with App.open(path, clock=lambda: AT) as app:
        write(app, "voice", {"queue": "main"}, 100, 100, days=0.25)  # 6 hours, all bad
        [_, main] = app.evaluations.status(slo_ids=["voice"])
        assert main.state == "insufficient_data" and main.budget_remaining_ratio is None
        assert main.coverage is not None and main.coverage.covered_minutes == 360
        assert app.gate.decide(service="cc", risk="medium", record=False).decision == "review"
        assert app.gate.decide(service="cc", risk="low", record=False).decision == "allow"


def test_a_reason_already_given_is_not_repeated(app: App) -> None:
    write(app, "voice", {"queue": "second"}, 100, 50)  # exhausted too, and large
    result = app.gate.decide(service="cc", record=False)
    assert result.decision == "blocked"
    first, *rest = [line for line in result.reasons if "below the minimum" not in line]
    assert first.endswith("exhausted: only incident, security and burn-reducing fixes may ship")
    assert rest and all(line.endswith(": exhausted (as above)") for line in rest)


def test_a_global_burn_blocks_a_scoped_change_too(app: App) -> None:
    """DESIGN.md: "a global connection-success burn blocks broadly": an SLO that segments
    by none of the change's keys is judged by its whole row."""
    scoped = app.gate.decide(service="agent", segment={"flow": "faq-en"}, record=False)
    assert scoped.decision == "allow"
    assert {v.status.slo for v in scoped.verdicts} == {"connection", "agent-tasks"}
    write(app, "connection", {}, 100, 50)  # half the calls fail to connect
    burning = app.gate.decide(service="agent", segment={"flow": "faq-en"}, record=False)
    assert burning.decision == "blocked"
    assert burning.reasons[0].startswith("connection (all): exhausted")


def test_a_mistyped_segment_is_an_error_not_a_narrower_scope(app: App) -> None:
    with pytest.raises(GateError, match=r"segments by 'flwo'.*did you mean 'flow'"):
        app.gate.decide(service="agent", segment={"flwo": "faq-en"}, record=False)
    with pytest.raises(GateError, match="no series of service 'agent' matches"):
        app.gate.decide(service="agent", segment={"flow": "faq-fr"}, record=False)


def test_the_exec_view_states_what_the_gate_acts_on(app: App) -> None:
    """A segment below the minimum volume neither decides the gate nor sets the service's
    state and advice on the exec view (it is still listed as missing its target)."""
    from errorbudget.web.pages_overview import build_exec

    rows = {r.service: r for r in build_exec(app, 60).rows}
    center = rows["cc"]
    assert center.decision_medium_risk == "allow"
    assert (center.state, center.advice) == ("healthy", "ship normally")
    assert center.missing == ["voice queue=tiny: 50.00% vs 90.00%"]
    assert not center.within_budget
