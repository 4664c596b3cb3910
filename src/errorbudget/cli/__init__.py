"""The ``errorbudget`` command line: thin, it parses, calls the App, and renders."""

from errorbudget.cli.main import main

__all__ = ["main"]
