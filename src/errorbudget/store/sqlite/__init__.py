"""The SQLite backend of the store: one file, WAL, no server (the default).

``SQLiteStore.open(path)`` creates or migrates a store; ``store.py`` is the class (every
protocol of ``errorbudget.store.protocols``), ``schema.py`` the tables and migrations,
``blocks.py`` the 1-minute storage format, ``access.py`` the connections, transactions and
the revision counter, ``chain.py`` the audit chain.
"""

from errorbudget.store.sqlite.access import MEMORY
from errorbudget.store.sqlite.store import SQLiteStore

__all__ = ["MEMORY", "SQLiteStore"]
