"""``python -m errorbudget`` runs the CLI."""

from errorbudget.cli import main

main()
