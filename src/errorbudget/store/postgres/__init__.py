"""The PostgreSQL store: the store protocols on a PostgreSQL 15+ database (issue #13).

``store.py`` has ``PostgresStore``, made of the core (``StoreCore``: lifecycle,
transactions, revision, series) and one mixin per part (``*_part.py``); ``access.py`` the
connections and transactions (``PgAccess``); ``url.py`` store URLs; ``schema.py`` the
Alembic migrations (``migrations/``) that run the DDL in ``sql/`` in file-name order.

Only ``errorbudget.store.open_store`` imports this package (lazily: importing the store
does not import psycopg).
"""

from __future__ import annotations

from errorbudget.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
