"""Fixtures for the service's tests: toy model directories, settings, an in-process client.

The folders mirror the packages: `contract/`, `engine/`, `http/`, `v1/`, `v2/`,
`timeseries/`, `ui/`, `training/` and `bench/` hold one test module per module of
`app/<package>`, `training/` or `bench/` they test (`test_<module>.py`, or
`test_<module>_<part>.py` by topic where one would pass 300 lines). This root holds the
tests of the top-level `app` modules (`test_registry.py` for `app/registry.py`, ...) and
of whole-repository rules (`test_boundaries.py`, `test_kubernetes.py`), beside the
helpers every folder imports by name: `modelkit` (toy model directories), `liveserver`
(a real uvicorn process, and the repository's `ROOT`), `chromium`, `pgkit` (a real
PostgreSQL server of Debian's, behind the `postgres_url` fixture), `apikit`, `v2kit`,
`tskit` and `trainkit`. A folder's own helpers sit in it, on the pythonpath too
(`reliability/reliability_kit.py`, `training/datakit.py`, `ui/pagekit.py`). `live/` runs
the service as a real process (probes, a clean stop, SIGTERM with work in flight), and
`reliability/` is the slow live suite of `make reliability`, left out by
`-m "not reliability"`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from liveserver import LiveServer, live_server
from modelkit import TOYS, build_keras_models, synthetic_series, write_toy
from pgkit import POSTGRES, postgres_server

from app.main import create_app
from app.settings import Settings

# Every app a test starts (in process or live) keeps its default SQLite ledger here, not in
# the repository's `data/`; a test that looks at the ledger gives its own directory.
if "FORECAST_DATA_DIR" not in os.environ:
    os.environ["FORECAST_DATA_DIR"] = tempfile.mkdtemp(prefix="forecast-test-data-")
    atexit.register(shutil.rmtree, os.environ["FORECAST_DATA_DIR"], ignore_errors=True)


@pytest.fixture(scope="session")
def toy_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding version 1 of every toy model, built once per session."""
    keras_dir = tmp_path_factory.mktemp("keras")
    build_keras_models(keras_dir)
    models = tmp_path_factory.mktemp("toy-models")
    for toy in TOYS:
        write_toy(models, toy, keras_dir / f"{toy.name}.keras", synthetic_series())
    return models


@pytest.fixture(scope="session")
def catalog_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding `catalog`: one tiny global model over trainkit's catalog."""
    from trainkit import train_cli, write_catalog

    base = tmp_path_factory.mktemp("catalog")
    code, out = train_cli(write_catalog(base / "catalog.csv"), base / "models")
    assert code == 0, out
    return base / "models"


@pytest.fixture
def models_dir(toy_models: Path, tmp_path: Path) -> Path:
    """A private copy of the toy models, free to tamper with."""
    return Path(shutil.copytree(toy_models, tmp_path / "models"))


@pytest.fixture
def keras_file(toy_models: Path, tmp_path: Path) -> Path:
    """A copy of toy version 1's network, to publish further versions of `toy` with."""
    return Path(shutil.copy(toy_models / "toy" / "1" / "model.keras", tmp_path / "toy.keras"))


@pytest.fixture
def settings(models_dir: Path) -> Settings:
    return Settings(model_dir=models_dir, default_model="toy")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with its lifespan run, so models are loaded as in production."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def server(toy_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live uvicorn process serving the toy models, shared by one test module."""
    env = {"FORECAST_MODEL_DIR": str(toy_models), "FORECAST_DEFAULT_MODEL": "toy"}
    log = tmp_path_factory.mktemp("server") / "uvicorn.log"
    with live_server(env, log) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The SQLAlchemy URL of a real PostgreSQL server, fresh for the session and then stopped.

    Without Debian's PostgreSQL the tests that use it skip, except under CI=true, where
    they fail: CI must never pass by skipping the database.
    """
    if POSTGRES is None:
        reason = "no PostgreSQL (`make postgres` installs Debian's postgresql as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI=true runs the PostgreSQL tests, never skips them")
        pytest.skip(reason)
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url
