"""How numbers and instants of results are written out, the same in every model."""

from __future__ import annotations

import math
from datetime import datetime

from errorbudget.model import Minute, from_minute

Count = int | float
"""Event counts are whole numbers, printed as integers (fractions only if a source sends them)."""


def number(value: float | None, digits: int = 6) -> float | None:
    """Rounded; None for no value, NaN and infinity (JSON has neither)."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return round(value, digits)


def count(value: float) -> float | int:
    """Event counts are whole numbers: print them as such (``479055``, not ``479055.0``)."""
    return int(value) if float(value).is_integer() else value


def instant(minute: Minute | None) -> datetime | None:
    return from_minute(minute) if minute is not None else None
