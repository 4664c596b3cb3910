"""The bounds on what errorbudget accepts and on the work one request may cause (issue #8).

Every input path — count files, the HTTP API, the Genesys collector, the config — checks
against these, so a bad value is refused where it enters, with the allowed range in the
message, instead of overflowing or exhausting memory further in. docs/operations.md
("Bad input") says why each bound is what it is; the values here are the only copy.

Nothing here imports anything from the package: the engine, the store and every surface
may use it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# --- time -----------------------------------------------------------------------------------

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""The first instant errorbudget accepts: counts, exclusions, annotations, ``at``."""
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""The first instant it no longer accepts (the range is ``[EARLIEST, LATEST)``)."""
EARLIEST_MINUTE = int(EARLIEST.timestamp()) // 60
LATEST_MINUTE = int(LATEST.timestamp()) // 60
TIME_RANGE_TEXT = "2000-01-01T00:00Z to 2100-01-01T00:00Z"
"""How messages name the accepted range (the end excluded)."""


def time_problem(moment: datetime) -> str | None:
    """Why ``moment`` cannot be used (no zone, or outside the accepted range), or None."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return "a time needs a zone or offset (e.g. 2026-11-20T12:00:00Z)"
    if not EARLIEST <= moment < LATEST:
        return f"{moment.isoformat()} is outside the accepted range, {TIME_RANGE_TEXT}"
    return None


def minute_in_range(minute: int) -> bool:
    return EARLIEST_MINUTE <= minute < LATEST_MINUTE


# --- counts ---------------------------------------------------------------------------------

MAX_COUNT = 10**9
"""The most events one series may count in one minute from one source (good and total).

A billion a minute (16.7 million a second, for one queue, flow or endpoint) is far above any
contact center or API; the bound is what makes every sum safe: the int64 sums of the store
(hour blocks, day rollups, prefix sums in numpy, ``sum()`` in SQLite) over the whole
accepted time range, 100 years of minutes, reach at most 5.3e16 per series and source,
175 times below 2**63, and a series' sum over 17 years stays exact in float64 (< 2**53)."""
MAX_COUNT_TEXT = "1,000,000,000"


# --- durations and windows ------------------------------------------------------------------

MAX_DURATION = timedelta(days=3660)
"""The longest duration any setting or parameter may be written as (about ten years);
each setting then has its own, tighter, bound."""
MAX_WINDOW = timedelta(days=400)
"""The longest rolling SLO window: 400 days is the history the store is sized for."""

# --- requests -------------------------------------------------------------------------------

MAX_STEP = timedelta(days=31)
"""The longest timeline step: every point reads its step before it."""
MAX_TIMELINE_SPAN = timedelta(days=400)
"""The longest timeline range (``end - start``); points are at most
``engine.timeline.MAX_POINTS``."""
MAX_ID = 2**63 - 1
"""Record ids are SQLite integers."""
MAX_NAME = 200
"""The longest SLO id, service, segment key or value, idempotency key, … in a request."""
MAX_SEGMENT_PAIRS = 20
"""The most ``key=value`` pairs one segment filter or label set may have."""
MAX_LIST_ITEMS = 100
"""The most SLO ids one request may name (a change's or a gate decision's scope)."""
MAX_PAGE = 10_000
"""The largest page of a list (annotations, exclusions, changes, gate decisions)."""

# --- files ----------------------------------------------------------------------------------

MAX_LINE_BYTES = 64 * 1024
"""The longest line of a count file: a row is ~100 bytes; a line without an end in 64 KiB
is not a counts row, and is refused at its line without reading the rest of it."""
