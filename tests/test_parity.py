"""The NumPy engine forecasts what Keras forecasts, in series units, for real trained models.

Both committed models and one trained here go through two independent paths: Keras'
`model.predict` with scikit-learn's `scaler.transform` / `inverse_transform` (the way
the blog post computes), and the service's path (allowlisted scaler, `app.contract.pipeline`,
`app.engine`). They must agree within 1e-4 of the series' own units.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from test_training import train_cli, write_series

from app.contract.pipeline import (
    difference,
    integrate,
    model_inputs,
    one_step_histories,
    to_series_units,
)
from app.contract.store import read_version
from app.engine.archive import load_network

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[1]
MILK = ROOT.parent / "shared" / "data" / "monthly-milk-production-pounds-p.csv"
TOLERANCE = 1e-4  # series units (pounds per cow for the milk models)
N_RANDOM = 1_000


@pytest.fixture(scope="module")
def fresh_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("parity")
    code, _ = train_cli(write_series(base / "fresh.csv"), base / "models")
    assert code == 0
    return base / "models" / "fresh" / "1"


def version_dirs(fresh_model: Path) -> dict[str, Path]:
    return {
        "milk": ROOT / "models" / "milk" / "1",
        "milk-seed": ROOT / "models" / "milk-seed" / "1",
        "fresh": fresh_model,
    }


def keras_forecasts(version_dir: Path, histories: np.ndarray) -> np.ndarray:
    """The post's way: Keras on sklearn-scaled windows, then inverse_transform."""
    verified = read_version(version_dir)
    spec = verified.manifest.pipeline.spec()
    model = keras.saving.load_model(version_dir / "model.keras", compile=False)
    scaler = joblib.load(version_dir / "scaler.joblib")
    recent = histories[:, -spec.history_length :]
    changes = difference(recent, spec)
    scaled = scaler.transform(changes.reshape(-1, 1)).reshape(changes.shape)
    outputs = model.predict(scaled[:, :, np.newaxis], verbose=0, batch_size=4096)
    steps = scaler.inverse_transform(outputs.reshape(-1, 1))[:, 0]
    return integrate(steps, histories, spec)


def engine_forecasts(version_dir: Path, histories: np.ndarray) -> np.ndarray:
    """The service's way: allowlisted scaler, app.pipeline, NumPy engine."""
    verified = read_version(version_dir)
    spec = verified.manifest.pipeline.spec()
    network = load_network(verified.network_paths[0])
    inputs = model_inputs(histories, spec, verified.scaler)
    return to_series_units(network.predict(inputs)[0, :, 0], histories, spec, verified.scaler)


def random_histories(version_dir: Path, rng: np.random.Generator) -> np.ndarray:
    manifest = read_version(version_dir).manifest
    low, high = manifest.data.train_min, manifest.data.train_max
    spec = manifest.pipeline.spec()
    return rng.uniform(low, high, size=(N_RANDOM, spec.history_length))


@pytest.mark.parametrize("model", ["milk", "milk-seed", "fresh"])
def test_engine_matches_keras_on_random_windows(model: str, fresh_model: Path) -> None:
    version_dir = version_dirs(fresh_model)[model]
    if not version_dir.is_dir():
        pytest.skip(f"{version_dir} is missing")
    histories = random_histories(version_dir, np.random.default_rng(0))
    ours, theirs = engine_forecasts(version_dir, histories), keras_forecasts(version_dir, histories)
    assert np.max(np.abs(ours - theirs)) < TOLERANCE


@pytest.mark.skipif(not MILK.exists(), reason=f"{MILK} is absent (the shared data folder)")
@pytest.mark.parametrize("model", ["milk", "milk-seed"])
def test_engine_matches_keras_over_the_whole_milk_series(model: str) -> None:
    from training.data import load_series

    version_dir = ROOT / "models" / model / "1"
    spec = read_version(version_dir).manifest.pipeline.spec()
    histories, _ = one_step_histories(load_series(MILK).values, spec)
    ours, theirs = engine_forecasts(version_dir, histories), keras_forecasts(version_dir, histories)
    assert len(ours) == 168 - spec.history_length
    assert np.max(np.abs(ours - theirs)) < TOLERANCE
