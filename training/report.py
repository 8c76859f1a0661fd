"""Score a fitted model the way the evaluation protocol says, and draw report.png.

Scores use `app.contract.scoring`, the functions the service's evaluation uses, so a
figure in a manifest means the same as one the service computes. The plot is
the post's figure made readable: what was predicted where, against what, and
how that compares with the naive forecasts on the same points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.contract.intervals import bounds, coverage, mean_width, winkler
from app.contract.manifest import IntervalScores, Metrics, Scores, StepScores
from app.contract.scoring import (
    BASELINE_LABELS,
    backtest,
    mae,
    mape,
    mase,
    naive_scale,
    rmse,
    score_baselines,
)
from training.data import Series
from training.fit import Fitted

REPORTED_LEVELS = (80.0, 95.0)  # the interval levels the manifest and report.png show


def score(values: np.ndarray, fitted: Fitted, season_length: int) -> Metrics:
    """Train and test scores of the one-step forecasts, and the baselines on the test points.

    Points before `train_size` are training points, the rest test points; a test
    point's window may reach back into the training part. MASE is scaled by the
    seasonal naive's in-sample error on the training part only.
    """
    train_size = fitted.split.train_size
    scale = naive_scale(values[:train_size], season_length)
    parts = {}
    for part, mask in (
        ("train", fitted.targets < train_size),
        ("test", fitted.targets >= train_size),
    ):
        actual, predicted = values[fitted.targets[mask]], fitted.predictions[mask]
        parts[part] = Scores(
            n=int(mask.sum()),
            rmse=rmse(actual, predicted),
            mae=mae(actual, predicted),
            mape=mape(actual, predicted),
            mase=mase(actual, predicted, scale),
        )
    test_targets = fitted.targets[fitted.targets >= train_size]
    naive = score_baselines(values, test_targets, season_length)
    return Metrics(
        train=parts["train"],
        test=parts["test"],
        baselines={kind: scores for kind, scores in naive.items() if scores is not None},
        intervals=_interval_scores(values, fitted),
        steps=_step_scores(values, fitted),
    )


def test_bands(fitted: Fitted) -> tuple[np.ndarray, list[tuple[float, np.ndarray, np.ndarray]]]:
    """The test targets and, per reported level, their one-step (lower, upper) bounds."""
    test = fitted.targets >= fitted.split.train_size
    point = fitted.predictions[test][:, np.newaxis]
    half = fitted.calibration.half_widths(REPORTED_LEVELS, 1)
    bands = []
    for level, width in zip(REPORTED_LEVELS, half, strict=True):
        lower, upper = bounds(point, width, fitted.calibration.space)
        bands.append((level, lower[:, 0], upper[:, 0]))
    return fitted.targets[test], bands


def _interval_scores(values: np.ndarray, fitted: Fitted) -> list[IntervalScores]:
    targets, bands = test_bands(fitted)
    actual = values[targets]
    return [
        IntervalScores(
            level=level,
            coverage=coverage(actual, lower, upper),
            mean_width=mean_width(lower, upper),
            winkler=winkler(actual, lower, upper, level),
        )
        for level, lower, upper in bands
    ]


def _step_scores(values: np.ndarray, fitted: Fitted) -> list[StepScores]:
    """Test-part accuracy 1..H steps ahead, from every test origin, model fixed."""
    pipeline = fitted.pipeline
    origins = np.arange(max(fitted.split.train_size, pipeline.history_length), len(values))
    horizon = fitted.calibration.horizon
    result = backtest(values, origins, horizon, pipeline.history_width, fitted.ensemble.forecast)
    return [StepScores(step=h, n=n, rmse=r, mae=m) for h, n, r, m in result.step_scores()]


def plot(path: Path, series: Series, fitted: Fitted, metrics: Metrics, title: str) -> None:
    """Write report.png: the series, the one-step forecasts by part, the split marked.

    Uses matplotlib's object API with the Agg canvas (no pyplot, no global
    backend state), so it runs headless and leaves no figures behind.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    values, split = series.values, fitted.split
    x = np.arange(len(values))
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(x, values, color="0.15", linewidth=1.4, label=f"actual {series.value_name}")
    train = fitted.targets < split.train_size
    targets, bands = test_bands(fitted)
    covered = {s.level: s.coverage for s in metrics.intervals}
    for (level, lower, upper), alpha in zip(reversed(bands), (0.15, 0.3), strict=True):
        label = f"{level:g} % interval, test part (coverage {covered[level]:.0%})"
        ax.fill_between(targets, lower, upper, color="tab:red", alpha=alpha, lw=0, label=label)
    ax.plot(
        fitted.targets[train],
        fitted.predictions[train],
        color="tab:blue",
        linewidth=1.2,
        label=f"one-step forecast, train part (RMSE {metrics.train.rmse:.2f})",
    )
    ax.plot(
        fitted.targets[~train],
        fitted.predictions[~train],
        color="tab:red",
        linewidth=1.6,
        label=f"one-step forecast, test part (RMSE {metrics.test.rmse:.2f})",
    )
    for k, origin in enumerate(fitted.calibration.origins):
        refit_label = "interval calibration refits (train part only)" if not k else None
        ax.axvline(origin - 0.5, color="tab:orange", linestyle=":", lw=1.2, label=refit_label)
    ax.axvspan(split.train_size - 0.5, len(values) - 0.5, color="0.5", alpha=0.12)
    ax.axvline(split.train_size - 0.5, color="0.3", linestyle="--", linewidth=1)
    ax.text(split.train_size + 0.5, 0.98, "test part", transform=ax.get_xaxis_transform(), va="top")
    ax.text(
        split.train_size - 1.5,
        0.98,
        "train part",
        ha="right",
        va="top",
        transform=ax.get_xaxis_transform(),
    )
    handles, _ = ax.get_legend_handles_labels()
    for kind, scores in metrics.baselines.items():
        label = f"{BASELINE_LABELS[kind]} baseline: test RMSE {scores.rmse:.2f}"
        handles.append(Line2D([], [], linestyle="none", label=label))
    ax.legend(handles=handles, loc="upper left", fontsize="small", framealpha=0.9)
    step = _tick_step(len(values), fitted.pipeline.season_length)
    ticks = x[::step]
    ax.set_xticks(ticks, [series.periods[i] for i in ticks], rotation=45, ha="right")
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_xlabel(series.period_name)
    ax.set_ylabel(series.value_name)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)


def _tick_step(n_points: int, season_length: int) -> int:
    """One tick per season (per year, for monthly data) unless that crowds the axis."""
    seasons_per_tick = max(1, -(-n_points // (season_length * 16)))
    return season_length * seasons_per_tick
