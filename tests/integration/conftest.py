"""The shared fixtures of the integration tests.

- ``app``: the seeded budget world (``budget_world`` in tests/conftest.py) opened; a module
  that needs more in its world (changes, exclusions) overrides ``app`` and keeps the rest.
- ``web`` and ``client``: the whole web application of ``app`` (``create_app``: API, pages,
  admission, security headers) and an ``httpx.AsyncClient`` over it in process
  (``httpx.ASGITransport``); async tests run on asyncio (``anyio_backend``).
- ``store``: a fresh, empty store of every backend in ``store_backends.BACKENDS`` (one test
  run per backend), on the clock ``store_clock`` (none by default: the wall clock); a module
  overrides ``store_clock`` for a fixed one, or ``store_backend`` to run on one backend only.
  The ``postgres`` backend is a fresh database on the machine's PostgreSQL
  (tests/postgres_server.py), dropped after the test.
- ``postgres_url``: the URL of such a fresh, migrated database (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from errorbudget.app import App
from errorbudget.store import Store
from errorbudget.web.app import create_app
from store_backends import BACKENDS, backend_store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(budget_world) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """The seeded budget world, opened (see ``BudgetWorld``)."""
    with budget_world.open() as opened:
        yield opened


@pytest.fixture
def web(app: App) -> FastAPI:
    """The web application of ``app``, as ``serve`` runs it."""
    return create_app(app)


@pytest.fixture
async def client(web: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of ``web``, in process."""
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(params=BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend ``store`` opens (every one in turn)."""
    name: str = request.param
    return name


@pytest.fixture
def store_clock() -> Callable[[], datetime] | None:
    """The clock of ``store``: none (the wall clock) unless a module overrides it."""
    return None


@pytest.fixture
def store(
    store_backend: str, store_clock: Callable[[], datetime] | None, tmp_path: Path
) -> Iterator[Store]:
    """A fresh, empty store of ``store_backend`` (its files, if any, in ``tmp_path``)."""
    with backend_store(store_backend, tmp_path, clock=store_clock) as opened:
        yield opened
