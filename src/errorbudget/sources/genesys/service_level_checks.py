"""errorbudget's service level against Genesys's own ``oServiceLevel``: where, and why.

Each queue query asks ``oServiceLevel`` too (``numerator`` = answered within the target,
``denominator`` = the org's formula). For every queue × media type × interval a service-
level SLO counts, errorbudget's good/total is compared with it (``answered_within`` SLOs:
the total only, their good is another threshold). A difference is one of:

``formula``
    the totals differ: the indicator's ``include_flow_outs`` / ``exclude_short_abandons`` /
    ``include_abandons`` are not the org's calculation options, which no Platform API
    exposes. The options that do reproduce Genesys's denominator are named.
``target``
    Genesys's numerator is answered − ``nOverSla`` at the queue's *current* target, while
    errorbudget counts the interval against the target in force then (``service_levels``):
    Genesys recalculated history after a target change; errorbudget keeps its numbers.
``numerator``
    any other difference of the good count.

The collector keeps the last collection's differences (a gauge per SLO × queue × media
type) and a counter of every interval found different, and records a summary in the audit
log (action ``genesys.service_level_check``) whenever what differs changes, so that
``errorbudget status`` can print it (:func:`stored_warnings`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from errorbudget.model import SLO, Minute, from_minute
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.queries import IntervalCounts
from errorbudget.sources.genesys.slis import (
    SL_METRICS,
    Names,
    TargetLookup,
    queue_good_total,
    row_target,
    selected_queue_rows,
)
from errorbudget.store import Store

ACTION = "genesys.service_level_check"
ACTOR = "genesys-collector"
OPTIONS = ("include_flow_outs", "exclude_short_abandons", "include_abandons")

CurrentTarget = Callable[[str, str], int | None]
"""(queue id, media type) → the queue's target now (ms), as Genesys uses it."""


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One interval where errorbudget's and Genesys's service level differ."""

    slo: str
    queue_id: str
    queue: str
    media_type: str
    start: Minute
    kind: str
    """``formula``, ``target`` or ``numerator`` (module docstring)."""
    genesys: tuple[int, int]
    """``oServiceLevel`` (numerator, denominator)."""
    errorbudget: tuple[int, int]
    """(good, total) as errorbudget counts them."""
    options: tuple[str, ...] = ()
    """``formula``: indicator settings that give Genesys's denominator."""
    target_ms: int | None = None
    """``target``: the target errorbudget counted against (in force then) …"""
    current_ms: int | None = None
    """… and the queue's target now, which Genesys used."""


def _total(row: IntervalCounts, options: Mapping[str, bool]) -> int:
    total = row.get("tAnswered")
    if options["include_abandons"]:
        total += row.get("tAbandon")
        if options["exclude_short_abandons"]:
            total -= row.get("tShortAbandon")
    if options["include_flow_outs"]:
        total += row.get("tFlowOut")
    return total


def matching_options(
    indicator: GenesysIndicator, row: IntervalCounts, denominator: int
) -> tuple[str, ...]:
    """The fewest changes of the indicator's options that give ``denominator`` (as
    ``name: value`` texts; several equally small sets are joined by ``or``)."""
    own = {name: bool(getattr(indicator, name)) for name in OPTIONS}
    found: list[tuple[int, str]] = []
    for values in itertools.product((False, True), repeat=len(OPTIONS)):
        options = dict(zip(OPTIONS, values, strict=True))
        if _total(row, options) != denominator or options == own:
            continue
        changed = [f"{n}: {str(options[n]).lower()}" for n in OPTIONS if options[n] != own[n]]
        found.append((len(changed), ", ".join(changed)))
    if not found:
        return ()
    fewest = min(size for size, _ in found)
    return tuple(sorted(text for size, text in found if size == fewest))


def compare(
    slo: SLO,
    rows: Iterable[IntervalCounts],
    names: Names,
    targets: TargetLookup | None,
    current: CurrentTarget,
) -> list[Discrepancy]:
    """Every interval of this queue SLO where errorbudget and ``oServiceLevel`` differ.
    Rows without ``oServiceLevel`` count as 0 / 0 (Genesys leaves empty ratios out)."""
    indicator = slo.indicator
    assert isinstance(indicator, GenesysIndicator)
    found = []
    for row, queue_id, media_type, labels in selected_queue_rows(slo, rows, names):
        target = row_target(indicator, row, targets)
        good, total = queue_good_total(indicator, row, target)
        numerator = row.get("oServiceLevel.numerator")
        denominator = row.get("oServiceLevel.denominator")

        base = Discrepancy(
            slo.id,
            queue_id,
            labels["queue"],
            media_type,
            row.start,
            "",
            (numerator, denominator),
            (good, total),
        )
        if denominator != total:
            options = matching_options(indicator, row, denominator)
            found.append(replace(base, kind="formula", options=options))
        elif indicator.metric in SL_METRICS and numerator != good:
            now = current(queue_id, media_type)
            recalculated = numerator == row.get("tAnswered") - row.get("nOverSla")
            if target is not None and now is not None and now != target and recalculated:
                found.append(replace(base, kind="target", target_ms=target, current_ms=now))
            else:
                found.append(replace(base, kind="numerator"))
    return found


def summarize(discrepancies: Sequence[Discrepancy]) -> list[dict[str, Any]]:
    """One entry per SLO × queue × media type × kind: how many intervals, when, sums."""
    groups: dict[tuple[str, str, str, str], list[Discrepancy]] = {}
    for item in discrepancies:
        groups.setdefault((item.slo, item.queue_id, item.media_type, item.kind), []).append(item)
    summary = []
    for (slo, queue_id, media_type, kind), items in sorted(groups.items()):
        first = items[0]
        entry: dict[str, Any] = {
            "slo": slo,
            "queue_id": queue_id,
            "queue": first.queue,
            "media_type": media_type,
            "kind": kind,
            "intervals": len(items),
            "first": from_minute(min(i.start for i in items)).isoformat(),
            "last": from_minute(max(i.start for i in items)).isoformat(),
            "genesys": [sum(i.genesys[0] for i in items), sum(i.genesys[1] for i in items)],
            "errorbudget": [
                sum(i.errorbudget[0] for i in items),
                sum(i.errorbudget[1] for i in items),
            ],
        }
        # the options every interval agrees on (an interval whose abandons are all short
        # cannot tell excluding short abandons from excluding abandons)
        answers = [set(i.options) for i in items if i.options]
        options = set.intersection(*answers) if answers else set()
        if answers and not options:
            options = set.union(*answers)
        if options:
            entry["options"] = sorted(options)
        if first.target_ms is not None:
            entry["target_ms"] = first.target_ms
            entry["current_ms"] = first.current_ms
        summary.append(entry)
    return summary


def _signature(summary: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """What makes a summary worth recording again: which series differ, how and why."""
    return [
        [s["slo"], s["queue_id"], s["media_type"], s["kind"], s.get("options", [])] for s in summary
    ]


def latest(store: Store) -> list[dict[str, Any]] | None:
    """The last recorded summary (None: never recorded)."""
    entries = store.audit_log(action=ACTION, limit=1)
    if not entries:
        return None
    summary = entries[0].details.get("discrepancies")
    return [dict(s) for s in summary if isinstance(s, dict)] if isinstance(summary, list) else []


def record(store: Store, summary: list[dict[str, Any]], checked_through: Minute) -> bool:
    """Record ``summary`` when what differs changed since the last record (so a status
    shows the current state, and the audit log grows with changes, not with runs)."""
    previous = latest(store)
    if previous is not None and _signature(previous) == _signature(summary):
        return False
    if previous is None and not summary:
        return False  # nothing has ever differed: nothing to say
    store.audit(
        actor=ACTOR,
        action=ACTION,
        subject="service_level",
        details={
            "checked_through": from_minute(checked_through).isoformat(),
            "discrepancies": summary,
        },
    )
    return True


def _seconds(ms: object) -> str:
    return f"{int(ms) / 1000:g} s" if isinstance(ms, int | float) else "?"


def format_warnings(summary: Sequence[Mapping[str, Any]]) -> list[str]:
    """Sentences for ``errorbudget status``: one per SLO × kind × cause, the queues it
    concerns listed (a contact center of 300 queues gets one line, not 300)."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for entry in summary:
        cause = (
            entry["slo"],
            entry["kind"],
            tuple(entry.get("options", ())),
            entry.get("target_ms"),
            entry.get("current_ms"),
        )
        groups.setdefault(cause, []).append(entry)
    return [format_warning(_merge(entries)) for entries in groups.values()]


def _merge(entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    if len(entries) == 1:
        return entries[0]
    names = [f"{e['queue']} ({e['media_type']})" for e in entries]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return {
        **entries[0],
        "where": f"{len(entries)} queues: {shown}",
        "intervals": sum(e["intervals"] for e in entries),
        "first": min(e["first"] for e in entries),
        "last": max(e["last"] for e in entries),
        "genesys": [sum(e["genesys"][i] for e in entries) for i in (0, 1)],
        "errorbudget": [sum(e["errorbudget"][i] for e in entries) for i in (0, 1)],
    }


def format_warning(entry: Mapping[str, Any]) -> str:
    """One sentence for ``errorbudget status``."""
    queues = entry.get("where") or f"queue {entry['queue']} ({entry['media_type']})"
    where = f"{entry['slo']}, {queues}"
    span = f"{entry['first'][:16].replace('T', ' ')} – {entry['last'][:16].replace('T', ' ')} UTC"
    count = f"{entry['intervals']} interval{'s' * (entry['intervals'] != 1)} ({span})"
    genesys, ours = entry["genesys"], entry["errorbudget"]
    figures = f"Genesys {genesys[0]}/{genesys[1]}, errorbudget {ours[0]}/{ours[1]}"
    if entry["kind"] == "formula":
        options = entry.get("options") or []
        fix = (
            f"the org's service-level calculation matches {' or '.join(options)}: set the "
            "indicator the same way"
            if options
            else "no setting of include_flow_outs / exclude_short_abandons / include_abandons "
            "gives Genesys's total"
        )
        return (
            f"genesys: {where}: the service-level total differs from oServiceLevel in "
            f"{count}, {figures}; {fix}"
        )
    if entry["kind"] == "target":
        return (
            f"genesys: {where}: Genesys recalculated {count} with the queue's current target "
            f"{_seconds(entry.get('current_ms'))}; errorbudget keeps the target in force then "
            f"({_seconds(entry.get('target_ms'))}), {figures}"
        )
    return (
        f"genesys: {where}: answered within target differs from oServiceLevel in {count}, {figures}"
    )


def stored_warnings(store: Store) -> list[str]:
    """The warnings of the last recorded check (none when all agreed)."""
    return format_warnings(latest(store) or [])
