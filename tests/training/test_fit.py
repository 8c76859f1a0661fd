"""Fitting (`training.fit`) is deterministic: trained again on the same data with the same seed,
the next version has the same weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from trainkit import train_cli

from app.contract.store import MODEL_FILE

# Keras' TensorFlow backend calls np.array on tensors in a way NumPy 2 deprecates; not ours.


def test_next_run_is_version_2_with_identical_weights(
    trained: tuple[Path, Path, str], tmp_path: Path
) -> None:
    import keras

    csv, version_dir, _ = trained
    models = tmp_path / "models"
    shutil.copytree(version_dir.parent, models / "synthetic-sales")
    code, out = train_cli(csv, models)
    assert code == 0 and out.splitlines()[-1] == str(models / "synthetic-sales" / "2")
    first, second = (
        keras.saving.load_model(models / "synthetic-sales" / v / MODEL_FILE).get_weights()
        for v in ("1", "2")
    )
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
