"""The Alembic migrations of the PostgreSQL store (driven by ``schema.py``, no ini file).

``env.py`` runs on the connection ``schema.py`` hands over in ``config.attributes``;
``versions/`` holds the revisions. Revisions are only ever appended: never edit one that
has shipped (``0001`` runs the DDL in ``sql/`` in file-name order).
"""
