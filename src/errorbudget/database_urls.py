"""Store locations as text: which names a PostgreSQL database, and how one is shown.

Pure string logic shared by the config (``store.url``), ``open_store`` and the PostgreSQL
backend, without importing either backend.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL store (``postgresql://…``, ``postgres://…``)
    rather than an SQLite file."""
    if not isinstance(location, str) or "://" not in location:
        return False
    return location.split("://", 1)[0].lower() in POSTGRES_SCHEMES


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password (``user:secret@`` or ``?password=``)."""
    parts = urlsplit(url)
    return parts.password is not None or any(key == "password" for key, _ in parse_qsl(parts.query))


def redact(url: str) -> str:
    """``url`` without its password (``user@host``, no ``password=`` parameter)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<an unreadable URL>"
    pairs = parse_qsl(parts.query)
    query = [(key, value) for key, value in pairs if key != "password"]
    if password is None and len(query) == len(pairs):
        return url
    netloc = parts.netloc
    if password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))
