"""A corpus of bad count files (issue #8): each is refused whole with a problem at its line
that says what is allowed — times outside 2000..2100, counts over the per-minute cap on the
Arrow fast path and the text path, odd segment values, CR-only line ends, lines longer than
64 KiB (refused without reading the rest of the line) — and nothing is written."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from click.testing import CliRunner

from errorbudget.cli.main import main
from errorbudget.errors import IngestError, StoreError
from errorbudget.ingest import ingest_files
from errorbudget.ingest import reader as reader_module
from errorbudget.limits import MAX_COUNT, MAX_LINE_BYTES
from errorbudget.model import SLO
from errorbudget.store import Store

SLOS = {
    "calls": SLO(
        id="calls",
        service="cc",
        target=0.9,
        window={"type": "rolling", "length": "7d"},
        segments={"keys": ["queue"]},
    )
}
CSV = "time,slo,queue,good,total\n"
OK_ROW = "2026-11-20T11:00:00Z,calls,sales,1,2\n"
RANGE = "is outside the accepted range, 2000-01-01T00:00Z to 2100-01-01T00:00Z"
CAP = "is more than 1,000,000,000, the most one series may count in a minute"

# (name, file name, content, line, message fragment)
BAD_FILES: list[tuple[str, str, str, int, str]] = [
    ("year 1970", "a.csv", CSV + OK_ROW + "1970-01-01T00:00:00Z,calls,sales,1,2\n", 3, RANGE),
    ("year 9999", "a.csv", CSV + "9999-12-31T23:59:00Z,calls,sales,1,2\n", 2, RANGE),
    ("year 2100", "a.csv", CSV + "2100-01-01T00:00:00Z,calls,sales,1,2\n", 2, RANGE),
    ("Unix second 0", "a.csv", CSV + "0,calls,sales,1,2\n", 2, RANGE),
    (
        "Unix milliseconds",
        "a.csv",
        CSV + "1763636400000,calls,sales,1,2\n",
        2,
        "Unix times are in seconds, not milliseconds",
    ),
    (
        "NDJSON year 1",
        "a.ndjson",
        '{"time": "0001-01-01T00:00:00Z", "slo": "calls", "queue": "q", "good": 1, "total": 2}\n',
        1,
        RANGE,
    ),
    (
        "int64 max on the Arrow path",
        "a.csv",
        CSV + "2026-11-20T11:00:00Z,calls,sales,9223372036854775807,9223372036854775807\n",
        2,
        f"good 9223372036854775807 {CAP}",
    ),
    (
        "a count over the cap on the text path",
        "a.csv",
        CSV + OK_ROW + "2026-11-20T11:01:00Z,calls,sales,x,99999999999999999999\n",
        3,
        f"total 99999999999999999999 {CAP}",
    ),
    (
        "NDJSON int64 max",
        "a.ndjson",
        '{"time": "2026-11-20T11:00:00Z", "slo": "calls", "queue": "q", "good": 1, '
        '"total": 9223372036854775807}\n',
        1,
        f"total 9223372036854775807 {CAP}",
    ),
    (
        "NDJSON NaN",
        "a.ndjson",
        '{"time": "2026-11-20T11:00:00Z", "slo": "calls", "queue": "q", "good": NaN, "total": 2}\n',
        1,
        "good 'NaN' is not a non-negative integer",
    ),
    (
        "NDJSON exponent",
        "a.ndjson",
        '{"time": "2026-11-20T11:00:00Z", "slo": "calls", "queue": "q", "good": 1, "total": 1e3}\n',
        1,
        "total '1000.0' is not a non-negative integer",
    ),
    (
        "rows of one minute over the cap together",
        "a.csv",
        CSV + "2026-11-20T11:00:00Z,calls,sales,1,600000000\n"
        "2026-11-20T11:00:30Z,calls,sales,1,600000000\n",
        0,
        "the rows of SLO 'calls' queue=sales at 2026-11-20T11:00Z add up to 1,200,000,000 "
        "events, more than 1,000,000,000",
    ),
    (
        "a control character in a segment value",
        "a.csv",
        CSV + '2026-11-20T11:00:00Z,calls,"sa\x1bles",1,2\n',
        2,
        "queue value 'sa\\x1bles' has a control character",
    ),
    (
        "a segment value of 300 characters",
        "a.csv",
        CSV + f"2026-11-20T11:00:00Z,calls,{'q' * 300},1,2\n",
        2,
        "has 300 characters; a segment value has at most 200",
    ),
    (
        "CR-only line ends",
        "a.csv",
        (CSV + OK_ROW + OK_ROW).replace("\n", "\r"),
        1,
        "the line ends with a carriage return (CR) alone",
    ),
    (
        "a line longer than 64 KiB",
        "a.csv",
        CSV + OK_ROW + "2026-11-20T11:00:00Z,calls," + "x" * 70_000 + ",1,2\n" + OK_ROW,
        3,
        "the line is longer than 65,536 bytes",
    ),
    (
        "a header longer than 64 KiB",
        "a.csv",
        "time,slo," + "queue" * 20_000 + "\n" + OK_ROW,
        1,
        "the line is longer than 65,536 bytes",
    ),
    (
        "a time offset past 24 hours",
        "a.csv",
        CSV + "2026-11-20T11:00:00+99:00,calls,sales,1,2\n",
        2,
        "neither RFC 3339 with a zone nor Unix seconds",
    ),
]


@pytest.fixture
def store_backend() -> str:
    """The shared ``store`` (tests/integration/conftest.py) on a file, as ``ingest`` runs."""
    return "sqlite-file"


@pytest.mark.parametrize(
    ("name", "content", "line", "fragment"),
    [pytest.param(f, c, line, m, id=n) for n, f, c, line, m in BAD_FILES],
)
def test_every_bad_count_file_is_refused_at_its_line(
    tmp_path: Path, store: Store, name: str, content: str, line: int, fragment: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8"))
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    where = f"{path}:{line}: " if line else f"{path}: "
    found = [str(p) for p in error.value.problems]
    assert any(p.startswith(where) and fragment in p for p in found), found
    assert store.data_bounds() is None  # nothing of the file was written


def test_counts_up_to_the_cap_are_written(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "cap.csv"
    path.write_text(
        CSV + f"2026-11-20T11:00:00Z,calls,sales,{MAX_COUNT},{MAX_COUNT}\n"
        f"1999-12-31T23:59:59-00:01,calls,sales,0,1\n"  # 2000-01-01T00:00:59Z: the first minute
        f"2099-12-31T23:59:59Z,calls,sales,0,1\n",  # the last minute
        encoding="utf-8",
    )
    report = ingest_files(store, SLOS, [path])
    assert report.rows_written == 3


def test_a_cr_only_file_is_one_sentence_from_the_cli_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "eb.yaml"
    config.write_text(
        "version: 1\nstore: {path: eb.db}\nslos:\n  - {id: calls, service: cc, target: 0.9,"
        " window: {type: rolling, length: 7d}}\n",
        encoding="utf-8",
    )
    counts = tmp_path / "mac.csv"
    counts.write_bytes(b"time,slo,good,total\r2026-11-20T11:00:00Z,calls,1,2\r")
    result = CliRunner().invoke(main, ["ingest", "-c", str(config), str(counts)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{counts}:1: the line ends with a carriage return (CR) alone" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
def test_a_huge_single_line_fails_fast_in_bounded_memory(
    tmp_path: Path, store: Store, suffix: str
) -> None:
    """A 16 MiB file that is one line: refused at line 1 (CSV header) or 2 once a chunk of
    256 KiB shows no line end, without holding the line (the fix for 1 GB taking 4.3 GB)."""
    path = tmp_path / f"one-line{suffix}"
    head = CSV if suffix == ".csv" else ""
    with path.open("wb") as out:
        out.write(head.encode())
        block = b"x" * (1 << 20)
        for _ in range(16):
            out.write(block)
    tracemalloc.start()
    try:
        with (
            mock.patch.object(reader_module, "CHUNK_BYTES", 256 << 10),
            pytest.raises(IngestError) as error,
        ):
            ingest_files(store, SLOS, [path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    line = 2 if suffix == ".csv" else 1
    assert [str(p) for p in error.value.problems] == [
        f"{path}:{line}: the line is longer than {MAX_LINE_BYTES:,} bytes, the most a counts "
        "row may take: this is not a counts file, or its line ends are missing"
    ]
    assert peak < 4 << 20  # a few chunks, never the 16 MiB line


# --- the cap on every write path ----------------------------------------------------------------


def test_the_store_refuses_counts_over_the_cap_and_minutes_out_of_range(store: Store) -> None:
    [series] = store.series_ids("calls", [(("queue", "sales"),)])
    minute = 29_400_000  # 2025-11-24
    with pytest.raises(StoreError, match="total is more than 1,000,000,000"):
        store.write_counts([series], [minute], [0], [MAX_COUNT + 1])
    with pytest.raises(StoreError, match="out of range"):
        store.write_counts([series], [10], [0], [1])
    store.add_counts([series], [minute], [0], [600_000_000], source="calls")
    with pytest.raises(StoreError, match="total is more than 1,000,000,000"):
        store.add_counts([series], [minute], [0], [600_000_000], source="calls")
    with pytest.raises(StoreError, match="a count to add is more than"):
        store.add_counts([series], [minute], [0], [2**62], source="calls")
    assert store.sums([series], [(minute, minute + 1)]).tolist() == [[[0.0, 600_000_000.0]]]


def test_sums_at_the_cap_every_minute_never_overflow(store: Store) -> None:
    """35 days of a series at the cap every minute, from two sources: every sum (hour
    blocks, day rollups, prefix sums) is exact — 2 × 50,400 × 10**9 = 1.008e14."""
    [series] = store.series_ids("calls", [(("queue", "sales"),)])
    start = 29_400_000 - 29_400_000 % 1440
    minutes = np.arange(start, start + 35 * 1440, dtype=np.int64)
    full = np.full(minutes.size, MAX_COUNT, dtype=np.int64)
    for source in ("a", "b"):
        store.write_counts(np.full(minutes.size, series), minutes, full, full, source)
    expected = 2 * minutes.size * MAX_COUNT
    sums = store.sums([series], [(start, start + 35 * 1440), (start + 7, start + 35 * 1440 - 7)])
    assert sums[0, :, 1].tolist() == [float(expected), float(expected - 2 * 14 * MAX_COUNT)]
    good, total = store.minute_arrays([series], start, start + 35 * 1440)
    assert int(total.sum()) == expected and bool((good == 2 * MAX_COUNT).all())
