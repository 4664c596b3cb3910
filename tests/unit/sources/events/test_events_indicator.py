"""SLIs as data: the events indicator in a config, its rules checked against the event type
at the key's file:line:col (sources/events/indicator.py)."""

from __future__ import annotations

import textwrap

import pytest

from errorbudget.config import dump_config, parse_config
from errorbudget.errors import ConfigValidationError
from errorbudget.source_catalog import source_catalog
from errorbudget.sources.events.indicator import Condition, EventsIndicator, parse_rule

CONFIG = """\
slos:
  - id: tool-turn-latency
    service: voice-agent
    target: 0.95
    window: {type: rolling, length: 28d}
    segments: {keys: [flow]}
    indicator:
      source: events
      event: turn
      eligible: {tool_calls: {gt: 0}}
      good: {latency_ms: {le: 2500}}
      exclude:
        - {name: test-call, when: {test: true}}
        - name: provider-outage
          when:
            any:
              - {external_outage: true}
              - {error_stage: {in: [asr, tts]}}
      good_description: turns answered within 2.5 s
      total_description: eligible tool-dependent turns
"""


def load(text: str) -> EventsIndicator:
    indicator = parse_config(text, "cfg.yaml", {}).config.slos[0].indicator
    assert isinstance(indicator, EventsIndicator)
    return indicator


def problem(old: str, new: str) -> str:
    text = CONFIG.replace(old, new)
    assert text != CONFIG, old
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(text, "cfg.yaml", {})
    assert len(caught.value.problems) == 1, caught.value.problems
    return str(caught.value.problems[0])


def test_the_catalog_knows_events() -> None:
    assert source_catalog().kind("events").indicator_model is EventsIndicator


def test_a_valid_indicator_loads_and_dumps_back() -> None:
    indicator = load(CONFIG)
    assert indicator.event == "turn"
    assert indicator.good.conditions == (Condition("latency_ms", "le", 2500, ("latency_ms", "le")),)
    assert indicator.exclusion_names == ["test-call", "provider-outage"]
    nested = indicator.exclude[1].when.rules[0]
    assert nested.mode == "any" and len(nested.rules) == 2
    again = parse_config(dump_config(parse_config(CONFIG, "cfg.yaml", {}).config), "x.yaml", {})
    assert again.config.slos[0].indicator == indicator


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "latency_ms: {le",
            "latency_msx: {le",
            "cfg.yaml:11:14: slos[0].indicator.good.latency_msx: unknown field 'latency_msx' "
            "for turn events (did you mean 'latency_ms'?)",
        ),
        (
            "{test: true}",
            "{connected: true}",
            "cfg.yaml:13:36: slos[0].indicator.exclude[0].when.connected: 'connected' is a field "
            "of call events, not of turn events",
        ),
        (
            "[asr, tts]",
            "[asr, tss]",
            "cfg.yaml:18:42: slos[0].indicator.exclude[1].when.any[1].error_stage.in[1]: 'tss' "
            "is not one of telephony, asr, llm, tool, tts, crm (did you mean 'tts'?)",
        ),
        (
            "{gt: 0}",
            "{gtt: 0}",
            "cfg.yaml:10:31: slos[0].indicator.eligible.tool_calls.gtt: unknown operator 'gtt' "
            "(did you mean 'gt'?)",
        ),
        ("{test: true}", "{test: 3}", "cfg.yaml:13:42: "),
        ("{test: true}", "{test: null}", "null never matches: use the operator present: false"),
        ("{test: true}", "{time: {gt: 1}}", "a rule cannot test 'time'"),
        ("{le: 2500}", "{le: fast}", "latency_ms is a number"),
        ("{le: 2500}", "{in: []}", "in takes a non-empty list"),
        ("{test: true}", "{}", "an empty rule"),
        ("{test: true}", "{test: {lt: true}}", "test is true/false: lt does not apply"),
        ("name: provider-outage", "name: test-call", "exclusion name(s) ['test-call'] repeat"),
        ("keys: [flow]", "keys: [queue]", "segment key(s) ['queue'] are not event dimensions"),
        ("event: turn", "event: turns", "'turns'"),
    ],
)
def test_rule_problems_are_located(old: str, new: str, expected: str) -> None:
    assert expected in problem(old, new)


def test_rules_on_other_types() -> None:
    text = textwrap.dedent(
        """\
        slos:
          - id: connection-success
            service: voice-agent
            target: 0.995
            window: {type: rolling, length: 28d}
            indicator:
              source: events
              event: call
              good: {connected: true, route_correct: true, first_audio_ms: {present: true}}
              exclude:
                - name: hangup-before-greeting
                  when: {end_reason: caller_hangup, first_audio_ms: {present: false}}
        """
    )
    indicator = load(text)
    assert [c.field for c in indicator.good.conditions] == [
        "connected",
        "route_correct",
        "first_audio_ms",
    ]
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(text.replace("caller_hangup", "caller_hangp"), "cfg.yaml", {})
    assert "did you mean 'caller_hangup'?" in str(caught.value.problems[0])


def test_parse_rule_structure() -> None:
    rule = parse_rule({"flow": "billing", "all": [{"wer": {"lt": 0.2, "ge": 0}}]})
    assert rule.mode == "all" and rule.conditions == (
        Condition("flow", "eq", "billing", ("flow",)),
    )
    inner = rule.rules[0].rules[0]
    assert [(c.op, c.value) for c in inner.conditions] == [("lt", 0.2), ("ge", 0)]
    assert [c.field for c in rule.walk()] == ["flow", "wer", "wer"]
