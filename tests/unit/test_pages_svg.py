"""The dashboard's SVG builders: gauge colour bands, arcs, scales, ticks and charts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from errorbudget.web.pages_models import Annotation, Band
from errorbudget.web.pages_svg import (
    BAND_COLOURS,
    AlertSpan,
    Line,
    LinearScale,
    Reference,
    arc_path,
    chart_frame,
    day_ticks,
    gauge_fill,
    gauge_svg,
    line_chart_svg,
    line_paths,
    nice_step,
    nice_ticks,
)

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=30)


def test_gauge_ticks_are_the_presets_thresholds() -> None:
    svg = str(gauge_svg(0.6, "green", "healthy", "x", thresholds=[0.5, 0.2]))
    assert ">50</text>" in svg and ">20</text>" in svg
    other = str(gauge_svg(0.6, "green", "healthy", "x", thresholds=[0.5, 0.1]))
    assert ">10</text>" in other and ">20</text>" not in other


def test_insufficient_data_shows_no_number() -> None:
    svg = str(gauge_svg(None, "none", "insufficient data", "x", note="insufficient data"))
    assert "gauge-value" not in svg and "%" not in svg.split("</title>")[1]
    assert "insufficient data" in svg


@pytest.mark.parametrize(
    ("remaining", "fill"), [(None, 0.0), (-0.3, 0.0), (0.0, 0.0), (0.42, 0.42), (1.7, 1.0)]
)
def test_gauge_fill_is_clamped(remaining: float | None, fill: float) -> None:
    assert gauge_fill(remaining) == pytest.approx(fill)


@pytest.mark.parametrize(
    ("remaining", "colour", "label"),
    [(0.9, "green", "healthy"), (0.35, "amber", "warning"), (0.1, "red", "critical")],
)
def test_gauge_svg_draws_the_band_colour_and_says_it_in_words(
    remaining: float, colour: Band, label: str
) -> None:
    svg = str(gauge_svg(remaining, colour, label, "voice-sla budget"))
    assert f'data-band="{colour}"' in svg
    value_arc = re.search(r'class="gauge-value"[^>]*stroke="([^"]+)"', svg)
    assert value_arc is not None and value_arc.group(1) == BAND_COLOURS[colour]
    assert f"{remaining * 100:.1f}%" in svg
    assert label in svg  # colour is never the only signal
    assert 'role="img"' in svg and "aria-label=" in svg


def test_gauge_svg_without_data_or_budget() -> None:
    empty = str(gauge_svg(None, "none", "no data", "x"))
    assert "gauge-value" not in empty and "no data" in empty
    spent = str(gauge_svg(-0.019, "red", "critical", "x"))
    assert "gauge-value" not in spent  # nothing left to fill
    assert "−1.9%" in spent and "budget spent" in spent


def test_gauge_svg_escapes_text() -> None:
    svg = str(gauge_svg(0.6, "green", "<b>", 'a "quoted" <slo>'))
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "&lt;slo&gt;" in svg


def test_arc_path_large_arc_flag() -> None:
    assert " 0 0 1 " in arc_path(100, 100, 50, -120, 0)  # 120°: small arc
    assert " 0 1 1 " in arc_path(100, 100, 50, -120, 120)  # 240°: large arc
    # Starts at 12 o'clock for 0°.
    assert arc_path(100, 100, 50, 0, 90).startswith("M100.0 50.0")


def test_linear_scale_maps_and_reverses() -> None:
    x = LinearScale(0.0, 10.0, 50.0, 150.0)
    assert x(0.0) == 50.0 and x(10.0) == 150.0 and x(2.5) == 75.0
    y = LinearScale(0.0, 2.0, 200.0, 0.0)  # SVG y grows downwards
    assert y(0.0) == 200.0 and y(2.0) == 0.0 and y(1.0) == 100.0
    flat = LinearScale(3.0, 3.0, 0.0, 100.0)
    assert flat(3.0) == 50.0


@pytest.mark.parametrize(
    ("span", "count", "step"), [(10, 5, 2.0), (1, 5, 0.2), (88, 5, 20.0), (0.4, 4, 0.1)]
)
def test_nice_step(span: float, count: int, step: float) -> None:
    assert nice_step(span, count) == pytest.approx(step)


def test_nice_ticks_cover_the_range() -> None:
    assert nice_ticks(0.0, 2.0) == [0.0, 0.5, 1.0, 1.5, 2.0]
    ticks = nice_ticks(-0.19, 1.0)
    assert ticks[0] <= -0.19 and ticks[-1] >= 1.0
    assert nice_ticks(0.0, 0.0)[-1] > 0.0


def test_day_ticks_are_midnights_at_most_eight() -> None:
    ticks = day_ticks(START + timedelta(hours=15), END)
    assert len(ticks) <= 8
    assert all(t.hour == 0 and t.minute == 0 for t in ticks)
    assert ticks[0] == START + timedelta(days=1)


def test_chart_frame_scales_time_and_values() -> None:
    frame = chart_frame(START, END, [0.3, 3.7], width=960, height=260, y_max_at_least=2.0)
    assert frame.x(START.timestamp()) == frame.left
    assert frame.x(END.timestamp()) == frame.right
    assert frame.x((START + timedelta(days=15)).timestamp()) == pytest.approx(
        (frame.left + frame.right) / 2
    )
    assert frame.y_ticks[0] == 0.0 and frame.y_ticks[-1] >= 3.7  # the data fits
    assert frame.y(0.0) == frame.bottom and frame.y(frame.y_ticks[-1]) == frame.top
    quiet = chart_frame(START, END, [0.1], width=960, height=260, y_max_at_least=2.0)
    assert quiet.y_ticks[-1] == 2.0  # a quiet SLO still shows where 1× and 2× are
    negative = chart_frame(START, END, [-0.25, 0.8], width=960, height=260)
    assert negative.y_ticks[0] <= -0.25  # exhausted budgets go below zero, visibly


def test_missing_values_are_gaps_not_zeros() -> None:
    frame = chart_frame(START, END, [1.0], width=960, height=260)
    points = [
        (START, 1.0),
        (START + timedelta(days=1), None),
        (START + timedelta(days=2), 1.0),
        (START + timedelta(days=3), 1.0),
    ]
    runs = line_paths(frame, points)
    assert [len(run) for run in runs] == [1, 2]


def test_line_chart_draws_lines_bands_instants_and_references() -> None:
    notes = [
        Annotation(
            number=1,
            kind="exclusion",
            start=START + timedelta(days=3),
            end=START + timedelta(days=3, hours=2),
            label="Exclusion #1: maintenance",
            detail="",
        ),
        Annotation(
            number=2,
            kind="deploy",
            start=START + timedelta(days=20),
            end=None,
            label="Deploy: prompt <v2>",
            detail="",
        ),
    ]
    svg = str(
        line_chart_svg(
            title="burn",
            start=START,
            end=END,
            lines=[Line([(START, 0.5), (END, 1.5)], "#123456", name="burn 1d")],
            annotations=notes,
            references=[Reference(1.0, "1× = on budget pace")],
            y_format=lambda v: f"{v:g}×",
        )
    )
    assert svg.count('class="series"') == 1
    assert 'class="annotation annotation-exclusion"' in svg
    assert "annotation-deploy" in svg
    assert "1× = on budget pace" in svg
    assert "prompt &lt;v2&gt;" in svg
    assert svg.count('class="annotation-marker"') == 2


def test_alert_spans_are_titled_and_told_apart_by_more_than_colour() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    spans = [
        AlertSpan(start + timedelta(days=2), start + timedelta(days=4), "page", "page alert A"),
        AlertSpan(start + timedelta(days=5), start + timedelta(days=5, minutes=1), "ticket", "T1"),
        AlertSpan(start - timedelta(days=3), start + timedelta(days=1), "ticket", "before"),
    ]
    svg = str(
        line_chart_svg(
            title="burn",
            start=start,
            end=start + timedelta(days=10),
            lines=[],
            annotations=[],
            references=[],
            y_format=str,
            alert_spans=spans,
        )
    )
    assert svg.count('class="alert-span alert-span-page"') == 1
    assert svg.count('class="alert-span alert-span-ticket"') == 2
    assert "<title>page alert A</title>" in svg and 'aria-label="T1"' in svg
    assert ">P</text>" in svg and 'stroke-dasharray="3 2"' in svg  # a letter and a dash
    assert 'x="56.0"' in svg  # the span begun before the chart is clipped to its left edge
