# The whole developer interface: make demo | test | lint | bench.
# Each target creates or updates .venv itself (plain pip, so the machine's pip settings apply).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint format bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo's world: its config and store in ./demo (git-ignored), the simulated month up to
# DEMO_AT (the README's tour and screenshots show this one; DEMO_AT=now for the present).
DEMO_AT ?= 2026-11-25T16:00Z

demo: $(STAMP)
	$(BIN)/errorbudget demo --dir demo --at $(DEMO_AT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --output docs/performance.md

docs: $(STAMP)
	$(BIN)/python scripts/gen_cli_docs.py > docs/cli.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis demo
