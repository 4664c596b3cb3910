"""0001: the whole store schema as of issue #13: the DDL in ``sql/``, in file-name order.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op

from errorbudget.errors import StoreError
from errorbudget.store.postgres.ddl import run_sql_files

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_files(op.get_bind())


def downgrade() -> None:
    raise StoreError("the store's schema is never downgraded: restore a backup instead")
