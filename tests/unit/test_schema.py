"""Every field of a result reaches its outward model (``errorbudget.schema``), or is listed
here as deliberately left out, with why: a field added to a result and forgotten in the
schema fails this test, instead of going missing from the CLI's JSON and the API alike."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from pydantic import BaseModel

from errorbudget.alert_records import Alert, AlertEpisode, AlertState, Notification, Silence
from errorbudget.audit import ChainCheck
from errorbudget.changes import ChangeReview
from errorbudget.engine.timeline import TimelinePoint
from errorbudget.errors import Problem
from errorbudget.gate import GateDecision
from errorbudget.ingest.report import FileReport, IngestReport
from errorbudget.model import BudgetStatus, ConditionResult, DataCoverage, Exclusion
from errorbudget.records import Annotation, Approval, AuditEntry, Change
from errorbudget.schema.alerts import (
    AlertEpisodeOut,
    AlertHistoryOut,
    AlertOut,
    AlertStateOut,
    NotificationOut,
    SilenceOut,
)
from errorbudget.schema.audit import AuditEntryOut, ChainOut
from errorbudget.schema.changes import ApprovalOut, ChangeOut, GateOut
from errorbudget.schema.events import EventFileOut, EventIngestOut, SloEventsOut
from errorbudget.schema.ingest import IngestFileOut, IngestRunOut, ProblemOut
from errorbudget.schema.records import AnnotationOut, ExclusionOut
from errorbudget.schema.status import ConditionOut, DataOut, StatusOut, TimelinePointOut
from errorbudget.schema.voice import (
    AttributionOut,
    BreakdownOut,
    ExclusionRuleOut,
    FailedSloOut,
    FlowOut,
    ReleaseOut,
    ReviewCallOut,
    StageOut,
    VoiceReportOut,
)
from errorbudget.services.alerts import AlertHistory
from errorbudget.services.event_files import EventFileReport
from errorbudget.services.event_ingest import EventIngestReport, SloEventCounts
from errorbudget.services.voice import (
    Attribution,
    BreakdownRow,
    ExclusionRow,
    FailedSlo,
    FlowRow,
    ReleaseRow,
    ReviewCall,
    StageRow,
    VoiceReport,
)

# (result, its model, {result field: model field}, {result field: why it is not outward})
OUTWARD: list[tuple[type[Any], type[BaseModel], dict[str, str], dict[str, str]]] = [
    (
        BudgetStatus,
        StatusOut,
        {"outlook": "exhaustion_outlook", "coverage": "data", "conditions": "alerts"},
        {
            "band": "the gauge colour of a page, from the policy preset",
            "broken": "broken data shows as data.broken_minutes and data.note",
            "broken_bad": "as broken",
            "eligible_events": "timeslices: eligible counts slices; events are a page's detail",
        },
    ),
    (
        ConditionResult,
        ConditionOut,
        {"long_burn": "long_burn_rate", "short_burn": "short_burn_rate"},
        {"long_eligible": "the engine's low-traffic test behind factor and adapted"},
    ),
    (
        DataCoverage,
        DataOut,
        {"first_minute": "first", "end_minute": "end"},
        {"broken_series": "in note (SLI data broken: … in N series)"},
    ),
    (
        GateDecision,
        GateOut,
        {"verdicts": "snapshot"},
        {"basis": "which cached evaluation answered: a server's key, not a result"},
    ),
    (
        ChangeReview,
        ChangeOut,
        {"change": "id", "decision": "current_decision"},
        {"gate": "the decision behind current_decision, effective and reasons"},
    ),
    (Change, ChangeOut, {}, {}),
    (Alert, AlertOut, {}, {}),
    (AlertState, AlertStateOut, {}, {}),
    (Silence, SilenceOut, {}, {}),
    (AlertEpisode, AlertEpisodeOut, {}, {}),
    (AlertHistory, AlertHistoryOut, {}, {}),
    (Notification, NotificationOut, {}, {}),
    (Approval, ApprovalOut, {}, {}),
    (Exclusion, ExclusionOut, {}, {}),
    (Annotation, AnnotationOut, {}, {}),
    (AuditEntry, AuditEntryOut, {}, {}),
    (ChainCheck, ChainOut, {}, {}),
    (TimelinePoint, TimelinePointOut, {}, {}),
    (IngestReport, IngestRunOut, {}, {}),
    (FileReport, IngestFileOut, {}, {}),
    (VoiceReport, VoiceReportOut, {}, {}),
    (FlowRow, FlowOut, {}, {}),
    (BreakdownRow, BreakdownOut, {}, {}),
    (StageRow, StageOut, {}, {}),
    (Attribution, AttributionOut, {}, {}),
    (ReleaseRow, ReleaseOut, {}, {}),
    (ExclusionRow, ExclusionRuleOut, {}, {}),
    (FailedSlo, FailedSloOut, {}, {}),
    (ReviewCall, ReviewCallOut, {}, {}),
    (EventIngestReport, EventIngestOut, {}, {}),
    (SloEventCounts, SloEventsOut, {}, {}),
    (EventFileReport, EventFileOut, {}, {}),
    (
        Problem,
        ProblemOut,
        {},
        {"column": "count files have rows, not columns", "severity": "a file's are errors"},
    ),
]


@pytest.mark.parametrize(
    ("result", "model", "renamed", "left_out"),
    OUTWARD,
    ids=[result.__name__ for result, *_ in OUTWARD],
)
def test_every_field_of_a_result_is_in_its_model(
    result: type[Any], model: type[BaseModel], renamed: dict[str, str], left_out: dict[str, str]
) -> None:
    names = [f.name for f in fields(result)]
    missing = [
        name
        for name in names
        if name not in left_out and renamed.get(name, name) not in model.model_fields
    ]
    assert not missing, f"{result.__name__} fields not in {model.__name__}: {missing}"
    # the lists above stay true: nothing renamed or left out that the result does not have
    assert set(renamed) | set(left_out) <= set(names)
    assert set(renamed.values()) <= set(model.model_fields)


def test_a_field_missing_from_the_model_is_caught() -> None:
    """The check itself: a model without one of the result's fields fails it."""

    class Short(BaseModel):
        id: int

    with pytest.raises(AssertionError, match="approver"):
        test_every_field_of_a_result_is_in_its_model(Approval, Short, {}, {})
