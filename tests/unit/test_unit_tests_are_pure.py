"""The unit tests stay pure: no test module under tests/unit does I/O.

The rule, read from each module's source (an AST walk, so comments and strings do not count):
a unit test module must not

- import ``subprocess``, ``socket``, ``httpx``, ``uvicorn``, ``urllib.request`` or
  ``click.testing`` (processes, sockets, HTTP even in process, the CLI runner);
- use the fixtures ``tmp_path``, ``tmp_path_factory``, ``tmpdir`` or ``budget_world``
  (files in a temporary directory, a seeded store on disk);
- open a store other than in memory (``open_store``/``open_backend`` with a first argument
  that is not the literal ``":memory:"``) or an ``App`` (``App.open``: a config and a store
  file);
- write files (``write_text``, ``write_bytes``, ``mkdir``, ``unlink``).

An in-memory SQLite store is unit-level (no file, no process, no network). Reading the
repository's own checked-in files (examples, docs, tests/data) is allowed: they are inputs,
like golden files. Such tests belong in tests/integration (see tests/README.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent

IO_MODULES = {"subprocess", "socket", "httpx", "uvicorn", "urllib.request", "click.testing"}
IO_FIXTURES = {"tmp_path", "tmp_path_factory", "tmpdir", "budget_world"}
STORE_OPENERS = {"open_store", "open_backend"}
FILE_WRITES = {"write_text", "write_bytes", "mkdir", "unlink"}


def io_in(source: str) -> list[str]:
    """What in ``source`` (a test module) does I/O, as ``line: what`` strings."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"{line}: import {a.name}" for a in node.names if a.name in IO_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in IO_MODULES:
            found.append(f"{line}: from {node.module} import")
        elif isinstance(node, ast.arg) and node.arg in IO_FIXTURES:
            found.append(f"{line}: fixture {node.arg}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in STORE_OPENERS and not _in_memory(node):
                found.append(f"{line}: {name} on a file")
            elif name == "open" and isinstance(func, ast.Attribute):
                if isinstance(func.value, ast.Name) and func.value.id == "App":
                    found.append(f"{line}: App.open")
            elif name in FILE_WRITES and isinstance(func, ast.Attribute):
                found.append(f"{line}: .{name}()")
    return found


def _in_memory(call: ast.Call) -> bool:
    first = call.args[0] if call.args else None
    return isinstance(first, ast.Constant) and first.value == ":memory:"


UNIT_MODULES = sorted(UNIT.glob("*.py"))


@pytest.mark.parametrize("module", UNIT_MODULES, ids=lambda p: p.name)
def test_a_unit_test_module_does_no_io(module: Path) -> None:
    found = io_in(module.read_text(encoding="utf-8"))
    assert not found, f"{module.name} does I/O; move it to tests/integration: {found}"


def test_the_check_finds_each_kind_of_io() -> None:
    source = """
import subprocess
from httpx import AsyncClient
from errorbudget.app import App
from errorbudget.store import open_store

def test_files(tmp_path, budget_world):
    (tmp_path / "a").write_text("x")
    with open_store(tmp_path / "eb.db"), App.open(budget_world.config):
        pass

def test_pure():
    with open_store(":memory:"):
        pass
"""
    assert io_in(source) == [
        "2: import subprocess",
        "3: from httpx import",
        "7: fixture tmp_path",
        "7: fixture budget_world",
        "8: .write_text()",
        "9: open_store on a file",
        "9: App.open",
    ]
