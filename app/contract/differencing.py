"""The differencing pipeline: the seed post's model and the first default (`milk/1`) use it.

The chain for one forecast, from raw values (series units) to the model and back:

    raw history --difference--> transformed --scale--> model input (batch, look_back, 1)
    model output --unscale--> transformed step --integrate--> forecast (series units)

Differencing removes trend and season; a forecast reads exactly `history_length`
values (the window plus the differencing context), so `history_width` is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np

from app.contract.intervals import Space
from app.contract.pipeline import (
    AffineScaler,
    Predict,
    bounded_width,
    history_rows,
    stepwise_forecast,
)


class Transform(StrEnum):
    """How the series is differenced before scaling; differencing removes trend and season."""

    NONE = "none"
    DIFFERENCE = "difference"
    SEASONAL_DIFFERENCE = "seasonal_difference"
    SEASONAL_AND_FIRST_DIFFERENCE = "seasonal_and_first_difference"


SEASONAL = frozenset({Transform.SEASONAL_DIFFERENCE, Transform.SEASONAL_AND_FIRST_DIFFERENCE})
"""Transforms that difference at the season's lag, so need a season of 2 or more."""


@dataclass(frozen=True)
class DifferencingPipeline:
    """Everything that turns a raw history into the model's input, as the manifest records it.

    The derived properties are cached: they sit on the per-request path, where
    rebuilding the lag polynomial was a measurable share of a forecast (BENCHMARKS.md).
    """

    look_back: int
    transform: Transform
    season_length: int = 12

    def __post_init__(self) -> None:
        if self.look_back < 1:
            raise ValueError(f"look_back must be at least 1, got {self.look_back}")
        if self.season_length < 1:
            raise ValueError(
                f"season_length must be at least 1 (no season), got {self.season_length}"
            )
        if self.season_length == 1 and self.transform in SEASONAL:
            raise ValueError(
                f"transform {self.transform.value} needs a season: season_length at least 2"
            )
        bounded_width(self.history_length, self.history_reason)

    @property
    def error_space(self) -> Space:
        """Where forecast errors add up: interval calibration measures them there."""
        return "identity"

    @property
    def history_reason(self) -> str:
        consumed = f" + {self.context} consumed by {self.transform.value.replace('_', ' ')}"
        return f"look_back {self.look_back}" + consumed * (self.context > 0)

    @property
    def history_width(self) -> int:
        return self.history_length

    def model_inputs(self, histories: np.ndarray, scaler: AffineScaler) -> np.ndarray:
        return model_inputs(histories, self, scaler)

    def to_series_units(
        self, outputs: np.ndarray, histories: np.ndarray, scaler: AffineScaler
    ) -> np.ndarray:
        return to_series_units(outputs, histories, self, scaler)

    def next_values(
        self, histories: np.ndarray, scaler: AffineScaler, predict: Predict
    ) -> np.ndarray:
        return to_series_units(
            predict(model_inputs(histories, self, scaler)), histories, self, scaler
        )

    def forecast(
        self, histories: np.ndarray, horizon: int, scaler: AffineScaler, predict: Predict
    ) -> np.ndarray:
        return stepwise_forecast(histories, horizon, self, scaler, predict)

    def training_windows(
        self, series: np.ndarray, scaler: AffineScaler
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return training_windows(series, self, scaler)

    def without_network(self) -> None:
        """None: the post's pipeline has no network-free forecast. Its MinMax scaler's 0 is the
        smallest training change, not a neutral one, so "output 0" would be a straw man."""
        return None

    def scaler_values(self, train_values: np.ndarray) -> np.ndarray:
        """What the scaler is fitted on: the transformed training values the network sees."""
        return difference(train_values, self)

    @cached_property
    def lags(self) -> tuple[int, ...]:
        """The differencing lags applied in order, e.g. (12, 1) for seasonal then first."""
        return {
            Transform.NONE: (),
            Transform.DIFFERENCE: (1,),
            Transform.SEASONAL_DIFFERENCE: (self.season_length,),
            Transform.SEASONAL_AND_FIRST_DIFFERENCE: (self.season_length, 1),
        }[self.transform]

    @cached_property
    def context(self) -> int:
        """Raw values consumed by differencing before the first transformed value exists."""
        return sum(self.lags)

    @cached_property
    def history_length(self) -> int:
        """Raw values one forecast needs: the window plus the differencing context."""
        return self.look_back + self.context

    @cached_property
    def lag_polynomial(self) -> np.ndarray:
        """Coefficients c of the differencing operator: transformed_t = sum_k c[k] * y[t-k].

        Both `difference` and `integrate` read this one polynomial, so they are
        exact inverses by construction.
        """
        poly = np.array([1.0])
        for lag in self.lags:
            shifted = np.zeros(len(poly) + lag)
            shifted[lag:] = poly
            poly = np.pad(poly, (0, lag)) - shifted
        return poly


def difference(values: np.ndarray, spec: DifferencingPipeline) -> np.ndarray:
    """Apply the spec's differencing along the last axis; the result is `context` shorter."""
    out = np.asarray(values, dtype=np.float64)
    for lag in spec.lags:
        out = out[..., lag:] - out[..., :-lag]
    return out


def integrate(steps: np.ndarray, histories: np.ndarray, spec: DifferencingPipeline) -> np.ndarray:
    """Undo differencing for one step: the raw value after each history, given its transformed step.

    `steps` has shape (batch,), `histories` (batch, n) with n >= context, oldest first.
    """
    poly = spec.lag_polynomial
    if spec.context == 0:
        return np.asarray(steps, dtype=np.float64)
    recent = histories[:, -spec.context :][:, ::-1]  # y[t-1], y[t-2], ..., y[t-context]
    return steps - recent @ poly[1:]


def model_inputs(
    histories: np.ndarray, spec: DifferencingPipeline, scaler: AffineScaler
) -> np.ndarray:
    """The network input for each history: shape (batch, look_back, 1), float64.

    Histories may be longer than needed; only the last `history_length` values are used.
    """
    recent = np.asarray(histories, dtype=np.float64)[:, -spec.history_length :]
    return scaler.transform(difference(recent, spec))[:, :, np.newaxis]


def to_series_units(
    outputs: np.ndarray, histories: np.ndarray, spec: DifferencingPipeline, scaler: AffineScaler
) -> np.ndarray:
    """Turn the network's outputs (batch,) back into next values in series units."""
    return integrate(scaler.inverse(np.asarray(outputs, dtype=np.float64)), histories, spec)


def training_windows(
    series: np.ndarray, spec: DifferencingPipeline, scaler: AffineScaler
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, scaled targets and target indices for every one-step window of a series.

    Inputs come from `model_inputs`, the function the service calls, so the
    windows training fits on are the inputs serving builds for the same history.
    """
    histories, targets = history_rows(series, spec.history_length, spec.history_length)
    inputs = model_inputs(histories, spec, scaler)
    with_target = np.column_stack([histories, np.asarray(series, dtype=np.float64)[targets]])
    scaled_targets = scaler.transform(difference(with_target, spec))[:, -1]
    return inputs, scaled_targets, targets
