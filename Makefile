# The two commands a user needs are `make serve` and `make test`; both create the
# virtual environment on first use. Serving installs only what serving needs (no
# TensorFlow); tests and training install the `train` and `dev` extras on top.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= ../shared/data/monthly-milk-production-pounds-p.csv

.PHONY: serve test lint train bench-accuracy clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files record what is installed, so a changed pyproject.toml reinstalls.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[train,dev]'
	@touch $@ $(VENV)/.serve-installed

serve: $(VENV)/.serve-installed
	$(BIN)/python -m uvicorn app.main:app --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app training

test: lint
	$(BIN)/python -m pytest

train: $(VENV)/.dev-installed
	$(BIN)/python -m training --data $(DATA) --preset default --seed 0 --name milk

bench-accuracy: $(VENV)/.dev-installed
	$(BIN)/python bench/accuracy.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
