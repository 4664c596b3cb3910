-- Leases (wt-pg-leader), mirroring SQLite schema v10 (store/sqlite/schema.py): named leases
-- with a fencing token (store/protocols.py, Leases; store/fencing.py), the leader of `serve`
-- replicas. Times are seconds since the epoch of the database's clock (clock_timestamp()).
-- Text is COLLATE "C" like every other table's (names are only compared for equality).
CREATE TABLE leases (
    name        TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT COLLATE "C" NOT NULL,
    token       BIGINT NOT NULL CHECK (token >= 1),
    acquired_at DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
