"""Event ingests (issue #12): ``POST /api/v1/events``' answer and ``errorbudget ingest
--events --format json``'s files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from errorbudget.schema.ingest import ProblemOut

if TYPE_CHECKING:
    from errorbudget.services.event_files import EventFileReport, EventFilesReport
    from errorbudget.services.event_ingest import EventIngestReport, SloEventCounts


class SloEventsOut(BaseModel):
    """What one ingest added to one events SLO."""

    eligible: int = Field(description="Events counted (the SLO's total).")
    good: int
    kept: int = Field(description="Bad and excluded events kept for review.")
    series: int = Field(description="Series (segments) the events fell in.")
    overflow: int = Field(
        default=0,
        description="Events counted under `other`: their segment was past "
        "events.max_segments, or a dimension value past events.max_dimension_values.",
    )

    @classmethod
    def of(cls, counts: SloEventCounts) -> SloEventsOut:
        return cls(
            eligible=counts.eligible,
            good=counts.good,
            kept=counts.kept,
            series=counts.series,
            overflow=counts.overflow,
        )


class EventIngestOut(BaseModel):
    """One batch of events written (a request, or a file)."""

    received: int = Field(description="Events in the input, repeats included.")
    duplicates: int = Field(
        description="Events already stored (same id and minute) or repeated in the input: "
        "not written again."
    )
    written_events: int = Field(description="New events written.")
    counts_rows: int = Field(description="Minute count rows written (series x minute).")
    kept: int = Field(description="Kept events written, summed over SLOs.")
    pruned: int = Field(description="Records of events past events.retention forgotten.")
    per_slo: dict[str, SloEventsOut]

    @classmethod
    def of(cls, report: EventIngestReport) -> EventIngestOut:
        return cls(
            received=report.received,
            duplicates=report.duplicates,
            written_events=report.written_events,
            counts_rows=report.counts_rows,
            kept=report.kept,
            pruned=report.pruned,
            per_slo={slo: SloEventsOut.of(counts) for slo, counts in report.per_slo.items()},
        )


class EventFileOut(BaseModel):
    """One file of an ``errorbudget ingest --events`` run."""

    path: str
    size: int = Field(description="Bytes.")
    written: bool = Field(description="False: the file was rejected, nothing was written.")
    report: EventIngestOut
    seconds: float
    events_per_second: int
    problem_count: int
    problems: list[ProblemOut] = Field(description="The first 1,000 of problem_count.")

    @classmethod
    def of(cls, file: EventFileReport) -> EventFileOut:
        return cls(
            path=str(file.path),
            size=file.size,
            written=file.written,
            report=EventIngestOut.of(file.report),
            seconds=round(file.seconds, 3),
            events_per_second=round(file.events_per_second),
            problem_count=file.problem_count,
            problems=[ProblemOut.of(p) for p in file.problems],
        )


class EventRunOut(BaseModel):
    """An ``errorbudget ingest --events`` run: every file."""

    files: list[EventFileOut]

    @classmethod
    def of(cls, report: EventFilesReport) -> EventRunOut:
        return cls(files=[EventFileOut.of(file) for file in report.files])
