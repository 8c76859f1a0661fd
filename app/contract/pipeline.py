"""What every pipeline offers, and the rules all of them share: scaling, history rows, recursion.

A pipeline turns raw histories (series units) into the network's inputs and the
network's outputs back into forecasts. Training builds every window it fits on
with the same pipeline object the service builds its inputs with, so the two
sides cannot drift apart. Two pipelines exist: `app.contract.differencing` (the
seed post's model and the first default) and `app.contract.seasonal` (the default
recipe). Histories are rows of `history_width` values, oldest first, left-padded
with NaN when a series is shorter (at least `history_length` values are real).
This package imports NumPy and pydantic only: it sits on the serving hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from app.contract.intervals import Space


@dataclass(frozen=True)
class AffineScaler:
    """`z = x * scale + offset`: what a fitted MinMaxScaler or StandardScaler computes.

    The fitted scikit-learn scaler is the artifact; this is its arithmetic, so the
    hot path costs two NumPy operations instead of scikit-learn's input checks.
    `scale` may also be one number per row of a batch (`per_series`): a model of
    many series scales each row by its own series' spread, so one network sees
    every series in the same units.
    """

    scale: float | np.ndarray
    offset: float

    def transform(self, values: np.ndarray) -> np.ndarray:
        return self.stretch(values) + self.offset

    def stretch(self, values: np.ndarray) -> np.ndarray:
        """`values * scale`, row by row when there is a scale per row."""
        return values * _by_row(self.scale, values)

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        return (scaled - self.offset) / _by_row(self.scale, scaled)

    def per_series(self, spreads: np.ndarray) -> AffineScaler:
        """This scaler after dividing each row by its series' spread: `(x / s) * scale + offset`.

        The scaler of a many-series model is fitted on changes divided by their series'
        spread (`app.contract.series`), so composing the two is one multiplication.
        """
        return AffineScaler(self.scale / np.asarray(spreads, dtype=np.float64), self.offset)


def _by_row(scale: float | np.ndarray, values: np.ndarray) -> float | np.ndarray:
    """A per-row scale shaped to broadcast over `values`' rows; a plain number as it is."""
    if isinstance(scale, np.ndarray):
        return scale.reshape(scale.shape + (1,) * (np.ndim(values) - 1))
    return scale


MAX_HISTORY_WIDTH = 16_000
"""Most values any version may read per forecast: a bound on the work and memory of every
request and every catalog series, checked whenever a pipeline is built, so a manifest that
asks for more is refused when it is read. Daily data with a yearly season (365) and the
seasonal pipeline's longest memory (40 seasons) reads 14,970."""


def bounded_width(width: int, parts: str) -> None:
    """Refuse a pipeline that could read more than `MAX_HISTORY_WIDTH` values per forecast."""
    if width > MAX_HISTORY_WIDTH:
        raise ValueError(
            f"forecasts could read up to {width:,} values ({parts}); at most"
            f" {MAX_HISTORY_WIDTH:,} are allowed"
        )


Predict = Callable[[np.ndarray], np.ndarray]
"""The network as the pipeline sees it: (batch, look_back, 1) inputs -> (batch,) outputs."""


class Recursion(Protocol):
    """A network that also runs a forecast's whole recursion in one call (the compiled
    kernel's `MemberMean.recurse`), where the pipeline's own loop makes a dozen array calls
    per step. A `Predict` that has a `recurse` offers it; `SeasonalPipeline.forecast` then
    uses it, and its own loop, the reference, is what the tests hold it to."""

    def __call__(self, inputs: np.ndarray, /) -> np.ndarray: ...

    def recurse(
        self,
        u: np.ndarray,
        first: int,
        look_back: int,
        scale: float | np.ndarray,
        offset: float,
        weight: float | np.ndarray,
        level: np.ndarray | None = None,
        level_weight: float = 0.0,
    ) -> None:
        """Fill u[:, first:], (batch, n) values, each from the ones before it:
        u_t = anchor + (weight * network(x) - offset) / scale, x the last `look_back`
        values relative to u_{t-1}, times `scale`, and anchor u_{t-1} moved `level_weight`
        of the way to the `level`-weighted mean of the last values (`level`: (2, points),
        the weights, oldest first, then the same normalised; NaN values left out). `scale`
        and `weight`: one number, or one per row."""
        ...


class Pipeline(Protocol):
    """The train/serve contract for one version: windows in, forecasts out."""

    @property
    def look_back(self) -> int: ...

    @property
    def season_length(self) -> int: ...

    @property
    def history_length(self) -> int:
        """Fewest raw values one forecast needs."""
        ...

    @property
    def history_width(self) -> int:
        """Most raw values one forecast reads; older ones cannot change it."""
        ...

    @property
    def history_reason(self) -> str:
        """Why `history_length` is what it is, in words a client can act on."""
        ...

    @property
    def error_space(self) -> Space:
        """Where forecast errors are additive: interval calibration measures them there."""
        ...

    def model_inputs(self, histories: np.ndarray, scaler: AffineScaler) -> np.ndarray:
        """(batch, history_width) rows -> (batch, look_back, 1) network inputs."""
        ...

    def to_series_units(
        self, outputs: np.ndarray, histories: np.ndarray, scaler: AffineScaler
    ) -> np.ndarray:
        """The network's (batch,) outputs -> the next value after each row, in series units."""
        ...

    def next_values(
        self, histories: np.ndarray, scaler: AffineScaler, predict: Predict
    ) -> np.ndarray:
        """`to_series_units(predict(model_inputs(rows)), rows)`, sharing the work of the two."""
        ...

    def forecast(
        self, histories: np.ndarray, horizon: int, scaler: AffineScaler, predict: Predict
    ) -> np.ndarray:
        """(batch, history_width) rows -> (batch, horizon): `stepwise_forecast`'s numbers,
        computed however the pipeline computes them fastest."""
        ...

    def training_windows(
        self, series: np.ndarray, scaler: AffineScaler
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, scaled targets and target indices of every one-step window of a series."""
        ...

    def scaler_values(self, train_values: np.ndarray) -> np.ndarray:
        """What the scaler is fitted on, from the training part only."""
        ...

    def without_network(self) -> Pipeline | None:
        """The same pipeline forecasting without its network (the "pipeline alone" baseline),
        or None when it has no neutral network output to stand in for the network."""
        ...


def history_rows(series: np.ndarray, least: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (history, index of the point after it) with at least `least` values before it.

    Rows are the last `width` values before each target, left-padded with NaN.
    """
    series = np.asarray(series, dtype=np.float64)
    if len(series) <= least:
        return np.empty((0, width)), np.empty(0, dtype=np.int64)
    padded = np.concatenate([np.full(width - least, np.nan), series[:-1]])
    return sliding_window_view(padded, width), np.arange(least, len(series))


def one_step_histories(series: np.ndarray, pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray]:
    """Every (history row, index of the point after it) a one-step forecast can be made for."""
    return history_rows(series, pipeline.history_length, pipeline.history_width)


Histories = Sequence[Sequence[float] | np.ndarray] | np.ndarray
"""Series of any lengths, oldest value first: what `as_rows` turns into one matrix."""


def as_rows(histories: Histories, width: int) -> np.ndarray:
    """Histories of any lengths as one (batch, width) matrix: their last `width` values,
    left-padded with NaN. Callers check each has at least the pipeline's `history_length`."""
    if len(histories) and len({len(h) for h in histories}) == 1:
        # Equal lengths, as a batch usually comes: one conversion instead of a loop over rows
        # (BENCHMARKS.md, "Measurements behind design choices").
        tails = np.array(histories, dtype=np.float64, ndmin=2)[:, -width:]
        if tails.shape[1] == width:
            return tails
        rows = np.full((len(tails), width), np.nan)  # (np.pad costs ten times as much)
        rows[:, width - tails.shape[1] :] = tails
        return rows
    rows = np.full((len(histories), width), np.nan)
    for row, history in zip(rows, histories, strict=True):
        tail = np.asarray(history, dtype=np.float64)[-width:]
        row[width - len(tail) :] = tail
    return rows


def recursive_forecast(
    histories: np.ndarray,
    horizon: int,
    pipeline: Pipeline,
    scaler: AffineScaler,
    predict: Predict,
) -> np.ndarray:
    """(batch, n) history rows, oldest first -> (batch, horizon) forecasts.

    Rows wider than `history_width` are cut to their last `history_width` values
    (older ones cannot matter). Each step's forecast is appended to the history
    and fed back for the next step (`stepwise_forecast`): training calibrates its
    intervals with this function and serving forecasts with it, so both mean the
    same thing by "h steps ahead". Non-finite results (inputs so large the arithmetic overflows)
    are returned as they are; callers decide how to report them.
    """
    window = np.asarray(histories, dtype=np.float64)
    width = pipeline.history_width
    if window.ndim != 2 or window.shape[1] < width:
        raise ValueError(f"histories need shape (batch, >= {width})")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return pipeline.forecast(window[:, -width:], horizon, scaler, predict)


def stepwise_forecast(
    histories: np.ndarray,
    horizon: int,
    pipeline: Pipeline,
    scaler: AffineScaler,
    predict: Predict,
) -> np.ndarray:
    """What "h steps ahead" means: each step's forecast appended to the history and fed back.

    (batch, history_width) rows -> (batch, horizon). A pipeline's `forecast` computes
    these numbers; this loop is the definition its tests compare it with.
    """
    out = np.empty((len(histories), horizon))
    window = histories
    for step in range(horizon):
        if step:
            window = np.concatenate([window[:, 1:], out[:, step - 1 : step]], axis=1)
        out[:, step] = pipeline.next_values(window, scaler, predict)
    return out
