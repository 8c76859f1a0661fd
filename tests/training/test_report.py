"""The scores training records (`training.report`) are what the saved model and scaler give."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from trainkit import train_cli

from app.contract.pipeline import AffineScaler, one_step_histories
from app.contract.scalers import affine_from_sklearn
from app.contract.scoring import rmse
from app.contract.series import SERIES_FILE
from app.contract.store import MODEL_FILE, SCALER_FILE, read_version

# Keras' TensorFlow backend calls np.array on tensors in a way NumPy 2 deprecates; not ours.


def test_without_refit_the_saved_model_and_scaler_reproduce_the_test_rmse(
    trained: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """The served weights are the scored ones with --no-refit; by default they are refitted."""
    import keras

    csv, refitted, _ = trained
    assert read_version(refitted).manifest.training.refit
    code, out = train_cli(csv, tmp_path / "models", "--no-refit")
    assert code == 0, out
    version_dir = Path(out.split()[-1])
    m = read_version(version_dir).manifest
    assert not m.training.refit
    series = pd.read_csv(csv)["Sales"].to_numpy(dtype=np.float64)
    model = keras.saving.load_model(version_dir / MODEL_FILE)
    affine = affine_from_sklearn(joblib.load(version_dir / SCALER_FILE), "test")
    table = json.loads((version_dir / SERIES_FILE).read_text())  # one series: its spread
    affine = AffineScaler(affine.scale / table["spread"][0], affine.offset)
    spec = m.pipeline.spec()
    histories, targets = one_step_histories(series, spec)
    test = targets >= m.data.train_points
    inputs = spec.model_inputs(histories[test], affine).astype(np.float32)
    outputs = model.predict(inputs, batch_size=len(inputs), verbose=0)[:, 0]
    predicted = spec.to_series_units(outputs, histories[test], affine)
    assert rmse(series[targets[test]], predicted) == pytest.approx(m.metrics.test.rmse, rel=1e-6)
