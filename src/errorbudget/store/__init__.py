"""Where counts, exclusions and the audit log live (SQLite by default).

``Store.open(path)`` creates or migrates a store; see ``sqlite.py`` for the API,
``schema.py`` for the tables and ``blocks.py`` for the 1-minute storage format.
"""

from errorbudget.store.sqlite import Store
from errorbudget.store.types import AuditEntry, SeriesInfo

__all__ = ["AuditEntry", "SeriesInfo", "Store"]
