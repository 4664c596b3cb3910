"""Reads of budgets: status (all series, one SLO, one series), SLOs, timelines, conditions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter

from errorbudget.durations import format_duration, parse_duration
from errorbudget.engine.timeline import DEFAULT_SPAN, MAX_POINTS
from errorbudget.errors import NotFoundError
from errorbudget.limits import MAX_NAME, MAX_STEP, MAX_TIMELINE_SPAN
from errorbudget.model import PolicyState, from_minute, matches, segment_key, segment_label
from errorbudget.schema.status import (
    ConditionOut,
    SeriesConditionsOut,
    SLOOut,
    StatusOut,
    TimelineOut,
    TimelinePointOut,
)
from errorbudget.web.api_common import EB, invalid, parse_segment, router
from errorbudget.web.api_errors import READ, errors
from errorbudget.web.api_inputs import (
    SERIES_PATH,
    Instant,
    SegmentQuery,
    ServiceQuery,
    SloPath,
    SloQuery,
)
from errorbudget.web.auth import Viewer

routes = router("status")
_STATUS_LIST = TypeAdapter(list[StatusOut])

At = Annotated[
    Instant | None,
    Query(description="Evaluate at this instant (2000-01-01 to 2100-01-01); default now."),
]
States = Annotated[list[PolicyState], Query(max_length=20, description="Only these states.")]
STEP_PATTERN = r"^\s*([0-9]{1,9}[smhdw])+\s*$"
DurationQuery = Annotated[
    str,
    Query(
        max_length=40,
        pattern=STEP_PATTERN,
        description="Between points: 5m, 1h, 1d, …; whole minutes from 1m to 31d.",
    ),
]


@routes.get(
    "/status",
    response_model=list[StatusOut],
    summary="Status of every series",
    responses=errors(*READ, 404),
)
def all_status(
    app: EB,
    caller: Viewer,
    at: At = None,
    service: ServiceQuery = None,
    slo: SloQuery = [],  # noqa: B006
    state: States = [],  # noqa: B006
) -> Response:
    """Budgets of every series (whole-SLO rows first), as ``errorbudget status --format json``."""

    chosen = [s.id for s in app.evaluations.select_slos(slo or None, service)]
    evaluation = app.evaluations.evaluation(at)

    def encode() -> bytes:
        statuses = evaluation.select(chosen)
        return _STATUS_LIST.dump_json(
            [StatusOut.of(s) for s in statuses if not state or s.state in state]
        )

    # Validated and encoded once per evaluation (minute and data version), then served as
    # bytes: a busy server must not re-validate every row of every response.
    key = ("api.status", tuple(slo), service, tuple(state))
    return Response(
        app.evaluations.memo(key, evaluation.key, encode), media_type="application/json"
    )


@routes.get(
    "/slos", response_model=list[SLOOut], summary="The configured SLOs", responses=errors(*READ)
)
def list_slos(app: EB, caller: Viewer, service: ServiceQuery = None) -> list[SLOOut]:
    return [SLOOut.of(slo) for slo in app.evaluations.select_slos(service=service)]


@routes.get(
    "/slos/{slo_id}",
    response_model=SLOOut,
    summary="One SLO and its config",
    responses=errors(*READ, 404),
)
def get_slo(app: EB, caller: Viewer, slo_id: SloPath) -> SLOOut:
    return SLOOut.of(app.loaded.slo(slo_id))


@routes.get(
    "/slos/{slo_id}/status",
    response_model=list[StatusOut],
    summary="Status of one SLO's series",
    responses=errors(*READ, 404),
)
def slo_status(
    app: EB,
    caller: Viewer,
    slo_id: SloPath,
    at: At = None,
    segment: SegmentQuery = [],  # noqa: B006
) -> list[StatusOut]:
    """The whole-SLO row (when it has segments) and every series; ``segment`` keeps the
    series with those labels."""
    selector = parse_segment(segment)
    statuses = app.evaluations.status(at=at, slo_ids=[slo_id], include_total=not selector)
    return [StatusOut.of(s) for s in statuses if matches(s.segment, selector)]


@routes.get(
    "/slos/{slo_id}/series/{segment}",
    response_model=StatusOut,
    summary="Status of one series",
    responses=errors(*READ, 404),
)
def series_status(
    app: EB,
    caller: Viewer,
    slo_id: SloPath,
    segment: Annotated[
        str,
        Path(
            max_length=20 * (2 * MAX_NAME + 2),
            pattern=SERIES_PATH,
            description="Labels as 'queue=billing,tier=vip', or 'all' for the whole SLO.",
        ),
    ],
    at: At = None,
) -> StatusOut:
    labels = _segment_path(segment)
    key = segment_key(labels)
    for status in app.evaluations.status(at=at, slo_ids=[slo_id]):
        if status.segment == key:
            return StatusOut.of(status)
    raise NotFoundError(f"SLO {slo_id!r} has no series {segment_label(key)}")


def _segment_path(text: str) -> dict[str, str]:
    if text in ("all", "(all)"):
        return {}
    try:
        return parse_segment(text.split(","))
    except RequestValidationError as exc:
        raise invalid(
            ("path", "segment"), f"{text!r} is not KEY=VALUE[,KEY=VALUE…] or 'all'", text
        ) from exc


@routes.get(
    "/slos/{slo_id}/timeline",
    response_model=TimelineOut,
    summary="SLI, burn and budget over time",
    responses=errors(*READ, 404),
)
def timeline(
    app: EB,
    caller: Viewer,
    slo_id: SloPath,
    segment: SegmentQuery = [],  # noqa: B006
    start: Annotated[Instant | None, Query(description="Default: 30 days before end.")] = None,
    end: Annotated[Instant | None, Query(description="Default: now.")] = None,
    step: DurationQuery = "1h",
) -> TimelineOut:
    """One point per ``step`` from ``start`` to ``end``: SLI over the period, burn rates
    over 1h, 6h, 1d and the period, budget remaining — each what ``status`` reports at
    that instant. Without ``segment``: the whole SLO. Bounded work: a step of 1m to 31d,
    ``end - start`` at most 400 days, at most 5,000 points (each a 422 naming the field)."""
    try:
        step_value = parse_duration(step)
    except ValueError as exc:
        raise invalid(("query", "step"), f"{exc}; {_STEP_RANGE}", step) from exc
    _check_step(step_value)
    if start is None and end is None:
        # Points on the step grid (on the hour for 1h), ending at the last one before now.
        step_minutes = max(int(step_value.total_seconds() // 60), 1)
        last = app.evaluations.now_minute() - app.evaluations.now_minute() % step_minutes
        end = from_minute(last)
    end = end or app.clock()
    start = start or end - DEFAULT_SPAN
    _check_range(step_value, start, end)
    result = app.evaluations.timeline(slo_id, parse_segment(segment), start, end, step_value)
    return TimelineOut(
        slo=result.slo,
        segment=dict(result.segment),
        budgeting=result.budgeting,
        step=format_duration(step_value),
        points=[TimelinePointOut.of(p) for p in result.points()],
    )


_STEP_RANGE = f"a step is a whole number of minutes from 1m to {MAX_STEP.days}d"


def _check_step(step: timedelta) -> None:
    if step.total_seconds() % 60 or not timedelta(minutes=1) <= step <= MAX_STEP:
        raise invalid(("query", "step"), _STEP_RANGE, format_duration(step))


def _check_range(step: timedelta, start: datetime, end: datetime) -> None:
    """The bounds of a timeline's range, each a 422 naming its field."""
    if end < start:
        raise invalid(("query", "end"), "end is before start", end.isoformat())
    if end - start > MAX_TIMELINE_SPAN:
        raise invalid(
            ("query", "start"),
            f"a timeline spans at most {MAX_TIMELINE_SPAN.days} days (end - start)",
            start.isoformat(),
        )
    points = (end - start) // step + 1
    if points > MAX_POINTS:
        raise invalid(
            ("query", "step"),
            f"{points:,} points from start to end: at most {MAX_POINTS:,} (a longer step "
            "or a shorter range)",
            format_duration(step),
        )


@routes.get(
    "/conditions",
    response_model=list[SeriesConditionsOut],
    summary="Burn-rate conditions per series",
    responses=errors(*READ, 404),
)
def conditions(
    app: EB,
    caller: Viewer,
    at: At = None,
    service: ServiceQuery = None,
    slo: SloQuery = [],  # noqa: B006
    firing: Annotated[bool, Query(description="Only series with a firing condition.")] = False,
) -> list[SeriesConditionsOut]:
    """Which multiwindow pairs are over their factor, for every series (the engine's
    evaluation behind ``status``; ``alerts`` there lists only the firing ones)."""
    return [
        SeriesConditionsOut(
            slo=c.slo,
            service=c.service,
            segment=dict(c.segment),
            at=from_minute(c.at),
            state=c.state,
            firing=bool(c.firing),
            conditions=[ConditionOut.of(r) for r in c.conditions],
        )
        for c in app.evaluations.conditions(
            at=at, slo_ids=slo or None, service=service, firing_only=firing
        )
    ]
