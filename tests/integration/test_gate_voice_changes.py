"""Voice-agent change types in the gate (seed 002 "risky change includes prompt updates,
model/provider changes, ASR …, TTS …, routing …, tool-call schema … knowledge-base retrieval
changes"): under the ``voice-agent`` preset a change of such a type is judged as medium risk
at least, scoped by flow; a global SLO (no flow segment) judges every flow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from errorbudget.app import App
from errorbudget.config import load_config
from errorbudget.model import to_minute

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """\
version: 1
store: {path: gate.db}
slos:
  - id: turn-latency
    service: agent
    target: 0.9
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
    policy: voice-agent
  - id: connection
    service: agent
    target: 0.9
    window: {type: rolling, length: 7d}
    policy: voice-agent
  - id: queue-sla
    service: cc
    target: 0.9
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
"""
VOICE_TYPES = ("prompt", "model", "asr", "tts", "routing", "tool-schema", "knowledge-base")


def write(app: App, slo: str, segment: dict[str, str], total: int, bad: int, days: int) -> None:
    """``total`` events a minute, ``bad`` of them bad, over the ``days`` before AT (a later
    write of the same minutes replaces them)."""
    stop = to_minute(AT)
    minutes = np.arange(stop - days * 1440, stop, dtype=np.int64)
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
    # billing-es: 5 % bad for a week, then 20 % for the last 2 days: 93 % of the budget
    # spent (remaining 7 % < 20 %) and burning 2× over 6h: freeze
    write(opened, "turn-latency", {"flow": "billing-es"}, 20, 1, 7)
    write(opened, "turn-latency", {"flow": "billing-es"}, 20, 4, 2)
    write(opened, "turn-latency", {"flow": "faq-en"}, 20, 0, 7)  # healthy
    write(opened, "connection", {}, 100, 0, 7)  # healthy
    # under the contact-center preset: half the budget spent, warning (low allow, medium
    # review)
    write(opened, "queue-sla", {"flow": "billing-es"}, 20, 1, 7)
    return opened


def decide(app: App, flow: str, change_type: str, risk: str = "low") -> tuple[str, list[str]]:
    result = app.gate.decide(
        service="agent",
        segment={"flow": flow},
        change_type=change_type,
        risk=risk,  # type: ignore[arg-type]
        record=False,
    )
    return result.decision, result.reasons


def test_the_preset_knows_the_seed_002_change_types(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONFIG, encoding="utf-8")
    preset = load_config(tmp_path / "c.yaml").policies["voice-agent"]
    assert tuple(preset.risky_change_types) == VOICE_TYPES
    assert preset.risky_risk == "medium"
    assert [preset.judged_risk(t, "low") for t in VOICE_TYPES] == ["medium"] * len(VOICE_TYPES)
    assert preset.judged_risk("prompt", "high") == "high"  # never lowered
    assert preset.judged_risk("feature", "low") == "low"
    # compared case-insensitively, "_" as "-"; a provider change is a model change
    for spelling in ("Prompt", "TOOL_SCHEMA", "tool_schema", "Knowledge_Base", "provider"):
        assert preset.judged_risk(spelling, "low") == "medium", spelling


def test_spellings_of_a_risky_or_an_exempt_type_are_the_type(app: App) -> None:
    for spelling in ("Prompt", "tool_schema", "Knowledge-Base", "provider"):
        assert decide(app, "billing-es", spelling)[0] == "approval_required", spelling
    write(app, "turn-latency", {"flow": "billing-es"}, 20, 4, 7)  # exhausted: only fixes ship
    assert decide(app, "billing-es", "prompt")[0] == "blocked"
    for spelling in ("incident-fix", "Incident_Fix", "ROLLBACK"):
        assert decide(app, "billing-es", spelling)[0] == "allow", spelling


def test_a_freezing_flow_holds_a_low_risk_prompt_change_on_that_flow_only(app: App) -> None:
    states = {s.segment: s.state for s in app.evaluations.status(slo_ids=["turn-latency"])}
    assert states[(("flow", "billing-es"),)] == "freeze"
    decision, reasons = decide(app, "billing-es", "prompt")
    # freeze says review for a low-risk change, approval for a medium one: prompt is medium
    assert decision == "approval_required"
    assert reasons == [
        "turn-latency flow=billing-es: freeze: pause risky prompt, model, routing and provider "
        "changes; they need VP-level approval (prompt changes are risky under the voice-agent "
        "policy: judged as medium risk, not low)"
    ]
    assert decide(app, "billing-es", "feature")[0] == "review"  # not a risky type
    for change_type in VOICE_TYPES:
        assert decide(app, "billing-es", change_type)[0] == "approval_required", change_type
        assert decide(app, "faq-en", change_type)[0] == "allow", change_type


def test_an_exhausted_flow_blocks_a_prompt_change_on_it_not_on_another_flow(app: App) -> None:
    write(app, "turn-latency", {"flow": "billing-es"}, 20, 4, 7)  # 20 % bad at 90 %: spent
    assert decide(app, "billing-es", "prompt")[0] == "blocked"
    assert decide(app, "faq-en", "prompt")[0] == "allow"


def test_a_burning_global_connection_slo_blocks_prompt_changes_on_every_flow(app: App) -> None:
    write(app, "connection", {}, 100, 20, 7)  # 20 % of connections fail at 90 %: spent
    for flow in ("billing-es", "faq-en"):
        decision, reasons = decide(app, flow, "prompt")
        assert decision == "blocked"
        assert any(line.startswith("connection (all): exhausted") for line in reasons), reasons


def test_a_watch_state_asks_review_of_a_low_risk_prompt_change(app: App) -> None:
    # 5 % bad at 90 % for a week: half the budget spent, watch (low allow, medium review)
    write(app, "turn-latency", {"flow": "faq-en"}, 20, 1, 7)
    assert decide(app, "faq-en", "prompt")[0] == "review"
    assert decide(app, "faq-en", "feature")[0] == "allow"


def test_other_presets_judge_the_risk_as_given(app: App) -> None:
    result = app.gate.decide(
        service="cc", segment={"flow": "billing-es"}, change_type="prompt", risk="low",
        record=False,
    )  # fmt: skip
    # contact-center lists no risky change types: a low-risk prompt change in its warning
    # state is allowed (a medium-risk one would need review)
    assert result.decision == "allow"
    assert not any("judged as" in line for line in result.reasons)
