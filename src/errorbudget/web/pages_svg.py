"""Server-side SVG: the budget gauge and the timeline charts of the dashboard.

Pure functions from view-model values to SVG markup (``markupsafe.Markup``; every text that
goes in is escaped here). No JavaScript, no external fonts: the charts render offline and in
a screenshot exactly as in the browser. Colour is never the only signal: every gauge and
band also carries a text label (and an ``aria-label`` for screen readers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from errorbudget.web.pages_models import Annotation, Band

BAND_COLOURS: dict[Band, str] = {
    "green": "#1f8a4c",
    "amber": "#d48806",
    "red": "#c62828",
    "none": "#9aa1ab",
}
TRACK = "#e6e8eb"
INK = "#1d2430"
MUTED = "#5b6573"
GRID = "#e3e6ea"

MARKER_COLOURS: dict[str, str] = {
    "exclusion": "#5b6573",
    "maintenance": "#5b6573",
    "burn_episode": "#c62828",
    "incident": "#c62828",
    "deploy": "#4338ca",
    "config": "#4338ca",
    "model": "#4338ca",
    "other": "#4338ca",
}
"""Annotation markers: grey exclusions and maintenance windows, red burn episodes and
incidents, indigo changes."""

HATCHED = ("exclusion", "maintenance")
"""Kinds whose ranges are removed from budget counting: hatched over their colour."""

LABEL_ROOM = 150.0
"""Right margin of a chart with reference lines, where their labels go."""

MIN_BAND = 6.0
"""Narrowest a shaded range is drawn, in chart units."""

ALERT_COLOURS: dict[str, str] = {"page": "#b91c1c", "ticket": "#b45309", "notice": "#475569"}
"""Alert spans on the burn chart, by severity; each span also carries its severity's letter
(P, T, N) and a title, so colour is never the only tell."""
ALERT_LANE = 12.0
"""Height of the lane at the foot of the plot where alert spans are marked."""

GAUGE_SWEEP = 240.0
"""Degrees of arc of the gauge, open at the bottom."""


def _f(value: float) -> str:
    """Coordinates with one decimal: small SVG, no visible loss."""
    text = f"{value:.1f}"
    return "0" if text == "-0.0" else text


# --- gauge -------------------------------------------------------------------------------------


def _polar(cx: float, cy: float, radius: float, degrees: float) -> tuple[float, float]:
    """Point at ``degrees`` clockwise from 12 o'clock."""
    radians = math.radians(degrees)
    return cx + radius * math.sin(radians), cy - radius * math.cos(radians)


def arc_path(cx: float, cy: float, radius: float, start: float, end: float) -> str:
    """An SVG path along a circle from ``start`` to ``end`` degrees (clockwise from 12)."""
    x0, y0 = _polar(cx, cy, radius, start)
    x1, y1 = _polar(cx, cy, radius, end)
    large = 1 if end - start > 180 else 0
    return f"M{_f(x0)} {_f(y0)} A{_f(radius)} {_f(radius)} 0 {large} 1 {_f(x1)} {_f(y1)}"


def gauge_fill(remaining_ratio: float | None) -> float:
    """Share of the arc that is filled: the remaining ratio clamped to [0, 1]."""
    if remaining_ratio is None:
        return 0.0
    return min(max(remaining_ratio, 0.0), 1.0)


def gauge_svg(
    remaining_ratio: float | None,
    band: Band,
    label: str,
    title: str,
    thresholds: Sequence[float] = (),
    note: str | None = None,
) -> Markup:
    """A radial gauge of budget remaining: a 240° arc filled to the remaining share in the
    band's colour (the state's, from the SLO's policy preset), a tick at each of the
    preset's thresholds, and the figure in the middle — or ``note`` when the data cannot be
    judged (insufficient data), never a number."""
    cx, cy, radius, width = 100.0, 104.0, 74.0, 16.0
    first = -GAUGE_SWEEP / 2
    parts = [
        f'<svg class="gauge" viewBox="0 0 200 172" role="img" '
        f'aria-label="{escape(title)}: {escape(label)}" data-band="{band}">',
        f"<title>{escape(title)}: {escape(label)}</title>",
        f'<path d="{arc_path(cx, cy, radius, first, -first)}" fill="none" stroke="{TRACK}" '
        f'stroke-width="{_f(width)}" stroke-linecap="round"/>',
    ]
    fill = gauge_fill(remaining_ratio)
    if fill > 0:
        value_arc = arc_path(cx, cy, radius, first, first + GAUGE_SWEEP * fill)
        parts.append(
            f'<path class="gauge-value" d="{value_arc}"'
            f' fill="none" stroke="{BAND_COLOURS[band]}" stroke-width="{_f(width)}"'
            ' stroke-linecap="round"/>'
        )
    for threshold in thresholds:
        angle = first + GAUGE_SWEEP * threshold
        x0, y0 = _polar(cx, cy, radius - width / 2 - 3, angle)
        x1, y1 = _polar(cx, cy, radius + width / 2 + 3, angle)
        tx, ty = _polar(cx, cy, radius + width / 2 + 12, angle)
        parts.append(
            f'<line x1="{_f(x0)}" y1="{_f(y0)}" x2="{_f(x1)}" y2="{_f(y1)}" stroke="{INK}" '
            'stroke-width="2"/>'
            f'<text x="{_f(tx)}" y="{_f(ty + 3)}" font-size="9" text-anchor="middle" '
            f'fill="{MUTED}">{threshold * 100:g}</text>'
        )
    if note is not None and remaining_ratio is None:
        figure, caption = "–", note
    elif remaining_ratio is None:
        figure, caption = "no data", ""
    else:
        figure = f"{remaining_ratio * 100:.1f}%".replace("-", "−")
        caption = "budget left" if remaining_ratio > 0 else "budget spent"
    colour = BAND_COLOURS["red"] if remaining_ratio is not None and remaining_ratio <= 0 else INK
    size = 26 if remaining_ratio is not None else 20
    parts.append(
        f'<text x="{_f(cx)}" y="{_f(cy + 6)}" font-size="{size}"'
        f' font-weight="700" text-anchor="middle" fill="{colour}">{escape(figure)}</text>'
        f'<text x="{_f(cx)}" y="{_f(cy + 26)}" font-size="12" text-anchor="middle" '
        f'fill="{MUTED}">{escape(caption)}</text>'
        f'<text x="{_f(cx)}" y="{_f(cy + 62)}" font-size="12" font-weight="600" '
        f'text-anchor="middle" fill="{INK}">{escape(label)}</text>'
        "</svg>"
    )
    return Markup("".join(parts))


# --- scales and ticks --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinearScale:
    """Maps ``[domain_min, domain_max]`` linearly onto ``[range_min, range_max]`` (which may
    be reversed, as for an SVG y axis)."""

    domain_min: float
    domain_max: float
    range_min: float
    range_max: float

    def __call__(self, value: float) -> float:
        span = self.domain_max - self.domain_min
        if span == 0:
            return (self.range_min + self.range_max) / 2
        share = (value - self.domain_min) / span
        return self.range_min + share * (self.range_max - self.range_min)


def nice_step(span: float, count: int) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``count`` intervals."""
    if span <= 0:
        return 1.0
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``: the first ≤ low, the last ≥ high."""
    if high <= low:
        high = low + 1.0
    step = nice_step(high - low, count)
    first = math.floor(low / step + 1e-9) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9:
        ticks.append(first + step * len(ticks))
    return [round(t, 10) for t in ticks]


def day_ticks(start: datetime, end: datetime, most: int = 8) -> list[datetime]:
    """UTC midnights inside ``[start, end]``, every k days so there are at most ``most``."""
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    if first < start:
        first += timedelta(days=1)
    days = max((end - first).days, 0) + 1
    step = max(1, math.ceil(days / most))
    ticks = []
    tick = first
    while tick <= end:
        ticks.append(tick)
        tick += timedelta(days=step)
    return ticks


# --- line chart ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """A horizontal line with a label (e.g. burn rate 1 = spending exactly the budget)."""

    value: float
    label: str
    colour: str = MUTED


@dataclass(frozen=True, slots=True)
class AlertSpan:
    """One alert episode drawn on a chart: from its firing to its resolve (or the chart's
    end while it fires), shaded by severity and titled with ``label``."""

    start: datetime
    end: datetime
    severity: str
    label: str


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a chart: its points (None: no data, drawn as a gap) and its look."""

    points: Sequence[tuple[datetime, float | None]]
    colour: str
    width: float = 2.0
    opacity: float = 1.0
    name: str = ""


@dataclass(frozen=True, slots=True)
class ChartFrame:
    """Plot geometry: the scales a chart's points, bands and markers are drawn with."""

    x: LinearScale
    y: LinearScale
    y_ticks: list[float]
    left: float
    right: float
    top: float
    bottom: float


def chart_frame(
    start: datetime,
    end: datetime,
    values: Sequence[float],
    *,
    width: float,
    height: float,
    y_min: float | None = 0.0,
    y_max_at_least: float = 1.0,
    right_margin: float = 16.0,
) -> ChartFrame:
    """Scales for a time chart of ``values``: x over ``[start, end]``; y from the lowest of
    ``y_min`` and the data to the highest of ``y_max_at_least`` and the data, on round
    ticks."""
    left, right, top, bottom = 56.0, width - right_margin, 46.0, height - 30.0
    low = min([*values, *([y_min] if y_min is not None else [])], default=0.0)
    high = max([*values, y_max_at_least], default=y_max_at_least)
    ticks = nice_ticks(low, high)
    return ChartFrame(
        x=LinearScale(start.timestamp(), end.timestamp(), left, right),
        y=LinearScale(ticks[0], ticks[-1], bottom, top),
        y_ticks=ticks,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
    )


def line_paths(
    frame: ChartFrame, points: Sequence[tuple[datetime, float | None]]
) -> list[list[tuple[float, float]]]:
    """Screen coordinates of the points, split into runs at missing values (no data is a
    gap, never a zero)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for moment, value in points:
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((frame.x(moment.timestamp()), frame.y(value)))
    return [run for run in runs if run]


def _clip_x(frame: ChartFrame, moment: datetime) -> float:
    return min(max(frame.x(moment.timestamp()), frame.left), frame.right)


def line_chart_svg(
    *,
    title: str,
    start: datetime,
    end: datetime,
    lines: Sequence[Line],
    annotations: Sequence[Annotation],
    references: Sequence[Reference],
    y_format: Callable[[float], str],
    y_min: float | None = 0.0,
    y_max_at_least: float = 1.0,
    width: float = 960.0,
    height: float = 260.0,
    alert_spans: Sequence[AlertSpan] = (),
) -> Markup:
    """A time-series line chart with shaded ranges (exclusions, burn episodes), dashed
    instants (deploys) numbered like the legend under it, and labelled reference lines."""
    values = [v for line in lines for _, v in line.points if v is not None]
    frame = chart_frame(
        start,
        end,
        values,
        width=width,
        height=height,
        y_min=y_min,
        y_max_at_least=y_max_at_least,
        right_margin=LABEL_ROOM if references else 16.0,
    )
    out = [
        f'<svg class="chart" viewBox="0 0 {_f(width)} {_f(height)}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#8a94a3" '
        'stroke-width="2" stroke-opacity="0.35"/></pattern></defs>',
    ]
    for tick in frame.y_ticks:
        y = frame.y(tick)
        out.append(
            f'<line x1="{_f(frame.left)}" y1="{_f(y)}" x2="{_f(frame.right)}" y2="{_f(y)}" '
            f'stroke="{GRID}"/><text x="{_f(frame.left - 8)}" y="{_f(y + 4)}" font-size="11" '
            f'text-anchor="end" fill="{MUTED}">{escape(y_format(tick))}</text>'
        )
    for tick_time in day_ticks(start, end):
        x = frame.x(tick_time.timestamp())
        out.append(
            f'<line x1="{_f(x)}" y1="{_f(frame.bottom)}" x2="{_f(x)}" y2="{_f(frame.bottom + 4)}" '
            f'stroke="{MUTED}"/><text x="{_f(x)}" y="{_f(frame.bottom + 18)}" font-size="11" '
            f'text-anchor="middle" fill="{MUTED}">{tick_time:%b %-d}</text>'
        )
    for note in annotations:
        if note.end is None:
            continue
        x0, x1 = _clip_x(frame, note.start), _clip_x(frame, note.end)
        if x1 - x0 < MIN_BAND:  # a 2-hour outage in 30 days is still something to see
            middle = (x0 + x1) / 2
            x0, x1 = middle - MIN_BAND / 2, middle + MIN_BAND / 2
        colour = MARKER_COLOURS.get(note.kind, MARKER_COLOURS["exclusion"])
        geometry = (
            f'x="{_f(x0)}" y="{_f(frame.top)}" width="{_f(x1 - x0)}" '
            f'height="{_f(frame.bottom - frame.top)}"'
        )
        out.append(
            f'<g class="annotation annotation-{note.kind}"><title>{escape(note.label)}</title>'
            f'<rect {geometry} fill="{colour}" fill-opacity="0.14"/>'
            + (
                f'<rect {geometry} fill="url(#hatch)"/>'
                if note.kind in ("exclusion", "maintenance")
                else ""
            )
            + "</g>"
        )
    out.extend(_alert_spans(frame, alert_spans))
    # Reference lines are labelled in the right margin, never over the data; a label that
    # would touch the one above moves down.
    placed: list[tuple[float, Reference]] = []
    for reference in sorted(references, key=lambda r: -r.value):
        y = frame.y(reference.value)
        if not frame.top - 0.5 <= y <= frame.bottom + 0.5:
            continue
        out.append(
            f'<line x1="{_f(frame.left)}" y1="{_f(y)}" x2="{_f(frame.right)}" y2="{_f(y)}" '
            f'stroke="{reference.colour}" stroke-dasharray="6 4" stroke-width="1.5"/>'
        )
        label_y = y + 4
        if placed and label_y - placed[-1][0] < 14:
            label_y = placed[-1][0] + 14
        placed.append((label_y, reference))
    texts = [
        f'<text x="{_f(frame.right + 8)}" y="{_f(label_y)}" font-size="12" '
        f'fill="{reference.colour}">{escape(reference.label)}</text>'
        for label_y, reference in placed
    ]
    for line in lines:
        for run in line_paths(frame, line.points):
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{_f(x)} {_f(y)}" for i, (x, y) in enumerate(run)
            )
            out.append(
                f'<path class="series" data-name="{escape(line.name)}" d="{path}" fill="none" '
                f'stroke="{line.colour}" stroke-width="{_f(line.width)}" '
                f'stroke-opacity="{line.opacity}" stroke-linejoin="round"/>'
            )
    out.extend(texts)
    rows: list[list[float]] = [[], []]
    for note in annotations:
        x = _clip_x(frame, note.start)
        colour = MARKER_COLOURS.get(note.kind, MARKER_COLOURS["deploy"])
        if note.end is None:
            out.append(
                f'<line class="annotation annotation-instant annotation-{note.kind}" '
                f'x1="{_f(x)}" y1="{_f(frame.top)}" x2="{_f(x)}" y2="{_f(frame.bottom)}" '
                f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="4 3">'
                f"<title>{escape(note.label)}</title></line>"
            )
        # Numbered markers above the plot; one that would cover another goes a row higher.
        row = next((i for i, xs in enumerate(rows) if all(abs(x - o) >= 20 for o in xs)), 1)
        rows[row].append(x)
        y = frame.top - 20 - 18 * row
        out.append(
            f'<g class="annotation-marker"><rect x="{_f(x - 9)}" y="{_f(y)}" width="18" '
            f'height="16" rx="3" fill="{colour}"/><text x="{_f(x)}" y="{_f(y + 12)}" '
            f'font-size="11" font-weight="700" text-anchor="middle" fill="#ffffff">'
            f"{note.number}</text></g>"
        )
    out.append(
        f'<line x1="{_f(frame.left)}" y1="{_f(frame.bottom)}" x2="{_f(frame.right)}" '
        f'y2="{_f(frame.bottom)}" stroke="{MUTED}"/></svg>'
    )
    return Markup("".join(out))


def _alert_spans(frame: ChartFrame, spans: Sequence[AlertSpan]) -> list[str]:
    """Alert episodes: a light shade over the plot and a mark in the lane at its foot, solid
    for a page and dashed for a ticket or notice, with the severity's letter when the mark
    is wide enough and a title (read out by screen readers) on each."""
    out = []
    lane = frame.bottom - ALERT_LANE
    for span in spans:
        x0, x1 = _clip_x(frame, span.start), _clip_x(frame, span.end)
        if x1 - x0 < MIN_BAND:
            middle = (x0 + x1) / 2
            x0, x1 = middle - MIN_BAND / 2, middle + MIN_BAND / 2
        colour = ALERT_COLOURS.get(span.severity, ALERT_COLOURS["notice"])
        dashed = "" if span.severity == "page" else ' stroke-dasharray="3 2"'
        letter = span.severity[:1].upper()
        out.append(
            f'<g class="alert-span alert-span-{escape(span.severity)}" role="img" '
            f'aria-label="{escape(span.label)}"><title>{escape(span.label)}</title>'
            f'<rect x="{_f(x0)}" y="{_f(frame.top)}" width="{_f(x1 - x0)}" '
            f'height="{_f(lane - frame.top)}" fill="{colour}" fill-opacity="0.08"/>'
            f'<rect x="{_f(x0)}" y="{_f(lane)}" width="{_f(x1 - x0)}" height="{_f(ALERT_LANE)}" '
            f'fill="{colour}" fill-opacity="{"0.85" if span.severity == "page" else "0.3"}" '
            f'stroke="{colour}"{dashed}/>'
            + (
                f'<text x="{_f((x0 + x1) / 2)}" y="{_f(lane + ALERT_LANE - 2.5)}" font-size="9" '
                f'font-weight="700" text-anchor="middle" '
                f'fill="{"#ffffff" if span.severity == "page" else INK}">{letter}</text>'
                if x1 - x0 >= 10
                else ""
            )
            + "</g>"
        )
    return out
