"""Store URLs: ``postgresql://user@host:port/database`` (also ``postgres://``), and libpq's
multi-host form ``postgresql://user@host1:5432,host2:5432/database`` (libpq tries the
hosts in turn; ``target_session_attrs=read-write`` picks the primary).

A URL names the store in messages without its password (``label``); the password comes
from the environment (config ``store.password_env``) or libpq's own ``PGPASSWORD`` /
``.pgpass``, and is handed to the connection apart from the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict

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
        label = redact(url)
        secret = has_password(url)
        reason: str | None = None
        try:
            params = conninfo_to_dict(url)
        except Exception as exc:  # libpq's parse error (psycopg.ProgrammingError)
            reason = _first_line(exc)
        if reason is not None:  # raised outside the handler: no context carries libpq's text
            if secret:  # libpq quotes the part it cannot parse: it may be the password's
                raise StoreError(
                    f"cannot parse the store URL {label} (its password not shown): check its "
                    "form, postgresql://user:password@host:port/database?param=value, and "
                    "that each % in the password is written %25"
                )
            raise StoreError(f"cannot parse the store URL {label}: {reason}")
        for port in str(params.get("port", "")).split(","):
            if port and not (port.isdigit() and 0 < int(port) < 65536):
                raise StoreError(f"bad port in the store URL {label}: {port!r}")
        if not urlsplit(url).path.strip("/"):
            raise StoreError(
                f"the store URL {label} names no database: postgresql://user@host/database"
            )
        return cls(url, label, secret)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
