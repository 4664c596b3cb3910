"""Ingest runs (``errorbudget ingest``: files) and ingested bodies (``POST /api/v1/ingest``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from errorbudget.errors import Problem
    from errorbudget.ingest.report import FileReport, IngestReport


class ProblemOut(BaseModel):
    """One problem of an input file: where it is and what is wrong."""

    file: str
    line: int = Field(description="1-based; 0: unknown.")
    message: str

    @classmethod
    def of(cls, problem: Problem) -> ProblemOut:
        return cls(file=problem.file, line=problem.line, message=problem.message)


class IngestFileOut(BaseModel):
    """One file of an ``errorbudget ingest`` run."""

    path: str
    format: str
    written: bool = Field(description="False: the file was rejected, nothing was written.")
    rows_read: int
    rows_written: int = Field(description="Minute rows written after summing (series, minute).")
    rows_rejected: int
    series: int
    seconds: float
    rows_per_second: int
    rejects_path: str | None
    problem_count: int
    problems: list[ProblemOut] = Field(description="The first 1,000 of problem_count.")

    @classmethod
    def of(cls, file: FileReport) -> IngestFileOut:
        return cls(
            path=str(file.path),
            format=file.format,
            written=file.written,
            rows_read=file.rows_read,
            rows_written=file.rows_written,
            rows_rejected=file.rows_rejected,
            series=file.series,
            seconds=round(file.seconds, 3),
            rows_per_second=round(file.rows_per_second),
            rejects_path=str(file.rejects_path) if file.rejects_path else None,
            problem_count=file.problem_count,
            problems=[ProblemOut.of(p) for p in file.problems],
        )


class IngestRunOut(BaseModel):
    """An ``errorbudget ingest`` run: every file, in the order given, and the totals."""

    files: list[IngestFileOut]
    rows_read: int
    rows_written: int
    rows_rejected: int
    series: int = Field(description="Summed over files (a series in two files counts twice).")
    seconds: float
    rows_per_second: int
    rejected_files: list[str]

    @classmethod
    def of(cls, report: IngestReport) -> IngestRunOut:
        return cls(
            files=[IngestFileOut.of(f) for f in report.files],
            rows_read=report.rows_read,
            rows_written=report.rows_written,
            rows_rejected=report.rows_rejected,
            series=report.series,
            seconds=round(report.seconds, 3),
            rows_per_second=round(report.rows_per_second),
            rejected_files=[str(f.path) for f in report.rejected],
        )


class IngestOut(BaseModel):
    """A body ingested by ``POST /api/v1/ingest`` (one body, no file paths)."""

    rows_read: int
    rows_written: int = Field(description="Minute rows written after summing (series, minute).")
    rows_rejected: int
    series: int
    seconds: float
