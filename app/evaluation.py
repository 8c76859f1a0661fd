"""Scoring a posted series the way training scores its test part: `/evaluate` and its kin.

Every score goes through `app.contract.scoring` and `app.contract.intervals`, so the
numbers `/evaluate` returns mean what the manifest's training metrics mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.contract import scoring
from app.contract.intervals import coverage, mean_width, winkler
from app.contract.manifest import IntervalScores, StepScores
from app.contract.pipeline import one_step_histories
from app.contract.scoring import Baseline, BaselineScores
from app.errors import InvalidInput
from app.forecaster import Forecaster


@dataclass(frozen=True)
class Evaluation:
    """One-step-ahead forecasts of a posted series, scored like training scores its test part."""

    targets: np.ndarray  # index in the series of every forecast point
    predictions: np.ndarray
    actuals: np.ndarray
    rmse: float
    mae: float
    mape: float | None
    mase: float | None
    baselines: dict[Baseline, BaselineScores | None]  # None where a baseline cannot be formed
    intervals: list[IntervalScores]  # one-step interval scores per level asked for
    steps: list[StepScores]  # the multi-step backtest, when a horizon > 1 was asked for


def evaluate(
    forecaster: Forecaster, series: np.ndarray, levels: Sequence[float] = (), horizon: int = 1
) -> Evaluation:
    """One-step forecasts for every point with a full history before it, with scores.

    The baselines are scored on exactly the same points. MASE divides by the
    seasonal naive in-sample MAE of the posted series itself, the only
    history the service has. With `levels`, each level's one-step interval is
    scored (coverage, width, Winkler); with `horizon` > 1, a rolling-origin
    backtest forecasts `horizon` steps from every origin and scores each step.
    """
    series = np.asarray(series, dtype=np.float64)
    if why := forecaster.shortfall(len(series), extra=1):
        raise ValueError(why)
    pipeline = forecaster.pipeline
    histories, targets = one_step_histories(series, pipeline)
    states = forecaster.normalisation(histories, None)
    predictions = forecaster.forecast(histories, 1)[:, 0]
    actuals = series[targets]
    season = pipeline.season_length
    with np.errstate(over="ignore", invalid="ignore"):
        return Evaluation(
            targets=targets,
            predictions=predictions,
            actuals=actuals,
            rmse=scoring.rmse(actuals, predictions),
            mae=scoring.mae(actuals, predictions),
            mape=scoring.mape(actuals, predictions),
            mase=scoring.mase(actuals, predictions, scoring.naive_scale(series, season)),
            baselines=scoring.score_baselines(series, targets, season)
            | {"pipeline_alone": _pipeline_alone(forecaster, histories, actuals)},
            intervals=_interval_scores(forecaster, predictions, actuals, levels, states),
            steps=_backtest(forecaster, series, targets, horizon) if horizon > 1 else [],
        )


def _pipeline_alone(
    forecaster: Forecaster, histories: np.ndarray, actuals: np.ndarray
) -> BaselineScores | None:
    """The version's pipeline without its network, on the same points; None when it has none."""
    alone = forecaster.forecast_without_network(histories, 1)
    return None if alone is None else scoring.baseline_scores(actuals, alone[:, 0])


def _interval_scores(
    forecaster: Forecaster,
    predictions: np.ndarray,
    actuals: np.ndarray,
    levels: Sequence[float],
    states: tuple[np.ndarray, np.ndarray] | None,
) -> list[IntervalScores]:
    scored = []
    for band in forecaster.intervals(predictions[:, np.newaxis], levels, states):
        lower, upper = band.lower[:, 0], band.upper[:, 0]
        scored.append(
            IntervalScores(
                level=band.level,
                coverage=coverage(actuals, lower, upper),
                mean_width=mean_width(lower, upper),
                winkler=winkler(actuals, lower, upper, band.level),
            )
        )
    return scored


def _backtest(
    forecaster: Forecaster, series: np.ndarray, targets: np.ndarray, horizon: int
) -> list[StepScores]:
    width = forecaster.pipeline.history_width
    result = scoring.backtest(series, targets, horizon, width, forecaster.forecast)
    return [StepScores(step=h, n=n, rmse=r, mae=m) for h, n, r, m in result.step_scores()]


def require_finite_scores(result: Evaluation) -> None:
    """Squared errors of huge values overflow even when every forecast is finite."""
    pairs = [(b.rmse, b.mae) for b in result.baselines.values() if b is not None]
    scores = [result.rmse, result.mae, result.mape, result.mase, *(x for p in pairs for x in p)]
    if not np.isfinite([x for x in scores if x is not None]).all():
        raise InvalidInput.at(
            "values", "the scores overflowed: values too far outside the training range"
        )


def baseline_notes(
    baselines: dict[Baseline, BaselineScores | None], n: int, season_length: int
) -> list[str]:
    """Say which baselines cover fewer points than the model, or none."""
    seasonal = _seasonal_note(baselines, n, season_length)
    alone = None if baselines.get("pipeline_alone") else _NO_PIPELINE_ALONE
    return [note for note in (seasonal, alone) if note]


_NO_PIPELINE_ALONE = (
    "pipeline_alone: not computed; the model's differencing pipeline has no forecast"
    " without its network"
)


def _seasonal_note(
    baselines: dict[Baseline, BaselineScores | None], n: int, season_length: int
) -> str | None:
    seasonal = baselines["seasonal_naive"]
    if season_length == 1:
        return "seasonal_naive: not computed; the model's series has no season"
    if seasonal is None:
        return (
            "seasonal_naive: not computed; no point forecast has a value one season"
            f" ({season_length} points) before it"
        )
    if seasonal.n is not None and seasonal.n < n:
        return (
            f"seasonal_naive: scored on the last {seasonal.n} of the {n} points, those with a"
            f" value one season ({season_length} points) before them"
        )
    return None
