"""One outward schema (``errorbudget.schema``): the CLI's ``--format json`` and the HTTP API
answer the same object for the same store and instant — field for field, value for value."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from errorbudget.cli.main import main
from errorbudget.exclusions import ExclusionProposal
from errorbudget.web import api

pytestmark = pytest.mark.anyio

VIEWER = {"Authorization": "Bearer viewer-token-000001"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cli_json(world: Any, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "-c", str(world.config), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def api_json(world: Any, path: str) -> Any:
    with world.open() as app:
        web = FastAPI()
        web.state.eb = app
        api.register(web)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get(api.PREFIX + path, headers=VIEWER)
    assert response.status_code == 200, response.text
    return response.json()


async def test_status_json_of_the_cli_is_the_apis(budget_world: Any) -> None:
    at = budget_world.at.isoformat().replace("+00:00", "Z")
    from_cli = cli_json(budget_world, "status", "--at", at)
    from_api = await api_json(budget_world, f"/status?at={at}")
    assert len(from_cli) == 5  # whole rows and series of three SLOs: not an empty match
    assert {row["state"] for row in from_cli} >= {"healthy", "exhausted"}
    assert from_cli == from_api


async def test_exclusions_json_of_the_cli_is_the_apis(budget_world: Any) -> None:
    with budget_world.open() as app:
        now = app.clock()
        app.records.propose_exclusion(
            ExclusionProposal(slo="payments", start=now.replace(hour=1), end=now.replace(hour=2),
            category="maintenance", reason="window", proposed_by="olga")
        )  # fmt: skip
    from_cli = cli_json(budget_world, "exclusions", "list")
    from_api = await api_json(budget_world, "/exclusions")
    assert [e["start"] for e in from_cli] == ["2026-11-20T01:00:00Z"]  # once "+00:00" here
    assert from_cli == from_api
