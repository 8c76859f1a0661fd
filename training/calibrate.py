"""Conformal calibration of prediction intervals, out of sample, inside the training part.

The recipe is refitted at a few origins inside the training part (each refit
sees only the points before its origin, its scaler included). From every later
origin up to the end of the training part, the refit forecasts 1..H steps ahead
recursively from the true history, and each step's absolute error, in the
pipeline's error space, becomes a calibration residual. Forecasting from origins
long after a refit mimics how the served model is used: fitted once, then asked
for months. The test part is never touched.

H is at least two seasons (24 steps without a season), shortened only so that
every step keeps at least `MIN_RESIDUALS` residuals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from app.contract.intervals import Calibration, error_space
from app.contract.pipeline import Pipeline, as_rows

REFITS = 3  # origins refitted; each costs one more fit of the recipe
MIN_RESIDUALS = 10  # per step; fewer make the far quantiles noise


class Forecasts(Protocol):
    """What a fitted ensemble offers calibration: recursive multi-step forecasts."""

    @property
    def pipeline(self) -> Pipeline: ...

    def forecast(self, histories: np.ndarray, horizon: int) -> np.ndarray: ...


def wanted_horizon(season_length: int) -> int:
    """Two seasons ahead, or 24 steps for a series without a season."""
    return max(24, 2 * season_length) if season_length > 1 else 24


def origins(train_size: int, history_length: int, season_length: int) -> list[int]:
    """`REFITS` origins spread over the last stretch of the training part, oldest first.

    They are a season apart, or a tenth of the training part apart if that is
    more, and never so early that a refit would have less than half the
    training part's windows to learn from.
    """
    step = max(season_length, math.ceil(train_size / 10))
    earliest = history_length + max(1, (train_size - history_length) // 2)
    found = [train_size - k * step for k in range(REFITS, 0, -1)]
    return [o for o in found if o >= earliest] or [max(earliest, train_size - step)]


def calibrate(
    train_values: np.ndarray,
    pipeline: Pipeline,
    refit: Callable[[np.ndarray], Forecasts],
) -> Calibration:
    """Residuals per step 1..H from refits at `origins`, forecasting to the training part's end.

    `pipeline` is the final version's: residuals are measured in its error space,
    the one its intervals will be built in, whatever a refit's own log rule said.
    """
    n = len(train_values)
    starts = origins(n, pipeline.history_length, pipeline.season_length)
    horizon = wanted_horizon(pipeline.season_length)
    space = pipeline.error_space
    residuals: list[list[float]] = [[] for _ in range(horizon)]
    for origin in starts:
        fitted = refit(train_values[:origin])
        points = np.arange(max(origin, fitted.pipeline.history_length), n)
        histories = as_rows([train_values[:t] for t in points], fitted.pipeline.history_width)
        predicted = fitted.forecast(histories, horizon)
        for h in range(horizon):
            known = points + h < n
            actual = error_space(train_values[points[known] + h], space)
            guess = error_space(predicted[known, h], space)
            residuals[h].extend(np.abs(actual - guess).tolist())
    if not all(np.isfinite(r).all() for r in residuals):
        raise ValueError("a calibration refit forecasts non-finite values")
    steps = 1  # counts fall with the step: keep the steps that have enough residuals
    while steps < horizon and len(residuals[steps]) >= MIN_RESIDUALS:
        steps += 1
    return Calibration(
        space=space, origins=starts, residuals=[sorted(r) for r in residuals[:steps]]
    )
