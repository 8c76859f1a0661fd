"""One model version, ready to forecast: the train/serve pipeline wrapped around the NumPy network.

A `Forecaster` is built only from a `VerifiedVersion` (hashes checked, scaler
unpickled) and the engine's `Network` parsed from the same verified bytes. Building it
checks that the network fits the manifest and runs a warm-up forecast, so a
version that would fail at request time fails here, at load, instead.

Every transform goes through `app.contract.pipeline` and every score through
`app.contract.scoring`: the numbers `/evaluate` returns mean what the manifest's
training metrics mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from app.contract import scoring
from app.contract.intervals import bounds, coverage, mean_width, winkler
from app.contract.manifest import IntervalScores, Manifest, StepScores
from app.contract.pipeline import (
    Histories,
    Pipeline,
    as_rows,
    one_step_histories,
    recursive_forecast,
)
from app.contract.scoring import Baseline, BaselineScores
from app.contract.store import VerifiedVersion, read_version
from app.engine.archive import load_network
from app.engine.network import Network, stack
from app.errors import ArtifactError


class ForecasterError(ArtifactError):
    """The network and the manifest of a version do not fit together."""


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


@dataclass(frozen=True)
class Prediction:
    """What the forecaster says about a batch of histories: points, bands, notes by row."""

    values: np.ndarray  # (batch, horizon), series units
    bands: list[Band]  # one per level asked for, each the shape of `values`
    notes: dict[int, str]  # row index -> why its inputs lie far outside the training range
    overflow: int | None = None  # the first row whose points or bands are not finite


@dataclass(frozen=True)
class Band:
    """A prediction interval of one level around forecasts of shape (batch, horizon)."""

    level: float
    lower: np.ndarray
    upper: np.ndarray


class Forecaster:
    """Forecasts from raw histories (series units in, series units out), vectorised over a batch.

    `margin` sets when inputs count as far outside the training range: more than
    `margin` times the range's width below its minimum or above its maximum.
    """

    def __init__(self, version: VerifiedVersion, network: Network, margin: float = 0.5) -> None:
        self.verified = version
        self.network = network
        self.pipeline: Pipeline = version.manifest.pipeline.spec()
        low, high = version.manifest.data.train_min, version.manifest.data.train_max
        width = high - low
        self.safe_range = (low - margin * width, high + margin * width)
        self._check_network()
        self._warm_up()

    @property
    def manifest(self) -> Manifest:
        return self.verified.manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> int:
        """The version number."""
        return self.manifest.version

    @property
    def history_length(self) -> int:
        """Fewest raw values one forecast needs (it reads up to `pipeline.history_width`)."""
        return self.pipeline.history_length

    def predict(self, histories: Histories, horizon: int, levels: Sequence[float]) -> Prediction:
        """Every history's next `horizon` values, with bands of `levels`, in one vectorised pass.

        Histories may have any lengths of at least `history_length` (see `shortfall`), and
        `levels` must be servable (see `intervals_refusal`). A row that overflows is left as
        it is, for the caller to refuse (`Prediction.overflow`): JSON cannot carry it.
        """
        rows = as_rows(histories, self.pipeline.history_width)
        values = self.forecast(rows, horizon)
        notes = self.range_notes(rows)
        if (row := _first_nonfinite(values)) is not None:
            return Prediction(values, [], notes, row)  # no bands around what is refused
        bands = self.intervals(values, levels)
        bounds_ = (np.concatenate([band.lower, band.upper], axis=1) for band in bands)
        row = next((r for r in map(_first_nonfinite, bounds_) if r is not None), None)
        return Prediction(values, bands, notes, row)

    def forecast(self, histories: np.ndarray, horizon: int) -> np.ndarray:
        """(batch, history_width) rows, oldest first -> (batch, horizon) forecasts.

        Recursive (`app.contract.pipeline.recursive_forecast`); every ensemble
        member runs in the same pass and their outputs are averaged.
        """
        return recursive_forecast(
            histories, horizon, self.pipeline, self.verified.scaler, self._predict
        )

    @property
    def interval_horizon(self) -> int:
        """Steps ahead this version's intervals are calibrated for; 0 when it has none."""
        calibration = self.verified.calibration
        return 0 if calibration is None else calibration.horizon

    def intervals_refusal(self, horizon: int) -> str | None:
        """Why this version has no intervals `horizon` steps ahead, or None when it has."""
        limit = self.interval_horizon
        if limit == 0:
            return f"model {self.name!r} version {self.version} has no calibrated intervals"
        if horizon > limit:
            return f"intervals are calibrated up to {limit} steps ahead, and horizon is {horizon}"
        return None

    def shortfall(self, n: int, extra: int = 0) -> str | None:
        """Why `n` values are too few for one forecast (`extra` more to evaluate), or None."""
        need = self.history_length + extra
        if n >= need:
            return None
        why = self.pipeline.history_reason + (f" + {extra} to forecast" if extra else "")
        what = "values to evaluate" if extra else "values"
        return f"model {self.name!r} needs at least {need} {what} ({why}), got {n}"

    def intervals(self, point: np.ndarray, levels: Sequence[float]) -> list[Band]:
        """Conformal bands of each level around (batch, horizon) point forecasts.

        Callers ask `intervals_refusal` first; asking anyway is a ValueError here.
        """
        calibration = self.verified.calibration
        if not levels:
            return []
        if calibration is None or (why := self.intervals_refusal(point.shape[1])):
            raise ValueError(why or "no calibration")
        half = calibration.half_widths(levels, point.shape[1])
        return [
            Band(level, *bounds(point, half[j], calibration.space))
            for j, level in enumerate(levels)
        ]

    def evaluate(
        self, series: np.ndarray, levels: Sequence[float] = (), horizon: int = 1
    ) -> Evaluation:
        """One-step forecasts for every point with a full history before it, with scores.

        The baselines are scored on exactly the same points. MASE divides by the
        seasonal naive in-sample MAE of the posted series itself, the only
        history the service has. With `levels`, each level's one-step interval is
        scored (coverage, width, Winkler); with `horizon` > 1, a rolling-origin
        backtest forecasts `horizon` steps from every origin and scores each step.
        """
        series = np.asarray(series, dtype=np.float64)
        if why := self.shortfall(len(series), extra=1):
            raise ValueError(why)
        histories, targets = one_step_histories(series, self.pipeline)
        predictions = self.forecast(histories, 1)[:, 0]
        actuals = series[targets]
        season = self.pipeline.season_length
        with np.errstate(over="ignore", invalid="ignore"):
            return Evaluation(
                targets=targets,
                predictions=predictions,
                actuals=actuals,
                rmse=scoring.rmse(actuals, predictions),
                mae=scoring.mae(actuals, predictions),
                mape=scoring.mape(actuals, predictions),
                mase=scoring.mase(actuals, predictions, scoring.naive_scale(series, season)),
                baselines=scoring.score_baselines(series, targets, season),
                intervals=self._interval_scores(predictions, actuals, levels),
                steps=self._backtest(series, targets, horizon) if horizon > 1 else [],
            )

    def _interval_scores(
        self, predictions: np.ndarray, actuals: np.ndarray, levels: Sequence[float]
    ) -> list[IntervalScores]:
        scored = []
        for band in self.intervals(predictions[:, np.newaxis], levels):
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

    def _backtest(self, series: np.ndarray, targets: np.ndarray, horizon: int) -> list[StepScores]:
        width = self.pipeline.history_width
        result = scoring.backtest(series, targets, horizon, width, self.forecast)
        return [StepScores(step=h, n=n, rmse=r, mae=m) for h, n, r, m in result.step_scores()]

    def range_notes(self, rows: np.ndarray) -> dict[int, str]:
        """A note per row (by index) whose values lie far outside the training range.

        The scaler extrapolates there. One array pass for the whole batch: a loop
        over 1,000 rows cost more than their forecast's LSTM steps.
        """
        outside = self.far_outside(rows).sum(axis=1)  # a short history's NaN padding: False
        used = (~np.isnan(rows)).sum(axis=1)
        data, (low, high) = self.manifest.data, self.safe_range
        return {
            i: f"{outside[i]} of the {used[i]} values used lie outside {low:g} to {high:g}, far"
            f" beyond the training range {data.train_min:g} to {data.train_max:g}; the model"
            " extrapolates there, so treat the forecast with caution"
            for i in np.flatnonzero(outside).tolist()
        }

    def far_outside(self, values: np.ndarray) -> np.ndarray:
        """Mask of the values beyond `safe_range`, where the scaler extrapolates."""
        low, high = self.safe_range
        return (values < low) | (values > high)

    def _predict(self, inputs: np.ndarray) -> np.ndarray:
        return self.network.predict(inputs).mean(axis=0)[:, 0]

    def _check_network(self) -> None:
        """The window length must match the manifest's, and one window must give one number."""
        look_back = self.pipeline.look_back
        if self.network.look_back not in (None, look_back):
            raise ForecasterError(
                f"network input length {self.network.look_back} differs from the manifest's"
                f" look_back {look_back}"
            )
        try:
            shape = self.network.predict(np.zeros((1, look_back, 1)))[0].shape
        except ValueError as exc:
            raise ForecasterError(f"network refuses a (1, {look_back}, 1) window: {exc}") from exc
        if shape != (1, 1):
            raise ForecasterError(f"network maps a window to shape {shape[1:]}; expected (1,)")

    def _warm_up(self) -> None:
        """Forecast from the middle of the training range: proves the whole path runs."""
        data = self.manifest.data
        middle = np.full((1, self.pipeline.history_width), (data.train_min + data.train_max) / 2)
        if not np.isfinite(self.forecast(middle, 2)).all():
            raise ForecasterError("warm-up forecast is not finite")


def _first_nonfinite(rows: np.ndarray) -> int | None:
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
    return int(bad[0]) if len(bad) else None


def load_forecaster(version_dir: Path, margin: float = 0.5) -> Forecaster:
    """Verify a version directory (hashes before unpickling), read its network, warm it up.

    The networks are parsed from the bytes that were hashed; the forecaster then
    keeps the network built from them, not the bytes.
    """
    version = read_version(version_dir)
    names = version.manifest.networks
    members = [
        load_network(data, str(version_dir / name))
        for name, data in zip(names, version.networks, strict=True)
    ]
    return Forecaster(replace(version, networks=()), stack(members), margin)
