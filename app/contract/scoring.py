"""Forecast accuracy: error metrics and the naive baselines every model is compared with.

Training scores its test part and the service scores posted series with these
same functions, so a number in a manifest and a number from `/evaluate` mean the
same thing. NumPy arithmetic, explicit about what happens when a denominator is
zero; `BaselineScores` is the one shape a baseline's score has everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.contract.pipeline import as_rows

Baseline = Literal["persistence", "seasonal_naive", "pipeline_alone"]
"""The forecasts every model is compared with, by the names the API and manifest use: two
naive ones, and the model's own pipeline without its network (`Pipeline.without_network`)."""
BASELINE_LABELS: dict[Baseline, str] = {
    "persistence": "Persistence",
    "seasonal_naive": "Seasonal naive",
    "pipeline_alone": "Pipeline alone",
}


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(actual) - np.asarray(predicted)) ** 2)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(predicted))))


def mape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    """Mean absolute percentage error in percent; None when an actual value is zero."""
    actual = np.asarray(actual, dtype=np.float64)
    if np.any(actual == 0):
        return None
    return float(100.0 * np.mean(np.abs((actual - np.asarray(predicted)) / actual)))


def naive_scale(history: np.ndarray, season_length: int) -> float | None:
    """In-sample MAE of the seasonal naive forecast (plain naive if the history is too short).

    This is MASE's denominator (Hyndman & Koehler, 2006). None when it is zero or
    undefined, since dividing by it would then mean nothing.
    """
    history = np.asarray(history, dtype=np.float64)
    lag = season_length if len(history) > season_length else 1
    if len(history) <= lag:
        return None
    scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
    return scale if scale > 0 else None


def mase(actual: np.ndarray, predicted: np.ndarray, scale: float | None) -> float | None:
    """Mean absolute scaled error: MAE divided by the naive in-sample MAE (`naive_scale`)."""
    return None if scale is None else mae(actual, predicted) / scale


@dataclass(frozen=True)
class Baselines:
    """The two naive one-step forecasts for a set of target points of a series."""

    persistence: np.ndarray
    seasonal_naive: np.ndarray | None  # None when a target lacks a value one season back


def baselines(series: np.ndarray, targets: np.ndarray, season_length: int) -> Baselines:
    """Persistence (next = last value) and seasonal naive (next = value one season back)."""
    series = np.asarray(series, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    seasonal = None
    if len(targets) and targets.min() >= season_length:
        seasonal = series[targets - season_length]
    return Baselines(persistence=series[targets - 1], seasonal_naive=seasonal)


class BaselineScores(BaseModel):
    """A baseline scored on the points where it exists (all of the model's, or fewer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rmse: float
    mae: float
    n: int | None = Field(
        None, description="Points scored; null in versions written before it was recorded."
    )


def score_baselines(
    series: np.ndarray, targets: np.ndarray, season_length: int
) -> dict[Baseline, BaselineScores | None]:
    """Each naive baseline on the target points where it exists, saying how many that is.

    Persistence exists at every target; the seasonal naive at those with a value
    one season before them (and nowhere without a season). None: no point at all.
    """
    series = np.asarray(series, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    seasonal = targets[targets >= season_length] if season_length > 1 else targets[:0]
    return {
        "persistence": _scored(series, targets[targets >= 1], 1),
        "seasonal_naive": _scored(series, seasonal, season_length),
    }


def _scored(series: np.ndarray, targets: np.ndarray, lag: int) -> BaselineScores | None:
    if not len(targets):
        return None
    return baseline_scores(series[targets], series[targets - lag])


def baseline_scores(actual: np.ndarray, guess: np.ndarray) -> BaselineScores:
    """A baseline's forecasts `guess` of `actual`, scored."""
    return BaselineScores(rmse=rmse(actual, guess), mae=mae(actual, guess), n=len(actual))


@dataclass(frozen=True)
class Backtest:
    """Multi-step forecasts from many origins: row i starts at `origins[i]`, column h is step h+1.

    `actuals` is NaN where a step would fall past the end of the series, so
    step h is scored on the origins that have h more values after them.
    """

    origins: np.ndarray  # (m,) index of each origin's first forecast point
    predictions: np.ndarray  # (m, horizon)
    actuals: np.ndarray  # (m, horizon)

    def step_scores(self) -> list[tuple[int, int, float, float]]:
        """(step, n, rmse, mae) for steps 1..horizon, each over the origins it exists for."""
        rows = []
        for h in range(self.predictions.shape[1]):
            known = ~np.isnan(self.actuals[:, h])
            actual, predicted = self.actuals[known, h], self.predictions[known, h]
            if known.any():
                rows.append(
                    (h + 1, int(known.sum()), rmse(actual, predicted), mae(actual, predicted))
                )
        return rows


def backtest(
    series: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    history_width: int,
    forecast: Callable[[np.ndarray, int], np.ndarray],
) -> Backtest:
    """Forecast `horizon` steps from every origin, each from the true values before it.

    `forecast(histories, horizon)` maps (m, history_width) history rows to (m,
    horizon) forecasts; the model is fixed (no refit), as in the test protocol.
    Callers pick origins with enough history for their pipeline.
    """
    series = np.asarray(series, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    histories = as_rows([series[:o] for o in origins], history_width)
    steps = origins[:, np.newaxis] + np.arange(horizon)
    padded = np.append(series, np.nan)
    actuals = padded[np.minimum(steps, len(series))]
    return Backtest(origins, forecast(histories, horizon), actuals)
