# The two commands a user needs are `make serve` and `make test`; both create the
# virtual environment on first use. Serving installs only what serving needs (no
# TensorFlow); tests and training install the `train` and `dev` extras on top.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= ../shared/data/monthly-milk-production-pounds-p.csv
NAME ?=
FROM_STORE ?=
MILK_URL := https://raw.githubusercontent.com/plotly/datasets/master/monthly-milk-production-pounds.csv

LOCK_ARGS ?=
CONTAINER_CHECK ?= ../shared/tools/container-check
CONTAINER_CHECK_PORT ?= 18000
IMAGE_TAG ?= localhost/lstm-forecast:check

.PHONY: serve test reliability lint browser compiler postgres train bench bench-accuracy lock container-check docs ui-vendor clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files record what is installed, so a changed pyproject.toml reinstalls, and a
# changed kernel.c is rebuilt (setup.py: the LSTM's compiled kernel, built when a C
# compiler is found; without one the NumPy engine serves).
INSTALL_INPUTS := pyproject.toml setup.py app/engine/kernel.c

$(VENV)/.serve-installed: $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.train-installed: $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[train]'
	@touch $@ $(VENV)/.serve-installed

# The tests need the kernel built (tests/engine/test_compiled.py): `compiler` first.
$(VENV)/.dev-installed: $(INSTALL_INPUTS) | $(BIN)/python compiler
	$(BIN)/python -m pip install --quiet -e '.[train,dev]'
	@touch $@ $(VENV)/.serve-installed $(VENV)/.train-installed

# `python -m app` is uvicorn run the production way: JSON logs, graceful SIGTERM
# (exit 0 after in-flight requests are answered), FORECAST_* settings.
serve: $(VENV)/.serve-installed
	FORECAST_HOST=$(HOST) FORECAST_PORT=$(PORT) $(BIN)/python -m app

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app training bench scripts

test: lint browser postgres
	$(BIN)/python -m pytest -m "not reliability"

# The /docs and page tests drive Debian's headless Chromium. Installed here when it is
# missing and apt-get can (as root); otherwise one line says those tests will skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "installing Debian's chromium for the browser tests" \
		&& apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "no chromium (install Debian's chromium as root): the browser tests will skip"

# The database tests start their own throwaway server (tests/pgkit.py) from Debian's
# PostgreSQL binaries in /usr/lib/postgresql/<major>/bin; the package's own cluster is left
# unused. Installed here when missing and apt-get can (as root); otherwise one line says
# those tests will skip (under CI=true they fail instead).
# A C compiler for the LSTM kernel: Debian's gcc, installed here when there is none and
# apt-get can (as root); otherwise one line says the kernel's tests will fail.
compiler:
	@command -v cc >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "installing Debian's gcc for the compiled LSTM kernel" \
		&& apt-get update -qq && apt-get install -y -qq gcc libc6-dev >/dev/null; } \
		|| echo "no C compiler (install Debian's gcc as root): the NumPy engine serves, the kernel's tests fail"

postgres:
	@ls /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
		|| { command -v initdb && command -v pg_ctl; } >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "installing Debian's postgresql for the database tests" \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
		|| echo "no PostgreSQL (install Debian's postgresql as root): the PostgreSQL tests will skip"

# Live Schemathesis fuzzing, a 60 s soak at concurrency 32 and fault injection
# against real `python -m app` processes: about 3 minutes.
reliability: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m reliability tests/reliability

# `make train DATA=my.csv NAME=sales`: the default recipe on your series (NAME defaults to the
# file's name); with no DATA, the committed default again (the milk series, seed 0).
# `make train FROM_STORE=1 NAME=sales`: the next version of sales on its newest version's data
# plus the actuals the service stored since, by that version's recipe (see the README's ledger).
train: $(VENV)/.train-installed
ifeq ($(FROM_STORE),1)
	@test -n "$(NAME)" || { echo "make train FROM_STORE=1: name the model, e.g.\
	 make train FROM_STORE=1 NAME=sales"; exit 2; }
	$(BIN)/python -m training --from-store --name "$(NAME)"
else
	@test -f "$(DATA)" || { echo "make train: no file $(DATA). Train on your own CSV with\
	 make train DATA=path/to/series.csv NAME=sales, or fetch the milk series first:\
	 curl -sO $(MILK_URL) && make train DATA=monthly-milk-production-pounds.csv NAME=milk"; exit 2; }
	$(BIN)/python -m training --data "$(DATA)" --preset default --seed 0 \
		$(if $(NAME),--name $(NAME),$(if $(filter ../shared/%,$(DATA)),--name milk))
endif

# Engine, HTTP, start-up/footprint and training benchmarks, side by side with the
# naive Keras-in-FastAPI peer; rewrites their sections of BENCHMARKS.md.
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.run_all

# The validation panel's single series, then the employment panel (one global model against
# per-series SARIMA and AutoETS): about 25 minutes.
bench-accuracy: $(VENV)/.dev-installed
	$(BIN)/python -m bench.accuracy
	$(BIN)/python -m bench.panel_lstm

# Regenerates the README's settings table from app/settings.py (a test checks it).
docs: $(VENV)/.dev-installed
	$(BIN)/python -m scripts.settings_doc

# Re-fetches the page's chart library (npm pack, the version pinned in app/ui/package.json)
# and checks every file against its pinned sha256; `ARGS=--update` after a version bump.
ui-vendor: | $(BIN)/python
	$(BIN)/python -m scripts.vendor_ui $(ARGS)

# Pins the serving dependencies (with hashes) that the Dockerfile installs.
lock: $(VENV)/.dev-installed
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --output-file requirements.lock \
		--python-version 3.11 --python-platform linux --generate-hashes \
		--custom-compile-command "make lock" --quiet $(LOCK_ARGS)

# Builds the Dockerfile and runs the image for real (rootful podman; see
# ../shared/tools/README.md), then checks its forecasts against the in-process app.
container-check: $(VENV)/.dev-installed
	IMAGE_TAG=$(IMAGE_TAG) \
	SMOKE_CMD='$(BIN)/python scripts/smoke.py --mount-check always' \
	bash $(CONTAINER_CHECK) . $(CONTAINER_CHECK_PORT)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build app/engine/_kernel.*
