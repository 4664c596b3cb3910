"""Counts in the store: idempotent writes, sums and minute arrays against brute force."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorbudget.errors import NotFoundError, StoreError
from errorbudget.limits import MAX_COUNT
from errorbudget.store import Store, open_store
from errorbudget.store.counts import blocks, rollups
from errorbudget.store.sqlite import schema
from store_backends import BACKENDS, POSTGRES, backend_store

DAY = 1440
BASE = 19_999 * DAY - 90  # 90 minutes before a UTC midnight: windows cross hours and days,
# and whole days 19,999 | 20,000 cross a day-chunk boundary (32-day chunks: rollups.py)
SPAN = 3 * DAY


def _ids(store: Store, count: int) -> list[int]:
    return store.series_ids("checkout", [(("queue", f"q{i}"),) for i in range(count)])


def _write(
    store: Store,
    series: list[int],
    minutes: list[int],
    good: list[int],
    total: list[int],
    source: str = "ingest",
) -> int:
    return store.write_counts(
        np.asarray(series), np.asarray(minutes), np.asarray(good), np.asarray(total), source
    )


def _sql(store: Store, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``?`` placeholders, SQL both backends speak) run on the store's
    tables directly, outside the store's API."""
    sqlite_connection = getattr(store, "_connection", None)
    if sqlite_connection is not None:
        return list(sqlite_connection.execute(sql, parameters).fetchall())
    connection = store._db.connection  # type: ignore[attr-defined]  # PostgreSQL's writer
    return list(connection.execute(sql.replace("?", "%s"), parameters).fetchall())


def _day_rollups_match_blocks(store: Store) -> None:
    """day_counts (totals and hourly sums) equal what the minute blocks add up to."""
    stored = _sql(store, "SELECT series_id, day, good, total FROM day_counts")
    expected = _sql(
        store,
        "SELECT series_id, hour / 24, CAST(sum(good_sum) AS BIGINT), "
        "CAST(sum(total_sum) AS BIGINT) FROM minute_blocks GROUP BY series_id, hour / 24",
    )
    assert sorted(stored) == sorted(expected)
    chunked = set()  # the writer's day chunks (rollups.py) hold every day row's totals
    for series_id, chunk, blob in _sql(store, "SELECT series_id, chunk, totals FROM day_chunks"):
        totals = blocks.decode_blocks([blob], 32)[0]
        for slot in range(32):
            if totals[1, slot] or totals[0, slot]:
                chunked.add((series_id, chunk * 32 + slot, int(totals[0, slot]),
                             int(totals[1, slot])))  # fmt: skip
    assert chunked == {row for row in stored if row[2] or row[3]}
    for series_id, day, _, _ in stored:
        start = day * DAY
        good, total = store.minute_arrays([series_id], start, start + DAY)
        [row] = _sql(
            store, "SELECT hours FROM day_counts WHERE series_id = ? AND day = ?", series_id, day
        )
        width = len(row[0]) // 48 if row[0] else 0
        hourly = (
            np.frombuffer(row[0], dtype={1: "<u1", 2: "<u2", 4: "<u4", 8: "<i8"}[width])
            .reshape(2, 24)
            .astype(np.int64)
            if width
            else np.zeros((2, 24), dtype=np.int64)
        )
        assert hourly[0].tolist() == good[0].reshape(24, 60).sum(axis=1).astype(int).tolist()
        assert hourly[1].tolist() == total[0].reshape(24, 60).sum(axis=1).astype(int).tolist()


def _series_bounds_match_blocks(store: Store) -> None:
    """The series bounds the writer keeps equal the minute blocks' masks, read one by one."""
    minutes: dict[int, list[int]] = {}
    for series_id, hour, mask in _sql(
        store, "SELECT series_id, hour, minutes_mask FROM minute_blocks"
    ):
        sent = [hour * 60 + m for m in range(60) if mask >> m & 1]
        minutes.setdefault(series_id, []).extend(sent)
    expected = {
        series_id: (min(found), max(found) + 1) if found else (None, None)
        for series_id, found in minutes.items()
    }
    stored = {
        series_id: (first, end)
        for series_id, first, end in _sql(store, "SELECT id, first_minute, end_minute FROM series")
    }
    assert stored == {series_id: expected.get(series_id, (None, None)) for series_id in stored}


# --- idempotency -------------------------------------------------------------------------------


def test_writing_the_same_batch_twice_equals_once(store: Store) -> None:
    series = _ids(store, 2)
    rows = (
        [series[0]] * 3 + [series[1]],
        [BASE, BASE + 1, BASE + 200, BASE],
        [5, 6, 7, 1],
        [5, 8, 9, 2],
    )
    assert _write(store, *rows) == 4
    once = store.sums(series, [(BASE, BASE + SPAN)])
    _write(store, *rows)
    assert store.sums(series, [(BASE, BASE + SPAN)]).tolist() == once.tolist()
    assert once.tolist() == [[[18.0, 22.0]], [[1.0, 2.0]]]
    _day_rollups_match_blocks(store)


def test_a_revised_minute_replaces_the_old_value(store: Store) -> None:
    [series] = _ids(store, 1)
    _write(store, [series, series], [BASE, BASE + 1], [9, 9], [10, 10])
    _write(store, [series], [BASE + 1], [2], [4])
    good, total = store.minute_arrays([series], BASE, BASE + 2)
    assert good.tolist() == [[9.0, 2.0]]
    assert total.tolist() == [[10.0, 4.0]]
    assert store.sums([series], [(BASE, BASE + 2)]).tolist() == [[[11.0, 14.0]]]
    _day_rollups_match_blocks(store)


def test_a_partial_re_send_keeps_the_minutes_it_does_not_carry(store: Store) -> None:
    [series] = _ids(store, 1)
    hour_start = (BASE // 60 + 1) * 60
    minutes = list(range(hour_start, hour_start + 60))
    _write(store, [series] * 60, minutes, [1] * 60, [2] * 60)
    _write(store, [series] * 2, [hour_start + 10, hour_start + 11], [0, 300], [0, 300])
    good, total = store.minute_arrays([series], hour_start, hour_start + 60)
    assert good[0, 9:13].tolist() == [1.0, 0.0, 300.0, 1.0]
    assert total[0].sum() == 2 * 58 + 300
    assert store.sums([series], [(hour_start, hour_start + 60)]).tolist() == [[[358.0, 416.0]]]
    _day_rollups_match_blocks(store)


def test_a_re_send_covering_every_stored_minute_replaces_the_block(store: Store) -> None:
    [series] = _ids(store, 1)
    _write(store, [series] * 2, [BASE, BASE + 1], [1, 1], [1, 1])
    _write(store, [series] * 3, [BASE, BASE + 1, BASE + 2], [0, 0, 70_000], [3, 3, 70_000])
    assert store.sums([series], [(BASE, BASE + 3)]).tolist() == [[[70_000.0, 70_006.0]]]
    assert store.data_bounds() == (BASE, BASE + 3)


def test_two_sources_add_up_and_each_replaces_only_itself(store: Store) -> None:
    [series] = _ids(store, 1)
    _write(store, [series], [BASE], [1], [2], source="genesys")
    _write(store, [series], [BASE], [10], [20], source="ingest")
    assert store.sums([series], [(BASE, BASE + 1)]).tolist() == [[[11.0, 22.0]]]
    _write(store, [series], [BASE], [3], [4], source="genesys")
    assert store.sums([series], [(BASE, BASE + 1)]).tolist() == [[[13.0, 24.0]]]
    good, total = store.minute_arrays([series], BASE, BASE + 1)
    assert (good.tolist(), total.tolist()) == ([[13.0]], [[24.0]])
    _day_rollups_match_blocks(store)


def test_counts_of_every_width_round_trip(store: Store) -> None:
    # a minute holds at most MAX_COUNT (10**9, four bytes); day rows' hourly sums go wider
    [series] = _ids(store, 1)
    values = [0, 255, 256, 65_535, 65_536, MAX_COUNT]
    hours = [(BASE // 60 + 2 + i) * 60 for i in range(len(values))]
    _write(store, [series] * len(values), hours, values, values)
    good, _ = store.minute_arrays([series], hours[0], hours[-1] + 1)
    assert good[0, np.asarray(hours) - hours[0]].tolist() == [float(v) for v in values]
    assert store.sums([series], [(hours[0], hours[-1] + 1)])[0, 0, 1] == float(sum(values))
    whole_hour = np.arange(hours[-1] + 60, hours[-1] + 120)  # 60 × 10**9: 8 bytes an hour
    _write(store, [series] * 60, whole_hour, [MAX_COUNT] * 60, [MAX_COUNT] * 60)
    day = whole_hour[0] // DAY * DAY
    assert store.sums([series], [(day, day + DAY)])[0, 0, 1] == float(sum(values) + 60 * MAX_COUNT)
    _day_rollups_match_blocks(store)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (([1], [BASE], [3], [2]), "good is larger than total"),
        (([1], [BASE], [-1], [2]), "good is negative"),
        (([1], [-5], [0], [0]), "minute is out of range"),
        (([1, 1], [BASE, BASE], [0, 0], [1, 1]), "appears more than once"),
        (([1], [BASE, BASE + 1], [0], [1]), "same length"),
        (([99], [BASE], [0], [1]), "unknown series id"),
        (([1], [float(BASE)], [0], [1]), "must hold integers"),
    ],
)
def test_bad_rows_are_refused_and_nothing_is_written(
    store: Store, rows: tuple[list[int], ...], message: str
) -> None:
    _ids(store, 1)
    good_row = ([1], [BASE + 500], [1], [1])
    with pytest.raises(StoreError, match=message):
        series, minutes, good, total = (a + b for a, b in zip(good_row, rows, strict=True))
        _write(store, series, minutes, good, total)
    assert store.data_bounds() is None
    assert store.sums([1], [(0, BASE + DAY)]).tolist() == [[[0.0, 0.0]]]


def test_a_two_dimensional_array_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="one-dimensional"):
        store.write_counts(np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.zeros(2))


def test_an_empty_write_writes_nothing(store: Store) -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert store.write_counts(empty, empty, empty, empty) == 0
    assert store.data_bounds() is None


# --- transactions -------------------------------------------------------------------------------


def test_a_caller_transaction_rolls_back_every_write_on_error(store: Store) -> None:
    [series] = _ids(store, 1)
    with pytest.raises(RuntimeError), store.transaction():
        _write(store, [series], [BASE], [1], [1])
        with store.transaction():  # nesting is allowed
            _write(store, [series], [BASE + 1], [1], [1])
        raise RuntimeError("the rest of the file is bad")
    assert store.data_bounds() is None


def test_a_failed_write_inside_a_transaction_undoes_only_itself(store: Store) -> None:
    [series] = _ids(store, 1)
    with store.transaction():
        _write(store, [series], [BASE], [1], [1])
        with pytest.raises(StoreError):
            _write(store, [series, 42], [BASE + 1, BASE + 1], [1, 1], [1, 1])
    assert store.data_bounds() == (BASE, BASE + 1)


# --- reads ----------------------------------------------------------------------------------------


def test_minute_arrays_are_zero_where_there_is_no_data(store: Store) -> None:
    a, b = _ids(store, 2)
    _write(store, [a, a], [BASE + 1, BASE + 3], [1, 2], [3, 4])
    good, total = store.minute_arrays([b, a, a, 12345], BASE, BASE + 5)
    assert good.shape == total.shape == (4, 5)
    assert good.tolist() == [[0] * 5, [0, 1, 0, 2, 0], [0, 1, 0, 2, 0], [0] * 5]
    assert total[1].tolist() == [0, 3, 0, 4, 0]
    assert store.minute_arrays([a], BASE, BASE)[0].shape == (1, 0)
    with pytest.raises(StoreError, match="ends before it starts"):
        store.minute_arrays([a], BASE, BASE - 1)


def test_sums_handle_empty_inputs_and_refuse_backwards_intervals(store: Store) -> None:
    [series] = _ids(store, 1)
    _write(store, [series], [BASE], [1], [1])
    assert store.sums([], [(0, 10)]).shape == (0, 1, 2)
    assert store.sums([series], []).shape == (1, 0, 2)
    assert store.sums([series], [(BASE, BASE)]).tolist() == [[[0.0, 0.0]]]
    with pytest.raises(StoreError, match="ends before it starts"):
        store.sums([series], [(BASE, BASE - 1)])


def test_data_bounds_count_minutes_sent_with_zero_events(store: Store) -> None:
    a, b = _ids(store, 2)
    assert store.data_bounds() is None
    _write(store, [a, a, b], [BASE + 7, BASE + 130, BASE + 2000], [0, 0, 1], [0, 0, 1])
    assert store.data_bounds() == (BASE + 7, BASE + 2001)
    assert store.data_bounds([a]) == (BASE + 7, BASE + 131)
    assert store.data_bounds([b, 777]) == (BASE + 2000, BASE + 2001)
    assert store.data_bounds([777]) is None
    assert store.data_bounds([]) is None


def test_a_subset_of_series_reads_only_those(store: Store) -> None:
    series = _ids(store, 6)
    _write(store, series, [BASE] * 6, [1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60])
    assert store.sums([series[4]], [(BASE, BASE + 1)]).tolist() == [[[5.0, 50.0]]]
    many = store.sums([series[5], series[0], series[2], series[3], 999], [(BASE, BASE + 1)])
    assert many[:, 0, 0].tolist() == [6.0, 1.0, 3.0, 4.0, 0.0]


# --- series ---------------------------------------------------------------------------------------


def test_series_ids_are_stable_bulk_and_ignore_pair_order(store: Store) -> None:
    segments = [(), (("queue", "billing"), ("tier", "vip")), (("queue", "sales"),)]
    first = store.series_ids("slo-a", segments)
    assert len(set(first)) == 3
    billing_vip = (("tier", "vip"), ("queue", "billing"))
    reordered = [billing_vip, (), tuple(reversed(billing_vip))]
    assert store.series_ids("slo-a", reordered) == [first[1], first[0], first[1]]
    assert store.series_ids("slo-b", [()]) != [first[0]]
    assert [s.segment for s in store.list_series("slo-a")] == [
        (),
        (("queue", "billing"), ("tier", "vip")),
        (("queue", "sales"),),
    ]
    assert {s.slo for s in store.list_series()} == {"slo-a", "slo-b"}


def test_series_ids_without_create_refuse_unknown_segments(store: Store) -> None:
    store.series_ids("slo-a", [()])
    assert store.series_ids("slo-a", [()], create=False) == [1]
    with pytest.raises(NotFoundError, match="queue=nope"):
        store.series_ids("slo-a", [(("queue", "nope"),)], create=False)
    with pytest.raises(StoreError, match="more than once"):
        store.series_ids("slo-a", [(("queue", "a"), ("queue", "b"))])


# --- brute force ----------------------------------------------------------------------------------


class Reference:
    """A dense model of what the store must answer: per source, series and minute."""

    def __init__(self, series: int, sources: int) -> None:
        self.good = np.zeros((sources, series, SPAN), dtype=np.int64)
        self.total = np.zeros((sources, series, SPAN), dtype=np.int64)
        self.sent = np.zeros((series, SPAN), dtype=bool)

    def write(
        self, source: int, rows: np.ndarray, cols: np.ndarray, good: np.ndarray, total: np.ndarray
    ) -> None:
        self.good[source, rows, cols] = good
        self.total[source, rows, cols] = total
        self.sent[rows, cols] = True

    def sums(self, start: int, end: int) -> np.ndarray:
        lo, hi = max(start - BASE, 0), max(min(end - BASE, SPAN), 0)
        return np.stack(
            [self.good[:, :, lo:hi].sum(axis=(0, 2)), self.total[:, :, lo:hi].sum(axis=(0, 2))],
            axis=1,
        )


write_op = st.tuples(
    st.integers(0, 1),  # source
    st.integers(0, SPAN - 1),  # first minute
    st.integers(1, 300),  # length
    st.floats(0.05, 1.0),  # share of minutes sent
    st.integers(0, 2**32 - 1),  # seed
    st.sampled_from([3, 300, 70_000]),  # largest total
    st.sampled_from(["write", "in_transaction", "add"]),  # how the counts are written
)
interval = st.tuples(st.integers(-100, SPAN + 100), st.integers(0, SPAN + 100)).map(
    lambda pair: (BASE + min(pair), BASE + max(pair))
)


WriteOps = list[tuple[int, int, int, float, int, int, str]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(write_op, min_size=1, max_size=8), intervals=st.lists(interval, max_size=12))
def test_random_writes_read_back_like_brute_force(
    ops: WriteOps, intervals: list[tuple[int, int]]
) -> None:
    with open_store(":memory:") as store:
        _random_writes_read_back_like_brute_force(store, ops, intervals)


@pytest.mark.integration
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(write_op, min_size=1, max_size=8), intervals=st.lists(interval, max_size=12))
def test_random_writes_read_back_like_brute_force_on_postgres(
    ops: WriteOps, intervals: list[tuple[int, int]]
) -> None:
    """The same on PostgreSQL (fewer examples: each is a fresh database)."""
    with backend_store(POSTGRES, Path()) as store:
        _random_writes_read_back_like_brute_force(store, ops, intervals)


def _random_writes_read_back_like_brute_force(
    store: Store, ops: WriteOps, intervals: list[tuple[int, int]]
) -> None:
    series = np.asarray(_ids(store, 4))[:3]  # the fourth never gets data
    reference = Reference(3, 2)
    for source, first, length, share, seed, largest, how in ops:
        rng = np.random.default_rng(seed)
        minutes = np.arange(first, min(first + length, SPAN))
        grid_rows, grid_cols = np.meshgrid(np.arange(3), minutes, indexing="ij")
        keep = rng.random(grid_rows.size) < share
        rows, cols = grid_rows.ravel()[keep], grid_cols.ravel()[keep]
        if rng.random() < 0.5:  # time-major order: the store must sort
            order = np.lexsort((rows, cols))
            rows, cols = rows[order], cols[order]
        total = rng.integers(0, largest + 1, rows.size)
        good = rng.integers(0, total + 1)
        name = ("a", "b")[source]
        if how == "add":  # late counts added to what the source stored
            store.add_counts(series[rows], BASE + cols, good, total, name)
            good = good + reference.good[source, rows, cols]
            total = total + reference.total[source, rows, cols]
        elif how == "in_transaction":  # partial hours kept back, then split in two writes
            half = rows.size // 2
            with store.transaction():
                store.write_counts(series[rows[:half]], BASE + cols[:half], good[:half],
                                   total[:half], name)  # fmt: skip
                store.write_counts(series[rows[half:]], BASE + cols[half:], good[half:],
                                   total[half:], name)  # fmt: skip
        else:
            store.write_counts(series[rows], BASE + cols, good, total, name)
        reference.write(source, rows, cols, good, total)
    intervals = [*intervals, (BASE, BASE + SPAN), (BASE + 17, BASE + 2 * DAY + 5)]
    got = store.sums(series.tolist(), intervals)
    expected = np.stack([reference.sums(s, e) for s, e in intervals], axis=1)
    assert got.tolist() == expected.astype(np.float64).tolist()
    good_m, total_m = store.minute_arrays(series.tolist(), BASE - 5, BASE + SPAN)
    assert good_m[:, 5:].tolist() == reference.good.sum(axis=0).tolist()
    assert total_m[:, 5:].tolist() == reference.total.sum(axis=0).tolist()
    sent = np.flatnonzero(reference.sent.any(axis=0))
    bounds = (BASE + int(sent[0]), BASE + int(sent[-1]) + 1) if sent.size else None
    assert store.data_bounds() == bounds
    per_series = [
        (BASE + int(found[0]), BASE + int(found[-1]) + 1) if found.size else None
        for found in (np.flatnonzero(sent_row) for sent_row in reference.sent)
    ]
    assert store.series_bounds([*series.tolist(), series[0] + 3]) == [*per_series, None]
    assert store.data_bounds(series[:1].tolist()) == per_series[0]
    _day_rollups_match_blocks(store)
    _series_bounds_match_blocks(store)


@pytest.fixture(scope="module", params=["sqlite-memory", BACKENDS[-1]])
def populated(request: pytest.FixtureRequest) -> Iterator[tuple[Store, list[int], Reference]]:
    """A store with 5 series x 3 days of sparse random counts from two sources (SQLite in
    memory, and PostgreSQL)."""
    rng = np.random.default_rng(20_000)
    with backend_store(request.param, Path()) as store:
        series = _ids(store, 5)
        reference = Reference(5, 2)
        for source in (0, 1):
            rows, cols = np.nonzero(rng.random((5, SPAN)) < 0.7)
            total = rng.integers(0, 400, rows.size)
            good = rng.integers(0, total + 1)
            store.write_counts(np.asarray(series)[rows], BASE + cols, good, total, f"s{source}")
            reference.write(source, rows, cols, good, total)
        yield store, series, reference


@settings(max_examples=150, deadline=None)
@given(intervals=st.lists(interval, min_size=1, max_size=12), pick=st.permutations(range(5)))
def test_sums_match_brute_force_for_any_intervals(
    populated: tuple[Store, list[int], Reference],
    intervals: list[tuple[int, int]],
    pick: list[int],
) -> None:
    store, series, reference = populated
    chosen = pick[: 1 + pick[0]]
    got = store.sums([series[i] for i in chosen], intervals)
    expected = np.stack([reference.sums(s, e)[chosen] for s, e in intervals], axis=1)
    assert got.dtype == np.float64
    assert got.tolist() == expected.astype(np.float64).tolist()


def test_status_windows_ending_now_match_brute_force(
    populated: tuple[Store, list[int], Reference],
) -> None:
    store, series, reference = populated
    now = BASE + SPAN - 17
    lengths = [5, 30, 60, 120, 360, DAY, 2 * DAY, SPAN + 50]
    intervals = [(now - length, now) for length in lengths] + [(BASE + 90, now)]
    got = store.sums(series, intervals)
    expected = np.stack([reference.sums(s, e) for s, e in intervals], axis=1)
    assert got.tolist() == expected.astype(np.float64).tolist()


def test_a_corrupt_block_is_reported_not_misread() -> None:
    with pytest.raises(StoreError, match="impossible length of 7 bytes"):
        blocks.decode_blocks([b"\x00" * 120, b"\x00" * 7])
    assert blocks.decode_blocks([]).shape == (0, 2, 60)


@pytest.mark.parametrize("backend", ["sqlite-memory", BACKENDS[-1]])
@pytest.mark.parametrize("seed", range(3))
def test_per_day_cuts_of_two_sources_and_reordered_series_match_brute_force(
    seed: int, backend: str
) -> None:
    """A rolling window cut every two days (more whole-day ranges than are summed one by
    one, so read as one set of day rows) over two sources; minute arrays of series asked
    for out of order and twice (copies) and in order (views of one read)."""
    rng = np.random.default_rng(seed)
    span = 20 * DAY
    with backend_store(backend, Path()) as store:
        series = _ids(store, 3)
        good_ref = np.zeros((3, span), dtype=np.int64)
        total_ref = np.zeros((3, span), dtype=np.int64)
        for source in ("a", "b"):
            rows, cols = np.nonzero(rng.random((3, span)) < 0.2)
            total = rng.integers(0, 300, rows.size)
            good = rng.integers(0, total + 1)
            store.write_counts(np.asarray(series)[rows], BASE + cols, good, total, source)
            np.add.at(good_ref, (rows, cols), good)
            np.add.at(total_ref, (rows, cols), total)
        now = BASE + span - 17
        intervals = [(now - 2 * k * DAY, now) for k in range(1, 9)] + [(BASE + 3, now - 5)]
        got = store.sums(series, intervals)
        expected = [
            [[good_ref[i, s - BASE : e - BASE].sum(), total_ref[i, s - BASE : e - BASE].sum()]
             for s, e in intervals]
            for i in range(3)
        ]  # fmt: skip
        assert got.tolist() == np.asarray(expected, dtype=np.float64).tolist()
        start, end = BASE + 50, BASE + 2 * DAY + 7
        for order in ([series[2], series[0], series[2]], series):
            good_m, total_m = store.minute_arrays(order, start, end)
            rows = [series.index(s) for s in order]
            assert good_m.tolist() == good_ref[rows, 50 : end - BASE].tolist()
            assert total_m.tolist() == total_ref[rows, 50 : end - BASE].tolist()


@pytest.mark.parametrize("seed", range(3))
def test_a_version_6_store_gets_every_series_bounds_backfilled_by_the_migration(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v6.db"
    rng = np.random.default_rng(seed)
    sent = np.zeros((5, SPAN), dtype=bool)
    reference = Reference(5, 2)
    with monkeypatch.context() as v6_code:  # errorbudget as it was at schema v6: no bounds
        v6_code.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:6])
        v6_code.setattr(schema, "LATEST_VERSION", 6)
        v6_code.setattr(rollups, "widen_series_bounds", lambda *_: None)
        v6_code.setattr(rollups, "write_day_totals", lambda *_: None)
        with open_store(path) as v6:
            series = np.asarray(_ids(v6, 5))
            for source in ("a", "b", "a"):
                rows = rng.integers(0, 4, 200)  # the fifth series never gets data
                cols = rng.integers(0, SPAN, 200)
                keys = np.unique(rows * SPAN + cols)
                rows, cols = keys // SPAN, keys % SPAN
                total = rng.integers(0, 50, rows.size)
                v6.write_counts(series[rows], BASE + cols, total // 2, total, source)
                sent[rows, cols] = True
                reference.write(("a", "b").index(source), rows, cols, total // 2, total)
            assert v6.schema_version == 6

    with open_store(path) as migrated:
        assert migrated.schema_version == schema.LATEST_VERSION
        expected = [
            (BASE + int(found[0]), BASE + int(found[-1]) + 1) if found.size else None
            for found in (np.flatnonzero(row) for row in sent)
        ]
        assert migrated.series_bounds(series.tolist()) == expected
        _series_bounds_match_blocks(migrated)
        _day_rollups_match_blocks(migrated)
        whole = [(BASE, BASE + SPAN), (BASE + 90, BASE + 90 + 2 * DAY), (BASE + 7, BASE + 3000)]
        expected_sums = np.stack([reference.sums(s, e) for s, e in whole], axis=1)
        assert migrated.sums(series.tolist(), whole).tolist() == expected_sums.tolist()


SUMS_UNDER_A_MEMORY_CAP = """
import resource, sys
import numpy as np
from errorbudget.store import open_store
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB of address space
store = open_store(sys.argv[1])
ids = store.series_ids("checkout", [(("queue", f"q{i}"),) for i in range(100)])
store.write_counts(np.asarray(ids), np.full(100, 29_000_000), np.ones(100, dtype=np.int64),
                   np.full(100, 2), "ingest")
sums = store.sums(ids, [(0, (1 << 32) - 1), (29_000_000, 29_000_001), (0, 1440)])
assert sums[:, 0].tolist() == [[1.0, 2.0]] * 100, sums[:3]
assert sums[:, 1].tolist() == [[1.0, 2.0]] * 100 and not sums[:, 2].any()
store.close()
print("ok")
"""


def test_an_interval_wider_than_the_data_costs_the_data_not_its_span(tmp_path: Path) -> None:
    """Sums over all time (minute 0 to 2^32) lay out only the day chunks that hold data: 100
    series summed over ~8,000 years fit in 1 GiB (laying out every day took 14 GB)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", SUMS_UNDER_A_MEMORY_CAP, str(tmp_path / "wide.db")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
