"""A corpus of bad configs (issue #8, "nonsense accepted silently"): each one is refused
with a problem at its exact line, saying what is allowed. Each case is a config written as a
careless user or an adversary would, and the (line, fragment) of the error it must get."""

from __future__ import annotations

import pytest

from errorbudget.config import parse_config
from errorbudget.errors import ConfigValidationError, Problem

# Line 5 of every case is the line the case changes (after the four lines of HEAD).
HEAD = """\
version: 1
slos:
  - id: calls
    service: cc
"""
SLO = "    target: 0.9\n    window: {type: rolling, length: 7d}\n"


def _slo(line5: str, rest: str = SLO) -> str:
    return HEAD + line5 + "\n" + rest


BAD_CONFIGS: list[tuple[str, str, int, str]] = [
    # segment keys: reserved names (count-file columns), repeats, empty, odd characters
    (
        "segment key good",
        _slo("    segments: {keys: [queue, good]}"),
        5,
        "'good' is a column of count files",
    ),
    ("segment key time", _slo("    segments: {keys: [time]}"), 5, "'time' is a column"),
    ("segment key slo", _slo("    segments: {keys: [slo]}"), 5, "'slo' is a column"),
    (
        "repeated segment key",
        _slo("    segments: {keys: [queue, tier, queue]}"),
        5,
        "duplicate segment key 'queue'",
    ),
    ("empty segment key", _slo('    segments: {keys: [""]}'), 5, "should match pattern"),
    ("segment key with a space", _slo('    segments: {keys: ["my queue"]}'), 5, "pattern"),
    ("segment key with =", _slo('    segments: {keys: ["a=b"]}'), 5, "pattern"),
    (
        "segment key with a zero-width space",
        _slo('    segments: {keys: ["que\\u200bue"]}'),
        5,
        "pattern",
    ),
    (
        "override of an empty value",
        _slo('    segments: {keys: [queue], overrides: [{match: {queue: ""}, target: 0.8}]}'),
        5,
        "at least 1 character",
    ),
    # links the dashboard renders
    ("runbook javascript:", _slo('    runbook_url: "javascript:alert(1)"'), 5, "http(s) URL"),
    (
        "runbook data:",
        _slo('    runbook_url: "data:text/html,<script>alert(1)</script>"'),
        5,
        "http(s) URL",
    ),
    ("runbook without a host", _slo('    runbook_url: "https://"'), 5, "http(s) URL"),
    # numbers: NaN, infinity, out of range, huge
    ("target NaN", HEAD + "    target: .nan\n    window: {type: rolling, length: 7d}\n", 5, ""),
    ("target inf", HEAD + "    target: .inf\n    window: {type: rolling, length: 7d}\n", 5, ""),
    ("target 1.5", HEAD + "    target: 1.5\n    window: {type: rolling, length: 7d}\n", 5, ""),
    (
        "max_burn_fraction NaN",
        _slo("    alerting: {max_burn_fraction: .nan}"),
        5,
        "finite number",
    ),
    ("min_events huge", _slo("    alerting: {min_events: 1000000000000000}"), 5, "less than"),
    (
        "timeslice target NaN",
        _slo("    budgeting: timeslices\n    timeslice: {target: .nan}"),
        6,
        "finite number",
    ),
    # durations and windows: negative, zero, huge, longer than the store keeps, too short
    (
        "negative window",
        HEAD + "    target: 0.9\n    window: {type: rolling, length: -5m}\n",
        6,
        "not a duration",
    ),
    (
        "zero window",
        HEAD + "    target: 0.9\n    window: {type: rolling, length: 0m}\n",
        6,
        "longer than zero",
    ),
    (
        "absurd window",
        HEAD + "    target: 0.9\n    window: {type: rolling, length: 99999999999999999999d}\n",
        6,
        "too long",
    ),
    (
        "window past 400d",
        HEAD + "    target: 0.9\n    window: {type: rolling, length: 500d}\n",
        6,
        "from 5m to 400d",
    ),
    (
        "window shorter than every burn window",
        HEAD + "    target: 0.9\n    window: {type: rolling, length: 30m}\n",
        6,
        "is shorter than the long windows 1h, 6h, 1d, 3d of burn catalog 'google-30d'",
    ),
    # sources: an SLO nothing collects
    (
        "genesys SLO without sources.genesys",
        _slo("    indicator: {source: genesys, metric: voice_sla}"),
        5,
        "indicator source 'genesys' is not configured",
    ),
    # times far in the past or future, and without a zone
    (
        "clock in 1970",
        "version: 1\nclock:\n  simulated_start: 1970-01-01T00:00:00Z\n",
        3,
        "outside the accepted range",
    ),
    (
        "clock without a zone",
        "version: 1\nclock:\n  simulated_start: 2026-11-01T10:00:00\n",
        3,
        "timezone",
    ),
    (
        "holiday in 1900",
        "version: 1\nholiday_calendars:\n  - name: h\n    days:\n      - {date: 1900-01-01}\n",
        5,
        "outside the accepted range",
    ),
    (
        "maintenance from 9999",
        "version: 1\nmaintenance:\n  - {name: m, timezone: UTC, start: '02:00', duration: 1h,"
        " weekdays: [sun],\n     starts_on: 9999-12-31}\n",
        4,
        "outside the accepted range",
    ),
    # names: labels copied to Prometheus, services, ids, the store
    ("label name with a dash", _slo('    labels: {"team-name": x}'), 5, "pattern"),
    ("label name of Prometheus", _slo('    labels: {"__name__": x}'), 5, "pattern"),
    ("empty label value", _slo('    labels: {team: ""}'), 5, "at least 1 character"),
    ("service with a newline", HEAD.replace("service: cc", 'service: "c\\nc"') + SLO, 4, ""),
    ("empty store path", "version: 1\nstore: {path: ''}\n", 2, "at least 1 character"),
    ("SLO id with unicode", HEAD.replace("id: calls", "id: cälls") + SLO, 3, "pattern"),
    (
        "duplicate SLO id",
        HEAD + SLO + "  - id: calls\n    service: cc\n" + SLO,
        7,
        "duplicate SLO id 'calls'",
    ),
    ("unknown key", _slo("    taget: 0.9"), 5, "unknown key 'taget'"),
]


def _problems(text: str) -> list[Problem]:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(text, "bad.yaml", {})
    return [p for p in caught.value.problems if p.severity == "error"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [pytest.param(text, line, fragment, id=name) for name, text, line, fragment in BAD_CONFIGS],
)
def test_every_bad_config_is_an_error_at_its_line(text: str, line: int, fragment: str) -> None:
    problems = _problems(text)
    found = [p for p in problems if p.line == line and fragment in p.message]
    assert found, f"no error at line {line} mentioning {fragment!r}: {[str(p) for p in problems]}"
    assert str(found[0]).startswith(f"bad.yaml:{line}:")


def test_a_window_shorter_than_some_burn_windows_is_a_warning_naming_them() -> None:
    loaded = parse_config(
        HEAD + "    target: 0.9\n    window: {type: rolling, length: 1d}\n"
        "    forecast: {lookback: 3d}\n",
        "short.yaml",
        {},
    )
    assert [(p.line, p.severity) for p in loaded.warnings] == [(6, "warning"), (7, "warning")]
    assert "long window 3d of burn catalog 'google-30d'" in loaded.warnings[0].message
    assert "forecast.lookback 3d is longer than the window (1d)" in loaded.warnings[1].message


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    # "billion laughs": 10**9 values once expanded; refused at once, not after hours
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    problems = _problems("\n".join([*lines, "slos: *a8", ""]))
    assert [str(p) for p in problems] == [
        "bad.yaml:1:1: the document expands to more than 1,000,000 values through its "
        "aliases (*name): write the repeated parts out, or use fewer levels of aliases"
    ]


def test_anchors_of_a_normal_size_still_work() -> None:
    text = (
        "version: 1\nslos:\n"
        "  - {id: a, service: s, target: 0.9, window: &week {type: rolling, length: 7d}}\n"
        "  - {id: b, service: s, target: 0.9, window: *week}\n"
    )
    loaded = parse_config(text, "anchors.yaml", {})
    assert [slo.window.describe() for slo in loaded.config.slos] == ["7d", "7d"]
