"""One training run: fit, score, draw, write the version directory, prove it can be served.

`training.cli` parses and checks the command line into a `Plan`; this module does the
work, through `app.contract` for every transform, score and write, and through the
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
from app.contract.manifest import (
    DataInfo,
    IntervalInfo,
    NetworkChoice,
    SeriesInfo,
    TrainingInfo,
    describe_pipeline,
)
from app.contract.pipeline import as_rows
from app.contract.scoring import BASELINE_LABELS
from app.contract.series import (
    HISTORIES_FILE,
    SERIES_FILE,
    SeriesFile,
    histories_bytes,
    inputs_by_row,
)
from app.contract.store import REPORT_FILE, SCALER_FILE, network_file
from app.contract.writer import write_version
from app.engine.network import PARITY
from app.forecaster import load_forecaster
from training.datafile import training_data
from training.fit import Fitted, TrainingError
from training.network import describe
from training.plan import Plan
from training.report import Drawn, Scored, chosen, plot, score
from training.window import fit_plan

PARITY_ROWS = 20_000  # series (latest histories) the parity check forecasts, at most


def run(plan: Plan, name: str, seed: int, models_dir: Path, *, quiet: bool = False) -> Path:
    """Train, print the scores, write the version directory atomically; return its path.

    The version is published only once the service's own loader has read it back
    and its forecasts equal the Keras model's (see `prove_servable`).
    """
    panel, preset = plan.panel, plan.preset
    ids = list(panel.series)
    values = [s.values for s in panel.series.values()]
    if not quiet:
        only = next(iter(panel.series.values())).notes if len(ids) == 1 else ()
        for note in (*panel.notes, *only):  # many series: the file's summary, not one per series
            print(f"data: {note}")
        what = f"{len(ids)} series" if len(ids) > 1 else "one series"
        print(
            f"training {name!r} on {what} with the {preset.name!r} preset, seed {seed}", flush=True
        )
    plan, fitted = fit_plan(plan, seed, verbose=0 if quiet else 2)
    preset = plan.preset
    scored = score(values, ids, fitted)
    report(scored, None if fitted.network is None else fitted.network.record)

    def build(directory: Path, version: int) -> dict[str, Any]:
        members = fitted.served.models
        networks = [network_file(k, len(members)) for k in range(len(members))]
        for model, file_name in zip(members, networks, strict=True):
            model.save(directory / file_name)
        joblib.dump(fitted.served.scaler, directory / SCALER_FILE)
        data, record = training_data(panel)
        (directory / record.file).write_bytes(data)
        (directory / CALIBRATION_FILE).write_text(fitted.calibration.model_dump_json() + "\n")
        table = series_table(plan, fitted, scored)
        (directory / SERIES_FILE).write_text(table.model_dump_json() + "\n")
        (directory / HISTORIES_FILE).write_bytes(latest_histories(values, fitted))
        title = f"{name} v{version}: one-step-ahead forecasts, {preset.name} preset"
        drawn = [_drawn(plan, ids, k) for k in (chosen(scored) if len(ids) > 1 else [0])]
        plot(directory / REPORT_FILE, drawn, fitted, scored, title)
        fields = manifest_fields(name, plan, fitted, seed)
        info = SeriesInfo(
            file=SERIES_FILE,
            histories=HISTORIES_FILE,
            count=len(ids),
            width=fitted.pipeline.history_width,
        )
        files = {"networks": networks, "series": info, "training_data": record}
        return fields | files | {"metrics": scored.metrics}

    try:
        return write_version(
            models_dir, name, build, verify=lambda d: prove_servable(d, values, fitted)
        )
    except OSError as exc:
        raise TrainingError(f"cannot write under {models_dir}: {exc.strerror or exc}") from None


def report(scored: Scored, network: NetworkChoice | None) -> None:
    """The scores a user reads at the end of a run: pooled, then across series."""
    metrics = scored.metrics
    if network is not None:
        print(
            f"Network weight: {_weights(network)} (validation RMSE inside the training part:"
            f" pipeline alone {network.rmse_alone:.4g}, whole network {network.rmse_network:.4g},"
            f" chosen {network.rmse_chosen:.4g})"
        )
    print(f"Train Score: {metrics.train.rmse:.2f} RMSE")
    print(f"Test Score: {metrics.test.rmse:.2f} RMSE")
    for kind, scores in metrics.baselines.items():
        print(f"{BASELINE_LABELS[kind]}: {scores.rmse:.2f} RMSE")
    if (panel := metrics.panel) is not None:
        worst = (f"{w.series_id} ({w.mase / w.seasonal_naive_mase:.2f})" for w in panel.worst)
        print(
            f"Across {panel.series} series: geometric mean of MASE / seasonal-naive MASE"
            f" {panel.gm_mase_ratio:.3f}, mean MASE {panel.mean_mase:.3f}; worst:"
            f" {', '.join(worst)}"
        )
        if panel.gm_rmse_to_pipeline_alone is not None and panel.network_hurts is not None:
            print(
                "Against the pipeline alone: geometric mean of RMSE ratios"
                f" {panel.gm_rmse_to_pipeline_alone:.3f}; the network hurts"
                f" {panel.network_hurts:.1%} of series"
            )


def _weights(network: NetworkChoice) -> str:
    """`0.41`, or for many series how the weights spread and how many are 0."""
    low, median, high = network.series_weights
    if low == high:
        return f"{low:.2f}"
    return (
        f"{low:.2f} to {high:.2f} over the series (median {median:.2f}; the pipeline alone for"
        f" {network.series_without_network:.0%})"
    )


def _drawn(plan: Plan, ids: list[str], k: int) -> Drawn:
    series = plan.panel.series[ids[k]]
    title = ids[k] if len(ids) > 1 else series.value_name
    return Drawn(k, series.values, series.periods, series.value_name, series.period_name, title)


def latest_histories(values: list[np.ndarray], fitted: Fitted) -> bytes:
    """Each series' last `history_width` values, through its last period: forecasts by id."""
    width = fitted.pipeline.history_width
    return histories_bytes(as_rows([v[-width:] for v in values], width))


def series_table(plan: Plan, fitted: Fitted, scored: Scored) -> SeriesFile:
    """The version's series: calendars, the served fit's normalisation, the test scores."""
    panel, served = plan.panel, fitted.served
    periods = panel.iso_periods
    seen = [
        s.values if fitted.refit else s.values[: split.train_size]
        for s, split in zip(panel.series.values(), fitted.splits, strict=True)
    ]
    return SeriesFile(
        ids=list(panel.series),
        first_period=[p[0] for p in periods.values()],
        last_period=[p[-1] for p in periods.values()],
        train_last_period=[
            p[split.train_size - 1]
            for p, split in zip(periods.values(), fitted.splits, strict=True)
        ],
        points=[len(s.values) for s in panel.series.values()],
        train_points=[split.train_size for split in fitted.splits],
        log=served.log.tolist(),
        spread=served.spread.tolist(),
        network_weight=None if fitted.network is None else served.weight.tolist(),
        train_min=[float(v.min()) for v in seen],
        train_max=[float(v.max()) for v in seen],
        test=scored.series,
    )


def prove_servable(version_dir: Path, values: list[np.ndarray], fitted: Fitted) -> None:
    """Load the version as the service does and check its forecasts are the Keras model's.

    The parity rule: from every series' latest history (up to `PARITY_ROWS` of them),
    every member's output from the NumPy engine equals its Keras model's within
    `PARITY` (network output units), and the combined one-step forecast by id equals
    Keras' within `PARITY` in those units (at least `PARITY` in series units). So a model
    the service would refuse, or would compute differently, fails here with a clear
    message instead of at the next start.
    """
    try:
        forecaster = load_forecaster(version_dir)
    except Exception as exc:  # whatever the loader refuses, training must say so
        raise TrainingError(f"the trained model cannot be served: {exc}") from None
    served = fitted.served
    width = fitted.pipeline.history_width
    series = np.arange(min(len(values), PARITY_ROWS))
    histories = as_rows([values[k][-width:] for k in series], width)
    affine = served.affine.per_series(served.spread[series])
    inputs = inputs_by_row(histories, fitted.pipeline, affine, served.log[series])
    members = forecaster.network.predict(inputs)[..., 0]
    _within("member outputs", members, served.member_outputs(inputs), PARITY)
    by_id = forecaster.forecast(histories, 1, series)[:, 0]
    trained = served.forecast(histories, 1, series)[:, 0]
    # An output error e moves a forecast by e / scale, times the level for a series in logs.
    level = np.where(served.log[series], np.abs(trained), 1.0)
    _within("forecasts", by_id, trained, PARITY * np.maximum(1.0, level / np.abs(affine.scale)))


def _within(what: str, served: np.ndarray, trained: np.ndarray, tolerance: Any) -> None:
    """Refuse when any `served` value is further than its `tolerance` from `trained`'s."""
    gaps = np.abs(served - trained)
    if not np.all(gaps <= tolerance):
        worst = int(np.argmax(gaps - tolerance))
        limit = float(np.broadcast_to(tolerance, gaps.shape)[np.unravel_index(worst, gaps.shape)])
        raise TrainingError(
            f"the served {what} differ from Keras' by up to {float(gaps.max()):.3g}"
            f" (tolerance {limit:.3g}); the engine cannot serve this model faithfully"
        )


def manifest_fields(name: str, plan: Plan, fitted: Fitted, seed: int) -> dict[str, Any]:
    """Every manifest field that describes the model, the data and the run (not the files)."""
    panel, preset = plan.panel, plan.preset
    all_series = list(panel.series.values())
    train_parts = [
        s.values[: split.train_size] for s, split in zip(all_series, fitted.splits, strict=True)
    ]
    periods = [p for found in panel.iso_periods.values() for p in (found[0], found[-1])]
    n_points = sum(len(s.values) for s in all_series)
    train_points = sum(split.train_size for split in fitted.splits)
    return {
        "name": name,
        "created_at": datetime.now(UTC),
        "pipeline": describe_pipeline(fitted.pipeline, preset.scaler),
        "architecture": describe(fitted.served.models[0], len(fitted.served.models)),
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
            epochs=fitted.served.epochs_run,
            epochs_run=fitted.served.epochs_run,
            batch_size=preset.batch_for(sum(s.windows for s in fitted.splits)),
            seed=seed,
            learning_rate=preset.learning_rate,
            test_fraction=None if plan.test_periods else preset.test_fraction,
            test_periods=plan.test_periods,
            refit=fitted.refit,
            network=None if fitted.network is None else fitted.network.record,
            validation_fraction=0.0,
            early_stopping=False,
            wall_seconds=round(fitted.wall_seconds, 3),
            options=plan.options,
        ),
        "data": DataInfo(
            file_name=panel.source.name,
            frequency=panel.frequency,
            sha256=panel.sha256,
            n_points=n_points,
            first_period=min(periods),
            last_period=max(periods),
            value_name=all_series[0].value_name,
            train_points=train_points,
            test_points=n_points - train_points,
            train_min=float(min(v.min() for v in train_parts)),
            train_max=float(max(v.max() for v in train_parts)),
            series=len(all_series),
            id_name=panel.id_name or None,
            ledger=plan.ledger,
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
