"""How much of the network a version uses: only as much as validation shows it helps.

The seasonal pipeline forecasts on its own when the network's output is replaced by 0
(`SeasonalPipeline.without_network`): the seasonal index, the anchor (the last
deseasonalised value, or part of the way to a smoothed level) and the mean change. The
network adds a correction d to that, and the version forecasts z(w) = z0 + w * d in the
error space (`network_weight`), so one step ahead the error is e0 - w * d, with e0 the
pipeline alone's error: a least-squares problem in one number.

It is solved on the calibration refits' one-step forecasts (`training.calibrate.refits`):
each refit was fitted before its origin and forecasts the training part after it, so
every pair (e0, d) is out of sample and the test part is never read.

Each series gets its own weight, from its own pairs: on the employment panel the best
weight differs between series far more than its standard error (BENCHMARKS.md, "The
network against its own pipeline alone"), and one pooled weight left the network hurting
half the series. The pairs of all series, divided by each one's spread, also give a
pooled weight: the one a series the version never saw is forecast with.

The least-squares weight w* = sum(e0 d) / sum(d^2) is itself an estimate, with standard
error se, and following a noisy estimate all the way costs out of sample. If w* ~ N(w, se^2),
then E[w*^2] = w^2 + se^2, and the multiple of w* with the least expected squared error is
w^2 / (w^2 + se^2), estimated by 1 - se^2 / w*^2: the positive-part James-Stein shrinkage.
So the chosen weight is w* (1 - se^2 / w*^2), clipped to [0, 1]: a network whose help
validation cannot tell from chance (|w*| <= se) is not used, one that clearly helps nearly
fully. A refit forecasts each point once per refit that saw it, so the standard error counts
distinct points, not pairs. Why this rule and not a fixed count of standard errors below
w*: BENCHMARKS.md, "The network earns its place".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.contract.manifest import NetworkChoice
from training.calibrate import Forecasts, Refit, space


@dataclass(frozen=True)
class Weights:
    """The choice: one weight per series, the pooled one, and the record the manifest keeps."""

    series: np.ndarray  # (series,) each series' share of the network's correction
    pooled: float  # for a series the version never saw (`network_weight`)
    record: NetworkChoice


def choose_weights(
    parts: Sequence[np.ndarray], final: Forecasts, found: Sequence[Refit]
) -> Weights | None:
    """The network weights of a version whose evaluation fit is `final`; None without any.

    Each series gets the shrunk weight of its own validation pairs; a series without
    any (too short for every refit) gets the pooled weight, as does a series the version
    never saw. A pipeline with no network-free forecast (the post's differencing
    pipeline) keeps the whole network.
    """
    if final.pipeline.without_network() is None:
        return None
    alone, correction, owner, point = validation_pairs(parts, final, found)
    pooled = shrunk(*least_squares(alone, correction, _distinct(owner, point)))
    weights = np.full(len(parts), pooled)
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(parts) + 1))
    for k in range(len(parts)):
        mine = order[bounds[k] : bounds[k + 1]]
        if len(mine):
            fit = least_squares(alone[mine], correction[mine], len(np.unique(point[mine])))
            weights[k] = shrunk(*fit)
    chosen = weights[owner]

    def rmse(w: float | np.ndarray) -> float:
        return float(np.sqrt(np.mean((alone - w * correction) ** 2))) if len(alone) else 0.0

    record = NetworkChoice(
        weight=pooled,
        points=len(alone),
        rmse_alone=rmse(0.0),
        rmse_network=rmse(1.0),
        rmse_chosen=rmse(chosen),
        series_weights=[float(q) for q in np.quantile(weights, [0, 0.5, 1])],
        series_without_network=float(np.mean(weights == 0)),
    )
    return Weights(weights, pooled, record)


def shrunk(weight: float, standard_error: float) -> float:
    """w* (1 - se^2 / w*^2), within [0, 1]: 0 when w* is no further from 0 than its error."""
    if weight <= standard_error:
        return 0.0
    return float(min(1.0, weight * (1.0 - (standard_error / weight) ** 2)))


def validation_pairs(
    parts: Sequence[np.ndarray], final: Forecasts, found: Sequence[Refit]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pipeline-alone errors e0, network corrections d, series, point), one per refit
    forecast, in each series' error space (`final`'s log rule) divided by its spread.

    A forecast that cannot be measured (a refit forecasting <= 0 for a series in logs)
    is left out: it says nothing about how far the network should be followed.
    """
    alone, correction, owners, points_ = [], [], [], []
    for refit in found:
        series = [parts[k] for k in refit.series]
        with_network = refit.fitted.forecast_from(series, refit.points, 1)
        without = refit.fitted.weighted(0.0).forecast_from(series, refit.points, 1)
        for k, points, f1, f0 in zip(
            refit.series, refit.points, with_network, without, strict=True
        ):
            log, spread = final.log[k], final.spread[k]
            z, z1, z0 = (space(x, log) for x in (parts[k][points], f1[:, 0], f0[:, 0]))
            alone.append((z - z0) / spread)
            correction.append((z1 - z0) / spread)
            owners.append(np.full(len(points), k))
            points_.append(points)
    if not alone:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    e0, d = np.concatenate(alone), np.concatenate(correction)
    usable = np.isfinite(e0) & np.isfinite(d)
    owner, point = np.concatenate(owners), np.concatenate(points_)
    return e0[usable], d[usable], owner[usable], point[usable]


def _distinct(owner: np.ndarray, point: np.ndarray) -> int:
    return len(np.unique(np.column_stack([owner, point]), axis=0)) if len(owner) else 0


def least_squares(alone: np.ndarray, correction: np.ndarray, distinct: int) -> tuple[float, float]:
    """(w*, its standard error) for e0 ~ w d; (0, 0) when the network corrects nothing.

    The standard error is the usual sigma / sqrt(sum d^2), widened by sqrt(pairs / distinct
    points): the refits' forecasts of one point are not independent evidence.
    """
    energy = float(np.sum(correction**2))
    if not len(alone) or energy == 0.0:
        return 0.0, 0.0
    weight = float(np.sum(alone * correction) / energy)
    residual = alone - weight * correction
    sigma2 = float(np.sum(residual**2)) / max(len(alone) - 1, 1)
    return weight, float(np.sqrt(sigma2 / energy * len(alone) / max(distinct, 1)))
