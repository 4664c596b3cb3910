-- Counts (wt-pg-counts), mirroring SQLite schema v9 (store/sqlite/schema.py v1 and v7):
-- the same tables, columns, keys and blob formats (store/counts/blocks.py), so
-- store/counts/ writes and reads them the same way on both backends and `db copy` copies
-- the rows verbatim. INTEGER -> BIGINT, BLOB -> BYTEA.

-- counts: good[60] then total[60], little-endian, 0/1/2/4/8 bytes per value by length.
-- minutes_mask: bit m set = minute m of the hour was sent by this source.
CREATE TABLE minute_blocks (
    series_id    BIGINT NOT NULL REFERENCES series (id),
    hour         BIGINT NOT NULL,
    source_id    BIGINT NOT NULL REFERENCES sources (id),
    counts       BYTEA  NOT NULL,
    minutes_mask BIGINT NOT NULL,
    good_sum     BIGINT NOT NULL,
    total_sum    BIGINT NOT NULL,
    PRIMARY KEY (series_id, hour, source_id)
);

-- A status reads the blocks of a few edge hours for many series: hour first, so each hour
-- is one index range (measured on 1,000 series x 35 days: 2.4 ms, against 10 ms for
-- (series, hour) probes of the primary key and ~110 ms for the parallel scan the planner
-- chose for two arrays on it).
CREATE INDEX minute_blocks_by_hour ON minute_blocks (hour, series_id);

-- Per UTC day, summed over sources: totals, and the 24 hourly sums in the block format
-- (good[24] then total[24]). Recomputed from minute_blocks for the days a write touches.
CREATE TABLE day_counts (
    series_id BIGINT NOT NULL,
    day       BIGINT NOT NULL,
    good      BIGINT NOT NULL,
    total     BIGINT NOT NULL,
    hours     BYTEA  NOT NULL,
    PRIMARY KEY (series_id, day)
);

-- Edge days of many series, as minute_blocks_by_hour (0.7 ms against a 6 ms scan).
CREATE INDEX day_counts_by_day ON day_counts (day, series_id);

-- Each series' UTC day totals (as in day_counts) in chunks of 32 days (chunk = day >> 5):
-- good[32] then total[32] in the block format. Kept by the writer with the day rows, so a
-- window of whole days is read as two or three rows per series, not one per day.
CREATE TABLE day_chunks (
    series_id BIGINT NOT NULL,
    chunk     BIGINT NOT NULL,
    totals    BYTEA  NOT NULL,
    PRIMARY KEY (series_id, chunk)
);
