"""Store URLs: ``postgresql://user@host:port/database`` (also ``postgres://``).

A URL names the store in messages without its password (``label``); the password comes
from the environment (config ``store.password_env``) or libpq's own ``PGPASSWORD`` /
``.pgpass``, and is handed to the connection apart from the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from errorbudget.errors import StoreError
from errorbudget.store import is_postgres_url


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
        in_query = any(key == "password" for key, _ in parse_qsl(parts.query))
        return cls(url, redact(url), parts.password is not None or in_query)


def redact(url: str) -> str:
    """``url`` without the password of its user part (``user@host``, never ``user:…@``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "password"]
    netloc = parts.netloc
    if parts.password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username}@{host}" if parts.username else host
    if netloc == parts.netloc and len(query) == len(parse_qsl(parts.query)):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))
