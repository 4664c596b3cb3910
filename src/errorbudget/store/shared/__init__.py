"""What every store backend shares about the records: exclusions, annotations,
idempotency keys, source runs and data issues, changes and approvals, the audit log, its
hash chain and the gate snapshots.

These modules hold the rules (validation, row → record mapping, the chain's hashes and
verification) and the SQL, written once in the dialect both SQLite and PostgreSQL speak
(``connection.py`` says which). A backend hands them a connection inside its own
transaction; SQLite's ``sqlite3.Connection`` is one as it is, PostgreSQL's is adapted by
``store.postgres.portable``. Nothing here imports a database driver.
"""
