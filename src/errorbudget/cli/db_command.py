"""``errorbudget db``: the store's database itself — its schema (``upgrade``, ``current``),
on SQLite and PostgreSQL alike (docs/operations.md "PostgreSQL store").

The store is the config's (``store.path`` or ``store.url``, the password from
``store.password_env``), or ``--store`` (a ``postgresql://`` URL, ``sqlite:///FILE`` or a
file path; the password then from ``$ERRORBUDGET_STORE_PASSWORD``).

**Adding a subcommand** (``db copy``, ``db backup``, …): define the click command in your
own module (``errorbudget/cli/db_copy.py``: ``@click.command("copy") def copy(…)``) and add
one entry to :data:`SUBCOMMANDS` here (name → module, attribute). It is loaded only when it
runs, ``errorbudget db --help`` lists it, and docs/cli.md documents it once regenerated.

Exit codes: ``db upgrade`` 0 when the store is at the newest schema (upgraded or already
there), 1 an error (cannot reach the store, or a newer errorbudget wrote it), 4 another
process held the store for longer than the command waits. ``db current`` 0 when the store
is at the newest schema this errorbudget knows, 7 when it is older or has none yet (run
``errorbudget db upgrade``), 1 when a newer errorbudget wrote it or it cannot be reached.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from errorbudget.cli.common import LazyGroup, config_option, echo_json, format_option
from errorbudget.config import DEFAULT_PASSWORD_ENV, default_config_path, load_config
from errorbudget.database_urls import has_password, is_postgres_url
from errorbudget.errors import StoreError
from errorbudget.store.maintenance import (
    SchemaStatus,
    parse_location,
    schema_status,
    upgrade_schema,
)

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "current": ("errorbudget.cli.db_command", "current"),
    "upgrade": ("errorbudget.cli.db_command", "upgrade"),
}
"""Subcommand → (its module, the click command's attribute there)."""

OUTDATED_EXIT = 7
"""``db current``: the store's schema is older than this errorbudget's (or absent)."""


@click.group("db", cls=LazyGroup, subcommands=SUBCOMMANDS)
def db() -> None:
    """The store's database: schema version and upgrades, on SQLite or PostgreSQL."""


def store_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--store",
        "store",
        metavar="URL|FILE",
        default=None,
        help="The store (postgresql://user@host/db, sqlite:///FILE or a file) instead of the "
        "config's; a PostgreSQL password comes from $ERRORBUDGET_STORE_PASSWORD.",
    )(func)


def resolve_store(config_path: Path | None, store: str | None) -> tuple[str | Path, str | None]:
    """The store to work on and its PostgreSQL password (None: libpq's own, or SQLite)."""
    if store is not None:
        location = parse_location(store)
        if not is_postgres_url(location):
            return location, None
        if has_password(str(location)):
            raise StoreError(
                "the store URL holds a password: leave it out (postgresql://user@host/db) and "
                f"set ${DEFAULT_PASSWORD_ENV}; a password on a command line is visible to "
                "every user of the machine"
            )
        return location, os.environ.get(DEFAULT_PASSWORD_ENV)
    loaded = load_config(config_path or default_config_path())
    return loaded.store_location, loaded.store_password()


def _describe(status: SchemaStatus) -> str:
    what = "revision" if status.backend == "postgresql" else "schema version"
    return f"{what} {status.current or 'none'}"


@db.command("upgrade")
@config_option
@store_option
def upgrade(config_path: Path | None, store: str | None) -> None:
    """Bring the store's schema up to date (creating it in a new database or file).

    PostgreSQL through its Alembic migrations, SQLite through its own chain.

    Opening a store does the same; this runs it as a deployment step, before the servers.
    """
    location, password = resolve_store(config_path, store)
    before, after = upgrade_schema(location, password=password)
    if before.current == after.current:
        click.echo(f"{after.label} ({after.backend}) is up to date: {_describe(after)}")
    else:
        click.echo(
            f"upgraded {after.label} ({after.backend}) from {_describe(before)} "
            f"to {_describe(after)}"
        )


@db.command("current")
@config_option
@store_option
@format_option("text", "json")
def current(config_path: Path | None, store: str | None, output_format: str) -> None:
    """Show the store's backend, schema version and whether it is up to date.

    The version is SQLite's schema version or PostgreSQL's Alembic revision; exit 7 when
    the store needs ``errorbudget db upgrade``. Nothing is created or changed.
    """
    location, password = resolve_store(config_path, store)
    status = schema_status(location, password=password)
    if output_format == "json":
        echo_json(status.as_dict())
    else:
        click.echo(f"store: {status.label}")
        click.echo(f"backend: {status.backend}")
        click.echo(f"{_describe(status)} (newest known: {status.latest})")
        if status.up_to_date:
            click.echo("up to date")
        elif not status.known:
            click.echo("written by a newer errorbudget: upgrade errorbudget to open it")
        else:
            click.echo("needs an upgrade: run `errorbudget db upgrade`")
    if not status.known:
        raise SystemExit(1)
    if not status.up_to_date:
        raise SystemExit(OUTDATED_EXIT)
