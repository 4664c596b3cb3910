"""What an ingest did, per file and in total (rendered by the CLI as text or JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from errorbudget.errors import IngestError, Problem

MAX_PROBLEMS = 1000
"""Problems kept per file (and in an IngestError); the rest are only counted."""


@dataclass(frozen=True, slots=True)
class FileReport:
    """One input file. ``written`` is False when the file was rejected (nothing written).

    ``rows_written`` counts minute rows after summing rows of the same series and minute;
    ``problems`` holds the first ``MAX_PROBLEMS`` of ``problem_count``.
    """

    path: Path
    format: str
    written: bool
    rows_read: int
    rows_written: int
    rows_rejected: int
    series: int
    seconds: float
    problems: tuple[Problem, ...] = ()
    problem_count: int = 0
    rejects_path: Path | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class IngestReport:
    """Every file of one ``ingest_files`` call, in the order given."""

    files: tuple[FileReport, ...]
    seconds: float

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_written(self) -> int:
        return sum(f.rows_written for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def series(self) -> int:
        """Series touched, summed over files (a series in two files counts twice)."""
        return sum(f.series for f in self.files)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    @property
    def rejected(self) -> tuple[FileReport, ...]:
        """The files of which nothing was written."""
        return tuple(f for f in self.files if not f.written)

    def error(self) -> IngestError | None:
        """The IngestError naming every problem of the rejected files, or None."""
        rejected = self.rejected
        if not rejected:
            return None
        problems = [p for f in rejected for p in f.problems][:MAX_PROBLEMS]
        count = sum(max(f.problem_count, len(f.problems)) for f in rejected)
        names = ", ".join(str(f.path) for f in rejected)
        more = f"; the first {len(problems):,} are listed" if count > len(problems) else ""
        noun = "problem" if count == 1 else "problems"
        return IngestError(f"nothing was written from {names}: {count:,} {noun}{more}", problems)
