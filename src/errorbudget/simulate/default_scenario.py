"""The scenario that ships with the package: a mid-size New York contact center.

Queues (tier, media, service-level target):

=============  ========  ========  =================  ===========================================
queue          tier      media     SL target          notes
=============  ========  ========  =================  ===========================================
VIP Billing    vip       voice     90 % in 20 s       24/7, staffed over its 95 %/30 s tier SLO
Sales          standard  voice     80 % in 30 s
Support        standard  voice     80 % in 30 s       understaffed at peaks: burns budget
Billing ES     standard  voice     80 % in 30 s       fed by the Spanish billing IVR
Callbacks      standard  callback  80 % in 1 h
Chat Support   digital   chat      90 % in 60 s
Messaging      digital   message   90 % in 5 min
Email          digital   email     90 % in 24 h       no abandons; carries over night
=============  ========  ========  =================  ===========================================

IVR flows: ``Main Menu`` (to Sales, Support, VIP Billing) and ``Billing ES`` (Spanish
billing, to Billing ES); some of their callers authenticate before the main outcome, and
a few fail that and carry on, so a visit can have two outcomes and a failed outcome need
not transfer. Staffing is sized per hour of the week from the expected load with
square-root staffing (``⌈R + β√R⌉``, β per queue). Incidents are placed relative to an
``anchor`` (the simulation's start): a carrier degradation 3 days before, a Spanish-billing
IVR regression for the last 2 days, an API incident 1 day before, and a staffing shortfall
on Support 1 hour after the anchor (seen live).

Email's service level is one business day (24 h), as centers whose email queue closes
overnight set it: with 4 h, every email received after 18:00 missed it by design, all of
them counted in the morning's first open hour. The carrier degradation is a major outage
(three in four agent lines down, callers half as patient): the voice queues' service level
collapses for its 2½ hours, which their leads must hear of at once.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from errorbudget.simulate.erlang import square_root_staffing
from errorbudget.simulate.scenario import (
    FlowSpec,
    Incident,
    QueueSpec,
    Scenario,
    Seasonality,
    ServiceLevelSettings,
)

WEEKLY = [1.1, 1.0, 1.0, 0.95, 0.9, 0.45, 0.35]


def _bumps(
    peak_a: float, width_a: float, peak_b: float, width_b: float, floor: float
) -> list[float]:
    values = []
    for hour in range(24):
        h = hour + 0.5
        v = math.exp(-(((h - peak_a) / width_a) ** 2)) + 0.85 * math.exp(
            -(((h - peak_b) / width_b) ** 2)
        )
        values.append(round(max(v, floor), 4))
    top = max(values)
    return [round(v / top, 4) for v in values]


VOICE = Seasonality(intraday=_bumps(11.0, 2.2, 15.5, 2.5, 0.03), weekly=WEEKLY)
DIGITAL = Seasonality(intraday=_bumps(12.0, 3.5, 20.0, 2.5, 0.06), weekly=[1.0] * 5 + [0.8, 0.7])
EMAIL = Seasonality(intraday=_bumps(10.0, 3.0, 14.0, 3.0, 0.05), weekly=WEEKLY)


def _open(hours: tuple[int, int], weekend: tuple[int, int] | None) -> list[bool]:
    opened: list[bool] = []
    for day in range(7):
        span = hours if day < 5 else weekend
        opened.extend(span is not None and span[0] <= h < span[1] for h in range(24))
    return opened


def _staffing(
    load_per_hour: list[float], handle_seconds: float, beta: float, opened: list[bool], minimum: int
) -> list[int]:
    """Agents per hour of the week for the expected arrivals per hour (168 values)."""
    return [
        square_root_staffing(rate * handle_seconds / 3600, beta, minimum) if is_open else 0
        for rate, is_open in zip(load_per_hour, opened, strict=True)
    ]


def _hourly(seasonality: Seasonality, peak: float) -> list[float]:
    return [
        peak * seasonality.intraday[h] * seasonality.weekly[d] for d in range(7) for h in range(24)
    ]


MAIN_MENU = dict(peak=420.0, p_success=0.33, p_failure=0.04, p_disconnect=0.08, p_exit=0.55)
MAIN_EXITS = {"Sales": 0.3, "Support": 0.55, "VIP Billing": 0.15}
BILLING_ES = dict(peak=70.0, p_success=0.45, p_failure=0.05, p_disconnect=0.08, p_exit=0.42)

# name, media, tier, SL seconds, SL %, direct peak/h, seasonality, AHT s, patience s,
# flow-out probability, max wait s, β, open hours (weekday, weekend), minimum agents
_QUEUES: list[
    tuple[
        str,
        str,
        str,
        int,
        float,
        float,
        Seasonality,
        float,
        float | None,
        float,
        int,
        float,
        tuple[int, int],
        tuple[int, int] | None,
        int,
    ]
] = [
    (
        "VIP Billing",
        "voice",
        "vip",
        20,
        90.0,
        12,
        VOICE,
        360,
        180,
        0.02,
        1800,
        2.2,
        (0, 24),
        (0, 24),
        2,
    ),
    (
        "Sales",
        "voice",
        "standard",
        30,
        80.0,
        10,
        VOICE,
        300,
        150,
        0.03,
        1800,
        0.9,
        (7, 21),
        (9, 17),
        0,
    ),
    (
        "Support",
        "voice",
        "standard",
        30,
        80.0,
        15,
        VOICE,
        420,
        120,
        0.05,
        1800,
        0.35,
        (7, 21),
        (9, 17),
        0,
    ),
    (
        "Billing ES",
        "voice",
        "standard",
        30,
        80.0,
        0,
        VOICE,
        400,
        150,
        0.04,
        1800,
        0.8,
        (7, 21),
        (9, 17),
        0,
    ),
    (
        "Callbacks",
        "callback",
        "standard",
        3600,
        80.0,
        8,
        VOICE,
        300,
        None,
        0.0,
        24 * 3600,
        0.4,
        (8, 20),
        (9, 17),
        0,
    ),
    (
        "Chat Support",
        "chat",
        "digital",
        60,
        90.0,
        45,
        DIGITAL,
        540,
        300,
        0.0,
        1800,
        1.4,
        (7, 23),
        (9, 21),
        0,
    ),
    (
        "Messaging",
        "message",
        "digital",
        300,
        90.0,
        25,
        DIGITAL,
        480,
        1800,
        0.0,
        7200,
        1.0,
        (7, 23),
        (9, 21),
        0,
    ),
    (
        "Email",
        "email",
        "digital",
        24 * 3600,
        90.0,
        20,
        EMAIL,
        480,
        None,
        0.0,
        36 * 3600,
        0.5,
        (8, 18),
        (10, 16),
        0,
    ),
]


def default_scenario(anchor: datetime) -> Scenario:
    """The packaged scenario; incidents are placed relative to ``anchor`` (aware)."""
    flows = [
        FlowSpec(
            name="Main Menu",
            peak_per_hour=MAIN_MENU["peak"],
            seasonality=VOICE,
            p_success=MAIN_MENU["p_success"],
            p_failure=MAIN_MENU["p_failure"],
            p_disconnect=MAIN_MENU["p_disconnect"],
            p_exit=MAIN_MENU["p_exit"],
            mean_seconds=70,
            exit_queues=MAIN_EXITS,
            # callers who authenticate first; a few fail it and go on (or give up)
            outcomes=["Self-service", "Authenticate"],
            p_extra_outcome=0.3,
            p_extra_failed=0.08,
        ),
        FlowSpec(
            name="Billing ES",
            peak_per_hour=BILLING_ES["peak"],
            seasonality=VOICE,
            p_success=BILLING_ES["p_success"],
            p_failure=BILLING_ES["p_failure"],
            p_disconnect=BILLING_ES["p_disconnect"],
            p_exit=BILLING_ES["p_exit"],
            mean_seconds=95,
            exit_queues={"Billing ES": 1.0},
            language="es-us",
            outcomes=["Pay bill", "Authenticate"],
            p_extra_outcome=0.6,
            p_extra_failed=0.05,
        ),
    ]
    queues = []
    for (
        name,
        media,
        tier,
        sl_s,
        sl_pct,
        peak,
        season,
        aht,
        patience,
        p_out,
        max_wait,
        beta,
        weekday,
        weekend,
        minimum,
    ) in _QUEUES:
        load = _hourly(season, peak)
        for flow, spec in zip(flows, (MAIN_MENU, BILLING_ES), strict=True):
            share = flow.exit_queues.get(name, 0.0) / sum(flow.exit_queues.values())
            if share:
                transferred = spec["p_failure"] + spec["p_exit"]
                flow_load = _hourly(flow.seasonality, spec["peak"] * transferred * share)
                load = [a + b for a, b in zip(load, flow_load, strict=True)]
        queues.append(
            QueueSpec(
                name=name,
                media_type=media,
                tier=tier,
                sl_target_seconds=sl_s,
                sl_target_percent=sl_pct,
                peak_per_hour=peak,
                seasonality=season,
                staffing=_staffing(load, aht, beta, _open(weekday, weekend), minimum),
                mean_handle_seconds=aht,
                mean_patience_seconds=patience,
                short_abandon_seconds=10,
                flow_out_probability=p_out,
                max_wait_seconds=max_wait,
            )
        )
    day = timedelta(days=1)
    afternoon = anchor.replace(minute=0, second=0, microsecond=0)
    incidents = [
        Incident(
            name="Carrier degradation (voice)",
            start=afternoon - 3 * day,
            end=afternoon - 3 * day + timedelta(hours=2, minutes=30),
            media_types=["voice"],
            staffing_factor=0.25,  # three in four agent lines down
            patience_factor=0.5,
            component="Voice",
            impact="major",
        ),
        Incident(
            name="Spanish billing IVR: payment step failing",
            start=afternoon - 2 * day,
            end=afternoon + 7 * day,
            flows=["Billing ES"],
            ivr_failure=0.30,
            component="Architect",
            impact="minor",
        ),
        Incident(
            name="Analytics API errors",
            start=afternoon - day,
            end=afternoon - day + timedelta(minutes=30),
            api_error_rate=0.5,
            component="Platform API",
            impact="major",
        ),
        Incident(
            name="Support staffing shortfall",
            start=afternoon + timedelta(hours=1),
            end=afternoon + timedelta(hours=1, minutes=45),
            queues=["Support"],
            staffing_factor=0.4,
            component="Routing",
            impact="minor",
        ),
    ]
    return Scenario(
        name="errorbudget default contact center",
        timezone="America/New_York",
        service_level=ServiceLevelSettings(include_flow_outs=False, exclude_short_abandons=True),
        queues=queues,
        flows=flows,
        incidents=incidents,
    )
