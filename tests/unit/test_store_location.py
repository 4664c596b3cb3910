"""Where the store is: ``store.path`` or ``store.url`` in the config (never both, never a
password in the file), and store locations as text (issue #13)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from errorbudget.config import parse_config
from errorbudget.database_urls import has_password, is_postgres_url, redact
from errorbudget.errors import ConfigError, ConfigValidationError, StoreError
from errorbudget.store.maintenance import parse_location


def loaded(text: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_config(textwrap.dedent(text), Path("/etc/eb/eb.yaml"), environ or {})


def messages(text: str) -> list[str]:
    with pytest.raises(ConfigValidationError) as caught:
        loaded(text)
    return [str(problem) for problem in caught.value.problems]


def test_the_default_store_is_an_sqlite_file_beside_the_config() -> None:
    config = loaded("")
    assert config.store_location == config.store_path == Path("/etc/eb/errorbudget.db")
    assert config.store_password({"ERRORBUDGET_STORE_PASSWORD": "x"}) is None


def test_a_postgres_url_is_the_location_and_the_password_comes_from_the_environment() -> None:
    config = loaded("store: {url: 'postgresql://eb@db.internal:5432/errorbudget'}\n")
    assert config.store_location == "postgresql://eb@db.internal:5432/errorbudget"
    assert config.store_password({"ERRORBUDGET_STORE_PASSWORD": "s3cret"}) == "s3cret"
    assert config.store_password({}) is None
    with pytest.raises(ConfigError, match="PostgreSQL database"):
        _ = config.store_path
    named = loaded("store: {url: 'postgres://eb@db/eb', password_env: EB_DB_PASSWORD}\n")
    assert named.store_password({"EB_DB_PASSWORD": "other"}) == "other"
    assert named.store_password({"ERRORBUDGET_STORE_PASSWORD": "s3cret"}) is None


def test_a_password_in_the_configured_url_is_refused() -> None:
    [problem] = messages("store: {url: 'postgresql://eb:s3cret@db/eb'}\n")
    assert "url holds a password" in problem
    assert "ERRORBUDGET_STORE_PASSWORD" in problem
    assert "s3cret" not in problem
    [problem] = messages("store: {url: 'postgresql://eb@db/eb?password=s3cret'}\n")
    assert "url holds a password" in problem


def test_path_and_url_are_exclusive_and_url_must_be_postgres() -> None:
    [problem] = messages("store: {path: eb.db, url: 'postgresql://eb@db/eb'}\n")
    assert "either path (an SQLite file) or url (a PostgreSQL database), not both" in problem
    [problem] = messages("store: {url: 'mysql://eb@db/eb'}\n")
    assert "url must be a PostgreSQL URL" in problem
    [problem] = messages("store: {url: 'postgresql://eb@db/eb', password_env: 'not a name'}\n")
    assert "password_env" in problem


def test_postgres_urls_and_redaction() -> None:
    assert is_postgres_url("postgresql://eb@db/eb") and is_postgres_url("POSTGRES://db/eb")
    assert not is_postgres_url("eb.db") and not is_postgres_url(Path("postgresql://x"))
    assert not is_postgres_url("sqlite:///eb.db")
    assert redact("postgresql://eb:s3cret@db:5432/eb") == "postgresql://eb@db:5432/eb"
    assert redact("postgresql://eb@db/eb?password=s3cret&sslmode=require") == (
        "postgresql://eb@db/eb?sslmode=require"
    )
    assert redact("postgresql://eb@db/eb") == "postgresql://eb@db/eb"
    assert has_password("postgresql://eb:x@db/eb") and not has_password("postgresql://eb@db/eb")


def test_store_locations_given_on_a_command_line() -> None:
    assert parse_location("postgresql://eb@db/eb") == "postgresql://eb@db/eb"
    assert parse_location("sqlite:////var/lib/eb.db") == Path("/var/lib/eb.db")
    assert parse_location("sqlite:///eb.db") == Path("eb.db")
    assert parse_location("eb.db") == Path("eb.db")
    assert parse_location(":memory:") == ":memory:"
    with pytest.raises(StoreError, match="unknown store URL mysql://eb@db/eb"):
        parse_location("mysql://eb:s3cret@db/eb")
