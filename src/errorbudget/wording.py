"""Short human strings for results, the same on every surface: ``12.3%``, ``2d 4h``,
``not at this rate``, ``insufficient data (44 of 43,200 minutes)``."""

from __future__ import annotations

from errorbudget.model import DataCoverage, Outlook


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "no data"
    return f"{value * 100:.{digits}f}%"


def burn(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}"


def count_text(value: int) -> str:
    return f"{value:,}"


def data_note(coverage: DataCoverage) -> str | None:
    """What a page says instead of a number: ``insufficient data (44 of 43,200 minutes)``,
    or ``data stale: newest is 30h 5m old (limit 1h 0m)``; None when the data is fine."""
    if not coverage.sufficient:
        return (
            f"insufficient data ({count_text(coverage.covered_minutes)} of "
            f"{count_text(coverage.window_minutes)} minutes)"
        )
    if coverage.stale and coverage.age_seconds is not None:
        limit = human_duration(coverage.max_age_seconds)
        return f"data stale: newest is {human_duration(coverage.age_seconds)} old (limit {limit})"
    if coverage.broken:
        where = f" in {coverage.broken_series} series" if coverage.broken_series > 1 else ""
        return (
            f"SLI data broken: {count_text(coverage.broken_minutes)} minutes{where} left out "
            "(a source reported them wrong or missing)"
        )
    return None


OUTLOOK_WORDS: dict[Outlook, str] = {
    "spent": "spent",
    "recovers": "spent (back within budget by the period end)",
    "exhausts": "",
    "not_before_period_end": "not before the period ends",
    "not_at_this_rate": "not at this rate",
    "insufficient_data": "insufficient data",
    "no_data": "no data",
}


def exhaustion(seconds: float | None, outlook: Outlook) -> str:
    """Time to exhaustion in words: ``2d 4h``, ``spent``, ``not at this rate``, …"""
    if outlook == "exhausts":
        return human_duration(seconds)
    return OUTLOOK_WORDS[outlook]


def human_duration(seconds: float | None) -> str:
    """``3d 4h``, ``45m``, ``now`` or ``–`` (never at this rate)."""
    if seconds is None:
        return "–"
    if seconds <= 0:
        return "now"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{max(mins, 1)}m"
