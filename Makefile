# Each target sets up the virtual environment (.venv) and the extras it needs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-all lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# .installed-test, .installed-lint, .installed-docs: the package with that extra
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	touch $@

demo: $(VENV)/.installed-test  ## the main job: build on the bundled data, derivatives, saved model
	$(BIN)/python scripts/main_job.py build

test: $(VENV)/.installed-test  ## the default test run (slow tests left out)
	$(BIN)/python -m pytest

test-all: $(VENV)/.installed-test  ## every test, slow ones included
	$(BIN)/python -m pytest -m ""

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check sklearn_neureco tests examples benchmarks scripts docs
	$(BIN)/ruff format --check sklearn_neureco tests examples benchmarks scripts docs

docs: $(VENV)/.installed-docs  ## the documentation, warnings as errors, in docs/_build/html
	cd docs && MPLBACKEND=Agg ../$(BIN)/sphinx-build -W --keep-going -q -b html . _build/html

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/derivatives.py
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/classification.py
	$(BIN)/python benchmarks/link_limit.py
	$(BIN)/python benchmarks/search_cost.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/compression.py
	$(BIN)/python benchmarks/dask_training.py

clean:
	rm -rf $(VENV) build .pytest_cache docs/_build docs/gen_modules docs/auto_examples
