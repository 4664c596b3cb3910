"""docs/cli.md is generated from the CLI; it must be current and cover every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from errorbudget.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    # A fresh interpreter: click caches each command's help option on first use, so commands
    # invoked directly by other tests would otherwise render differently.
    generated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert DOC.read_text(encoding="utf-8") == generated, "run `make docs` to regenerate"


def test_every_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    ctx = click.Context(main, info_name="errorbudget")
    for name in main.list_commands(ctx):
        assert f"## `errorbudget {name}`" in text
