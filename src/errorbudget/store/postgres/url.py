"""Store URLs: ``postgresql://user@host:port/database`` (also ``postgres://``).

A URL names the store in messages without its password (``label``); the password comes
from the environment (config ``store.password_env``) or libpq's own ``PGPASSWORD`` /
``.pgpass``, and is handed to the connection apart from the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from errorbudget.database_urls import has_password, is_postgres_url, redact
from errorbudget.errors import StoreError


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A PostgreSQL store URL, split into what connects and what is shown."""

    url: str
    """As given (may hold a password: never shown)."""
    label: str
    """The URL without its password: how messages name the store."""
    has_password: bool

    @classmethod
    def parse(cls, url: str) -> StoreUrl:
        if not is_postgres_url(url):
            raise StoreError(f"not a PostgreSQL store URL (postgresql://…): {redact(url)}")
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError as exc:
            raise StoreError(f"bad port in the store URL {redact(url)}") from exc
        if not parts.path.strip("/"):
            raise StoreError(
                f"the store URL {redact(url)} names no database: postgresql://user@host/database"
            )
        return cls(url, redact(url), has_password(url))
