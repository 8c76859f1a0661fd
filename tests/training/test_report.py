"""The scores training records (`training.report`) are what the saved model and scaler give."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from app.contract.pipeline import one_step_histories
from app.contract.scalers import affine_from_sklearn
from app.contract.scoring import rmse
from app.contract.store import MODEL_FILE, SCALER_FILE, read_version

# Keras' TensorFlow backend calls np.array on tensors in a way NumPy 2 deprecates; not ours.


def test_saved_model_and_scaler_reproduce_the_test_rmse(trained: tuple[Path, Path, str]) -> None:
    import keras

    csv, version_dir, _ = trained
    m = read_version(version_dir).manifest
    series = pd.read_csv(csv)["Sales"].to_numpy(dtype=np.float64)
    model = keras.saving.load_model(version_dir / MODEL_FILE)
    affine = affine_from_sklearn(joblib.load(version_dir / SCALER_FILE), "test")
    spec = m.pipeline.spec()
    histories, targets = one_step_histories(series, spec)
    test = targets >= m.data.train_points
    inputs = spec.model_inputs(histories[test], affine).astype(np.float32)
    outputs = model.predict(inputs, batch_size=len(inputs), verbose=0)[:, 0]
    predicted = spec.to_series_units(outputs, histories[test], affine)
    assert rmse(series[targets[test]], predicted) == pytest.approx(m.metrics.test.rmse, rel=1e-6)
