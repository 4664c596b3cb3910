"""The revisions of the PostgreSQL store's schema, applied in order by Alembic."""
