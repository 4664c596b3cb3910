"""``GET /api/v1/slos/{id}/backtest``: an SLO's targets over stored history
(docs/backtest.md), bounded: at most 90 days and 10 targets; run in the worker threads
(a sync route), never on the event loop."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from errorbudget.schema.backtest import BacktestOut
from errorbudget.services.backtest import (
    API_MAX_DAYS,
    API_MAX_REPLAY,
    MAX_TARGETS,
    BacktestService,
    replay_size,
)
from errorbudget.web.api_common import EB, invalid, router
from errorbudget.web.api_errors import READ, errors
from errorbudget.web.api_inputs import Instant, SloPath
from errorbudget.web.auth import Viewer

routes = router("backtest")

Targets = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=r"^\s*[0-9.]+\s*(,\s*[0-9.]+\s*)*$",
        description=f"Candidate targets besides the SLO's own, comma-separated ratios "
        f"(0.99,0.995); at most {MAX_TARGETS}.",
    ),
]


@routes.get(
    "/slos/{slo_id}/backtest",
    response_model=BacktestOut,
    summary="Backtest an SLO's targets over stored history",
    responses=errors(*READ, 404),
)
def backtest(
    app: EB,
    caller: Viewer,
    slo_id: SloPath,
    start: Annotated[Instant, Query(alias="from", description="From this instant.")],
    end: Annotated[Instant | None, Query(alias="to", description="Up to it; default now.")] = None,
    targets: Targets = None,
) -> BacktestOut:
    """As ``errorbudget backtest --format json``: the SLI per day and ISO week, each
        candidate target's budget per period (at its end and worst point) and the alerts it
        would have raised (the alert replay at that target), and the proposed target with its
        reasoning. At most 90 days (``to - from``), 10 targets, and series × candidate targets ×
    minutes up to ``API_MAX_REPLAY`` (each a 422 naming its field);
        the store's history is read as stored (``notes`` say when it holds less than asked)."""
    try:
        given = [float(t) for t in targets.split(",")] if targets else []
    except ValueError as exc:
        raise invalid(
            ("query", "targets"), "comma-separated ratios such as 0.99,0.995", targets
        ) from exc
    if len(given) > MAX_TARGETS:
        raise invalid(("query", "targets"), f"at most {MAX_TARGETS} targets", targets)
    if any(not 0.0 < t < 1.0 for t in given):
        raise invalid(("query", "targets"), "each target is a ratio between 0 and 1", targets)
    until = end or app.clock()
    if until <= start:
        raise invalid(("query", "to"), "to must be after from", until.isoformat())
    if (until - start).total_seconds() > API_MAX_DAYS * 86400:
        raise invalid(
            ("query", "from"),
            f"a backtest over the API covers at most {API_MAX_DAYS} days (to - from); "
            "the CLI takes up to 400",
            start.isoformat(),
        )
    service = BacktestService(app.loaded, app.store)
    series = service.series_count(slo_id)
    size = replay_size(series, given, start, until)
    if size > API_MAX_REPLAY:
        raise invalid(
            ("query", "from"),
            f"this backtest would replay up to {size:,} series-minutes ({series} series × "
            f"each candidate target × every minute of the range); over the API at most "
            f"{API_MAX_REPLAY:,}: shorten the range, give fewer targets, or use the CLI",
            start.isoformat(),
        )
    return BacktestOut.of(service.run(slo_id, start, until, given, max_days=API_MAX_DAYS))
