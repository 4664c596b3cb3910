"""The SLI input of an SLO as PromQL: its error ratio over a window, its event counts, and
whether its metrics are absent or quiet (docs/prometheus.md "What the rules read").

Two kinds of input:

- every SLO not on the ``prometheus`` source reads errorbudget's own counters on ``/metrics``,
  :data:`GOOD_COUNTER` and :data:`BAD_COUNTER` (labels ``slo``, ``service``, ``segment``;
  good + bad = the eligible events exactly as ``errorbudget status`` counts them);
- an SLO on the ``prometheus`` source reads its indicator's ``good_query`` or ``bad_query``
  and ``total_query``, ``{{.window}}`` replaced by the window (Sloth's convention), and keeps
  the labels those queries return (its segments).

A ratio over a window is a ratio of sums (bad increase over eligible increase), never an
average of ratios, so a quiet stretch inside a 30-day period leaves the period ratio defined
by the events the rest of the period had.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from errorbudget.model import SLO

GOOD_COUNTER = "errorbudget_slo_good_events_total"
BAD_COUNTER = "errorbudget_slo_bad_events_total"
PROMETHEUS_SOURCE = "prometheus"
"""The source whose SLOs read their own PromQL (``sources/prometheus``'s indicator model:
``good_query`` or ``bad_query``, and ``total_query``)."""
SERIES_LABELS = ("slo", "service", "segment")
"""The labels errorbudget's SLO families carry (``segment``: ``segment_label``'s string)."""

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def quote(value: str) -> str:
    """``value`` as a PromQL double-quoted string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def number(value: Fraction | float) -> str:
    """A threshold as PromQL reads it: the shortest decimal that round-trips the float."""
    found = repr(float(value))
    return found[:-2] if found.endswith(".0") else found


def selector(matchers: Sequence[str]) -> str:
    return "{" + ", ".join(matchers) + "}"


def with_window(query: str, window: str) -> str:
    """A ``prometheus`` indicator's query with ``{{.window}}`` replaced by ``window``."""
    return _WINDOW.sub(window, query)


def segment_regex(match: Mapping[str, str]) -> str:
    """A regular expression (RE2, fully anchored as Prometheus anchors it) matching the
    ``segment`` label of every segment that has all pairs of ``match``: the label lists its
    pairs sorted by key (``segment_label(segment_key(...))``), so the pairs appear in key
    order, with any others around them."""
    parts = [_REGEX_SPECIAL.sub(r"\\\1", f"{key}={match[key]}") for key in sorted(match)]
    return "(.*,)?" + ",(.*,)?".join(parts) + "(,.*)?"


@dataclass(frozen=True, slots=True)
class SLIInput:
    """How one SLO's events are read. ``kind`` is ``counters`` or ``prometheus``."""

    slo: SLO
    kind: str
    good_query: str | None = None
    bad_query: str | None = None
    total_query: str = ""
    static_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels every rule of the SLO sets: ``slo`` and ``service`` (a query's result has
    neither; on the counters they repeat the series' own, and tell rules apart for
    ``promtool check rules``)."""

    @property
    def counter_selector(self) -> str:
        return selector([f"slo={quote(self.slo.id)}"])

    def _counter_sum(self, counter: str, window: str) -> str:
        by = ", ".join(SERIES_LABELS)
        return f"sum by ({by}) (increase({counter}{self.counter_selector}[{window}]))"

    def error_ratio(self, window: str) -> str:
        """Bad events over eligible events in the trailing ``window``."""
        if self.kind == "counters":
            bad = self._counter_sum(BAD_COUNTER, window)
            good = self._counter_sum(GOOD_COUNTER, window)
            return f"{bad}\n/\n({good}\n  + {bad})"
        total = with_window(self.total_query, window)
        if self.bad_query is not None:
            return f"({with_window(self.bad_query, window)})\n/\n({total})"
        good_ratio = f"({with_window(self.good_query or '', window)})\n/\n({total})"
        return f"1 - (\n{good_ratio}\n)"

    def events(self, window: str) -> str | None:
        """Eligible events in ``window`` (None: a query's scale is unknown, e.g. a rate)."""
        if self.kind != "counters":
            return None
        good = self._counter_sum(GOOD_COUNTER, window)
        bad = self._counter_sum(BAD_COUNTER, window)
        return f"{good}\n+ {bad}"

    def bad_events(self, window: str) -> str | None:
        """Bad events in ``window`` (None as for :meth:`events`)."""
        if self.kind != "counters":
            return None
        return self._counter_sum(BAD_COUNTER, window)

    def absent(self, after: str) -> str:
        """1 (labels: ``slo``) when the SLO's input has had no sample for ``after``."""
        if self.kind == "counters":
            return f"absent_over_time({GOOD_COUNTER}{self.counter_selector}[{after}])"
        return f"absent({with_window(self.total_query, after)})"

    def quiet(self, after: str) -> str:
        """Each series whose input had no events in the trailing ``after``."""
        if self.kind == "counters":
            return f"(\n{self.events(after)}\n) == 0"
        return f"({with_window(self.total_query, after)}) == 0"

    def override_matchers(self, match: Mapping[str, str]) -> tuple[str, ...]:
        """Label matchers selecting the series of the segments that ``match`` names."""
        if self.kind == "counters":
            return (f"segment=~{quote(segment_regex(match))}",)
        return tuple(f"{key}={quote(match[key])}" for key in sorted(match))


def sli_input(slo: SLO) -> SLIInput:
    """The SLI input of ``slo`` (module docstring)."""
    indicator = slo.indicator
    if indicator.source == PROMETHEUS_SOURCE:
        return SLIInput(
            slo,
            "prometheus",
            good_query=_query(indicator, "good_query"),
            bad_query=_query(indicator, "bad_query"),
            total_query=_query(indicator, "total_query") or "",
            static_labels={"slo": slo.id, "service": slo.service},
        )
    return SLIInput(slo, "counters", static_labels={"slo": slo.id, "service": slo.service})


def _query(indicator: object, name: str) -> str | None:
    """A query of a ``prometheus`` indicator, read by name: the model belongs to the source
    plugin, and a generator imports no plugin (its package reaches the store)."""
    value = getattr(indicator, name, None)
    return value if isinstance(value, str) else None


def negated(matchers: tuple[str, ...]) -> str | None:
    """The one matcher selecting what ``matchers`` does not, when that is one matcher
    (``a="x"`` → ``a!="x"``, ``a=~"r"`` → ``a!~"r"``); None for several."""
    if len(matchers) != 1:
        return None
    name, _, rest = matchers[0].partition("=")
    return f"{name}!~{rest[1:]}" if rest.startswith("~") else f"{name}!={rest}"
