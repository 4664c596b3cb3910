"""Schedules, holiday calendars and maintenance windows in the config: every problem at its
file:line:col, names resolved, and the SLO's eligibility built from them."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from errorbudget.config import dump_config, parse_config
from errorbudget.errors import ConfigValidationError, Problem

SLO = """\
  - id: ivr
    service: cc
    target: 0.8
    window: {type: rolling, length: 30d}
    segments: {keys: [flow]}
    alerting: {enabled: false}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(textwrap.dedent(text), "cfg.yaml", {})
    return [str(p) for p in caught.value.problems]


def warnings_of(text: str) -> list[Problem]:
    return parse_config(textwrap.dedent(text), "cfg.yaml", {}).warnings


def test_bad_schedules_are_reported_where_they_are_written() -> None:
    text = (
        """\
schedules:
  - name: hours
    timezone: America/New_Yrok
    hours:
      mon-fry: ["08:00-20:00"]
      sat: ["13:00-09:00", "09:00-25:00"]
      sun: ["08:00-12:00", "11:00-13:00"]
      tue: ["08:00-10:00"]
      tue-wed: ["09:30-11:00"]
slos:
"""
        + SLO
        + "    schedule: hours\n"
    )
    assert problems_of(text) == [
        "cfg.yaml:3:15: schedules[0].timezone: unknown IANA time zone 'America/New_Yrok'"
        " (e.g. America/New_York) (got 'America/New_Yrok')",
        "cfg.yaml:5:7: schedules[0].hours.mon-fry: 'fry' is not a weekday"
        " (use mon, tue, wed, thu, fri, sat, sun) (got 'mon-fry')",
        "cfg.yaml:6:13: schedules[0].hours.sat[0]: '13:00-09:00' ends before it starts (a range"
        " ends later the same day; write a range past midnight as two, e.g. 22:00-24:00 and"
        " 00:00-06:00 on the next day) (got '13:00-09:00')",
        "cfg.yaml:6:28: schedules[0].hours.sat[1]: '25:00' is not a time of day"
        " (00:00 to 24:00) (got '09:00-25:00')",
        "cfg.yaml:7:12: schedules[0].hours.sun: 11:00-13:00 overlaps 08:00-12:00",
    ]


def test_overlaps_across_weekday_keys_name_the_day() -> None:
    text = (
        """\
slos:
"""
        + SLO
        + """\
    schedule:
      timezone: UTC
      hours:
        tue: ["08:00-10:00"]
        tue-wed: ["09:30-11:00"]
"""
    )
    [problem] = problems_of(text)
    assert problem == "cfg.yaml:11:9: slos[0].schedule.hours: tue: 09:30-11:00 overlaps 08:00-10:00"


def test_unknown_names_get_a_suggestion() -> None:
    text = (
        """\
holiday_calendars:
  - name: us-holidays
    days: [{date: 2026-11-26, name: Thanksgiving}]
schedules:
  - name: business-hours
    timezone: UTC
    hours: {mon-fri: ["08:00-20:00"]}
    holiday_calendars: [us-holiday]
slos:
"""
        + SLO
        + """\
    schedule: busines-hours
  - id: other
    service: cc
    target: 0.9
    window: {type: rolling, length: 7d}
    schedule: {timezone: UTC, hours: {mon: ["08:00-09:00"]}, holiday_calendars: [uk]}
"""
    )
    problems = problems_of(text)
    assert (
        "cfg.yaml:8:25: unknown holiday calendar 'us-holiday' (holiday_calendars: us-holidays)"
        " (did you mean 'us-holidays'?)" in problems
    )
    assert (
        "cfg.yaml:16:15: slo 'ivr': unknown schedule 'busines-hours' (schedules: business-hours)"
        " (did you mean 'business-hours'?)" in problems
    )
    assert any(p.startswith("cfg.yaml:21:82: unknown holiday calendar 'uk'") for p in problems)
    # the schedule is unused only because of the misspelling: a warning beside the error
    assert "cfg.yaml:5:11: warning: schedule 'business-hours' is not used by any SLO" in (
        " ".join(problems)
    )


def test_inline_schedule_errors_point_inside_it() -> None:
    text = (
        """\
slos:
"""
        + SLO
        + """\
    schedule:
      timezone: UTC
      hourz: {mon: ["08:00-09:00"]}
"""
    )
    assert problems_of(text) == [
        "cfg.yaml:9:7: slos[0].schedule: missing required key 'hours'",
        "cfg.yaml:10:7: slos[0].schedule: unknown key 'hourz' (did you mean 'hours'?)",
    ]


def test_bad_maintenance_windows() -> None:
    text = (
        """\
maintenance:
  - name: patching
    timezone: UTC
    start: 22:00
    duration: 2h
    weekdays: [sun]
  - name: monthly
    timezone: UTC
    start: "02:00"
    duration: 2h
    days_of_month: [1]
    weekdays: [sun]
  - name: scoped
    timezone: UTC
    start: "02:00"
    duration: 8d
    weekdays: [sun]
    slos: [ivx]
  - name: patching
    timezone: UTC
    start: "02:00"
    duration: 1h
    days_of_month: [0]
  - {name: keyed, timezone: UTC, start: "02:00", duration: 1h, weekdays: [sat],
     services: [cc], segment: {flw: main}}
  - {name: nobody, timezone: UTC, start: "02:00", duration: 1h, weekdays: [sat],
     slos: [ivr], services: [other]}
slos:
"""
        + SLO
        + """\
  - {id: api, service: other, target: 0.9, window: {type: rolling, length: 7d}}
"""
    )
    assert problems_of(text) == [
        "cfg.yaml:4:12: maintenance[0].start: Input should be a valid string"
        " (got 22:00: quote it to make it a string)",
        "cfg.yaml:7:5: maintenance[1]: give exactly one of weekdays and days_of_month",
        "cfg.yaml:16:15: maintenance[2].duration: a maintenance window lasts whole minutes,"
        " at most 7d (got '8d')",
        "cfg.yaml:18:12: maintenance 'scoped': unknown SLO 'ivx' (did you mean 'ivr'?)",
        "cfg.yaml:19:5: maintenance[3]: nth and days_of_month count from 1 (or from -1, the last)",
        "cfg.yaml:19:11: duplicate maintenance window name 'patching' (first on line 2)",
        "cfg.yaml:25:32: maintenance 'keyed': segment key 'flw' is not one its SLOs segment by"
        " (flow) (did you mean 'flow'?)",
        "cfg.yaml:26:5: maintenance 'nobody': no SLO is in its scope (slos and services)",
    ]


def test_a_valid_config_resolves_each_slo_eligibility() -> None:
    text = (
        """\
holiday_calendars:
  - name: us
    days:
      - {date: 2026-11-26, name: Thanksgiving}
      - {date: 2026-12-24, hours: ["08:00-12:00"]}
schedules:
  - name: hours
    timezone: America/New_York
    hours: {mon-fri: ["08:00-20:00"], sat: ["09:00-13:00"]}
    holidays: [{date: 2026-12-24}]
    holiday_calendars: [us]
maintenance:
  - {name: patch, timezone: UTC, start: "02:00", duration: 2h, weekdays: [sun],
     segment: {flow: main}}
  - {name: other, timezone: UTC, start: "02:00", duration: 2h, weekdays: [sun], slos: [x]}
slos:
"""
        + SLO
        + """\
    schedule: hours
  - id: x
    service: cc
    target: 0.9
    window: {type: rolling, length: 7d}
"""
    )
    loaded = parse_config(textwrap.dedent(text), "cfg.yaml", {})
    assert loaded.warnings == []
    ivr = loaded.eligibility(loaded.slo("ivr"))
    assert ivr.schedule is not None and ivr.schedule.name == "hours"
    assert ivr.schedule.holidays == {date(2026, 11, 26): (), date(2026, 12, 24): ()}
    assert [w.name for w in ivr.maintenance] == ["patch"]
    x = loaded.eligibility(loaded.slo("x"))
    assert x.schedule is None
    assert [w.name for w in x.maintenance] == ["other"]  # patch needs a flow label
    # the config round-trips through its dump (dates and times as written)
    again = parse_config(dump_config(loaded.config), "again.yaml", {})
    assert again.config == loaded.config


def test_an_unused_schedule_is_a_warning() -> None:
    text = (
        """\
schedules:
  - {name: spare, timezone: UTC, hours: {mon: ["08:00-09:00"]}}
slos:
"""
        + SLO
    )
    [warning] = warnings_of(text)
    assert str(warning) == (
        "cfg.yaml:2:12: warning: schedule 'spare' is not used by any SLO (slos[].schedule)"
    )
