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
from pydantic import BaseModel, ConfigDict

from app.contract.pipeline import as_rows

Baseline = Literal["persistence", "seasonal_naive"]
"""The naive forecasts every model is compared with, by the names the API and manifest use."""
BASELINE_LABELS: dict[Baseline, str] = {
    "persistence": "Persistence",
    "seasonal_naive": "Seasonal naive",
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
    """A naive forecast scored on the same points as the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rmse: float
    mae: float


def score_baselines(
    series: np.ndarray, targets: np.ndarray, season_length: int
) -> dict[Baseline, BaselineScores | None]:
    """Each baseline scored on the target points; None where a baseline cannot be formed."""
    actual = np.asarray(series, dtype=np.float64)[np.asarray(targets, dtype=np.int64)]
    naive = baselines(series, targets, season_length)
    forecasts: dict[Baseline, np.ndarray | None] = {
        "persistence": naive.persistence,
        "seasonal_naive": naive.seasonal_naive,
    }
    return {
        kind: None
        if guess is None
        else BaselineScores(rmse=rmse(actual, guess), mae=mae(actual, guess))
        for kind, guess in forecasts.items()
    }


def _scored(actual: np.ndarray, guess: np.ndarray | None) -> BaselineScores | None:
    return (
        None if guess is None else BaselineScores(rmse=rmse(actual, guess), mae=mae(actual, guess))
    )


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
