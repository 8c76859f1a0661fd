"""One training run: fit, score, draw, write the version directory, prove it can be served.

`training.cli` parses and checks the command line; this module does the work,
through `app.contract` for every transform, score and write, and through the
service's own loader (`load_forecaster`) for the final check.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from app.contract.intervals import CALIBRATION_FILE
from app.contract.manifest import DataInfo, IntervalInfo, TrainingInfo, describe_pipeline
from app.contract.pipeline import one_step_histories
from app.contract.scoring import BASELINE_LABELS
from app.contract.store import REPORT_FILE, SCALER_FILE, network_file
from app.contract.writer import write_version
from app.engine.network import PARITY
from app.forecaster import load_forecaster
from training.data import Series
from training.fit import Fitted, TrainingError, train
from training.network import describe
from training.presets import Preset
from training.report import plot, score


def run(
    series: Series, preset: Preset, name: str, seed: int, models_dir: Path, *, quiet: bool = False
) -> Path:
    """Train, print the scores, write the version directory atomically; return its path.

    The version is published only once the service's own loader has read it back
    and its forecasts on the training part equal the Keras model's (see `prove_servable`).
    """
    if not quiet:
        for note in series.notes:
            print(f"data: {note}")
        print(f"training {name!r} with the {preset.name!r} preset, seed {seed}", flush=True)
    fitted = train(series.values, preset, seed, verbose=0 if quiet else 2)
    metrics = score(series.values, fitted, preset.season_length)
    print(f"Train Score: {metrics.train.rmse:.2f} RMSE")
    print(f"Test Score: {metrics.test.rmse:.2f} RMSE")
    for kind, scores in metrics.baselines.items():
        print(f"{BASELINE_LABELS[kind]}: {scores.rmse:.2f} RMSE")

    def build(directory: Path, version: int) -> dict[str, Any]:
        members = fitted.ensemble.models
        networks = [network_file(k, len(members)) for k in range(len(members))]
        for model, file_name in zip(members, networks, strict=True):
            model.save(directory / file_name)
        joblib.dump(fitted.ensemble.scaler, directory / SCALER_FILE)
        (directory / CALIBRATION_FILE).write_text(fitted.calibration.model_dump_json() + "\n")
        title = f"{name} v{version}: one-step-ahead forecasts, {preset.name} preset"
        plot(directory / REPORT_FILE, series, fitted, metrics, title)
        fields = manifest_fields(name, series, preset, fitted, seed)
        return fields | {"metrics": metrics, "networks": networks}

    try:
        return write_version(
            models_dir, name, build, verify=lambda d: prove_servable(d, series.values, fitted)
        )
    except OSError as exc:
        raise TrainingError(f"cannot write under {models_dir}: {exc.strerror or exc}") from None


def prove_servable(version_dir: Path, values: np.ndarray, fitted: Fitted) -> None:
    """Load the version as the service does and check its forecasts are the Keras model's.

    The parity rule: on every training-part window, every member's output from
    the NumPy engine equals its Keras model's within `PARITY` (network output units),
    and the combined one-step forecast equals Keras' within `PARITY` in those units
    (at least `PARITY` in series units). So a model the service would refuse, or
    would compute differently, fails here with a clear message instead of at
    the next start.
    """
    try:
        forecaster = load_forecaster(version_dir)
    except Exception as exc:  # whatever the loader refuses, training must say so
        raise TrainingError(f"the trained model cannot be served: {exc}") from None
    ensemble = fitted.ensemble
    histories, targets = one_step_histories(values[: fitted.split.train_size], fitted.pipeline)
    inputs = fitted.pipeline.model_inputs(histories, ensemble.affine)
    members = forecaster.network.predict(inputs)[..., 0]
    _within("member outputs", members, ensemble.member_outputs(inputs), PARITY)
    served = forecaster.forecast(histories, 1)[:, 0]
    trained = fitted.predictions[np.isin(fitted.targets, targets)]
    _within("forecasts", served, trained, PARITY * max(1.0, 1.0 / abs(ensemble.affine.scale)))


def _within(what: str, served: np.ndarray, trained: np.ndarray, tolerance: float) -> None:
    worst = float(np.max(np.abs(served - trained), initial=0.0))
    if not worst <= tolerance:
        raise TrainingError(
            f"the served {what} differ from Keras' by up to {worst:.3g} on the training part"
            f" (tolerance {tolerance:.3g}); the engine cannot serve this model faithfully"
        )


def manifest_fields(
    name: str, series: Series, preset: Preset, fitted: Fitted, seed: int
) -> dict[str, Any]:
    """Every manifest field that describes the model, the data and the run (not the files)."""
    train_values = series.values[: fitted.split.train_size]
    return {
        "name": name,
        "created_at": datetime.now(UTC),
        "pipeline": describe_pipeline(fitted.pipeline, preset.scaler),
        "architecture": describe(fitted.ensemble.models[0], len(fitted.ensemble.models)),
        "calibration": CALIBRATION_FILE,
        "intervals": IntervalInfo(
            method=fitted.calibration.method,
            space=fitted.calibration.space,
            horizon=fitted.calibration.horizon,
            residuals_per_step=[len(r) for r in fitted.calibration.residuals],
            origins=fitted.calibration.origins,
        ),
        "training": TrainingInfo(
            preset=preset.name,
            epochs=fitted.ensemble.epochs_run,
            epochs_run=fitted.ensemble.epochs_run,
            batch_size=preset.batch_size,
            seed=seed,
            learning_rate=preset.learning_rate,
            test_fraction=preset.test_fraction,
            validation_fraction=0.0,
            early_stopping=False,
            wall_seconds=round(fitted.wall_seconds, 3),
        ),
        "data": DataInfo(
            file_name=series.source.name,
            frequency=series.frequency,
            sha256=series.sha256,
            n_points=len(series.values),
            first_period=series.periods[0],
            last_period=series.periods[-1],
            value_name=series.value_name,
            train_points=fitted.split.train_size,
            test_points=len(series.values) - fitted.split.train_size,
            train_min=float(np.min(train_values)),
            train_max=float(np.max(train_values)),
        ),
        "libraries": library_versions(),
    }


def library_versions() -> dict[str, str]:
    """Versions that decide whether this model.keras and scaler.joblib load the same way."""
    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }
