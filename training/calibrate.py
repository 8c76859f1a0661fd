"""Conformal calibration of prediction intervals, inside the training part.

The recipe is refitted at a few origins inside the training part (each refit
sees only the points before its origin, its scaler included). From every later
origin up to the end of the training part, the refit forecasts 1..H steps ahead
recursively from the true history, and each step's absolute error, in the
pipeline's error space, becomes a calibration residual. Forecasting from origins
long after a refit mimics how the served model is used: fitted once, then asked
for months. The test part is never touched.

The same refits decide first how much of the network the version uses
(`training.shrinkage`, from their one-step forecasts); the residuals are then those of
forecasts made with that choice, the forecasts the version serves.

A version of one series adds the evaluation fit's own forecasts from every origin of its
training part. The refits' origins lie in the last stretch of the training part, so their
residuals see only its last years, and a few dozen of them: the Nile's 67 training years
gave 42 residuals from 21 distinct years, all after 1916. Every origin adds the years
before, whatever they were like, as SARIMA's variance, estimated on the whole training
part, sees them. Those forecasts are in sample for the network, whose share the refits
have already shrunk, and for the pipeline's few memories. Chosen by nested validation
inside the training parts of the panel (`python -m bench.nested_check --seeds 0 1`):
Winkler at 80 % 0.98 and 0.96 times the refits' alone (geometric mean over milk, CO2,
El Nino and the Nile, seeds 0 and 1), at 95 % 1.000 and 1.004. Many series keep the
refits' alone: they have thousands of residuals from every series, and every origin made
the employment panel's bands too wide inside its training part (Winkler 1.094 and 1.150
times the refits' alone).

H is at least two seasons (24 steps without a season), shortened only so that
every step keeps at least `MIN_RESIDUALS` residuals. For many series, the refits stop
once every step has more residuals than it keeps (`MAX_PER_STEP`): with 148 series the
oldest origin alone gives 11,000 per step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.contract.intervals import Calibration
from app.contract.pipeline import Pipeline

REFITS = 3  # origins refitted; each costs one more fit of the recipe
MIN_RESIDUALS = 10  # per step; fewer make the far quantiles noise
MAX_PER_STEP = 5_000  # residuals kept per step (evenly spaced order statistics) for many series


class Forecasts(Protocol):
    """What a fitted ensemble offers calibration: recursive multi-step forecasts by series."""

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def log(self) -> np.ndarray: ...

    @property
    def spread(self) -> np.ndarray: ...

    def forecast_from(
        self, values: Sequence[np.ndarray], points: Sequence[np.ndarray], horizon: int
    ) -> list[np.ndarray]: ...

    def weighted(self, weight: float | np.ndarray) -> Forecasts:
        """The same fit using `weight` (one, or one per series) of its network's correction."""
        ...


def wanted_horizon(season_length: int) -> int:
    """Two seasons ahead, or 24 steps for a series without a season."""
    return max(24, 2 * season_length) if season_length > 1 else 24


def origins(train_size: int, history_length: int, season_length: int) -> list[int]:
    """`REFITS` origins spread over the last stretch of the training part, oldest first.

    They are a season apart, or a tenth of the training part apart if that is
    more, and never so early that a refit would have less than half the
    training part's windows to learn from. For many series, `train_size` is their
    median training length and the origins count back from each series' own end.
    """
    step = max(season_length, math.ceil(train_size / 10))
    earliest = history_length + max(1, (train_size - history_length) // 2)
    found = [train_size - k * step for k in range(REFITS, 0, -1)]
    return [o for o in found if o >= earliest] or [max(earliest, train_size - step)]


@dataclass(frozen=True)
class Refit:
    """The recipe refitted at one origin, and the points it forecasts from in the series it kept.

    `points[i]` are the indices in series `series[i]`'s training part from the origin to
    its end: the refit never saw them, so its forecasts there are out of sample.
    """

    origin: int
    fitted: Forecasts
    series: list[int]
    points: list[np.ndarray]

    def weighted(self, weights: np.ndarray) -> Refit:
        """This refit forecasting each series with its weight (`weights`: one per series)."""
        return dataclasses.replace(self, fitted=self.fitted.weighted(weights[self.series]))


def refits(
    parts: Sequence[np.ndarray],
    final: Forecasts,
    refit: Callable[[list[np.ndarray]], Forecasts],
) -> list[Refit]:
    """The recipe refitted at `origins`, each on what came before its origin, oldest first.

    For many series the refits stop once every step 1..H has more residuals than
    calibration keeps (`MAX_PER_STEP`): more would only cost time.
    """
    pipeline = final.pipeline
    sizes = np.array([len(p) for p in parts])
    reference = int(sizes[0]) if len(parts) == 1 else int(np.median(sizes))
    horizon = wanted_horizon(pipeline.season_length)
    counts = np.zeros(horizon, dtype=np.int64)  # residuals each step will have
    found: list[Refit] = []
    for origin in origins(reference, pipeline.history_length, pipeline.season_length):
        if counts.min() >= MAX_PER_STEP:
            break
        back = reference - origin
        kept = [k for k, n in enumerate(sizes) if n - back > pipeline.history_length]
        fitted = refit([parts[k][: sizes[k] - back] for k in kept])
        history = fitted.pipeline.history_length
        points = [np.arange(max(sizes[k] - back, history), sizes[k]) for k in kept]
        lengths = np.array([len(p) for p in points])
        counts += np.maximum(0, lengths[:, np.newaxis] - np.arange(horizon)).sum(axis=0)
        found.append(Refit(origin, fitted, kept, points))
    return found


def calibrate(parts: Sequence[np.ndarray], final: Forecasts, found: Sequence[Refit]) -> Calibration:
    """Residuals per step 1..H of the refits, forecasting to the training parts' end, and
    for one series those of `final` from every origin of its training part (see above).

    `final` is the version's evaluation fit, and the refits forecast as it does (the same
    network weight): residuals are measured in each series' error space as it records it
    (logs or not), whatever a refit's own rule said, and, for many series, divided by the
    series' spread so they pool (`normalised`).
    """
    pipeline = final.pipeline
    sizes = np.array([len(p) for p in parts])
    horizon = wanted_horizon(pipeline.season_length)
    normalised = len(parts) > 1
    residuals: list[list[np.ndarray]] = [[] for _ in range(horizon)]
    flat, offsets = np.concatenate(parts), np.concatenate([[0], np.cumsum(sizes)[:-1]])
    sources = [(refit.fitted, refit.series, refit.points) for refit in found]
    if len(parts) == 1:
        sources.append((final, [0], [np.arange(pipeline.history_length, sizes[0])]))
    for fitted, kept, points in sources:
        forecasts = fitted.forecast_from([parts[k] for k in kept], points, horizon)
        predicted = np.concatenate(forecasts)
        where = np.concatenate(
            [np.column_stack([np.full(len(f), k), f]) for k, f in zip(kept, points, strict=True)]
        )
        for h in range(horizon):
            known = where[:, 1] + h < sizes[where[:, 0]]
            k, t = where[known, 0], where[known, 1] + h
            actual = flat[offsets[k] + t]
            logged = final.log[k]
            error = np.abs(space(actual, logged) - space(predicted[known, h], logged))
            residuals[h].append(error / final.spread[k] if normalised else error)
    pooled = [_worst_for_unmeasurable(np.concatenate(r)) for r in residuals]
    steps = 1  # counts fall with the step: keep the steps that have enough residuals
    while steps < horizon and len(pooled[steps]) >= MIN_RESIDUALS:
        steps += 1
    return Calibration(
        space=pipeline.error_space,
        normalised=normalised,
        origins=[refit.origin for refit in found],
        residuals=[_thinned(r).tolist() for r in pooled[:steps]],
    )


def _worst_for_unmeasurable(residuals: np.ndarray) -> np.ndarray:
    """Sorted, with a residual that cannot be measured counted as the step's worst miss.

    A refit may forecast zero or less for a series the final fit models in logs, where
    the error is infinite: it is a miss, not a residual to drop (dropping would narrow
    the bands), and not one to let poison the quantiles either.
    """
    bad = ~np.isfinite(residuals)
    if bad.any() and bad.all():
        raise ValueError("a calibration refit forecasts nothing measurable")
    if bad.any():
        residuals = np.where(bad, residuals[~bad].max(), residuals)
    return np.sort(residuals)


def space(values: np.ndarray, log: np.ndarray) -> np.ndarray:
    """Values in the error space of each one's series: logs where `log`, else as they are."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(log, np.log(np.where(log, values, 1.0)), values)


def _thinned(ordered: np.ndarray) -> np.ndarray:
    """At most `MAX_PER_STEP` evenly spaced order statistics: the same quantiles, smaller."""
    if len(ordered) <= MAX_PER_STEP:
        return ordered
    return ordered[np.linspace(0, len(ordered) - 1, MAX_PER_STEP).round().astype(int)]
