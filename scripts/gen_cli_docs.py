"""Print docs/cli.md generated from the CLI (``make docs``)."""

from errorbudget.cli.docs import render
from errorbudget.cli.main import main

print(render(main), end="")
