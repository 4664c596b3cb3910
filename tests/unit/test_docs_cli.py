"""docs/cli.md is generated from the CLI; it must be current and cover every command."""

from __future__ import annotations

from pathlib import Path

import click

from errorbudget.cli.docs import render
from errorbudget.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(main), "run `make docs` to regenerate"


def test_every_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    ctx = click.Context(main, info_name="errorbudget")
    for name in main.list_commands(ctx):
        assert f"## `errorbudget {name}`" in text
