"""Score a fitted model the way the evaluation protocol says, and draw report.png.

Scores use `app.contract.scoring`, the functions the service's evaluation uses, so a
figure in a manifest means the same as one the service computes. The plot is
the post's figure made readable: what was predicted where, against what, and
how that compares with the baselines on the same points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.contract.intervals import bounds_by_row, coverage, mean_width, winkler
from app.contract.manifest import (
    IntervalScores,
    Metrics,
    PanelScores,
    Scores,
    StepScores,
    WorstSeries,
)
from app.contract.pipeline import as_rows
from app.contract.scoring import (
    BASELINE_LABELS,
    Backtest,
    Baseline,
    baseline_scores,
    mae,
    mape,
    mase,
    naive_scale,
    rmse,
)
from app.contract.series import SeriesScores
from training.fit import Fitted

REPORTED_LEVELS = (80.0, 95.0)  # the interval levels the manifest and report.png show
WORST_LISTED = 5


@dataclass(frozen=True)
class Scored:
    """The version's metrics, and each series' own test scores (the series table's column)."""

    metrics: Metrics
    series: SeriesScores
    ids: Sequence[str]
    bands: list[tuple[float, list[np.ndarray], list[np.ndarray]]]  # `test_bands`


def score(values: Sequence[np.ndarray], ids: Sequence[str], fitted: Fitted) -> Scored:
    """Train and test scores of the one-step forecasts, and the baselines on the test points.

    Per series, points before its `train_size` are training points, the rest test
    points; a test point's window may reach back into the training part. MASE is
    scaled by each series' seasonal naive in-sample error on its training part only.
    Pooled scores gather every series' points; `panel` (many series) aggregates the
    scale-free ratios over series.
    """
    season = fitted.pipeline.season_length
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"train": [], "test": []}
    mases: dict[str, list[float]] = {"train": [], "test": []}
    compared: dict[Baseline, list[tuple[np.ndarray, np.ndarray]]] = {}  # (actual, baseline)
    bands = test_bands(values, fitted)
    columns: dict[str, list[float | None]] = {c: [] for c in _COLUMNS}
    coverage_by_level: dict[str, list[float | None]] = {f"{v:g}": [] for v in REPORTED_LEVELS}
    points = []
    for k, series in enumerate(values):
        train_size, targets = fitted.splits[k].train_size, fitted.targets[k]
        scale = naive_scale(series[:train_size], season)
        for part, mask in (("train", targets < train_size), ("test", targets >= train_size)):
            actual, predicted = series[targets[mask]], fitted.predictions[k][mask]
            parts[part].append((actual, predicted))
            if len(actual) and (m := mase(actual, predicted, scale)) is not None:
                mases[part].append(m)
        test = targets[targets >= train_size]
        points.append(len(test))
        lags: tuple[tuple[Baseline, int], ...] = (("persistence", 1), ("seasonal_naive", season))
        for kind, lag in lags:
            usable = test[test >= lag] if kind == "persistence" or season > 1 else test[:0]
            compared.setdefault(kind, []).append((series[usable], series[usable - lag]))
        alone = None if fitted.alone is None else fitted.alone[k][targets >= train_size]
        if alone is not None:
            compared.setdefault("pipeline_alone", []).append((series[test], alone))
        _series_columns(
            columns,
            coverage_by_level,
            series,
            test,
            fitted.predictions[k][targets >= train_size],
            alone,
            scale,
            season,
            [(lv, lo[k], up[k]) for lv, lo, up in bands],
        )
    if fitted.alone is None:
        columns.pop("pipeline_alone_rmse")  # the pipeline has no network-free forecast
    table = SeriesScores(points=points, coverage=coverage_by_level, **columns)
    metrics = Metrics(
        train=_pooled(parts["train"], mases["train"]),
        test=_pooled(parts["test"], mases["test"]),
        baselines={
            kind: baseline_scores(a, np.concatenate([p[1] for p in pairs]))
            for kind, pairs in compared.items()
            if len(a := np.concatenate([p[0] for p in pairs]))
        },
        intervals=_interval_scores(values, fitted, bands),
        steps=_step_scores(values, fitted),
        panel=_panel(ids, table) if len(values) > 1 else None,
    )
    return Scored(metrics, table, ids, bands)


_COLUMNS = (
    "rmse",
    "mae",
    "mase",
    "seasonal_naive_rmse",
    "seasonal_naive_mase",
    "pipeline_alone_rmse",
)


def _series_columns(
    columns: dict[str, list[float | None]],
    coverage_by_level: dict[str, list[float | None]],
    series: np.ndarray,
    test: np.ndarray,
    predicted: np.ndarray,
    alone: np.ndarray | None,
    scale: float | None,
    season: int,
    bands: list[tuple[float, np.ndarray, np.ndarray]],
) -> None:
    """Append one series' test scores to the table's columns (None where it has no test)."""
    actual = series[test]
    has_naive = len(test) and season > 1 and test.min() >= season
    guess = series[test - season] if has_naive else None
    found = {
        "rmse": rmse(actual, predicted) if len(test) else None,
        "mae": mae(actual, predicted) if len(test) else None,
        "mase": mase(actual, predicted, scale) if len(test) else None,
        "seasonal_naive_rmse": rmse(actual, guess) if guess is not None else None,
        "seasonal_naive_mase": mase(actual, guess, scale) if guess is not None else None,
        "pipeline_alone_rmse": rmse(actual, alone) if alone is not None and len(test) else None,
    }
    for name, value in found.items():
        columns[name].append(value)
    for level, lower, upper in bands:
        inside = coverage(actual, lower, upper) if len(test) else None
        coverage_by_level[f"{level:g}"].append(inside)


def _pooled(pairs: list[tuple[np.ndarray, np.ndarray]], mases: list[float]) -> Scores:
    actual = np.concatenate([a for a, _ in pairs])
    predicted = np.concatenate([p for _, p in pairs])
    return Scores(
        n=len(actual),
        rmse=rmse(actual, predicted),
        mae=mae(actual, predicted),
        mape=mape(actual, predicted),
        mase=float(np.mean(mases)) if mases else None,
    )


def _panel(ids: Sequence[str], table: SeriesScores) -> PanelScores:
    """Geometric mean of MASE / seasonal-naive MASE over the series that have both."""
    pairs = [
        (sid, m, n)
        for sid, m, n in zip(ids, table.mase, table.seasonal_naive_mase, strict=True)
        if m is not None and n is not None and n > 0 and m > 0
    ]
    ratios = np.array([m / n for _, m, n in pairs])
    worst = sorted(pairs, key=lambda p: p[1] / p[2], reverse=True)[:WORST_LISTED]
    coverage_spread = {
        level: [float(q) for q in np.quantile([c for c in found if c is not None], [0, 0.5, 1])]
        for level, found in table.coverage.items()
    }
    against_alone = np.array(
        [
            r / a
            for r, a in zip(table.rmse, table.pipeline_alone_rmse or [], strict=False)
            if r is not None and a is not None and r > 0 and a > 0
        ]
    )
    return PanelScores(
        series=sum(1 for n in table.points if n),
        gm_mase_ratio=_geometric_mean(ratios),
        mean_mase=float(np.mean([m for m in table.mase if m is not None])),
        coverage=coverage_spread,
        worst=[WorstSeries(series_id=s, mase=m, seasonal_naive_mase=n) for s, m, n in worst],
        gm_rmse_to_pipeline_alone=_geometric_mean(against_alone) if len(against_alone) else None,
        network_hurts=float(np.mean(against_alone > HURTS)) if len(against_alone) else None,
    )


HURTS = 1.01  # test RMSE / the pipeline alone's above which the network made a series worse


def _geometric_mean(ratios: np.ndarray) -> float:
    return float(np.exp(np.mean(np.log(ratios)))) if len(ratios) else float("nan")


def test_bands(
    values: Sequence[np.ndarray], fitted: Fitted
) -> list[tuple[float, list[np.ndarray], list[np.ndarray]]]:
    """Per reported level, per series, the one-step (lower, upper) bounds of its test points.

    Each point's band is in the space, and (for a normalised calibration) at the
    spread, its history is forecast with (`Ensemble.states`), as serving does.
    """
    calibration, evaluation = fitted.calibration, fitted.evaluation
    width = evaluation.pipeline.history_width
    half = calibration.half_widths(REPORTED_LEVELS, 1)[:, 0]
    states = []
    for k, series in enumerate(values):
        test = fitted.targets[k][fitted.targets[k] >= fitted.splits[k].train_size]
        rows = as_rows([series[max(0, t - width) : t] for t in test], width)
        log, spread = evaluation.states(rows, np.full(len(test), k))
        states.append((log, spread if calibration.normalised else np.ones(len(test))))
    out = []
    for level, one in zip(REPORTED_LEVELS, half, strict=True):
        lowers, uppers = [], []
        for k, (log, spread) in enumerate(states):
            test = fitted.targets[k] >= fitted.splits[k].train_size
            point = fitted.predictions[k][test][:, np.newaxis]
            lower, upper = bounds_by_row(point, (one * spread)[:, np.newaxis], log)
            lowers.append(lower[:, 0])
            uppers.append(upper[:, 0])
        out.append((level, lowers, uppers))
    return out


def _interval_scores(
    values: Sequence[np.ndarray],
    fitted: Fitted,
    bands: list[tuple[float, list[np.ndarray], list[np.ndarray]]],
) -> list[IntervalScores]:
    actual = np.concatenate(
        [
            v[t[t >= s.train_size]]
            for v, t, s in zip(values, fitted.targets, fitted.splits, strict=True)
        ]
    )
    scored = []
    for level, lowers, uppers in bands:
        lower, upper = np.concatenate(lowers), np.concatenate(uppers)
        scored.append(
            IntervalScores(
                level=level,
                coverage=coverage(actual, lower, upper),
                mean_width=mean_width(lower, upper),
                winkler=winkler(actual, lower, upper, level),
            )
        )
    return scored


def _step_scores(values: Sequence[np.ndarray], fitted: Fitted) -> list[StepScores]:
    """Test-part accuracy 1..H steps ahead, from every test origin, model fixed, pooled."""
    history = fitted.evaluation.pipeline.history_length
    origins = [
        np.arange(max(s.train_size, history), len(v))
        for v, s in zip(values, fitted.splits, strict=True)
    ]
    horizon = fitted.calibration.horizon
    predictions = fitted.evaluation.forecast_from(values, origins, horizon)
    actuals = []
    for v, found in zip(values, origins, strict=True):
        steps = found[:, np.newaxis] + np.arange(horizon)
        actuals.append(np.append(v, np.nan)[np.minimum(steps, len(v))])
    pooled = Backtest(np.concatenate(origins), np.concatenate(predictions), np.concatenate(actuals))
    return [StepScores(step=h, n=n, rmse=r, mae=m) for h, n, r, m in pooled.step_scores()]


@dataclass(frozen=True)
class Drawn:
    """What the report says about one series: which it is, its data and names."""

    index: int  # in the version's series
    values: np.ndarray
    periods: Sequence[str]
    value_name: str
    period_name: str
    title: str


def plot(path: Path, drawn: Sequence[Drawn], fitted: Fitted, scored: Scored, title: str) -> None:
    """Write report.png: each series drawn, its one-step forecasts by part, the split marked.

    One series fills the figure; for many, `drawn` holds the few chosen (`chosen`), one
    panel each. Uses matplotlib's object API with the Agg canvas (no pyplot, no global
    backend state), so it runs headless and leaves no figures behind.
    """
    from matplotlib.figure import Figure

    many = len(drawn) > 1
    fig = Figure(figsize=(13, 8) if many else (11, 5.5), layout="constrained")
    axes = fig.subplots(2, 2).ravel()[: len(drawn)] if many else [fig.add_subplot()]
    for ax, series in zip(axes, drawn, strict=True):
        _draw(ax, series, fitted, scored, many)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def chosen(scored: Scored, limit: int = 4) -> list[int]:
    """The series a many-series report draws: the two worst by MASE ratio, then the first."""
    panel = scored.metrics.panel
    worst = [] if panel is None else [scored.ids.index(w.series_id) for w in panel.worst[:2]]
    return list(dict.fromkeys([*worst, *range(len(scored.ids))]))[:limit]


def _draw(ax: Any, series: Drawn, fitted: Fitted, scored: Scored, many: bool) -> None:
    from matplotlib.lines import Line2D

    k = series.index
    values, split = series.values, fitted.splits[k]
    x = np.arange(len(values))
    targets, predictions = fitted.targets[k], fitted.predictions[k]
    ax.plot(x, values, color="0.15", linewidth=1.4, label=f"actual {series.value_name}")
    train = targets < split.train_size
    for (level, lowers, uppers), alpha in zip(reversed(scored.bands), (0.15, 0.3), strict=True):
        share = scored.series.coverage[f"{level:g}"][k]
        label = f"{level:g} % interval, test part"
        label += f" (coverage {share:.0%})" if share is not None else ""
        ax.fill_between(
            targets[~train], lowers[k], uppers[k], color="tab:red", alpha=alpha, lw=0, label=label
        )
    ax.plot(
        targets[train],
        predictions[train],
        color="tab:blue",
        linewidth=1.2,
        label="one-step forecast, train part",
    )
    test_rmse = scored.series.rmse[k]
    ax.plot(
        targets[~train],
        predictions[~train],
        color="tab:red",
        linewidth=1.6,
        label="one-step forecast, test part"
        + (f" (RMSE {test_rmse:.2f})" if test_rmse is not None else ""),
    )
    ax.axvspan(split.train_size - 0.5, len(values) - 0.5, color="0.5", alpha=0.12)
    ax.axvline(split.train_size - 0.5, color="0.3", linestyle="--", linewidth=1)
    handles, _ = ax.get_legend_handles_labels()
    alone = scored.series.pipeline_alone_rmse
    baselines: tuple[tuple[Baseline, float | None], ...] = (
        ("seasonal_naive", scored.series.seasonal_naive_rmse[k]),
        ("pipeline_alone", None if alone is None else alone[k]),
    )
    for kind, found in baselines:
        if found is not None:
            label = f"{BASELINE_LABELS[kind]} baseline: test RMSE {found:.2f}"
            handles.append(Line2D([], [], linestyle="none", label=label))
    if not many:
        persistence = scored.metrics.baselines.get("persistence")
        if persistence is not None:
            label = f"{BASELINE_LABELS['persistence']} baseline: test RMSE {persistence.rmse:.2f}"
            handles.append(Line2D([], [], linestyle="none", label=label))
    ax.legend(
        handles=handles, loc="upper left", fontsize="x-small" if many else "small", framealpha=0.9
    )
    step = _tick_step(len(values), fitted.pipeline.season_length)
    ticks = x[::step]
    ax.set_xticks(ticks, [series.periods[i] for i in ticks], rotation=45, ha="right")
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_xlabel(series.period_name)
    ax.set_ylabel(series.value_name)
    ax.set_title(series.title, fontsize="medium")
    ax.grid(alpha=0.3)


def _tick_step(n_points: int, season_length: int) -> int:
    """One tick per season (per year, for monthly data) unless that crowds the axis."""
    seasons_per_tick = max(1, -(-n_points // (season_length * 16)))
    return season_length * seasons_per_tick
