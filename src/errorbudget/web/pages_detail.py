"""The SLO detail view-model (``/slos/{id}``): timeline, annotations, segments, exclusions.

App calls feed it: ``status`` (now, every series of the SLO), ``timeline`` (30 days at
1-hour steps, read once), ``annotations`` (deploys, config and model changes), the
store's exclusions, and the alert service's alerts and episodes over the chart's span
(``alerts.history``, the read ``/api/v1/alerts/history`` answers with). With ``segment``
the page follows one series (its gauge, timeline, failures and exclusions); the breakdown
tables and the alert history always show every series.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from errorbudget.app import App
from errorbudget.engine.episodes import Episode, burn_episodes, fast_burn_thresholds
from errorbudget.errors import InvalidRequestError, NotFoundError
from errorbudget.model import (
    SLO,
    BudgetStatus,
    Exclusion,
    from_minute,
    matches,
    segment_key,
    segment_label,
)
from errorbudget.schema.alerts import AlertHistoryOut
from errorbudget.web.pages_models import (
    Annotation,
    ExclusionRow,
    FailureBreakdown,
    SegmentGroup,
    SloDetailPage,
    Threshold,
    TimelinePoint,
)
from errorbudget.web.pages_rows import (
    alert_rows,
    condition_cells,
    remaining_key,
    series_row,
    slo_card,
    slo_ref,
    source_row,
    split_rows,
)

TIMELINE_DAYS = 30
TIMELINE_STEP = timedelta(hours=1)
ALERTS_SHOWN = 50
"""The SLO's alerts listed beside the burn chart, the most recently stepped first."""
HISTORY_SHOWN = 200
"""The most alert episodes drawn on the burn chart and listed under it (latest first)."""


def parse_segment(text: str | None) -> dict[str, str]:
    """``queue=support,tier=standard`` → ``{"queue": "support", "tier": "standard"}``."""
    if not text:
        return {}
    pairs = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidRequestError(
                f"segment {text!r}: write it as key=value pairs separated by commas"
            )
        pairs[key.strip()] = value.strip()
    return pairs


def build_detail(
    app: App, slo_id: str, refresh_seconds: int, segment: Mapping[str, str] | None = None
) -> SloDetailPage:
    """Everything the detail page shows about one SLO, or one of its series.

    NotFoundError for an unknown SLO or series, InvalidRequestError for a segment that does
    not name every segment key of the SLO.
    """
    slo = app.loaded.slo(slo_id)
    preset = app.evaluations.preset(slo.id)
    evaluation = app.evaluations.evaluation()  # "now" as the App has it (under serve: the warmer's)
    at = from_minute(evaluation.minute)
    start = at - timedelta(days=TIMELINE_DAYS)
    whole, segments = split_rows(slo, evaluation.select([slo.id]))
    focus = _focus(slo, whole, segments, dict(segment or {}))
    timeline = app.evaluations.timeline(
        slo.id, dict(focus.segment), start=start, end=at, step=TIMELINE_STEP
    )
    points = [
        TimelinePoint(
            at=point.at,
            burn_1h=point.burn_rates.get("1h"),
            burn_6h=point.burn_rates.get("6h"),
            burn_1d=point.burn_rates.get("1d"),
            budget_remaining_ratio=point.budget_remaining_ratio,
        )
        for point in timeline.points()
    ]
    conditions = condition_cells([focus] if focus is not whole else [whole, *segments])
    thresholds = fast_burn_thresholds(focus.conditions)
    episodes = burn_episodes(timeline.at, timeline.burn_rates, thresholds, timeline.step_minutes)
    exclusions = _exclusions(app, slo, focus, min(start, from_minute(focus.period_start)), at)
    annotations = _annotations(app, slo, focus, episodes, exclusions, thresholds, start, at)
    return SloDetailPage(
        title=f"{slo.id}: {slo.description}" if slo.description else slo.id,
        at=at,
        refresh_seconds=refresh_seconds,
        slo=slo_ref(slo, preset),
        runbook_url=slo.runbook_url,
        voice_url=f"/slos/{quote(slo.id)}/voice" if slo.indicator.source == "events" else None,
        segment=dict(focus.segment),
        segment_label=segment_label(focus.segment),
        card=slo_card(slo, preset, focus, [focus] if focus is not whole else segments),
        conditions=conditions,
        timeline_start=start,
        timeline_end=at,
        timeline_step_seconds=int(TIMELINE_STEP.total_seconds()),
        thresholds=[
            Threshold(remaining_ratio=value, label=words.label, band=words.band)
            for value, words in preset.remaining_thresholds()
        ],
        fast_burn_thresholds=thresholds,
        timeline=points,
        annotations=annotations,
        segment_keys=list(slo.segments.keys),
        segments=[series_row(s) for s in sorted(segments, key=remaining_key)]
        if slo.segments.keys
        else [],
        groups=_groups(slo, segments, evaluation.groups.get(slo.id, [])),
        failures=FailureBreakdown(
            raw_total=focus.raw_total,
            raw_bad=focus.raw_bad,
            excluded_total=focus.excluded,
            excluded_bad=focus.raw_bad - focus.bad - focus.out_of_schedule_bad,
            eligible=focus.eligible,
            bad=focus.bad,
            out_of_schedule_total=focus.out_of_schedule,
            out_of_schedule_bad=focus.out_of_schedule_bad,
            schedule=schedule.describe() if (schedule := app.loaded.schedule(slo)) else None,
        ),
        alerts=alert_rows(app.alerts.alerts(slo=slo.id, limit=ALERTS_SHOWN)),
        alert_history=AlertHistoryOut.of(app.alerts.history(slo.id, start, at, HISTORY_SHOWN)),
        source=next(
            (
                source_row(h, at)
                for h in app.store.source_health()
                if h.source == slo.indicator.source
            ),
            None,
        ),
        exclusions=[
            ExclusionRow(
                id=e.id,
                category=e.category,
                reason=e.reason,
                start=from_minute(e.start),
                end=from_minute(e.end),
                segment=e.segment,
                status=e.status,
                counted=e.counted,
                created_by=e.created_by,
                approved_by=e.approved_by,
                reviewed_by=e.reviewed_by,
                revoked_by=e.revoked_by,
                legacy_approver=e.legacy_approver,
                problem=e.problem,
                status_text=exclusion_status(e),
            )
            for e in exclusions
        ],
    )


def _focus(
    slo: SLO, whole: BudgetStatus, segments: list[BudgetStatus], segment: dict[str, str]
) -> BudgetStatus:
    """The row the page follows: the whole SLO, or the series named by ``segment``."""
    if not segment:
        return whole
    if set(segment) != set(slo.segments.keys):
        raise InvalidRequestError(
            f"segment {segment} must name every segment key of SLO {slo.id!r} "
            f"({', '.join(slo.segments.keys) or 'none'})"
        )
    key = segment_key(segment)
    for status in segments:
        if status.segment == key:
            return status
    raise NotFoundError(f"SLO {slo.id!r} has no series {segment_label(key)}")


def _exclusions(
    app: App, slo: SLO, focus: BudgetStatus, start: datetime, end: datetime
) -> list[Exclusion]:
    """Exclusions of any status overlapping the range that cover the followed row (for the
    whole SLO: any of its series); only the counted ones are drawn on the charts."""
    first, last = int(start.timestamp() // 60), int(end.timestamp() // 60)
    found = []
    for exclusion in app.store.list_exclusions(include_revoked=True):
        if exclusion.start >= last or exclusion.end <= first:
            continue
        if focus.segment:
            applies = exclusion.covers(slo, focus.segment)
        else:
            applies = exclusion.slo in ("*", slo.id) and exclusion.service in (None, slo.service)
        if applies:
            found.append(exclusion)
    return found


def exclusion_status(e: Exclusion) -> str:
    """An exclusion's status and who decided it, as the SLO page words it."""
    if e.problem is not None:
        return f"fails verification, not counted: {e.problem}"
    if e.status == "pending":
        return "pending: not counted until an approver approves it"
    if e.status == "rejected":
        return f"rejected by {e.reviewed_by}"
    if e.status == "revoked":
        approved = f" (approved by {e.approved_by})" if e.approved_by else ""
        return f"revoked by {e.revoked_by}{approved}"
    if e.approved_by is None:
        typed = f"typed as {e.legacy_approver!r}" if e.legacy_approver else "none named"
        return f"approved before approvals were verified (approver {typed}, not verified)"
    return f"approved by {e.approved_by} ({e.reviewer_role})"


def _annotations(
    app: App,
    slo: SLO,
    focus: BudgetStatus,
    episodes: Sequence[Episode],
    exclusions: list[Exclusion],
    thresholds: dict[str, float],
    start: datetime,
    end: datetime,
) -> list[Annotation]:
    """Exclusions, maintenance windows, burn episodes and change markers, numbered in time
    order for the charts and their legend."""
    found: list[Annotation] = []
    for e in exclusions:
        if not e.counted:
            continue  # only what is taken out of the budget is shaded
        where = f" ({segment_label(segment_key(e.segment))})" if e.segment else ""
        approved = f", approved by {e.approved_by}" if e.approved_by else " (legacy)"
        found.append(
            Annotation(
                number=0,
                kind="exclusion",
                start=max(from_minute(e.start), start),
                end=from_minute(e.end),
                label=f"Exclusion #{e.id}: {e.category}{where}",
                detail=f"{e.reason} (by {e.created_by}{approved})",
            )
        )
    first, last = int(start.timestamp() // 60), int(end.timestamp() // 60)
    for maintenance, low, high in app.loaded.eligibility(slo).occurrences(first, last):
        if focus.segment and not matches(focus.segment, maintenance.segment):
            continue
        scope = maintenance.segment
        where = f" ({segment_label(segment_key(scope))})" if scope else ""
        found.append(
            Annotation(
                number=0,
                kind="maintenance",
                start=from_minute(low),
                end=from_minute(high),
                label=f"Maintenance {maintenance.name}{where}",
                detail=maintenance.description or maintenance.describe(),
            )
        )
    for episode in episodes:  # burn episodes: detected by the engine (engine/episodes.py)
        found.append(
            Annotation(
                number=0,
                kind="burn_episode",
                start=from_minute(episode.start),
                end=from_minute(episode.end),
                label=f"Fast burn: {episode.window} burn up to {episode.burn:.1f}× "
                f"(pages at {thresholds[episode.window]:.1f}×)",
                detail="budget spent at paging speed",
            )
        )
    for note in app.records.annotations(start=start, end=end, service=slo.service, slo=slo.id):
        if focus.segment and not all(
            dict(focus.segment).get(k) == v for k, v in note.segment.items()
        ):
            continue
        where = f" ({segment_label(segment_key(note.segment))})" if note.segment else ""
        change = f" · change #{note.change_id}" if note.change_id is not None else ""
        found.append(
            Annotation(
                number=0,
                kind=note.kind,
                start=note.at,
                end=None,
                label=f"{note.kind.capitalize()}{where}: {note.text}",
                detail=f"by {note.created_by}{change}",
            )
        )
    found.sort(key=lambda note: note.start)
    return [note.model_copy(update={"number": i}) for i, note in enumerate(found, 1)]


def _groups(
    slo: SLO, segments: list[BudgetStatus], groups: list[BudgetStatus]
) -> list[SegmentGroup]:
    """With several segment keys (tier and queue, flow and agent version), the series grouped
    by each key — each group evaluated by the engine as one aggregate (``groups``); with one
    key the series table already is that breakdown."""
    if len(slo.segments.keys) < 2:
        return []
    found = []
    for key in slo.segments.keys:
        rows = []
        for group in groups:
            if not group.segment or group.segment[0][0] != key:
                continue
            value = group.segment[0][1]
            members = [s for s in segments if dict(s.segment).get(key) == value]
            rows.append((group, series_row(group, value, members if len(members) > 1 else ())))
        rows.sort(key=lambda pair: remaining_key(pair[0]))
        found.append(SegmentGroup(key=key, rows=[row for _, row in rows]))
    return found
