"""The store's schema as an ordered list of migrations, and how a connection is set up.

``PRAGMA user_version`` holds the number of the last migration applied; each migration is
data (a SQL script) applied in one transaction at open, and recorded in
``schema_migrations``. A store whose version is above the last migration known here was
written by a newer errorbudget and is refused rather than misread. Migrations are only
ever appended: never edit one that has shipped.

Counts layout (see ``blocks.py`` for the blob format):

- ``minute_blocks`` one row per (series, hour, source): 60 minutes of good/total counts.
- ``day_counts`` one row per (series, UTC day), summed over sources: the day's totals and
  its 24 hourly sums as a blob, recomputed from the blocks of the days each write touches
  (set-based, same transaction, so it cannot drift). A window then reads, per series, a
  block per partial hour at its edges, a day row per edge day, and a day-total range.

There is no ``hour_counts`` table: with 1,000 series x 35 days, summing whole hours from
one row per hour took ~40 ms of an ~80 ms status read; reading the hourly sums from one
day row per edge day instead brought the whole read to ~46 ms (benchmarks/bench_store.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from errorbudget.errors import StoreError
from errorbudget.store.sqlite.migrate_chain import chain_existing_rows


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    script: str
    after: Callable[[sqlite3.Connection], None] | None = None
    """A step in Python run after the script, in the same transaction (data the script
    cannot derive in SQL, e.g. the hashes of existing rows)."""

    def statements(self) -> list[str]:
        """The script split into complete statements (trigger bodies stay whole).

        ``executescript`` is avoided on purpose: it commits the migration transaction.
        """
        statements: list[str] = []
        pending = ""
        for line in self.script.splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                statements.append(pending.strip())
                pending = ""
        if pending.strip():
            raise ValueError(f"migration {self.version} ends with an incomplete statement")
        return statements


_V1_SCRIPT = """
CREATE TABLE schema_migrations (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
);

-- One SLO x one segment. segment is canonical JSON: [["key", "value"], ...] sorted by key.
CREATE TABLE series (
    id         INTEGER PRIMARY KEY,
    slo        TEXT NOT NULL,
    segment    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (slo, segment)
);

CREATE TABLE sources (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- counts: good[60] then total[60], little-endian, 0/1/2/4/8 bytes per value by length.
-- minutes_mask: bit m set = minute m of the hour was sent by this source.
CREATE TABLE minute_blocks (
    series_id    INTEGER NOT NULL REFERENCES series (id),
    hour         INTEGER NOT NULL,
    source_id    INTEGER NOT NULL REFERENCES sources (id),
    counts       BLOB    NOT NULL,
    minutes_mask INTEGER NOT NULL,
    good_sum     INTEGER NOT NULL,
    total_sum    INTEGER NOT NULL,
    PRIMARY KEY (series_id, hour, source_id)
) WITHOUT ROWID;

-- Per UTC day, summed over sources: totals, and the 24 hourly sums in the block format
-- (good[24] then total[24]). Recomputed from minute_blocks for the days a write touches.
CREATE TABLE day_counts (
    series_id INTEGER NOT NULL,
    day       INTEGER NOT NULL,
    good      INTEGER NOT NULL,
    total     INTEGER NOT NULL,
    hours     BLOB    NOT NULL,
    PRIMARY KEY (series_id, day)
) WITHOUT ROWID;

-- segment is a JSON object (all pairs must match); slo may be '*'.
CREATE TABLE exclusions (
    id            INTEGER PRIMARY KEY,
    slo           TEXT NOT NULL,
    service       TEXT,
    segment       TEXT NOT NULL DEFAULT '{}',
    start_minute  INTEGER NOT NULL,
    end_minute    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    approved_by   TEXT,
    revoked_at    TEXT,
    revoked_by    TEXT,
    revoke_reason TEXT,
    CHECK (end_minute > start_minute)
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_subject ON audit_log (subject, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted');
END;
"""

_V2_SCRIPT = """
-- A change asking to ship: its scope, and the gate decision (with the budget snapshot) it
-- was last judged by. slos is a JSON array of SLO ids (empty: every SLO of the service),
-- segment a JSON object; impact_basis and snapshot are JSON.
CREATE TABLE changes (
    id               INTEGER PRIMARY KEY,
    service          TEXT NOT NULL,
    slos             TEXT NOT NULL DEFAULT '[]',
    segment          TEXT NOT NULL DEFAULT '{}',
    change_type      TEXT NOT NULL,
    risk             TEXT NOT NULL CHECK (risk IN ('low', 'medium', 'high')),
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    submitted_by     TEXT NOT NULL,
    submitted_at     TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'shipped')),
    status_by        TEXT NOT NULL,
    status_at        TEXT NOT NULL,
    estimated_impact REAL NOT NULL,
    impact_basis     TEXT NOT NULL DEFAULT '{}',
    decision         TEXT NOT NULL
                     CHECK (decision IN ('allow', 'review', 'approval_required', 'blocked')),
    decision_at      TEXT NOT NULL,
    snapshot         TEXT NOT NULL DEFAULT '[]',
    shipped_at       TEXT
);
CREATE INDEX changes_by_status ON changes (status, id);
CREATE INDEX changes_by_service_type ON changes (service, change_type, id);

CREATE TABLE approvals (
    id        INTEGER PRIMARY KEY,
    change_id INTEGER NOT NULL REFERENCES changes (id),
    approver  TEXT NOT NULL,
    role      TEXT NOT NULL,
    decision  TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment   TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL
);
CREATE INDEX approvals_by_change ON approvals (change_id, id);

-- at is Unix seconds (UTC), so ranges are integer comparisons; segment is a JSON object.
CREATE TABLE annotations (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('deploy', 'config', 'model', 'incident', 'other')),
    service    TEXT,
    slo        TEXT,
    segment    TEXT NOT NULL DEFAULT '{}',
    text       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    change_id  INTEGER REFERENCES changes (id)
);
CREATE INDEX annotations_by_time ON annotations (at);
CREATE INDEX annotations_by_service ON annotations (service, kind, at);

-- Results of HTTP writes sent with an Idempotency-Key, per acting identity: the same key and
-- body replay the stored response; the same key with another body is refused.
CREATE TABLE idempotency_keys (
    actor       TEXT NOT NULL,
    key         TEXT NOT NULL,
    request     TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;
"""

_V3_SCRIPT = """
-- The budget snapshot behind gate decisions, stored once per distinct content (sha256 of
-- its canonical JSON) and referenced from the audit entries by id: a pipeline that asks
-- many times a minute writes a ~200-byte audit entry each time, not the ~10 KB snapshot.
CREATE TABLE gate_snapshots (
    id         INTEGER PRIMARY KEY,
    sha256     TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TRIGGER gate_snapshots_no_update BEFORE UPDATE ON gate_snapshots
BEGIN
    SELECT RAISE(ABORT, 'gate snapshots are append-only: they cannot be changed');
END;

CREATE TRIGGER gate_snapshots_no_delete BEFORE DELETE ON gate_snapshots
BEGIN
    SELECT RAISE(ABORT, 'gate snapshots are append-only: they cannot be deleted');
END;
"""

_V4_SCRIPT = """
-- One row per collection run of a source (append-only, pruned to the newest runs per
-- source): what the overview and the gate show as a source's health and data age.
-- collected_through is the exclusive end (a minute) of what was stored after the run;
-- failures_in_a_row counts this run and the failed ones just before it (0 when it succeeded),
-- so pruning old runs never shortens a long outage.
CREATE TABLE source_runs (
    id                INTEGER PRIMARY KEY,
    source            TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    finished_at       TEXT NOT NULL,
    ok                INTEGER NOT NULL CHECK (ok IN (0, 1)),
    error             TEXT,
    collected_through INTEGER,
    calls             INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
    failed_calls      INTEGER NOT NULL DEFAULT 0 CHECK (failed_calls >= 0),
    failures_in_a_row INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX source_runs_by_source ON source_runs (source, id);
CREATE INDEX source_runs_ok ON source_runs (source, ok, id);

-- A range of one SLO's data that a source knows to be wrong or missing ("SLI data broken",
-- left out of budget counting). segment is a JSON object of pairs a series must match
-- ({} = every series of the SLO). Rows are only appended, and stamped resolved_at once.
CREATE TABLE data_issues (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    slo          TEXT NOT NULL,
    segment      TEXT NOT NULL DEFAULT '{}',
    start_minute INTEGER NOT NULL,
    end_minute   INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('inconsistent', 'gap', 'partial', 'throttled')),
    detail       TEXT NOT NULL,
    detected_at  TEXT NOT NULL,
    resolved_at  TEXT,
    CHECK (end_minute > start_minute)
);
CREATE INDEX data_issues_by_slo ON data_issues (source, slo, start_minute);
CREATE INDEX data_issues_open ON data_issues (end_minute) WHERE resolved_at IS NULL;

CREATE TRIGGER data_issues_no_delete BEFORE DELETE ON data_issues
BEGIN
    SELECT RAISE(ABORT, 'data issues are kept: resolve them instead of deleting them');
END;
"""

_V5_SCRIPT = """
-- The audit chain (store/chain.py): every entry carries the hash of the one before it and
-- its own; records lists [table, id, digest] of the chained rows it wrote. Existing entries
-- get their hashes in the Python step that follows, hence the trigger is re-created there.
DROP TRIGGER audit_log_no_update;
ALTER TABLE audit_log ADD COLUMN records TEXT NOT NULL DEFAULT '[]';
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_time ON audit_log (at);

-- Which entries bound which rows (derived from audit_log.records, for reads).
CREATE TABLE audit_records (
    record_table TEXT NOT NULL,
    record_id    INTEGER NOT NULL,
    audit_id     INTEGER NOT NULL,
    PRIMARY KEY (record_table, record_id, audit_id)
) WITHOUT ROWID;

CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN
    SELECT RAISE(ABORT, 'the audit chain is append-only: its index cannot be changed');
END;

CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN
    SELECT RAISE(ABORT, 'the audit chain is append-only: its index cannot be changed');
END;

-- Exclusions become proposals: pending until someone else with the approver role approves
-- them (or rejects them); only approved ones count. Rows from before v5 stay in force as
-- they were, marked legacy, the name typed as their approver kept as legacy_approver.
ALTER TABLE exclusions ADD COLUMN status TEXT NOT NULL DEFAULT 'approved'
    CHECK (status IN ('pending', 'approved', 'rejected', 'revoked'));
ALTER TABLE exclusions ADD COLUMN reviewed_by TEXT;
ALTER TABLE exclusions ADD COLUMN reviewed_at TEXT;
ALTER TABLE exclusions ADD COLUMN reviewer_role TEXT;
ALTER TABLE exclusions ADD COLUMN review_comment TEXT NOT NULL DEFAULT '';
ALTER TABLE exclusions ADD COLUMN legacy_approver TEXT;
UPDATE exclusions SET
    status = CASE WHEN revoked_at IS NULL THEN 'approved' ELSE 'revoked' END,
    legacy_approver = coalesce(approved_by, ''),
    approved_by = NULL,
    revoke_reason = coalesce(revoke_reason, '');
CREATE INDEX exclusions_by_status ON exclusions (status, id);

CREATE TRIGGER exclusions_no_delete BEFORE DELETE ON exclusions
BEGIN
    SELECT RAISE(ABORT, 'exclusions are kept: revoke one instead of deleting it');
END;

CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes
BEGIN
    SELECT RAISE(ABORT, 'changes are kept: withdraw one instead of deleting it');
END;

CREATE TRIGGER approvals_no_update BEFORE UPDATE ON approvals
BEGIN
    SELECT RAISE(ABORT, 'approvals are append-only: they cannot be changed');
END;

CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
BEGIN
    SELECT RAISE(ABORT, 'approvals are append-only: they cannot be deleted');
END;

CREATE TRIGGER annotations_no_update BEFORE UPDATE ON annotations
BEGIN
    SELECT RAISE(ABORT, 'annotations are append-only: they cannot be changed');
END;

CREATE TRIGGER annotations_no_delete BEFORE DELETE ON annotations
BEGIN
    SELECT RAISE(ABORT, 'annotations are append-only: they cannot be deleted');
END;
"""

_V6_SCRIPT = """
-- The store's revision (store/protocols.py, Revisions): one row, moved by every write
-- transaction that can change a status, inside that transaction. Evaluations are cached
-- under it; unlike PRAGMA data_version it is data, so any backend can keep it and every
-- process reading the store sees the same number.
CREATE TABLE store_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL CHECK (revision >= 0)
);
INSERT INTO store_revision (id, revision) VALUES (1, 0);

CREATE TRIGGER store_revision_no_delete BEFORE DELETE ON store_revision
BEGIN
    SELECT RAISE(ABORT, 'the store revision is kept: it only moves forward');
END;

CREATE TRIGGER store_revision_forward BEFORE UPDATE ON store_revision
WHEN NEW.revision <= OLD.revision OR NEW.id != OLD.id
BEGIN
    SELECT RAISE(ABORT, 'the store revision only moves forward');
END;
"""

_V7_SCRIPT = """
-- Each series' data bounds, kept by the counts writer in the transaction that writes its
-- minute blocks (pending.write_blocks): the first minute with data and the last one + 1,
-- NULL while it has none. A source only ever adds minutes to a block (a re-send replaces
-- counts, never unsends a minute), so the bounds only widen.
ALTER TABLE series ADD COLUMN first_minute INTEGER;
ALTER TABLE series ADD COLUMN end_minute INTEGER;

-- Each series' UTC day totals (as in day_counts) in chunks of 32 days (chunk = day >> 5):
-- good[32] then total[32] in the block format. Kept by the writer with the day rows, so a
-- window of whole days is read as two or three rows per series, not one per day.
CREATE TABLE day_chunks (
    series_id INTEGER NOT NULL,
    chunk     INTEGER NOT NULL,
    totals    BLOB    NOT NULL,
    PRIMARY KEY (series_id, chunk)
) WITHOUT ROWID;
"""

_ALERTS_SCRIPT = """
-- Issue #10: alerts by fingerprint, the alert service's progress, silences (alerts.py),
-- and the notification outbox, which is the delivery log (outbox.py).
CREATE TABLE alerts (
    fingerprint     TEXT PRIMARY KEY,
    alertname       TEXT NOT NULL,
    slo             TEXT NOT NULL,
    service         TEXT NOT NULL,
    segment         TEXT NOT NULL,
    severity        TEXT NOT NULL,
    phase           TEXT NOT NULL
        CHECK (phase IN ('inactive', 'pending', 'firing', 'resolved')),
    active_since    INTEGER,
    fired_at        INTEGER,
    last_active     INTEGER,
    resolved_at     INTEGER,
    episode         INTEGER NOT NULL DEFAULT 0 CHECK (episode >= 0),
    inhibited       INTEGER NOT NULL DEFAULT 0,
    hold_until      INTEGER,
    silenced        INTEGER NOT NULL DEFAULT 0,
    summary         TEXT NOT NULL,
    details         TEXT NOT NULL,
    runbook_url     TEXT,
    updated_at      INTEGER NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT
);
CREATE INDEX alerts_by_phase ON alerts (phase, updated_at);
CREATE INDEX alerts_by_slo ON alerts (slo, updated_at);

-- One row per firing episode (alert history on the SLO page and /api/v1/alerts/history):
-- written with the transition (firing, then resolved) in the alert service's transaction.
CREATE TABLE alert_episodes (
    fingerprint TEXT NOT NULL,
    episode     INTEGER NOT NULL CHECK (episode >= 1),
    alertname   TEXT NOT NULL,
    slo         TEXT NOT NULL,
    service     TEXT NOT NULL,
    segment     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    fired_at    INTEGER NOT NULL,
    resolved_at INTEGER CHECK (resolved_at IS NULL OR resolved_at >= fired_at),
    inhibited   INTEGER NOT NULL DEFAULT 0,
    silenced    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (fingerprint, episode)
);
CREATE INDEX alert_episodes_by_fire ON alert_episodes (slo, fired_at);
CREATE INDEX alert_episodes_by_resolve ON alert_episodes (slo, resolved_at);
CREATE INDEX alert_episodes_open ON alert_episodes (slo, fired_at) WHERE resolved_at IS NULL;

-- One row per notification group (services/alert_groups.py): its last episode, when that
-- episode opened and whether it is open; written in the alert service's transaction.
CREATE TABLE alert_groups (
    fingerprint TEXT PRIMARY KEY,
    episode     INTEGER NOT NULL CHECK (episode >= 1),
    opened_at   INTEGER NOT NULL,
    open        INTEGER NOT NULL CHECK (open IN (0, 1))
);

CREATE TABLE alert_progress (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    minute INTEGER NOT NULL
);

CREATE TRIGGER alert_progress_forward BEFORE UPDATE ON alert_progress
WHEN NEW.minute < OLD.minute
BEGIN
    SELECT RAISE(ABORT, 'the alert service never steps backwards');
END;

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    matchers   TEXT NOT NULL,
    author     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expired_at TEXT,
    expired_by TEXT,
    CHECK (ends_at > starts_at)
);

CREATE TRIGGER silences_no_delete BEFORE DELETE ON silences
BEGIN
    SELECT RAISE(ABORT, 'silences are kept: expire one instead');
END;

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver        TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('firing', 'resolved', 'test')),
    dedup_key       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_error      TEXT,
    delivered_at    TEXT
);
CREATE INDEX notifications_pending ON notifications (receiver, status, id);
CREATE INDEX notifications_by_fingerprint ON notifications (fingerprint, id);

CREATE TRIGGER notifications_no_delete BEFORE DELETE ON notifications
BEGIN
    SELECT RAISE(ABORT, 'notifications are the delivery log: they are kept');
END;
"""

AUDIT_LOG_NO_UPDATE = """
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed');
END;
"""


def _chain_existing_rows(connection: sqlite3.Connection) -> None:
    """v5's Python step: chain the entries and records written before it (chain.start)."""
    chain_existing_rows(connection)
    connection.execute(AUDIT_LOG_NO_UPDATE.strip())


def _backfill_rollups(connection: sqlite3.Connection) -> None:
    """v7's Python step: each series' bounds and day chunks from the rows stored before."""
    # imported here: the rollups need numpy, which opening an up-to-date store does not
    from errorbudget.store.sqlite import rollups

    rollups.backfill(connection)


_EVENTS_SCRIPT = """
-- Claimed event ids (idempotency of event ingest), in chunks: one row per (minute, write)
-- holding the ids that write claimed in that minute (events.py has the blob format). One
-- row per event cost 4-7 s per million events; a chunk per minute is a few hundred rows.
CREATE TABLE event_claims (
    id     INTEGER PRIMARY KEY,
    minute INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    ids    BLOB    NOT NULL
);
CREATE INDEX event_claims_minute ON event_claims (minute);

-- Events an events SLO counted bad or excluded (the review queue and attribution), in
-- chunks: one row per (SLO, UTC hour, write), its events as an Arrow IPC stream (events.py).
CREATE TABLE kept_events (
    id     INTEGER PRIMARY KEY,
    slo    TEXT    NOT NULL,
    hour   INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    events BLOB    NOT NULL
);
CREATE INDEX kept_events_slo_hour ON kept_events (slo, hour);
CREATE INDEX kept_events_hour ON kept_events (hour);

-- Hourly counts per flow and dimension value of each events SLO (added up per write).
CREATE TABLE event_dimensions (
    slo          TEXT    NOT NULL,
    hour         INTEGER NOT NULL,
    flow         TEXT    NOT NULL,
    dimension    TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    eligible     INTEGER NOT NULL,
    bad          INTEGER NOT NULL,
    excluded     INTEGER NOT NULL,
    excluded_bad INTEGER NOT NULL,
    PRIMARY KEY (slo, hour, flow, dimension, value)
) WITHOUT ROWID;

-- Hourly stage-timing sums per flow of each turn SLO (added up per write).
CREATE TABLE event_stages (
    slo         TEXT    NOT NULL,
    hour        INTEGER NOT NULL,
    flow        TEXT    NOT NULL,
    stage       TEXT    NOT NULL,
    eligible_ms INTEGER NOT NULL,
    eligible_n  INTEGER NOT NULL,
    bad_ms      INTEGER NOT NULL,
    bad_n       INTEGER NOT NULL,
    PRIMARY KEY (slo, hour, flow, stage)
) WITHOUT ROWID;
"""


_LEASES_SCRIPT = """
-- Named leases with a fencing token (store/protocols.py, Leases; store/fencing.py): the
-- leader of `serve` replicas. Times are seconds since the epoch of the writer's clock.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token INTEGER NOT NULL CHECK (token >= 1),
    acquired_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "series, minute blocks with day rollups, exclusions, audit log", _V1_SCRIPT),
    Migration(2, "changes, approvals, annotations, idempotency keys", _V2_SCRIPT),
    Migration(3, "gate snapshots, referenced by gate decisions in the audit log", _V3_SCRIPT),
    Migration(4, "source runs and data issues: each source's health and broken data", _V4_SCRIPT),
    Migration(
        5,
        "the audit chain over the audit log, changes, approvals, exclusions, gate snapshots "
        "and annotations; exclusions become proposals approved by an approver",
        _V5_SCRIPT,
        _chain_existing_rows,
    ),
    Migration(6, "the store revision, the cache key of evaluations", _V6_SCRIPT),
    Migration(
        7,
        "each series' data bounds and day-total chunks, kept by the counts writer",
        _V7_SCRIPT,
        _backfill_rollups,
    ),
    Migration(
        8,
        "alerts, notification groups, silences and the notification outbox (the delivery log)",
        _ALERTS_SCRIPT,
    ),
    Migration(
        9,
        "voice-agent events: claimed ids, kept bad and excluded events, hourly dimension "
        "counts and stage sums",
        _EVENTS_SCRIPT,
    ),
    Migration(10, "leases: the leader of serve replicas, with a fencing token", _LEASES_SCRIPT),
)
LATEST_VERSION = MIGRATIONS[-1].version
REVISION_SCHEMA = 6
"""The version that added the store revision (``store_revision``)."""

PAGE_SIZE = 8192
"""Set on new files only; larger pages keep 8-byte-wide blocks off overflow pages."""

CACHE_KIB = 64 * 1024
MMAP_BYTES = 1 << 30
WAL_CHECKPOINT_PAGES = 10_000


def configure(connection: sqlite3.Connection, *, is_file: bool, busy_timeout: float = 10.0) -> None:
    """Per-connection settings of the writer: WAL for files, foreign keys, cache, busy
    timeout (``busy_timeout`` seconds; the store then waits in slices, see ``sqlite.py``).

    Must run outside a transaction (journal_mode and foreign_keys are ignored inside one).
    """
    fresh = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    if fresh:
        connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    if is_file:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        # Checkpoint every ~80 MB of WAL rather than 8 MB: a per-minute write of 1,000
        # series dirties ~1,000 pages, and checkpointing after each such write doubled
        # its cost (measured 47 ms vs 23 ms per write).
        connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    connection.execute("PRAGMA temp_store = MEMORY")
    connection.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000):d}")


def configure_reader(connection: sqlite3.Connection, *, busy_timeout: float) -> None:
    """Per-connection settings of a read-only connection of a file store (already in WAL
    mode, migrated by the writer): it never writes, and in WAL mode never waits for a
    writer (``busy_timeout`` covers only the rare recovery of a crashed writer's log)."""
    connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    connection.execute("PRAGMA temp_store = MEMORY")
    connection.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000):d}")
    connection.execute("PRAGMA query_only = ON")


def read_revision(connection: sqlite3.Connection) -> int:
    """The store's revision (schema v6)."""
    return int(connection.execute("SELECT revision FROM store_revision").fetchone()[0])


def bump_revision(connection: sqlite3.Connection) -> int:
    """Move the revision on, inside the caller's write transaction; return the new one."""
    row = connection.execute(
        "UPDATE store_revision SET revision = revision + 1 RETURNING revision"
    ).fetchone()
    return int(row[0])


def user_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection, label: str) -> int:
    """Bring the store at ``label`` to ``LATEST_VERSION``; return the version it is at.

    Raises StoreError for a store from a newer errorbudget, or an SQLite file that is not
    an errorbudget store at all (tables but no version).
    """
    version = user_version(connection)
    _refuse_unknown(connection, label, version)
    if version == LATEST_VERSION:
        return version
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = user_version(connection)  # another process may have migrated meanwhile
        _refuse_unknown(connection, label, version)
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            for statement in migration.statements():
                connection.execute(statement)
            if migration.after is not None:
                migration.after(connection)
            connection.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, datetime.now(UTC).isoformat()),
            )
            connection.execute(f"PRAGMA user_version = {migration.version:d}")
            version = migration.version
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return version


def _refuse_unknown(connection: sqlite3.Connection, label: str, version: int) -> None:
    if version > LATEST_VERSION:
        raise StoreError(
            f"the store {label} was written by a newer errorbudget (schema version {version}; "
            f"this version knows up to {LATEST_VERSION}): upgrade errorbudget to open it"
        )
    if version == 0:
        tables = connection.execute(
            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
        if tables:
            raise StoreError(
                f"{label} is an SQLite database but not an errorbudget store "
                "(it has tables but no schema version); give a new or errorbudget file"
            )
