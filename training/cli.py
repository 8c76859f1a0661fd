"""`forecast-train` / `python -m training`: train on a CSV and write the next model version.

Bad input of any kind (unreadable CSV, impossible option values, a series too
short for the window and the split) ends with one line on stderr and exit code
2, before TensorFlow is even imported: a user should read what to fix, not a
traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import joblib
import numpy as np

from app.contract.manifest import DataInfo, PipelineInfo, TrainingInfo
from app.contract.scoring import BASELINE_LABELS
from app.contract.store import MODEL_FILE, REPORT_FILE, SCALER_FILE
from app.contract.writer import write_version
from training.data import DataError, Series, load_series
from training.fit import Fitted, TrainingError, plan_split, train
from training.network import describe
from training.presets import PRESETS, Preset
from training.report import plot, score

PROG = "forecast-train"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class UsageError(Exception):
    """A command-line value that cannot be used; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (no usage dump) and reach `main`'s handler."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """Options default to None where the preset decides, so only what the user typed overrides."""
    parser = _Parser(
        prog=PROG,
        description="Train the LSTM forecaster on a CSV series and write models/<name>/<version>/.",
    )
    parser.add_argument("--data", required=True, type=Path, help="CSV with a period and a value")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="default: the recommended model; seed: the blog post's model, for comparison",
    )
    parser.add_argument("--look-back", type=int, help="window length the network sees")
    parser.add_argument("--units", type=int, help="units of every LSTM layer")
    parser.add_argument("--epochs", type=int, help="epochs (the upper bound with early stopping)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--test-fraction", type=float, help="share of points held out (0.33)")
    parser.add_argument("--season-length", type=int, help="points per season (default 12)")
    parser.add_argument("--name", help="model name (default: from the CSV file name)")
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--date-column", help="period column, when the CSV is ambiguous")
    parser.add_argument("--value-column", help="value column, when the CSV is ambiguous")
    parser.add_argument("--quiet", action="store_true", help="no progress, only the results")
    return parser


def configure(args: argparse.Namespace) -> Preset:
    """The chosen preset with the command line's overrides applied and checked."""
    preset = PRESETS[args.preset]
    overrides: dict[str, Any] = {
        field: getattr(args, field)
        for field in ("look_back", "epochs", "batch_size", "test_fraction", "season_length")
        if getattr(args, field) is not None
    }
    if args.units is not None:
        overrides["units"] = (args.units,) * len(preset.units)
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be between 0 and 2**32 - 1, got {args.seed}")
    try:
        return dataclasses.replace(preset, **overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def model_name(args: argparse.Namespace) -> str:
    """The --name given, or the CSV's file stem made safe as a directory and URL segment."""
    name = args.name
    if name is None:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", args.data.stem).strip("._-").lower() or "model"
        name = name[:100]
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"--name {name!r}: use 1-100 letters, digits, '.', '_' or '-', not starting with '.' "
            "or '-'"
        )
    return name


def check_writable(target: Path) -> None:
    """Refuse a models directory that cannot be written before spending minutes training."""
    existing = next(p for p in (target, *target.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {target}: {existing} is not a writable directory")


def main(argv: list[str] | None = None) -> int:
    """Validate everything cheap first, then train; the exit code is 0, or 2 for bad input."""
    try:
        args = build_parser().parse_args(argv)
        preset = configure(args)
        name = model_name(args)
        series = load_series(
            args.data, date_column=args.date_column, value_column=args.value_column
        )
        plan_split(len(series.values), preset)  # refuse a too-short series before importing TF
        check_writable(args.models_dir / name)
        version_dir = run(series, preset, name, args)
    except (UsageError, DataError, TrainingError) as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(version_dir)
    return 0


def run(series: Series, preset: Preset, name: str, args: argparse.Namespace) -> Path:
    """Train, print the scores, write the version directory atomically; return its path."""
    if not args.quiet:
        for note in series.notes:
            print(f"data: {note}")
        print(f"training {name!r} with the {preset.name!r} preset, seed {args.seed}", flush=True)
    fitted = train(series.values, preset, args.seed, verbose=0 if args.quiet else 2)
    metrics = score(series.values, fitted, preset.season_length)
    print(f"Train Score: {metrics.train.rmse:.2f} RMSE")
    print(f"Test Score: {metrics.test.rmse:.2f} RMSE")
    for kind, scores in metrics.baselines.items():
        print(f"{BASELINE_LABELS[kind]}: {scores.rmse:.2f} RMSE")

    def build(directory: Path, version: int) -> dict[str, Any]:
        fitted.model.save(directory / MODEL_FILE)
        joblib.dump(fitted.scaler, directory / SCALER_FILE)
        title = f"{name} v{version}: one-step-ahead forecasts, {preset.name} preset"
        plot(directory / REPORT_FILE, series, fitted, metrics, title)
        return manifest_fields(name, series, preset, fitted, args.seed) | {"metrics": metrics}

    try:
        return write_version(args.models_dir, name, build)
    except OSError as exc:
        raise UsageError(f"cannot write under {args.models_dir}: {exc.strerror or exc}") from None


def manifest_fields(
    name: str, series: Series, preset: Preset, fitted: Fitted, seed: int
) -> dict[str, Any]:
    """Every manifest field that describes the model, the data and the run (not the files)."""
    train_values = series.values[: fitted.split.train_size]
    return {
        "name": name,
        "created_at": datetime.now(UTC),
        "pipeline": PipelineInfo(
            look_back=preset.look_back,
            transform=preset.transform,
            scaler=preset.scaler,
            season_length=preset.season_length,
        ),
        "architecture": describe(fitted.model),
        "training": TrainingInfo(
            preset=preset.name,
            epochs=preset.epochs,
            epochs_run=fitted.epochs_run,
            batch_size=preset.batch_size,
            seed=seed,
            learning_rate=preset.learning_rate,
            test_fraction=preset.test_fraction,
            validation_fraction=preset.validation_fraction,
            early_stopping=preset.patience is not None,
            wall_seconds=round(fitted.wall_seconds, 3),
        ),
        "data": DataInfo(
            file_name=series.source.name,
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
