"""Rendering the dashboard: the Jinja2 environment, its filters, and the charts of a page.

Templates live in ``web/templates`` and are loaded from the package (no file paths), with
autoescaping on and undefined names as errors. Filters turn view-model values into the
short strings every page uses (``22.5%``, ``1.22×``, ``2d 8h``); the chart globals turn a
detail page's view-model into SVG (``web.pages_svg``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from errorbudget import __version__
from errorbudget.web.pages_models import SloCard, SloDetailPage
from errorbudget.web.pages_svg import (
    BAND_COLOURS,
    MUTED,
    AlertSpan,
    Line,
    Reference,
    gauge_svg,
    line_chart_svg,
)
from errorbudget.wording import exhaustion, human_duration

# --- formatting filters (used by every template) ---------------------------------------------


def pct(value: float | None, digits: int = 1) -> str:
    """``22.5%``, ``−1.9%`` (a real minus sign) or ``no data``."""
    if value is None:
        return "no data"
    return f"{value * 100:.{digits}f}%".replace("-", "−")


def times(value: float | None) -> str:
    """A burn rate as a multiple of the budget pace: ``1.22×``, or ``–`` without data."""
    return "–" if value is None else f"{value:.2f}×"


def count(value: float) -> str:
    return f"{value:,.0f}"


def when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def short_when(moment: datetime) -> str:
    return f"{moment:%b %-d %H:%M}"


def age(seconds: float | None) -> str:
    """``2m old``, ``30h 5m old``; ``current`` when the data reaches the instant."""
    if seconds is None:
        return "no data"
    if seconds <= 60:
        return "current"
    return f"{human_duration(seconds)} old"


def words(value: str) -> str:
    """``approval_required`` → ``approval required``."""
    return value.replace("_", " ")


def target_pct(value: float) -> str:
    return pct(value, 2 if value > 0.99 else 1)


def gauge_for(card: SloCard) -> Markup:
    return gauge_svg(
        card.gauge.remaining_ratio,
        card.gauge.band,
        card.gauge.state_label,
        f"{card.slo.id} error budget",
        card.gauge.thresholds,
        "insufficient data" if not card.data.sufficient else None,
    )


def burn_chart(page: SloDetailPage) -> Markup:
    references = [Reference(1.0, "1× = on budget pace")]
    page_at = page.fast_burn_thresholds.get("1h")
    if page_at is not None:
        references.append(Reference(page_at, f"1h fast burn {page_at:.1f}×", BAND_COLOURS["red"]))
    return line_chart_svg(
        title=f"{page.slo.id} {page.segment_label}: burn rate, last 30 days",
        start=page.timeline_start,
        end=page.timeline_end,
        lines=[
            Line([(p.at, p.burn_1h) for p in page.timeline], "#60a5fa", 1.2, 0.9, "burn 1h"),
            Line([(p.at, p.burn_1d) for p in page.timeline], "#1e3a8a", 2.4, 1.0, "burn 1d"),
        ],
        annotations=page.annotations,
        references=references,
        alert_spans=[
            AlertSpan(
                start=e.fired_at,
                end=e.resolved_at or page.timeline_end,
                severity=e.severity,
                label=f"{e.severity} alert {e.alertname} ({e.segment_label}): fired "
                f"{short_when(e.fired_at)}, "
                + (f"resolved {short_when(e.resolved_at)}" if e.resolved_at else "still firing"),
            )
            for e in page.alert_history.episodes
        ],
        y_format=lambda v: f"{v:g}×",
        # Keep the fast-burn line in view: how far from paging is part of the answer.
        y_max_at_least=max(2.0, (page_at or 0.0) * 1.05),
    )


def budget_chart(page: SloDetailPage) -> Markup:
    return line_chart_svg(
        title=f"{page.slo.id} {page.segment_label}: error budget remaining, last 30 days",
        start=page.timeline_start,
        end=page.timeline_end,
        lines=[
            Line(
                [(p.at, p.budget_remaining_ratio) for p in page.timeline],
                "#0f766e",
                2.4,
                1.0,
                "budget remaining",
            )
        ],
        annotations=page.annotations,
        references=[
            *(
                Reference(
                    t.remaining_ratio,
                    f"{t.remaining_ratio * 100:g}%: {t.label}",
                    BAND_COLOURS[t.band],
                )
                for t in page.thresholds
            ),
            Reference(0.0, "budget spent", MUTED),
        ],
        y_format=lambda v: f"{v * 100:.0f}%",
        y_max_at_least=1.0,
        height=240.0,
    )


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("errorbudget.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Callable[..., Any]] = {
        "pct": pct,
        "target_pct": target_pct,
        "times": times,
        "count": count,
        "when": when,
        "short_when": short_when,
        "duration": human_duration,
        "exhaustion": exhaustion,
        "age": age,
        "words": words,
    }
    env.filters.update(filters)
    env.globals.update(
        gauge_for=gauge_for, burn_chart=burn_chart, budget_chart=budget_chart, version=__version__
    )
    return env
