"""The config loader: every problem at once, at its exact line:col; substitution; warnings."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from errorbudget.config import (
    Config,
    LoadedConfig,
    dump_config,
    load_config,
    parse_config,
)
from errorbudget.errors import ConfigValidationError, NotFoundError, Problem

ROOT = Path(__file__).resolve().parents[2]


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(textwrap.dedent(text), "cfg.yaml", environ or {})
    return caught.value.problems


def where(problems: list[Problem]) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.severity) for p in problems]


def find(problems: list[Problem], fragment: str) -> Problem:
    matching = [p for p in problems if fragment in p.message]
    assert matching, f"no problem mentions {fragment!r}: {[str(p) for p in problems]}"
    return matching[0]


MINIMAL = """\
slos:
  - id: api
    service: web
    target: 0.999
    window: {type: rolling, length: 30d}
"""


def test_empty_file_is_an_empty_config() -> None:
    loaded = parse_config("", "empty.yaml", {})
    assert loaded.config == Config()


def test_every_problem_at_once_with_exact_positions() -> None:
    problems = problems_of(
        """\
        version: 1
        store:
          pth: x
        services:
          - id: contact-center
          - id: contact-center
        slos:
          - id: voice-sla
            service: contact-centre
            taget: 0.85
            target: 0.85
            window: {type: calendar, unit: mont, timezone: America/New_York}
            policy: contact-centre
            alerting: {catalog: google30d}
          - id: voice-sla
            service: contact-center
            target: 1.5
            window: {type: rollin, length: 30d}
          - id: digital
            service: contact-center
            target: 0.9
            window: {unit: month}
            indicator: {source: prometheus}
        """
    )
    assert [str(p) for p in problems] == [
        "cfg.yaml:3:3: store: unknown key 'pth' (did you mean 'path'?)",
        "cfg.yaml:6:9: duplicate service id 'contact-center' (first on line 5)",
        "cfg.yaml:9:14: slo 'voice-sla': service 'contact-centre' is not declared in services"
        " (did you mean 'contact-center'?)",
        "cfg.yaml:10:5: slos[0]: unknown key 'taget' (did you mean 'target'?)",
        "cfg.yaml:12:36: slos[0].window.unit: Input should be 'week', 'month' or 'quarter'"
        " (got 'mont') (did you mean 'month'?)",
        "cfg.yaml:13:13: slo 'voice-sla': unknown policy preset 'contact-centre'"
        " (did you mean 'contact-center'?)",
        "cfg.yaml:14:25: slo 'voice-sla': unknown burn catalog 'google30d'"
        " (did you mean 'google-30d'?)",
        "cfg.yaml:15:9: duplicate SLO id 'voice-sla' (first on line 8)",
        "cfg.yaml:17:13: slos[1].target: Input should be less than 1 (got 1.5)",
        "cfg.yaml:18:20: slos[1].window: type 'rollin' is not one of rolling, calendar"
        " (did you mean 'rolling'?)",
        "cfg.yaml:22:13: slos[2].window: missing key 'type' (one of: rolling, calendar)",
        "cfg.yaml:23:16: slos[2].indicator: missing required key 'total_query'",
        "cfg.yaml:23:25: slo 'digital': indicator source 'prometheus' is not configured: add"
        " sources.prometheus with the url of a Prometheus-compatible API"
        " (docs/sources/prometheus.md), or nothing queries this SLO's counts",
    ]
    assert all(p.severity == "error" for p in problems)


def test_missing_required_key_points_at_its_mapping() -> None:
    problems = problems_of(
        """\
        slos:
          - id: api
            service: web
            window: {type: rolling, length: 30d}
        """
    )
    assert [str(p) for p in problems] == ["cfg.yaml:2:5: slos[0]: missing required key 'target'"]


def test_unknown_key_without_close_match_lists_the_keys() -> None:
    problems = problems_of("store: {table: x}\n")
    assert str(problems[0]) == (
        "cfg.yaml:1:9: store: unknown key 'table' (expected one of: path, url, password_env)"
    )


def test_yaml_syntax_error_has_the_mark() -> None:
    problems = problems_of("slos:\n  - id: a\n    target: [0.9\n")
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML syntax:")
    assert (problems[0].line, problems[0].column) == (4, 1)


def test_duplicate_yaml_keys_are_errors() -> None:
    problems = problems_of(MINIMAL + "    target: 0.99\n")
    assert str(problems[0]) == "cfg.yaml:6:5: duplicate key 'target' (first given on line 4)"


def test_value_errors_of_validators_are_located() -> None:
    problems = problems_of(
        """\
        slos:
          - id: api
            service: web
            target: 0.9
            window: {type: rolling, length: 3x}
            budgeting: timeslices
            timeslice: {length: 7m}
        """
    )
    assert where(problems) == [(5, 37, "error"), (7, 25, "error")]
    assert "'3x' is not a duration" in problems[0].message
    assert "divides 60" in problems[1].message


def test_override_with_unknown_segment_key_is_reported_once_at_the_key() -> None:
    problems = problems_of(
        """\
        slos:
          - id: voice
            service: cc
            target: 0.85
            window: {type: calendar, unit: month}
            segments:
              keys: [tier, queue]
              overrides:
                - {match: {tierr: vip}, target: 0.95}
        """
    )
    assert [str(p) for p in problems] == [
        "cfg.yaml:9:20: slo 'voice': override matches 'tierr', which is not a segment key"
        " (keys: tier, queue) (did you mean 'tier'?)"
    ]


def test_unquoted_yaml_boolean_gets_a_hint() -> None:
    problems = problems_of(
        """\
        slos:
          - id: voice
            service: cc
            target: 0.85
            window: {type: rolling, length: 28d}
            labels: {escalate: no}
        """
    )
    assert problems[0].message.endswith("(YAML reads unquoted no as a boolean: quote it)")
    assert (problems[0].line, problems[0].column) == (6, 24)


def test_env_substitution_with_defaults_and_retyping() -> None:
    text = """\
        store: {path: "${DATA_DIR:-/var/lib/eb}/eb.db"}
        gate:
          enforcement: ${GATE_MODE}
        slos:
          - id: api
            service: ${SERVICE}
            description: literal $${NOT_A_VAR} stays
            target: ${API_TARGET:-0.995}
            window: {type: rolling, length: 30d}
        """
    loaded = parse_config(
        textwrap.dedent(text),
        Path("eb.yaml"),
        {"SERVICE": "checkout", "GATE_MODE": "advisory"},
    )
    slo = loaded.slo("api")
    assert slo.service == "checkout"
    assert slo.target == 0.995
    assert slo.description == "literal ${NOT_A_VAR} stays"
    assert loaded.config.gate.enforcement == "advisory"
    assert loaded.store_path == Path("/var/lib/eb/eb.db")


def test_missing_env_variable_is_reported_where_written() -> None:
    problems = problems_of(
        """\
        slos:
          - id: api
            service: web
            description: "owned by ${TEAM} since ${YEAR:-2024}, see ${RUNBOOK}"
            target: ${TARGET}
            window: {type: rolling, length: 30d}
        """,
        environ={},
    )
    assert [str(p) for p in problems] == [
        "cfg.yaml:4:28: environment variable TEAM is not set (give a default: ${TEAM:-value})",
        "cfg.yaml:4:61: environment variable RUNBOOK is not set"
        " (give a default: ${RUNBOOK:-value})",
        # and no second, derived "target is not a number" problem
        "cfg.yaml:5:13: environment variable TARGET is not set (give a default: ${TARGET:-value})",
    ]


def test_bad_variable_reference_is_an_error() -> None:
    problems = problems_of(MINIMAL.replace("service: web", "service: ${web service}"))
    assert "'${web service}' is not a variable reference" in problems[0].message
    assert (problems[0].line, problems[0].column) == (3, 14)


def test_low_target_warnings_for_slo_and_overrides() -> None:
    loaded = parse_config(
        textwrap.dedent(
            """\
            slos:
              - id: voice-sla
                service: cc
                target: 0.85
                window: {type: calendar, unit: month, timezone: America/New_York}
                segments:
                  keys: [tier]
                  overrides:
                    - {match: {tier: vip}, target: 0.95}
                    - {match: {tier: standard}, target: 0.80}
            """
        ),
        "cfg.yaml",
        {},
    )
    # Issue #10 replaced "lowered to 0.9 × the highest burn on both windows" by the split
    # rule (short window above the ceiling, long window above ceiling × short / long): the
    # warnings now show both windows' factors.
    why = "and one {short} at that rate in the {long} window)"
    assert [str(p) for p in loaded.warnings] == [
        "cfg.yaml:4:13: warning: slo 'voice-sla': page condition 1h/5m of 'google-30d'"
        " (factor 14.4) can never fire at target 85% (highest burn 6.67); adapted:"
        " burn(5m) > 6.0 and burn(1h) > 0.5 (0.9 of the highest burn 6.67, "
        + why.format(short="5m", long="1h"),
        "cfg.yaml:10:45: warning: slo 'voice-sla' (tier=standard): page condition 1h/5m of"
        " 'google-30d' (factor 14.4) can never fire at target 80% (highest burn 5.0);"
        " adapted: burn(5m) > 4.5 and burn(1h) > 0.38 (0.9 of the highest burn 5.0, "
        + why.format(short="5m", long="1h"),
        "cfg.yaml:10:45: warning: slo 'voice-sla' (tier=standard): page condition 6h/30m of"
        " 'google-30d' (factor 6.0) can never fire at target 80% (highest burn 5.0);"
        " adapted: burn(30m) > 4.5 and burn(6h) > 0.38 (0.9 of the highest burn 5.0, "
        + why.format(short="30m", long="6h"),
    ]
    assert all(p.severity == "warning" for p in loaded.warnings)


def test_reachable_but_lowered_condition_is_reported() -> None:
    loaded = parse_config(MINIMAL.replace("0.999", "0.931"), "cfg.yaml", {})
    (warning,) = loaded.warnings
    # the issue #10 rule: both windows' factors (was "is lowered to 13.04" on both)
    assert warning.message == (
        "slo 'api': page condition 1h/5m of 'google-30d' (factor 14.4) is adapted:"
        " burn(5m) > 13.04 and burn(1h) > 1.09 (0.9 of the highest burn 14.49 at target"
        " 93.1%, and one 5m at that rate in the 1h window)"
    )


def test_no_warnings_when_alerting_is_disabled() -> None:
    text = MINIMAL.replace("0.999", "0.8") + "    alerting: {enabled: false}\n"
    assert parse_config(text, "cfg.yaml", {}).warnings == []


def test_warnings_are_reported_with_errors() -> None:
    problems = problems_of("store: {pth: x}\n" + MINIMAL.replace("0.999", "0.85"))
    assert [p.severity for p in problems] == ["error", "warning"]


def test_custom_policy_and_catalog_override_and_extend_builtins() -> None:
    loaded = parse_config(
        textwrap.dedent(
            """\
            policies:
              - name: contact-center
                rules: [{state: watch, remaining_at_or_below: 0.6}]
                healthy:
                  label: ok
                  band: green
                  advice: ship
                  gate: {low: allow, medium: allow, high: allow}
                watch:
                  label: careful
                  band: amber
                  advice: look
                  gate: {low: allow, medium: review, high: review}
              - name: strict
                rules:
                  - {state: freeze, remaining_below: 0.3}
                  - {state: watch, remaining_at_or_below: 0.6}
                healthy:
                  label: ok
                  band: green
                  advice: ship
                  gate: {low: allow, medium: allow, high: allow}
                watch:
                  label: careful
                  band: amber
                  advice: look
                  gate: {low: allow, medium: review, high: review}
                freeze:
                  label: stop
                  band: red
                  advice: ask
                  gate: {low: review, medium: blocked, high: blocked}
            burn_catalogs:
              - name: low-target
                period: 30d
                conditions:
                  - {severity: page, budget_fraction: 0.005, long_window: 1h, short_window: 5m}
            slos:
              - id: voice
                service: cc
                target: 0.8
                window: {type: rolling, length: 30d}
                policy: strict
                alerting: {catalog: low-target}
            """
        ),
        "cfg.yaml",
        {},
    )
    assert loaded.warnings == []
    assert loaded.policy("contact-center").rules[0].remaining_at_or_below == 0.6
    assert loaded.policy("strict").rules[0].remaining_below == 0.3
    assert loaded.policy("strict").state_policy("exhausted").label == "stop"
    assert loaded.policy("voice-agent").rules[0].state == "exhausted"
    assert loaded.catalog("low-target").conditions[0].budget_fraction == 0.005
    assert loaded.catalog("google-30d").name == "google-30d"


def test_catalog_and_policy_sanity_checks() -> None:
    problems = problems_of(
        """\
        policies:
          - name: upside-down
            rules:
              - {state: freeze, remaining_below: 0.5}
              - {state: exhausted, remaining_at_or_below: 0}
            healthy:
              {label: ok, band: green, advice: go, gate: {low: allow, medium: allow, high: allow}}
          - name: shadowed
            rules:
              - {state: freeze, remaining_below: 0.5}
              - {state: freeze, remaining_below: 0.2, burn_above: 1}
            healthy:
              {label: ok, band: green, advice: go, gate: {low: allow, medium: allow, high: allow}}
        burn_catalogs:
          - name: odd
            period: 30d
            conditions:
              - {severity: page, budget_fraction: 0.02, long_window: 5m, short_window: 1h}
          - name: odd
            period: 30d
            conditions: []
        """
    )
    assert where(problems) == [
        (2, 5, "error"), (8, 5, "error"), (18, 80, "error"), (19, 11, "error")
    ]  # fmt: skip
    assert "comes after a milder state (freeze): list the worst state first" in problems[0].message
    assert "rules[1] (freeze: remaining < 20% and burn(6h) > 1) can never hold" in (
        problems[1].message
    )
    assert "short_window 1h must be shorter than long_window 5m" in problems[2].message
    assert "duplicate burn catalog name 'odd'" in problems[3].message


def test_lookups_say_did_you_mean() -> None:
    loaded = parse_config(MINIMAL, Path("eb.yaml"), {})
    with pytest.raises(NotFoundError, match=r"no SLO 'apj'.*did you mean 'api'"):
        loaded.slo("apj")
    with pytest.raises(NotFoundError, match="did you mean 'voice-agent'"):
        loaded.policy("voice_agent")
    with pytest.raises(NotFoundError, match="did you mean 'page-only'"):
        loaded.catalog("page_only")


def test_top_level_must_be_a_mapping() -> None:
    problems = problems_of("- just\n- a list\n")
    assert str(problems[0]) == "cfg.yaml:1:1: (top level): expected a mapping (key: value lines)"


def test_dump_config_round_trips() -> None:
    loaded = load_config(ROOT / "examples" / "contact-center.yaml")
    text = dump_config(loaded.config)
    assert "errorbudget-sim-secret" not in text  # a secret is never written out
    again = parse_config(text, ROOT / "examples" / "again.yaml", {})
    masked = loaded.config.model_copy(update={"sources": again.config.sources})
    assert again.config == masked


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")), ids=str)
def test_examples_load_cleanly(example: Path) -> None:
    loaded = load_config(example, environ={})
    assert isinstance(loaded, LoadedConfig)
    assert loaded.warnings == []
    assert loaded.config.slos


def test_contact_center_example_has_the_seed_slos() -> None:
    loaded = load_config(ROOT / "examples" / "contact-center.yaml", environ={})
    voice = loaded.slo("voice-sla")
    assert voice.target == 0.85
    assert voice.target_for((("queue", "billing"), ("tier", "vip"))) == 0.95
    assert voice.target_for((("queue", "billing"), ("tier", "standard"))) == 0.80
    assert loaded.slo("digital-sla").target == 0.90
    assert loaded.slo("ivr-completion").segments.keys == ["flow"]
    api = loaded.slo("genesys-api-availability")
    assert api.budgeting == "timeslices" and api.timeslice is not None
    agent = loaded.slo("voice-agent-task-completion")
    assert agent.segments.keys == ["flow", "agent_version"] and agent.target == 0.995
    assert {s.id for s in loaded.config.services} == {
        "contact-center",
        "genesys-platform",
        "voice-agent",
    }


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_config_or_a_list_of_located_problems(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml", {})
    except ConfigValidationError as exc:
        assert exc.problems
        assert all(p.file == "fuzz.yaml" and p.line >= 0 and p.column >= 0 for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_string_values_survive_loading(description: str) -> None:
    document = {
        "slos": [
            {
                "id": "api",
                "service": "web",
                "description": description,
                "target": 0.999,
                "window": {"type": "rolling", "length": "30d"},
            }
        ]
    }
    text = yaml.safe_dump(document)
    if "${" in description:
        return  # a variable reference, by design
    assert parse_config(text, "fuzz.yaml", {}).slo("api").description == description


# --- an SLO whose source nothing collects (issue #7) ------------------------------------------

SOURCES = """\
slos:
  - id: voice
    service: cc
    target: 0.95
    window: {type: rolling, length: 28d}
    indicator: {source: genesys, metric: voice_sla}
  - id: api
    service: cc
    target: 0.999
    window: {type: rolling, length: 28d}
    indicator:
      source: prometheus
      good_query: sum(rate(ok[{{.window}}]))
      total_query: sum(rate(all[{{.window}}]))
  - id: pushed
    service: cc
    target: 0.95
    window: {type: rolling, length: 28d}
    indicator: {source: ingest}
"""


def test_an_slo_whose_source_is_not_configured_is_an_error() -> None:
    problems = problems_of(SOURCES)
    assert [str(p) for p in problems] == [
        "cfg.yaml:6:25: slo 'voice': indicator source 'genesys' is not configured: add"
        " sources.genesys (docs/sources/genesys.md), or nothing collects this SLO's counts",
        "cfg.yaml:12:15: slo 'api': indicator source 'prometheus' is not configured: add"
        " sources.prometheus with the url of a Prometheus-compatible API"
        " (docs/sources/prometheus.md), or nothing queries this SLO's counts",
    ]
    assert all(p.severity == "error" for p in problems)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("{url: 'https://eb:hunter2@prom.internal'}", "credentials go in auth"),
        ("{url: 'https://p', auth: {bearer_token_env: 'hunter2-token!'}}", "variable's name"),
    ],
)
def test_a_secret_in_the_prometheus_settings_is_a_problem_that_hides_it(
    settings: str, message: str
) -> None:
    text = f"sources:\n  prometheus: {settings}\n" + SOURCES
    problems = [str(p) for p in problems_of(text)]
    assert any(message in p for p in problems), problems
    assert not any("hunter2" in p for p in problems), problems


def test_a_configured_genesys_source_and_ingest_need_nothing_more() -> None:
    genesys = (
        "sources:\n  genesys: {base_url: 'http://127.0.0.1:8788', client_id: a, client_secret: b}\n"
    )
    text = SOURCES.split("  - id: api")[0] + "  - id: pushed" + SOURCES.split("  - id: pushed")[1]
    loaded = parse_config(genesys + text, "cfg.yaml", {})
    assert [s.id for s in loaded.config.slos] == ["voice", "pushed"]
    assert loaded.warnings == []


# --- clock: the simulated "now" errorbudget demo writes -----------------------------------------


def test_clock_section_runs_from_the_wall_clock() -> None:
    loaded = parse_config(
        textwrap.dedent(
            """\
            clock:
              simulated_start: 2026-11-25T16:00:00Z
              real_start: 2026-12-06T10:00:00Z
              speed: 60
            """
        ),
        "cfg.yaml",
        {},
    )
    settings = loaded.config.clock
    assert settings is not None
    clock = settings.clock()
    clock._wall = lambda: datetime(2026, 12, 6, 10, 1, 30, tzinfo=UTC)  # 90 s later
    assert clock() == datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 90 simulated minutes
    again = parse_config(dump_config(loaded.config), "again.yaml", {})
    assert again.config.clock == settings


def test_clock_without_speed_holds_still_and_a_running_one_needs_real_start() -> None:
    loaded = parse_config("clock: {simulated_start: '2026-11-25T16:00:00Z'}\n", "c.yaml", {})
    assert loaded.config.clock is not None
    assert loaded.config.clock.clock()() == datetime(2026, 11, 25, 16, tzinfo=UTC)
    problems = problems_of("clock: {simulated_start: 2026-11-25T16:00:00Z, speed: 60}\n")
    assert [str(p) for p in problems] == [
        "cfg.yaml:1:8: clock: a running clock (speed above 0) needs real_start"
    ]
    problems = problems_of("clock: {simulated_start: 2026-11-25T16:00:00}\n")
    assert "clock.simulated_start: Input should have timezone info" in str(problems[0])
