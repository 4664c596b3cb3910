"""``errorbudget ingest``: CSV and NDJSON count files into the store, fast.

Public API: :func:`ingest_files` and its :class:`IngestReport` / :class:`FileReport`.

Layout: ``reader`` cuts files into ~1M-row chunks parsed by Arrow (with line numbers);
``validate`` checks rows in bulk; ``series`` maps (SLO, segment values) to series ids;
``fold`` sums rows of the same minute; ``run`` drives it, one transaction per file.
"""

from errorbudget.ingest.report import MAX_PROBLEMS, FileReport, IngestReport
from errorbudget.ingest.run import ingest_files
from errorbudget.ingest.series import CountsStore

__all__ = ["MAX_PROBLEMS", "CountsStore", "FileReport", "IngestReport", "ingest_files"]
