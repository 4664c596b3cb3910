"""``errorbudget ingest``: CSV / NDJSON files into a real (temp-file) store."""

from __future__ import annotations

import csv
import gzip
import json
import os
import random
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorbudget.cli.main import main
from errorbudget.errors import IngestError, StoreError
from errorbudget.ingest import IngestReport, ingest_files
from errorbudget.ingest import fold as fold_module
from errorbudget.ingest import reader as reader_module
from errorbudget.model import SLO, SegmentKey, to_minute
from errorbudget.schema.ingest import IngestRunOut
from errorbudget.store import Store, open_store
from store_backends import BACKENDS

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
M0 = to_minute(T0)
EPOCH0 = int(T0.timestamp())
ALL_TIME = (0, (1 << 32) - 1)


def make_slo(slo_id: str, keys: list[str]) -> SLO:
    return SLO(
        id=slo_id,
        service="cc",
        target=0.85,
        window={"type": "rolling", "length": "28d"},
        segments={"keys": keys},
    )


SLOS = {
    "voice-sla": make_slo("voice-sla", ["tier"]),
    "ivr-completion": make_slo("ivr-completion", ["queue", "flow"]),
    "api-availability": make_slo("api-availability", []),
}
HEADER = "time,slo,tier,queue,flow,good,total\n"


@pytest.fixture(params=["sqlite-file", BACKENDS[-1]])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The shared ``store`` (tests/integration/conftest.py) on a file, as ``ingest`` runs,
    and on PostgreSQL."""
    return str(request.param)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def totals(store: Store) -> dict[tuple[str, SegmentKey], tuple[int, int]]:
    """(good, total) over all time per stored series."""
    infos = store.list_series()
    if not infos:
        return {}
    sums = store.sums([info.id for info in infos], [ALL_TIME])
    return {
        (info.slo, info.segment): (int(sums[i, 0, 0]), int(sums[i, 0, 1]))
        for i, info in enumerate(infos)
    }


def minutes(store: Store, slo: str, segment: SegmentKey, count: int = 10) -> list[tuple[int, int]]:
    """(good, total) for the ``count`` minutes from M0 of one series."""
    (series_id,) = store.series_ids(slo, [segment], create=False)
    good, total = store.minute_arrays([series_id], M0, M0 + count)
    return [(int(g), int(t)) for g, t in zip(good[0], total[0], strict=True)]


def problems_of(error: pytest.ExceptionInfo[IngestError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


GOLD: SegmentKey = (("tier", "gold"),)
SILVER: SegmentKey = (("tier", "silver"),)


# --- formats and times -----------------------------------------------------------------------


def test_csv_times_with_zones_offsets_and_epoch_seconds(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "counts.csv",
        HEADER
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,8,10\n"
        + "2026-11-01T12:00:59+02:00,voice-sla,gold,,,1,1\n"  # 10:00:59Z: same minute
        + f"{EPOCH0 + 60},voice-sla,gold,,,3,4\n"
        + "2026-11-01T10:02:30.750Z,voice-sla,gold,,,2,2\n"
        + "2026-11-01T05:03:00-05:00,voice-sla,silver,,,0,7\n"
        + "2026-11-01 10:04Z,voice-sla,silver,,,1,1\n",
    )
    report = ingest_files(store, SLOS, [path])
    (file,) = report.files
    assert (file.written, file.rows_read, file.rows_written, file.rows_rejected) == (
        True, 6, 5, 0,
    )  # fmt: skip
    assert file.series == 2 and file.format == "csv"
    assert minutes(store, "voice-sla", GOLD, 4) == [(9, 11), (3, 4), (2, 2), (0, 0)]
    assert minutes(store, "voice-sla", SILVER, 5) == [(0, 0), (0, 0), (0, 0), (0, 7), (1, 1)]


def test_ndjson_with_blank_lines_numbers_and_extra_fields(tmp_path: Path, store: Store) -> None:
    lines = [
        {"time": "2026-11-01T10:00:00Z", "slo": "voice-sla", "tier": "gold", "good": 8,
         "total": 10, "note": "ignored"},
        None,
        {"time": EPOCH0 + 30, "slo": "voice-sla", "tier": "gold", "good": 1, "total": 1},
        {"time": "2026-11-01T11:01:00+01:00", "slo": "api-availability", "good": "5",
         "total": 6},
    ]  # fmt: skip
    text = "\n".join("" if line is None else json.dumps(line) for line in lines) + "\n\n"
    for suffix in (".ndjson", ".jsonl"):
        path = write(tmp_path / f"counts{suffix}", text)
        report = ingest_files(store, SLOS, [path])
        assert report.files[0].format == "ndjson"
        assert (report.rows_read, report.rows_written) == (3, 2)
    assert minutes(store, "voice-sla", GOLD, 2) == [(9, 11), (0, 0)]
    assert minutes(store, "api-availability", (), 2) == [(0, 0), (5, 6)]


@pytest.mark.parametrize("name", ["counts.csv.gz", "counts.ndjson.gz"])
def test_gzip_files(tmp_path: Path, store: Store, name: str) -> None:
    if ".csv" in name:
        text = HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,8,10\n"
    else:
        text = (
            '{"time":"2026-11-01T10:00:00Z","slo":"voice-sla","tier":"gold","good":8,"total":10}\n'
        )
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()))
    ingest_files(store, SLOS, [path])
    assert totals(store) == {("voice-sla", GOLD): (8, 10)}


@pytest.mark.parametrize("name", ["fifo.csv", "fifo.csv.gz"])
def test_a_named_pipe_is_read_like_a_file(tmp_path: Path, store: Store, name: str) -> None:
    """A pipe cannot tell its position (``tell()`` raised "Illegal seek", a traceback)."""
    text = (HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,8,10\n").encode()
    data = gzip.compress(text) if name.endswith(".gz") else text
    path = tmp_path / name
    os.mkfifo(path)
    writer = threading.Thread(target=path.write_bytes, args=(data,))
    writer.start()
    try:
        report = ingest_files(store, SLOS, [path])
    finally:
        writer.join(timeout=10)
    assert [f.written for f in report.files] == [True]
    assert totals(store) == {("voice-sla", GOLD): (8, 10)}


def test_unknown_extension_is_a_problem(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "counts.txt", HEADER)
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}: cannot tell the format from the name: use .csv, .ndjson or .jsonl (or .gz)"
    ]


def test_missing_file_is_a_problem_and_other_files_still_load(tmp_path: Path, store: Store) -> None:
    good = write(tmp_path / "good.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,1\n")
    report = ingest_files(store, SLOS, [tmp_path / "absent.csv", good], raise_on_reject=False)
    assert [f.written for f in report.files] == [False, True]
    assert str(report.files[0].problems[0]).startswith(f"{tmp_path / 'absent.csv'}: cannot open")
    assert totals(store) == {("voice-sla", GOLD): (1, 1)}


# --- validation: every problem, with its line ------------------------------------------------


def test_every_csv_problem_is_named_by_line(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "bad.csv",
        HEADER
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,1\n"  # 2 ok
        + "2026-11-01T10:00:00Z,voice-sl,gold,,,1,1\n"  # 3 unknown SLO
        + "2026-11-01T10:00:00Z,voice-sla,,,,1,1\n"  # 4 empty segment value
        + "2026-11-01T10:00:00Z,ivr-completion,,q1,,1,1\n"  # 5 one of two keys empty
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,x,1\n"  # 6 good not an integer
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,-2\n"  # 7 total negative
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,5,3\n"  # 8 good > total
        + "2026-11-01T10:00:00,voice-sla,gold,,,1,1\n"  # 9 naive time
        + "yesterday,voice-sla,gold,,,1,1\n"  # 10 bad time
        + ",voice-sla,gold,,,1,1\n"  # 11 no time
        + "1969-12-31T23:59:00Z,voice-sla,gold,,,1,1\n"  # 12 before 1970
        + ",,,,,,\n"  # 13 nothing at all
        + "2026-11-01T10:00:00Z,api-availability,,,,1.5,2\n"  # 14 fractional count
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,,1\n",  # 15 no good
    )
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}:3: unknown SLO 'voice-sl' (did you mean 'voice-sla'?)",
        f"{path}:4: tier is empty (SLO 'voice-sla' is segmented by it)",
        f"{path}:5: flow is empty (SLO 'ivr-completion' is segmented by it)",
        f"{path}:6: good 'x' is not a non-negative integer",
        f"{path}:7: total '-2' is not a non-negative integer",
        f"{path}:8: good 5 is more than total 3",
        f"{path}:9: time '2026-11-01T10:00:00' has no zone or offset (add Z or +hh:mm)",
        f"{path}:10: time 'yesterday' is neither RFC 3339 with a zone nor Unix seconds",
        f"{path}:11: time is empty",
        f"{path}:12: time '1969-12-31T23:59:00Z' is outside the accepted range, "
        "2000-01-01T00:00Z to 2100-01-01T00:00Z",
        f"{path}:13: slo is empty; time is empty; good is empty; total is empty",
        f"{path}:14: good '1.5' is not a non-negative integer",
        f"{path}:15: good is empty",
    ]
    assert str(error.value) == f"nothing was written from {path}: 13 problems"
    assert totals(store) == {}


def test_typed_fast_path_problems_name_values(tmp_path: Path, store: Store) -> None:
    """A file whose columns all parse as numbers/timestamps never leaves Arrow's fast path."""
    path = write(
        tmp_path / "bad.csv",
        HEADER
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,1\n"
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,-1,1\n"
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,7,3\n"
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,,3\n",
    )
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}:3: good -1 is not a non-negative integer",
        f"{path}:4: good 7 is more than total 3",
        f"{path}:5: no good value",
    ]


def test_every_ndjson_problem_is_named_by_line(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "bad.ndjson",
        '{"time":"2026-11-01T10:00:00Z","slo":"voice-sla","tier":"gold","good":1,"total":1}\n'
        "\n"  # 2 blank lines are skipped but counted
        '{"time":"2026-11-01T10:00:00Z","slo":"voice-sla","good":1,"total":1}\n'  # 3
        "   \n"
        '{"time":"2026-11-01T10:00:00Z","slo":"voice-sla","tier":"gold","good":1.5,"total":2}\n'
        '{"time":"2026-11-01T10:00:00","slo":"voice-sla","tier":"gold","good":1,"total":2}\n'
        "{not json\n"  # 7
        "[1, 2]\n"  # 8
        '{"time":1793527200,"slo":"voice","tier":"gold","good":true,"total":2}\n',  # 9
    )
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error)[:3] == [
        f"{path}:3: no tier value (SLO 'voice-sla' is segmented by it)",
        f"{path}:5: good '1.5' is not a non-negative integer",
        f"{path}:6: time '2026-11-01T10:00:00' has no zone or offset (add Z or +hh:mm)",
    ]
    assert problems_of(error)[3].startswith(f"{path}:7: invalid JSON: ")
    assert problems_of(error)[4:] == [
        f"{path}:8: the line is not a JSON object",
        f"{path}:9: unknown SLO 'voice' (did you mean 'voice-sla'?); "
        "good 'true' is not a non-negative integer",
    ]


def test_lines_count_quoted_newlines_and_blank_lines(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "quoted.csv",
        "time,slo,tier,good,total,note\n"
        '2026-11-01T10:00:00Z,voice-sla,gold,1,1,"two\nlines"\n'  # lines 2-3
        "\n"  # 4 blank
        '2026-11-01T10:00:00Z,voice-sla,"gold",5,2,""\n',  # 5
    )
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [f"{path}:5: good 5 is more than total 2"]


def test_ragged_csv_row(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "ragged.csv",
        HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,1\n2026-11-01T10:00:00Z,voice-sla\n",
    )
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [f"{path}:3: expected 7 fields (as the header), found 2"]


def test_missing_required_columns_are_one_problem_at_line_1(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "short.csv", "time,slo,good\n2026-11-01T10:00:00Z,voice-sla,1\n")
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}:1: the header has no 'total' column (it needs time, slo, good, total)"
    ]


def test_empty_csv_file(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "empty.csv", "")
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}:1: the file is empty: expected a header row naming time, slo, good, total"
    ]


def test_missing_segment_column_is_one_problem_at_line_1(tmp_path: Path, store: Store) -> None:
    rows = "".join(f"2026-11-01T10:0{i}:00Z,voice-sla,1,1\n" for i in range(5))
    path = write(tmp_path / "no-tier.csv", "time,slo,good,total\n" + rows)
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}:1: no 'tier' column, but SLO 'voice-sla' is segmented by it"
    ]
    assert error.value.problems[0].line == 1


def test_segments_of_an_slo_without_that_key_are_not_needed(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "whole.csv", "time,slo,good,total\n2026-11-01T10:00:00Z,api-availability,1,2\n"
    )
    ingest_files(store, SLOS, [path])
    assert totals(store) == {("api-availability", ()): (1, 2)}


def test_problem_list_is_capped(tmp_path: Path, store: Store) -> None:
    rows = "".join("2026-11-01T10:00:00Z,nope,,,,1,1\n" for _ in range(1500))
    path = write(tmp_path / "many.csv", HEADER + rows)
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert len(error.value.problems) == 1000
    assert error.value.problems[-1].line == 1001
    assert "1,500 problems; the first 1,000 are listed" in str(error.value)


# --- all or nothing per file -------------------------------------------------------------------


def test_a_bad_row_in_a_later_batch_rolls_back_the_whole_file(tmp_path: Path, store: Store) -> None:
    good = "".join(f"{EPOCH0 + 60 * i},voice-sla,gold,,,1,2\n" for i in range(200))
    path = write(
        tmp_path / "late-bad.csv", HEADER + good + "2026-11-01T10:00Z,voice-sla,gold,,,3,2\n"
    )
    with mock.patch.object(reader_module, "CHUNK_BYTES", 256), pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [f"{path}:202: good 3 is more than total 2"]
    assert store.list_series() == []  # series created by earlier batches were rolled back too
    assert store.data_bounds() is None


def test_files_are_independent(tmp_path: Path, store: Store) -> None:
    good = write(tmp_path / "a.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,2\n")
    bad = write(tmp_path / "b.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,silver,,,3,2\n")
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [good, bad])
    assert str(error.value) == f"nothing was written from {bad}: 1 problem"
    assert totals(store) == {("voice-sla", GOLD): (1, 2)}
    report = ingest_files(store, SLOS, [good, bad], raise_on_reject=False)
    assert [f.written for f in report.files] == [True, False]
    assert [f.path for f in report.rejected] == [bad]
    assert report.error() is not None


# --- skip invalid ------------------------------------------------------------------------------


def test_skip_invalid_writes_good_rows_and_a_rejects_file(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "mixed.csv",
        HEADER
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,2\n"
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,9,2\n"
        + '2026-11-01T10:01:00Z,voice-sla,"silver, 2",,,1,1\n'
        + "2026-11-01T10:02:00,voice-sla,gold,,,1,1\n",
    )
    report = ingest_files(store, SLOS, [path], skip_invalid=True)
    (file,) = report.files
    assert (file.written, file.rows_read, file.rows_written, file.rows_rejected) == (
        True, 4, 2, 2,
    )  # fmt: skip
    assert file.rejects_path == tmp_path / "mixed.csv.rejects.csv"
    assert totals(store) == {
        ("voice-sla", GOLD): (1, 2),
        ("voice-sla", (("tier", "silver, 2"),)): (1, 1),
    }
    with file.rejects_path.open(newline="", encoding="utf-8") as handle:
        rejects = list(csv.reader(handle))
    assert rejects == [
        ["line", "reason", "time", "slo", "tier", "queue", "flow", "good", "total"],
        ["3", "good 9 is more than total 2",
         "2026-11-01T10:00:00Z", "voice-sla", "gold", "", "", "9", "2"],
        ["5", "time '2026-11-01T10:02:00' has no zone or offset (add Z or +hh:mm)",
         "2026-11-01T10:02:00", "voice-sla", "gold", "", "", "1", "1"],
    ]  # fmt: skip


def test_skip_invalid_ndjson_rejects_keep_the_record(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "mixed.ndjson",
        '{"time":"2026-11-01T10:00:00Z","slo":"api-availability","good":1,"total":2}\n'
        '{"time":"2026-11-01T10:00:00Z","slo":"api-availability","good":3,"total":2}\n'
        "oops\n",
    )
    rejects = tmp_path / "rejected.csv"
    report = ingest_files(store, SLOS, [path], skip_invalid=True, rejects_path=rejects)
    assert report.files[0].rejects_path == rejects
    with rejects.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "record"]
    assert rows[1] == [
        "2",
        "good 3 is more than total 2",
        '{"time":"2026-11-01T10:00:00Z","slo":"api-availability","good":3,"total":2}',
    ]
    assert rows[2][0] == "3" and rows[2][1].startswith("invalid JSON") and rows[2][2] == "oops"
    assert totals(store) == {("api-availability", ()): (1, 2)}


def test_skip_invalid_missing_column_rejects_rows_once_listed(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "no-tier.csv",
        "time,slo,good,total\n"
        "2026-11-01T10:00:00Z,voice-sla,1,1\n"
        "2026-11-01T10:00:00Z,api-availability,1,1\n",
    )
    report = ingest_files(store, SLOS, [path], skip_invalid=True)
    (file,) = report.files
    assert [str(p) for p in file.problems] == [
        f"{path}:1: no 'tier' column, but SLO 'voice-sla' is segmented by it"
    ]
    assert file.rows_rejected == 1 and file.rows_written == 1
    assert file.rejects_path is not None
    assert "no 'tier' column" in file.rejects_path.read_text(encoding="utf-8")


def test_rejects_path_is_a_directory_for_several_files(tmp_path: Path, store: Store) -> None:
    a = write(tmp_path / "a.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,3,1\n")
    b = write(tmp_path / "b.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,1\n")
    with pytest.raises(IngestError, match="must be an existing directory"):
        ingest_files(store, SLOS, [a, b], skip_invalid=True, rejects_path=tmp_path / "r.csv")
    folder = tmp_path / "rejects"
    folder.mkdir()
    report = ingest_files(store, SLOS, [a, b], skip_invalid=True, rejects_path=folder)
    assert [f.rejects_path for f in report.files] == [folder / "a.csv.rejects.csv", None]


# --- idempotence, replacement, sums ------------------------------------------------------------


def test_ingesting_a_file_twice_changes_nothing(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "counts.csv",
        HEADER
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,2\n"
        + "2026-11-01T10:00:20Z,voice-sla,gold,,,3,4\n"
        + "2026-11-01T10:01:00Z,ivr-completion,,q1,main,5,5\n",
    )
    ingest_files(store, SLOS, [path])
    first = totals(store)
    ingest_files(store, SLOS, [path])
    assert (
        totals(store)
        == first
        == {
            ("voice-sla", GOLD): (4, 6),
            ("ivr-completion", (("flow", "main"), ("queue", "q1"))): (5, 5),
        }
    )


def test_a_file_replaces_its_minutes_of_its_source_only(tmp_path: Path, store: Store) -> None:
    one = write(tmp_path / "one.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,2\n")
    two = write(
        tmp_path / "two.csv",
        HEADER
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,5,5\n"
        + "2026-11-01T10:01:00Z,voice-sla,gold,,,1,1\n",
    )
    ingest_files(store, SLOS, [one])
    ingest_files(store, SLOS, [two])
    assert minutes(store, "voice-sla", GOLD, 2) == [(5, 5), (1, 1)]
    ingest_files(store, SLOS, [one], source="backfill")  # another source adds up
    assert minutes(store, "voice-sla", GOLD, 2) == [(6, 7), (1, 1)]


def test_rows_of_one_minute_are_summed_across_batches(tmp_path: Path, store: Store) -> None:
    rows = "".join(f"{EPOCH0 + s},voice-sla,gold,,,1,2\n" for s in range(0, 120, 2))
    path = write(tmp_path / "seconds.csv", HEADER + rows)
    with mock.patch.object(reader_module, "CHUNK_BYTES", 300):
        report = ingest_files(store, SLOS, [path])
    assert report.files[0].rows_written == 2
    assert minutes(store, "voice-sla", GOLD, 3) == [(30, 60), (30, 60), (0, 0)]


def test_shuffled_file_beyond_the_retained_batches_is_summed_whole(
    tmp_path: Path, store: Store
) -> None:
    rows = [f"{EPOCH0 + 60 * m + s},voice-sla,gold,,,1,1\n" for m in range(5) for s in range(10)]
    random.Random(4).shuffle(rows)
    path = write(tmp_path / "shuffled.csv", HEADER + "".join(rows))
    with (
        mock.patch.object(reader_module, "CHUNK_BYTES", 200),
        mock.patch.object(fold_module, "RETAIN_ROWS", 3),
    ):
        report = ingest_files(store, SLOS, [path])
    assert (report.rows_read, report.rows_written) == (50, 5)
    assert minutes(store, "voice-sla", GOLD, 6) == [(10, 10)] * 5 + [(0, 0)]


def test_two_slos_with_different_segment_keys_in_one_file(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path / "mixed.csv",
        "flow,total,good,slo,time,queue,tier,extra\n"
        "main,4,3,ivr-completion,2026-11-01T10:00:00Z,q1,ignored,x\n"
        "main,4,4,ivr-completion,2026-11-01T10:00:00Z,q2,,x\n"
        ",2,2,voice-sla,2026-11-01T10:00:00Z,,gold,x\n"
        "main,1,1,api-availability,2026-11-01T10:00:00Z,,,x\n",
    )
    ingest_files(store, SLOS, [path])
    assert totals(store) == {
        ("ivr-completion", (("flow", "main"), ("queue", "q1"))): (3, 4),
        ("ivr-completion", (("flow", "main"), ("queue", "q2"))): (4, 4),
        ("voice-sla", GOLD): (2, 2),
        ("api-availability", ()): (1, 1),
    }


def test_progress_reaches_the_total(tmp_path: Path, store: Store) -> None:
    rows = "".join(f"{EPOCH0 + 60 * i},voice-sla,gold,,,1,2\n" for i in range(100))
    path = write(tmp_path / "counts.csv", HEADER + rows)
    calls: list[tuple[int, int]] = []
    with mock.patch.object(reader_module, "CHUNK_BYTES", 1000):
        ingest_files(store, SLOS, [path], progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(calls) > 2
    assert calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


# --- property: any valid data round-trips to the same sums -------------------------------------

TIERS = ["gold", "silver", "bronze, 3", "ünï"]
ROW = st.tuples(
    st.sampled_from(["voice-sla", "api-availability"]),
    st.sampled_from(TIERS),
    st.integers(0, 3 * 60 * 60 - 1),  # second offset from T0
    st.integers(0, 40),
    st.integers(0, 40),
    st.sampled_from(["Z", "+02:00", "-05:30", "epoch"]),
)


def _time_text(second: int, style: str) -> str:
    moment = T0 + timedelta(seconds=second)
    if style == "epoch":
        return str(EPOCH0 + second)
    if style == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if style[0] == "+" else -1
    offset = timedelta(hours=int(style[1:3]), minutes=int(style[4:6])) * sign
    return (moment + offset).strftime("%Y-%m-%dT%H:%M:%S") + style


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(ROW, max_size=120),
    fmt=st.sampled_from(["csv", "ndjson"]),
    chunk=st.sampled_from([64, 500, 1 << 20]),
)
def test_valid_data_round_trips_to_the_reference_sums(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, int, int, int, str]],
    fmt: str,
    chunk: int,
) -> None:
    expected: dict[tuple[str, SegmentKey, int], list[int]] = defaultdict(lambda: [0, 0])
    lines: list[Any] = []
    for slo, tier, second, a, b, style in rows:
        good, total = min(a, b), max(a, b)
        segment: SegmentKey = (("tier", tier),) if slo == "voice-sla" else ()
        cell = expected[(slo, segment, M0 + second // 60)]
        cell[0] += good
        cell[1] += total
        time_text = _time_text(second, style)
        if fmt == "csv":
            lines.append([time_text, slo, tier if segment else "", "", "", good, total])
        else:
            record = {"time": int(time_text) if style == "epoch" else time_text, "slo": slo,
                      "good": good, "total": total}  # fmt: skip
            if segment:
                record["tier"] = tier
            lines.append(record)
    folder = tmp_path_factory.mktemp("roundtrip")
    path = folder / f"counts.{fmt}"
    with path.open("w", newline="", encoding="utf-8") as handle:
        if fmt == "csv":
            writer = csv.writer(handle)
            writer.writerow(HEADER.strip().split(","))
            writer.writerows(lines)
        else:
            handle.writelines(json.dumps(line) + "\n" for line in lines)
    with open_store(":memory:") as store, mock.patch.object(reader_module, "CHUNK_BYTES", chunk):
        report = ingest_files(store, SLOS, [path])
        assert report.rows_written == len(expected)
        found: dict[tuple[str, SegmentKey, int], list[int]] = {}
        for info in store.list_series():
            good_by_minute, total_by_minute = store.minute_arrays([info.id], M0, M0 + 180)
            for offset in range(180):
                if total_by_minute[0, offset] or (info.slo, info.segment, M0 + offset) in expected:
                    found[(info.slo, info.segment, M0 + offset)] = [
                        int(good_by_minute[0, offset]),
                        int(total_by_minute[0, offset]),
                    ]
    assert found == dict(expected)


# --- the command ---------------------------------------------------------------------------------


CONFIG = """\
version: 1
store:
  path: store.db
services:
  - id: cc
slos:
  - id: voice-sla
    service: cc
    target: 0.85
    window: {type: rolling, length: 28d}
    segments: {keys: [tier]}
"""


def run_cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    config = write(tmp_path / "errorbudget.yaml", CONFIG)
    result = CliRunner().invoke(main, ["ingest", "-c", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_ingests_and_summarises(tmp_path: Path) -> None:
    path = write(tmp_path / "counts.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,2\n")
    code, out, err = run_cli(tmp_path, str(path))
    assert code == 0, err
    assert f"{path}: 1 rows read, 1 minute rows written, 0 rejected, 1 series" in out
    code, out, _ = run_cli(tmp_path, str(path), "--format", "json")
    data = json.loads(out)
    assert (data["rows_read"], data["rows_written"], data["rejected_files"]) == (1, 1, [])
    with open_store(tmp_path / "store.db") as store:
        assert totals(store) == {("voice-sla", GOLD): (1, 2)}


def test_cli_prints_each_problem_and_exits_1(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,3,2\n2026-11-01T10:00:00Z,x,gold,,,1,1\n",
    )
    code, out, err = run_cli(tmp_path, str(path))
    assert code == 1
    assert f"{path}:2: good 3 is more than total 2\n{path}:3: unknown SLO 'x'\n" in err
    assert f"error: nothing was written from {path}: 2 problems" in err
    assert "REJECTED" in out


def test_cli_skip_invalid_reports_the_rejects(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        HEADER
        + "2026-11-01T10:00:00Z,voice-sla,gold,,,3,2\n2026-11-01T10:00:00Z,voice-sla,gold,,,1,1\n",
    )
    code, out, err = run_cli(tmp_path, str(path), "--skip-invalid", "--source", "manual")
    assert code == 0, err
    assert f"{path}:2: good 3 is more than total 2 (rejected)" in err
    assert f"1 rows rejected (all in {path}.rejects.csv)" in err
    assert "1 minute rows written, 1 rejected" in out


def test_report_as_json_is_the_run_model(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "counts.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,2\n")
    report = ingest_files(store, SLOS, [path])
    assert isinstance(report, IngestReport)
    data = json.loads(json.dumps(IngestRunOut.of(report).model_dump(mode="json")))
    assert data["files"][0]["path"] == str(path)
    assert data["files"][0]["written"] is True


# --- the slow paths: still exact -----------------------------------------------------------------


def test_chunks_never_split_a_quoted_field(tmp_path: Path, store: Store) -> None:
    note = '"' + "a long\nquoted note, " * 20 + '"'
    rows = "".join(f"{EPOCH0 + 60 * i},voice-sla,gold,1,2,{note}\n" for i in range(6))
    path = write(
        tmp_path / "notes.csv",
        "time,slo,tier,good,total,note\n" + rows + f"{EPOCH0},voice-sla,gold,3,2,x\n",
    )
    with mock.patch.object(reader_module, "CHUNK_BYTES", 700), pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [f"{path}:128: good 3 is more than total 2"]


def test_ndjson_fast_path_lines_skip_blank_lines(tmp_path: Path, store: Store) -> None:
    record = '{"time":"2026-11-01T10:00:00Z","slo":"api-availability","good":%d,"total":2}\n'
    path = write(tmp_path / "gaps.ndjson", record % 1 + "\n  \n" + record % 1 + "\n" + record % 3)
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [f"{path}:6: good 3 is more than total 2"]


def test_impossible_dates_among_good_ones(tmp_path: Path, store: Store) -> None:
    good = "".join(f"2026-11-01T10:{m:02d}:00Z,voice-sla,gold,,,1,1\n" for m in range(40))
    path = write(
        tmp_path / "dates.csv",
        HEADER + good + "2026-02-30T10:00:00Z,voice-sla,gold,,,1,1\n" + good
        + "2026-11-01T10:00:00+0200,voice-sla,gold,,,1,1\n",
    )  # fmt: skip
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}:42: time '2026-02-30T10:00:00Z' is neither RFC 3339 with a zone nor Unix seconds"
    ]


def test_epoch_seconds_files_and_mixed_chunks(tmp_path: Path, store: Store) -> None:
    epoch = "".join(f"{EPOCH0 + 60 * i},voice-sla,gold,,,1,2\n" for i in range(30))
    iso = "".join(f"2026-11-01T10:{i:02d}:30Z,voice-sla,gold,,,1,2\n" for i in range(30))
    path = write(tmp_path / "mixed-times.csv", HEADER + epoch + iso + epoch)
    with mock.patch.object(reader_module, "CHUNK_BYTES", 500):
        report = ingest_files(store, SLOS, [path])
    assert (report.rows_read, report.rows_written) == (90, 30)
    assert minutes(store, "voice-sla", GOLD, 31) == [(3, 6)] * 30 + [(0, 0)]


def test_not_utf8_and_unreadable_rows(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "bytes.csv"
    huge = "x" * 60_000  # a field of 60,000 characters: no segment value is so long
    path.write_bytes(
        (HEADER + "2026-11-01T10:00:00Z,voice-sla,gold,,,1,1\n").encode()
        + b"2026-11-01T10:00:00Z,voice-sla,g\xffld,,,1,1\n"
        + f'2026-11-01T10:00:00Z,voice-sla,"{huge}",,,1,1\n'.encode()
        + b"2026-11-01T10:00:00Z,voice-sla,gold,,,9,1\n"
    )
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [
        f"{path}:3: the row is not UTF-8 text",
        f"{path}:4: tier value 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… has 60,000 characters; "
        "a segment value has at most 200",
        f"{path}:5: good 9 is more than total 1",
    ]


def test_corrupt_gzip_is_a_problem(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(gzip.compress(HEADER.encode() * 100)[:40])
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error)[0].startswith(f"{path}: cannot read: ")


def test_many_segment_keys_and_values(tmp_path: Path, store: Store) -> None:
    keys = [f"k{i}" for i in range(8)]
    slos = {"wide": make_slo("wide", keys)}
    rows = "".join(
        f"2026-11-01T10:00:00Z,wide,{','.join(f'v{r}-{i}' for i in range(8))},1,1\n"
        for r in range(300)
    )
    path = write(tmp_path / "wide.csv", f"time,slo,{','.join(keys)},good,total\n" + rows)
    report = ingest_files(store, slos, [path])
    assert report.files[0].series == 300
    stored = totals(store)
    assert len(stored) == 300
    assert stored[("wide", tuple((k, f"v7-{i}") for i, k in enumerate(keys)))] == (1, 1)


def test_header_naming_a_column_twice(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "twice.csv", "time,slo,good,total,good\n")
    with pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [f"{path}:1: the header names 'good' more than once"]


def test_a_file_truncated_mid_way_writes_nothing(tmp_path: Path, store: Store) -> None:
    rows = "".join(f"{EPOCH0 + 60 * i},voice-sla,gold,,,1,2\n" for i in range(3000))
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress((HEADER + rows).encode(), compresslevel=0)[:-5000])
    with mock.patch.object(reader_module, "CHUNK_BYTES", 4096), pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error)[0].startswith(f"{path}: cannot read: Compressed file ended")
    assert store.list_series() == []


class FailingStore:
    """A real store whose second write fails, as a full disk would."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes = 0
        self.series_ids = store.series_ids
        self.transaction = store.transaction

    def write_counts(self, *args: object, **kwargs: object) -> int:
        self.writes += 1
        if self.writes == 2:
            raise StoreError("cannot write counts: disk full")
        return self.store.write_counts(*args, **kwargs)  # type: ignore[arg-type]


def test_a_store_error_rolls_back_and_propagates(tmp_path: Path, store: Store) -> None:
    rows = "".join(f"{EPOCH0 + 60 * i},voice-sla,gold,,,1,2\n" for i in range(300))
    path = write(tmp_path / "counts.csv", HEADER + rows + f"{EPOCH0},voice-sla,gold,,,5,2\n")
    failing = FailingStore(store)
    with (
        mock.patch.object(reader_module, "CHUNK_BYTES", 1000),
        pytest.raises(StoreError, match="disk full"),
    ):
        ingest_files(failing, SLOS, [path], skip_invalid=True)
    assert store.list_series() == []
    assert list(tmp_path.glob("*.rejects.csv*")) == []  # the partial rejects file is gone


def test_stray_quotes_and_crlf_line_ends(tmp_path: Path, store: Store) -> None:
    rows = "".join(f'{EPOCH0 + 60 * i},voice-sla,gold,1,2,say "hi"\r\n' for i in range(50))
    path = write(tmp_path / "stray.csv", "time,slo,tier,good,total,note\r\n" + rows)
    path.write_bytes(path.read_bytes() + f"{EPOCH0},voice-sla,gold,3,2,x\r\n".encode())
    with mock.patch.object(reader_module, "CHUNK_BYTES", 256), pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert problems_of(error) == [f"{path}:52: good 3 is more than total 2"]
    path.write_bytes(path.read_bytes().replace(b",3,2,x", b",2,2,x"))
    with mock.patch.object(reader_module, "CHUNK_BYTES", 256):
        ingest_files(store, SLOS, [path])
    assert minutes(store, "voice-sla", GOLD, 2) == [(3, 4), (1, 2)]


def test_new_series_sorting_before_known_ones(tmp_path: Path, store: Store) -> None:
    """Series are written in store-id order even when a batch lists them otherwise."""
    first = write(tmp_path / "first.csv", HEADER + "2026-11-01T10:00:00Z,voice-sla,silver,,,1,1\n")
    ingest_files(store, SLOS, [first])  # silver gets the first id
    rows = "".join(
        f"{EPOCH0 + 60 * m},voice-sla,{tier},,,{m},{m + 1}\n"
        for m in range(5)
        for tier in ("bronze", "silver", "gold")
    )
    second = write(tmp_path / "second.csv", HEADER + rows)
    ingest_files(store, SLOS, [second])
    for tier in ("bronze", "silver", "gold"):
        assert minutes(store, "voice-sla", (("tier", tier),), 6) == [
            (m, m + 1) for m in range(5)
        ] + [(0, 0)]


def test_problems_beyond_the_cap_in_later_batches_are_counted(tmp_path: Path, store: Store) -> None:
    rows = "".join("2026-11-01T10:00:00Z,nope,,,,1,1\n" for _ in range(1200))
    path = write(tmp_path / "many.csv", HEADER + rows)
    with mock.patch.object(reader_module, "CHUNK_BYTES", 4096), pytest.raises(IngestError) as error:
        ingest_files(store, SLOS, [path])
    assert len(error.value.problems) == 1000
    assert "1,200 problems" in str(error.value)
