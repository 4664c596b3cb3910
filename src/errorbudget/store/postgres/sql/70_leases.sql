-- Leases (wt-pg-leader), mirroring SQLite schema v10 (store/sqlite/schema.py): named leases
-- with a fencing token (store/protocols.py, Leases; store/fencing.py), the leader of `serve`
-- replicas. Times are seconds since the epoch of the database's clock (clock_timestamp()).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       BIGINT NOT NULL CHECK (token >= 1),
    acquired_at DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
