# Each target sets up its own virtual environment (.venv) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lint]"
	touch $(STAMP)

demo: $(STAMP)  ## the main job: build on the bundled data, derivatives, saved model
	$(BIN)/python examples/main_job.py build

test: $(STAMP)  ## the default test run (slow tests left out)
	$(BIN)/python -m pytest

test-all: $(STAMP)  ## every test, slow ones included
	$(BIN)/python -m pytest -m ""

lint: $(STAMP)
	$(BIN)/ruff check sklearn_neureco tests examples benchmarks scripts
	$(BIN)/ruff format --check sklearn_neureco tests examples benchmarks scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/derivatives.py

clean:
	rm -rf $(VENV) build .pytest_cache
