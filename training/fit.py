"""Split, scale, window and fit; then forecast every point one step ahead for scoring.

The honesty rule lives here: everything fitted (the log rule, the scaler, the
networks, the interval calibration's refits) sees the training part only, and the
test part is touched only to be forecast once the model is fixed. Windows and model
inputs come from the version's pipeline (`app.contract`), the code serving calls.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import sklearn.preprocessing

from app.contract.intervals import Calibration
from app.contract.pipeline import AffineScaler, Pipeline, one_step_histories, recursive_forecast
from app.contract.scalers import SCALER_KINDS, affine_from_sklearn
from app.errors import TrainingFailed
from training.calibrate import calibrate
from training.network import build_ensemble, build_model, export_members
from training.presets import Preset

if TYPE_CHECKING:
    import keras

SklearnScaler: TypeAlias = Any  # the class SCALER_KINDS names for the preset's scaler


class TrainingError(TrainingFailed):
    """The series cannot be trained on with these settings; the message is one line."""


@dataclass(frozen=True)
class Split:
    """Where the training part ends: points [0, train_size) train, the rest test."""

    n_points: int
    train_size: int
    windows: int  # one-step windows the training part offers


@dataclass(frozen=True)
class Ensemble:
    """Networks fitted on one stretch of a series, with the pipeline state they were fitted with.

    `forecast` is what serving will compute from the saved version (the parity
    check holds it to that), computed here with Keras: the members' outputs
    averaged, then the contract's inverse transforms.
    """

    pipeline: Pipeline
    scaler: SklearnScaler
    affine: AffineScaler
    models: list[keras.Model]  # one Sequential model per member
    joint: keras.Model  # all members side by side, (batch, members) out
    epochs_run: int

    def member_outputs(self, inputs: np.ndarray) -> np.ndarray:
        """(batch, look_back, 1) model inputs -> (members, batch) network outputs."""
        x = inputs.astype(np.float32)
        out = np.asarray(self.joint.predict(x, batch_size=max(len(x), 1), verbose=0))
        return out.reshape(len(x), -1).T.astype(np.float64)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return self.member_outputs(inputs).mean(axis=0)

    def forecast(self, histories: np.ndarray, horizon: int) -> np.ndarray:
        return recursive_forecast(histories, horizon, self.pipeline, self.affine, self.predict)


@dataclass(frozen=True)
class Fitted:
    """A trained version with everything needed to score, report and save it."""

    ensemble: Ensemble
    split: Split
    calibration: Calibration
    fit_seconds: float  # the final fit alone
    wall_seconds: float  # every fit, calibration refits included
    targets: np.ndarray  # index of every point forecast one step ahead
    predictions: np.ndarray  # those forecasts, in series units

    @property
    def pipeline(self) -> Pipeline:
        return self.ensemble.pipeline


def plan_split(n_points: int, preset: Preset) -> Split:
    """Train on the first int(n * (1 - test_fraction)) points; refuse splits that cannot train."""
    train_size = int(n_points * (1 - preset.test_fraction))
    history = preset.spec.history_length
    if train_size - history < 1:
        raise TrainingError(
            f"too few points: {n_points} given, at least {least_points(preset)} needed for a"
            f" window of {preset.look_back} ({history} values of history per window) and test"
            f" fraction {preset.test_fraction:g}"
        )
    return Split(n_points, train_size, train_size - history)


def least_points(preset: Preset) -> int:
    """The fewest points whose training part gives one window: `plan_split` refuses fewer.

    A long-format file skips its series shorter than this rather than refuse them all.
    """
    history = preset.spec.history_length
    least = max(1, math.ceil((history + 1) / (1 - preset.test_fraction)))
    while int(least * (1 - preset.test_fraction)) - history < 1:
        least += 1
    return least


def fit_scaler(
    train_values: np.ndarray, pipeline: Pipeline, preset: Preset
) -> tuple[SklearnScaler, AffineScaler]:
    """Fit the preset's scaler on what the pipeline scales, from the training values only."""
    scaler = getattr(sklearn.preprocessing, SCALER_KINDS[preset.scaler].sklearn_class)()
    scaler.fit(pipeline.scaler_values(train_values).reshape(-1, 1))
    return scaler, affine_from_sklearn(scaler, "fitted scaler")


def train(values: np.ndarray, preset: Preset, seed: int, *, verbose: int = 0) -> Fitted:
    """Fit the version deterministically: same values, preset and seed give the same weights.

    The final ensemble is fitted on the whole training part; the interval
    calibration refits the same recipe at a few earlier origins inside it
    (`training.calibrate`). The test part is only forecast, never fitted on.
    """
    values = np.asarray(values, dtype=np.float64)
    split = plan_split(len(values), preset)
    train_part = values[: split.train_size]
    started = time.perf_counter()
    ensemble = fit_ensemble(train_part, preset, seed, verbose=verbose)
    fit_seconds = time.perf_counter() - started
    calibration = calibrate(
        train_part, ensemble.pipeline, lambda prefix: fit_ensemble(prefix, preset, seed)
    )
    histories, targets = one_step_histories(values, ensemble.pipeline)
    predictions = ensemble.forecast(histories, 1)[:, 0]
    if not np.all(np.isfinite(predictions)):
        raise TrainingError(
            "training diverged: the network forecasts non-finite values; try another --seed"
        )
    return Fitted(
        ensemble=ensemble,
        split=split,
        calibration=calibration,
        fit_seconds=fit_seconds,
        wall_seconds=time.perf_counter() - started,
        targets=targets,
        predictions=predictions,
    )


def fit_ensemble(
    train_values: np.ndarray, preset: Preset, seed: int, *, verbose: int = 0
) -> Ensemble:
    """Fit the pipeline's state (log rule, scaler) and the members on `train_values` only."""
    quiet_tensorflow()
    import keras
    import tensorflow as tf

    pipeline = preset.pipeline_for(train_values)
    scaler, affine = fit_scaler(train_values, pipeline, preset)
    inputs, scaled_targets, _ = pipeline.training_windows(train_values, affine)
    if not len(inputs):
        raise TrainingError(f"too few points to fit: {len(train_values)}")
    x = inputs.astype(np.float32)
    y = np.repeat(scaled_targets.astype(np.float32)[:, np.newaxis], preset.members, axis=1)

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if preset.members == 1:  # the post's model, built exactly as before
        joint = build_model(preset.look_back, preset.units, preset.learning_rate)
    else:
        joint = build_ensemble(preset.look_back, preset.units, preset.learning_rate, preset.members)
    epochs = preset.epochs_for(len(x))
    joint.fit(
        x,
        y,
        epochs=epochs,
        batch_size=min(preset.batch_size, len(x)),
        shuffle=True,
        verbose=verbose,
    )
    models = (
        [joint]
        if preset.members == 1
        else export_members(joint, preset.look_back, preset.units, preset.members)
    )
    return Ensemble(pipeline, scaler, affine, models, joint, epochs)


def quiet_tensorflow() -> None:
    """Settings TensorFlow reads once, when it is first imported; call before that import.

    TF_CPP_MIN_LOG_LEVEL=3 hides the C++ log lines (benign graph and kernel notices)
    that would bury the progress output; Python exceptions still surface. oneDNN is
    turned off because its blocked float sums may vary with thread timing, while a
    fixed seed must fix the weights exactly; these networks are too small for it to
    matter for speed.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
