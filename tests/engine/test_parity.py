"""The NumPy engine forecasts what Keras forecasts, in series units, for real trained models.

The committed models and one ensemble trained here go through two independent paths:
Keras' `model.predict` on every member's `.keras` file with the scikit-learn scaler
unpickled by joblib itself, and the service's path (hash-checked allowlisted unpickler,
the version's pipeline, every member stacked in the NumPy engine). Each member's network
output must agree within 1e-4, and the combined forecast within 1e-4 of the series' units.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from liveserver import ROOT
from trainkit import train_cli, write_series

from app.contract.pipeline import AffineScaler, as_rows, one_step_histories, recursive_forecast
from app.contract.scalers import affine_from_sklearn
from app.contract.seasonal import SeasonalPipeline
from app.contract.store import read_version
from app.engine import layers
from app.engine.network import PARITY
from app.forecaster import load_forecaster

keras = pytest.importorskip("keras")

MILK = ROOT.parent / "shared" / "data" / "monthly-milk-production-pounds-p.csv"
N_RANDOM = 1_000
COMMITTED = sorted(p.parent for p in ROOT.glob("models/*/*/manifest.json"))


@pytest.fixture(scope="module")
def fresh_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("parity")
    code, _ = train_cli(write_series(base / "fresh.csv"), base / "models", "--members", "3")
    assert code == 0
    return base / "models" / "fresh" / "1"


class KerasPath:
    """The version computed the training stack's way: Keras members, sklearn's own scaler."""

    def __init__(self, version_dir: Path) -> None:
        manifest = read_version(version_dir).manifest
        self.pipeline = manifest.pipeline.spec()
        self.members = [
            keras.saving.load_model(version_dir / name, compile=False) for name in manifest.networks
        ]
        sklearn_scaler = joblib.load(version_dir / "scaler.joblib")  # plain joblib, not ours
        self.scaler: AffineScaler = affine_from_sklearn(sklearn_scaler, "keras path")
        if manifest.series is not None:  # a table of one: posted values are that series
            table = json.loads((version_dir / manifest.series.file).read_text())
            spread, log = table["spread"][0], table["log"][0]
            self.scaler = AffineScaler(self.scaler.scale / spread, self.scaler.offset)
            if isinstance(self.pipeline, SeasonalPipeline):
                self.pipeline = dataclasses.replace(self.pipeline, log=log)

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        x = inputs.astype(np.float32)
        return np.stack([m.predict(x, verbose=0, batch_size=4096)[:, 0] for m in self.members])

    def forecast(self, histories: np.ndarray, horizon: int = 1) -> np.ndarray:
        predict = lambda x: self.outputs(x).mean(axis=0)  # noqa: E731
        return recursive_forecast(histories, horizon, self.pipeline, self.scaler, predict)


def check(
    version_dir: Path, histories: np.ndarray, horizon: int = 1, compiled: bool = True
) -> None:
    """`compiled`: whether the service's path runs on the kernel (the network and the
    recursion in one call each), or, as on a machine without a C compiler, on NumPy."""
    theirs, ours = KerasPath(version_dir), load_forecaster(version_dir)
    assert (ours._recursion is not None) == compiled
    inputs = ours.pipeline.model_inputs(histories, ours.verified.scaler)
    members = ours.network.predict(inputs)[..., 0]
    assert members.shape[0] == len(theirs.members)
    assert np.max(np.abs(members - theirs.outputs(inputs))) < PARITY
    engine, keras_way = ours.forecast(histories, horizon), theirs.forecast(histories, horizon)
    assert np.max(np.abs(engine - keras_way)) < PARITY * max(1.0, 1 / abs(theirs.scaler.scale))


def random_histories(version_dir: Path, rng: np.random.Generator) -> np.ndarray:
    manifest = read_version(version_dir).manifest
    low, high = manifest.data.train_min, manifest.data.train_max
    width = manifest.pipeline.spec().history_width
    return rng.uniform(low, high, size=(N_RANDOM, width))


@pytest.mark.parametrize("version_dir", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_models_match_keras_on_random_windows(version_dir: Path) -> None:
    check(version_dir, random_histories(version_dir, np.random.default_rng(0)))


@pytest.mark.parametrize("compiled", [True, False], ids=["kernel", "numpy"])
def test_a_fresh_ensemble_matches_keras_member_by_member_and_combined(
    fresh_model: Path, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not compiled:
        monkeypatch.setattr(layers, "KERNEL", None)  # what a machine without a compiler has
    histories = random_histories(fresh_model, np.random.default_rng(1))
    check(fresh_model, histories, compiled=compiled)
    # recursion: forecasts fed back agree too, stepped in one kernel call or by the loop
    check(fresh_model, histories[:50], horizon=6, compiled=compiled)


@pytest.mark.skipif(not MILK.exists(), reason=f"{MILK} is absent (the shared data folder)")
@pytest.mark.parametrize("version_dir", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_models_match_keras_over_the_whole_milk_series(version_dir: Path) -> None:
    from training.data import load_series

    if read_version(version_dir).manifest.data.file_name != MILK.name:
        pytest.skip("not a milk model")
    values = load_series(MILK).values
    pipeline = read_version(version_dir).manifest.pipeline.spec()
    histories, targets = one_step_histories(values, pipeline)
    assert len(targets) == 168 - pipeline.history_length
    assert histories.shape[1] == pipeline.history_width
    check(version_dir, histories)
    short = as_rows([values[: pipeline.history_length]], pipeline.history_width)
    check(version_dir, short, horizon=12)  # the shortest history a client may send
