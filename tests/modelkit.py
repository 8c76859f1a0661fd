"""Small, valid model directories for the service's tests, built the way training builds them.

The networks are real Keras 3 `.keras` files (random weights: the tests check
plumbing and arithmetic, not accuracy), saved once per test session in a
subprocess so TensorFlow never enters the test process. Scalers are fitted
scikit-learn scalers and directories are written with `app.contract.writer.write_version`,
so they carry genuine manifests and hashes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import sklearn.preprocessing

from app.contract.differencing import DifferencingPipeline, Transform, difference
from app.contract.intervals import CALIBRATION_FILE, Calibration
from app.contract.scalers import SCALER_KINDS
from app.contract.store import MODEL_FILE, REPORT_FILE, SCALER_FILE
from app.contract.writer import write_version

SEASON = 12
TRAIN_POINTS = 80
# A PNG signature and a tiny IHDR-free payload: the service serves report.png as bytes.
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"toy report"


@dataclass(frozen=True)
class Toy:
    """One toy model: its pipeline and its LSTM stack."""

    name: str
    look_back: int
    transform: Transform
    scaler: Literal["minmax", "standard"]
    units: tuple[int, ...]
    interval_horizon: int = 0  # 0: no calibration, like a version trained before intervals

    @property
    def spec(self) -> DifferencingPipeline:
        return DifferencingPipeline(self.look_back, self.transform, SEASON)


TOYS = (
    Toy("toy", 3, Transform.NONE, "minmax", (4,), interval_horizon=6),
    Toy("toy-diff", 4, Transform.SEASONAL_AND_FIRST_DIFFERENCE, "standard", (5, 3)),
)


def synthetic_series(n: int = 96, seed: int = 0) -> np.ndarray:
    """Trend + yearly season + noise, around the milk series' level (pounds per cow)."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 5, n)
    return 600 + 2.0 * t + 50 * np.sin(2 * np.pi * t / SEASON) + noise


def save_keras_models(out_dir: Path) -> None:
    """Save `<toy.name>.keras` for every toy; imports Keras, so run it in a subprocess."""
    import keras

    for seed, toy in enumerate(TOYS):
        keras.utils.set_random_seed(seed)
        stack = [
            keras.layers.LSTM(u, return_sequences=i < len(toy.units) - 1)
            for i, u in enumerate(toy.units)
        ]
        model = keras.Sequential([keras.Input((toy.look_back, 1)), *stack, keras.layers.Dense(1)])
        model.save(out_dir / f"{toy.name}.keras")


def build_keras_models(out_dir: Path) -> None:
    """Run `save_keras_models` in a fresh interpreter and wait for it."""
    code = (
        f"import modelkit; modelkit.save_keras_models(__import__('pathlib').Path({str(out_dir)!r}))"
    )
    env_path = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]
    subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {env_path!r}; {code}"],
        check=True,
        capture_output=True,
        timeout=300,
    )


def write_toy(models_dir: Path, toy: Toy, keras_file: Path, series: np.ndarray) -> Path:
    """Write the next version of `toy` under `models_dir` from a saved `.keras` file."""

    def build(tmp: Path, version: int) -> dict[str, Any]:
        (tmp / MODEL_FILE).write_bytes(keras_file.read_bytes())
        joblib.dump(fit_scaler(toy, series[:TRAIN_POINTS]), tmp / SCALER_FILE)
        (tmp / REPORT_FILE).write_bytes(FAKE_PNG)
        calibration = toy_calibration(toy)
        if calibration is not None:
            (tmp / CALIBRATION_FILE).write_text(calibration.model_dump_json())
        return manifest_fields(toy, series, calibration)

    return write_version(models_dir, toy.name, build)


def publish_good(models_dir: Path, keras_file: Path) -> int:
    """The next version of `toy`, written atomically by the training code's writer."""
    return int(write_toy(models_dir, TOYS[0], keras_file, synthetic_series()).name)


def fit_scaler(toy: Toy, train: np.ndarray) -> Any:
    scaler = getattr(sklearn.preprocessing, SCALER_KINDS[toy.scaler].sklearn_class)()
    return scaler.fit(difference(train, toy.spec).reshape(-1, 1))


def toy_calibration(toy: Toy) -> Calibration | None:
    """Residuals of a forecast error that grows like a random walk's: sd 5 * sqrt(step)."""
    if not toy.interval_horizon:
        return None
    rng = np.random.default_rng(11)
    residuals = [
        sorted(np.abs(rng.normal(0, 5 * np.sqrt(h), 59)).round(4).tolist())
        for h in range(1, toy.interval_horizon + 1)
    ]
    return Calibration(space="identity", origins=[40, 60], residuals=residuals)


def manifest_fields(
    toy: Toy, series: np.ndarray, calibration: Calibration | None = None
) -> dict[str, Any]:
    """Every manifest field but `version` and `files`; the metrics are placeholders."""
    train = series[:TRAIN_POINTS]
    scores = {"n": 10, "rmse": 10.0, "mae": 8.0, "mape": 1.0, "mase": 0.5}
    layers = [
        {
            "kind": "LSTM",
            "units": u,
            "activation": "tanh",
            "return_sequences": i < len(toy.units) - 1,
        }
        for i, u in enumerate(toy.units)
    ] + [{"kind": "Dense", "units": 1, "activation": "linear"}]
    return {
        "name": toy.name,
        "created_at": datetime.now(UTC),
        "pipeline": {
            "kind": "difference",
            "look_back": toy.look_back,
            "transform": toy.transform,
            "scaler": toy.scaler,
            "season_length": SEASON,
        },
        "architecture": {"layers": layers, "parameters": 100, "members": 1},
        "networks": [MODEL_FILE],
        "calibration": CALIBRATION_FILE if calibration else None,
        "intervals": None
        if calibration is None
        else {
            "method": calibration.method,
            "space": calibration.space,
            "horizon": calibration.horizon,
            "residuals_per_step": [len(r) for r in calibration.residuals],
            "origins": calibration.origins,
        },
        "training": {
            "preset": "toy",
            "epochs": 1,
            "epochs_run": 1,
            "batch_size": 1,
            "seed": 0,
            "learning_rate": 0.001,
            "test_fraction": 0.2,
            "validation_fraction": 0.0,
            "early_stopping": False,
            "wall_seconds": 0.0,
        },
        "data": {
            "file_name": "synthetic.csv",
            "frequency": "monthly",
            "n_points": len(series),
            "sha256": hashlib.sha256(series.tobytes()).hexdigest(),
            "first_period": "2000-01",
            "last_period": "2007-12",
            "value_name": "value",
            "train_points": TRAIN_POINTS,
            "test_points": len(series) - TRAIN_POINTS,
            "train_min": float(train.min()),
            "train_max": float(train.max()),
        },
        "metrics": {
            "train": scores,
            "test": scores,
            "baselines": {
                "persistence": {"rmse": 20.0, "mae": 15.0},
                "seasonal_naive": {"rmse": 12.0, "mae": 9.0},
            },
            "intervals": [],
            "steps": [],
        },
        "libraries": {"python": sys.version.split()[0], "numpy": np.__version__},
    }


def rewrite_manifest(version_dir: Path, **changes: Any) -> None:
    """Edit manifest fields in place (hashes untouched), for tests of refused manifests."""
    path = version_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def clone_version(model_dir: Path, source: int, target: int) -> Path:
    """Copy a version directory to a new version number, manifest renumbered (hashes kept)."""
    destination = model_dir / str(target)
    shutil.copytree(model_dir / str(source), destination)
    rewrite_manifest(destination, version=target)
    return destination


class OpensAFile:
    """Unpickling this creates `marker`: proof that a pickle's code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))
