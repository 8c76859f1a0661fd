"""Split, scale, window and fit; then forecast every point one step ahead for scoring.

The honesty rule lives here: everything fitted (the log rule, the scaler, the
networks, the interval calibration's refits) sees the training part only, and the
test part is touched only to be forecast once the model is fixed. Windows and model
inputs come from the version's pipeline (`app.contract`), the code serving calls.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import sklearn.preprocessing

from app.contract.intervals import Calibration
from app.contract.pipeline import AffineScaler, Pipeline, as_rows, one_step_histories
from app.contract.scalers import SCALER_KINDS, affine_from_sklearn
from app.contract.seasonal import SeasonalPipeline
from app.contract.series import forecast_by_row, loggable, normalisation
from app.errors import TrainingFailed
from training.calibrate import calibrate, refits
from training.memory import with_memory
from training.network import build_ensemble, build_model, export_members
from training.presets import Preset
from training.shrinkage import Weights, choose_weights

if TYPE_CHECKING:
    import keras

SklearnScaler: TypeAlias = Any  # the class SCALER_KINDS names for the preset's scaler
CHUNK = 65_536  # history rows forecast per Keras call when scoring many series


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
    """Networks fitted on some series' training stretches, with the pipeline state they used.

    `forecast` is what serving will compute from the saved version (the parity
    check holds it to that), computed here with Keras: the members' outputs
    averaged, then the contract's inverse transforms, each row normalised as its
    series (`log`, `spread`: one entry per series fitted on, `app.contract.series`).
    """

    pipeline: Pipeline
    scaler: SklearnScaler
    affine: AffineScaler
    log: np.ndarray  # (series,) bool
    spread: np.ndarray  # (series,) float
    models: list[keras.Model]  # one Sequential model per member
    joint: keras.Model  # all members side by side, (batch, members) out
    epochs_run: int
    weight: np.ndarray  # (series,) each one's share of the network's correction

    def member_outputs(self, inputs: np.ndarray) -> np.ndarray:
        """(batch, look_back, 1) model inputs -> (members, batch) network outputs."""
        x = inputs.astype(np.float32)
        out = np.asarray(self.joint.predict(x, batch_size=max(min(len(x), 8192), 1), verbose=0))
        return out.reshape(len(x), -1).T.astype(np.float64)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return self.member_outputs(inputs).mean(axis=0)

    def forecast(self, histories: np.ndarray, horizon: int, series: np.ndarray) -> np.ndarray:
        """(batch, width) history rows of the series numbered `series` -> (batch, horizon)."""
        states = self.states(histories, series)
        return forecast_by_row(
            histories,
            horizon,
            self.pipeline,
            self.affine,
            self.predict,
            *states,
            weight=self.weight[series],
        )

    def states(self, histories: np.ndarray, series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log, spread) each history row is forecast with: its series', unless `loggable`."""
        return loggable(self.pipeline, histories, self.log[series], self.spread[series])

    def forecast_from(
        self, values: Sequence[np.ndarray], points: Sequence[np.ndarray], horizon: int
    ) -> list[np.ndarray]:
        """Per series k, (len(points[k]), horizon) forecasts from the true values before each point.

        All series go through the network together, `CHUNK` rows at a time: one Keras
        call per chunk instead of one per series (10,000 series would cost minutes).
        """
        width = self.pipeline.history_width
        jobs = [(k, t) for k, found in enumerate(points) for t in found.tolist()]
        out = np.empty((len(jobs), horizon))
        for start in range(0, len(jobs), CHUNK):
            chunk = jobs[start : start + CHUNK]
            rows = as_rows([values[k][max(0, t - width) : t] for k, t in chunk], width)
            series = np.array([k for k, _ in chunk], dtype=np.int64)
            out[start : start + len(chunk)] = self.forecast(rows, horizon, series)
        return np.split(out, np.cumsum([len(p) for p in points])[:-1])

    def one_step(self, values: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(targets, forecasts) per series: every point it can be forecast one step ahead."""
        targets = [one_step_histories(v, self.pipeline)[1] for v in values]
        return targets, [f[:, 0] for f in self.forecast_from(values, targets, 1)]

    def weighted(self, weight: float | np.ndarray, unseen: float | None = None) -> Ensemble:
        """This fit forecasting each series with `weight` (one, or one per series) of its
        network's correction, and a series it never saw with `unseen` (the pipeline's
        `network_weight`; by default `weight` when that is one number, else unchanged).

        A pipeline without a network-free forecast has no weight: it stays as it is.
        """
        if not isinstance(self.pipeline, SeasonalPipeline):
            return self
        if unseen is None:
            unseen = float(weight) if np.ndim(weight) == 0 else self.pipeline.network_weight
        pipeline = dataclasses.replace(self.pipeline, network_weight=unseen)
        per_series = np.broadcast_to(np.asarray(weight, dtype=np.float64), self.log.shape)
        return dataclasses.replace(self, pipeline=pipeline, weight=per_series)


@dataclass(frozen=True)
class Fitted:
    """A trained version with everything needed to score, report and save it.

    `evaluation` was fitted on the training parts only and made every score;
    `served` is what the version serves: the evaluation fit itself, or (`refit`) the
    same recipe refitted on all the data once the scores were taken.
    """

    evaluation: Ensemble
    served: Ensemble
    splits: list[Split]  # one per series
    calibration: Calibration
    network: Weights | None  # how much of the network each series uses; None: all, no choice
    fit_seconds: float  # the evaluation fit alone
    wall_seconds: float  # every fit, calibration refits and the refit included
    targets: list[np.ndarray]  # per series: index of every point forecast one step ahead
    predictions: list[np.ndarray]  # per series: those forecasts, in series units
    alone: list[np.ndarray] | None  # per series: the pipeline alone's forecasts of them

    @property
    def pipeline(self) -> Pipeline:
        return self.served.pipeline

    @property
    def refit(self) -> bool:
        return self.served is not self.evaluation


def plan_split(n_points: int, preset: Preset, test_periods: int | None = None) -> Split:
    """Hold out the last `test_periods` points, or the last `test_fraction` of them.

    The training part of int(n * (1 - test_fraction)) points must give one window.
    """
    if test_periods is not None:
        train_size = max(0, n_points - test_periods)
    else:
        train_size = int(n_points * (1 - preset.test_fraction))
    history = preset.spec.history_length
    if train_size - history < 1:
        held_out = (
            f"{test_periods} test periods"
            if test_periods is not None
            else f"test fraction {preset.test_fraction:g}"
        )
        raise TrainingError(
            f"too few points: {n_points} given, at least {least_points(preset, test_periods)}"
            f" needed for a window of {preset.look_back} ({history} values of history per"
            f" window) and {held_out}"
        )
    return Split(n_points, train_size, train_size - history)


def least_points(preset: Preset, test_periods: int | None = None) -> int:
    """The fewest points whose training part gives one window: `plan_split` refuses fewer.

    A long-format file skips its series shorter than this rather than refuse them all.
    """
    history = preset.spec.history_length
    if test_periods is not None:
        return history + 1 + test_periods
    least = max(1, math.ceil((history + 1) / (1 - preset.test_fraction)))
    while int(least * (1 - preset.test_fraction)) - history < 1:
        least += 1
    return least


def fit_scaler(
    train_values: np.ndarray, pipeline: Pipeline, preset: Preset
) -> tuple[SklearnScaler, AffineScaler]:
    """Fit the preset's scaler on what the pipeline scales, from the training values only."""
    return _fitted_scaler(pipeline.scaler_values(train_values), preset)


def _fitted_scaler(changes: np.ndarray, preset: Preset) -> tuple[SklearnScaler, AffineScaler]:
    scaler = getattr(sklearn.preprocessing, SCALER_KINDS[preset.scaler].sklearn_class)()
    scaler.fit(changes.reshape(-1, 1))
    return scaler, affine_from_sklearn(scaler, "fitted scaler")


def train(
    values: Sequence[np.ndarray],
    splits: Sequence[Split],
    preset: Preset,
    seed: int,
    *,
    refit: bool = False,
    verbose: int = 0,
) -> Fitted:
    """Fit the version deterministically: same values, preset and seed give the same weights.

    The evaluation ensemble is fitted on every series' training part at once; the
    recipe is refitted at a few earlier origins inside them (`training.calibrate.refits`),
    whose out-of-sample forecasts decide how much of the network to use
    (`training.shrinkage`) and then calibrate the intervals of the forecasts so made;
    every point is then forecast one step ahead, with the network and without. The test
    parts are only forecast, never fitted on. With `refit`, the recipe is then fitted
    again on all the data, and that is what the version serves.
    """
    values = [np.asarray(v, dtype=np.float64) for v in values]
    parts = [v[: s.train_size] for v, s in zip(values, splits, strict=True)]
    started = time.perf_counter()
    evaluation = fit_ensemble(parts, preset, seed, verbose=verbose)
    fit_seconds = time.perf_counter() - started
    found = refits(parts, evaluation, lambda prefixes: fit_ensemble(prefixes, preset, seed))
    network = choose_weights(parts, evaluation, found)
    if network is not None:
        evaluation = evaluation.weighted(network.series, network.pooled)
        found = [refit.weighted(network.series) for refit in found]
    try:
        calibration = calibrate(parts, evaluation, found)
    except ValueError as exc:
        raise TrainingError(f"cannot calibrate the intervals: {exc}") from None
    targets, predictions = evaluation.one_step(values)
    if not all(np.all(np.isfinite(p)) for p in predictions):
        raise TrainingError(
            "training diverged: the network forecasts non-finite values; try another --seed"
        )
    alone = None if network is None else evaluation.weighted(0.0).one_step(values)[1]
    fitted = Fitted(
        evaluation=evaluation,
        served=evaluation,
        splits=list(splits),
        calibration=calibration,
        network=network,
        fit_seconds=fit_seconds,
        wall_seconds=time.perf_counter() - started,
        targets=targets,
        predictions=predictions,
        alone=alone,
    )
    return refitted(fitted, values, preset, seed, verbose=verbose) if refit else fitted


def refitted(
    fitted: Fitted, values: Sequence[np.ndarray], preset: Preset, seed: int, *, verbose: int = 0
) -> Fitted:
    """`fitted` serving the recipe fitted again on all the data, test parts included.

    The refit keeps the evaluation fit's memories (of the season and of the level) and
    network weights: they were chosen together, on validation inside the training parts.
    """
    started = time.perf_counter()
    kept, network = fitted.evaluation.pipeline, fitted.network
    memory = kept if isinstance(kept, SeasonalPipeline) else None
    values = [np.asarray(v, dtype=np.float64) for v in values]
    served = fit_ensemble(values, preset, seed, memory=memory, verbose=verbose)
    if network is not None:
        served = served.weighted(network.series, network.pooled)
    spent = time.perf_counter() - started
    return dataclasses.replace(fitted, served=served, wall_seconds=fitted.wall_seconds + spent)


def fit_ensemble(
    series: Sequence[np.ndarray],
    preset: Preset,
    seed: int,
    *,
    memory: SeasonalPipeline | None = None,
    verbose: int = 0,
) -> Ensemble:
    """Fit the pipeline's state (per series: logs and spread; the scaler) and the members.

    The seasonal pipeline's memories are chosen first (`training.memory`), unless they
    are those of `memory`. Every series' windows go into one `fit`, each
    normalised by its own series (`app.contract.series.normalisation`), so one network
    learns from all of them.
    """
    quiet_tensorflow()
    import keras
    import tensorflow as tf

    # One series: the version's pipeline records its log rule; many: each series has its own.
    pipeline = preset.pipeline_for(series[0]) if len(series) == 1 else preset.spec
    if isinstance(pipeline, SeasonalPipeline):
        pipeline = (
            with_memory(pipeline, series)
            if memory is None
            else dataclasses.replace(
                pipeline,
                long_weight=memory.long_weight,
                flat_weight=memory.flat_weight,
                level_weight=memory.level_weight,
            )
        )
    states = [normalisation(pipeline, v) for v in series]
    log = np.array([s[0] for s in states], dtype=bool)
    spread = np.array([s[1] for s in states], dtype=np.float64)
    specs = [_with_log(pipeline, flag) for flag in log.tolist()]
    changes = [spec.scaler_values(v) / s for spec, v, s in zip(specs, series, spread, strict=True)]
    scaler, affine = _fitted_scaler(np.concatenate(changes), preset)
    windows = [
        spec.training_windows(v, affine.per_series(np.array([s])))[:2]
        for spec, v, s in zip(specs, series, spread, strict=True)
    ]
    x = np.concatenate([w[0] for w in windows]).astype(np.float32)
    if not len(x):
        raise TrainingError(f"too few points to fit: {max(map(len, series))}")
    targets = np.concatenate([w[1] for w in windows]).astype(np.float32)
    y = np.repeat(targets[:, np.newaxis], preset.members, axis=1)

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if preset.members == 1:  # the post's model, built exactly as before
        joint = build_model(preset.look_back, preset.units, preset.learning_rate)
    else:
        joint = build_ensemble(preset.look_back, preset.units, preset.learning_rate, preset.members)
    batch_size = preset.batch_for(len(x))
    epochs = preset.epochs_for(len(x))
    joint.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    models = (
        [joint]
        if preset.members == 1
        else export_members(joint, preset.look_back, preset.units, preset.members)
    )
    return Ensemble(pipeline, scaler, affine, log, spread, models, joint, epochs, np.ones(len(log)))


def _with_log(pipeline: Pipeline, log: bool) -> Pipeline:
    return (
        dataclasses.replace(pipeline, log=log)
        if isinstance(pipeline, SeasonalPipeline)
        else pipeline
    )


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
