"""One model version, ready to forecast: the train/serve pipeline wrapped around the NumPy network.

A `Forecaster` is built only from a `VerifiedVersion` (hashes checked, scaler
unpickled) and the engine's `Network` parsed from the same verified bytes. Building it
checks that the network fits the manifest and runs a warm-up forecast, so a
version that would fail at request time fails here, at load, instead.

Every transform goes through `app.contract` (`pipeline`, and `series` for the
normalisation each row's series gets); `app.evaluation` scores posted series with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import numpy as np

from app.contract.intervals import Calibration, bounds, bounds_by_row
from app.contract.manifest import Manifest
from app.contract.pipeline import Histories, Pipeline, Recursion, as_rows, recursive_forecast
from app.contract.series import SeriesTable, forecast_by_row, loggable, normalisations
from app.contract.store import VerifiedVersion, read_version
from app.engine.archive import load_network
from app.engine.network import Network, stack
from app.errors import ArtifactError

States: TypeAlias = tuple[np.ndarray, np.ndarray]
"""Per row: whether its series is modelled in logs, and its spread (`app.contract.series`)."""


HALF_WIDTHS_KEPT = 64  # (levels, horizon) pairs whose bands' half-widths a forecaster keeps


class ForecasterError(ArtifactError):
    """The network and the manifest of a version do not fit together."""


class Prediction(NamedTuple):
    """What the forecaster says about a batch of histories: points, bands, notes by row.

    A named tuple, as `Band`: immutable, and built in a tenth of a frozen dataclass's time,
    which is a microsecond or two of a one-series forecast."""

    values: np.ndarray  # (batch, horizon), series units
    bands: list[Band]  # one per level asked for, each the shape of `values`
    notes: dict[int, str]  # row index -> why its inputs lie far outside the training range
    overflow: int | None = None  # the first row whose points or bands are not finite


class Band(NamedTuple):
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
        self.margin = margin
        self._half_widths: dict[tuple[tuple[float, ...], int], np.ndarray] = {}
        # The compiled members' mean, which runs a whole recursion in one call; its windows
        # are the pipeline's, whose length `_check_network` holds to the network's.
        self._recursion: Recursion | None = network.member_mean
        self._check_network()
        self._warm_up()

    @property
    def series(self) -> SeriesTable | None:
        """The series the version knows by id; None for versions written before tables."""
        return self.verified.series

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

    def predict(
        self,
        histories: Histories,
        horizon: int,
        levels: Sequence[float],
        series: np.ndarray | None = None,
    ) -> Prediction:
        """Every history's next `horizon` values, with bands of `levels`, in one vectorised pass.

        Histories may have any lengths of at least `history_length` (see `shortfall`), and
        `levels` must be servable (see `intervals_refusal`). `series` numbers the version's
        series each row belongs to (-1: one it never saw), None when all are unknown. A row
        that overflows is left as it is, for the caller to refuse (`Prediction.overflow`):
        JSON cannot carry it.
        """
        rows = as_rows(histories, self.pipeline.history_width)
        states = self.normalisation(rows, series)
        values = self._forecast(rows, horizon, states, self.weights(series, len(rows)))
        notes = self.range_notes(rows, series)
        if (row := _first_nonfinite(values)) is not None:
            return Prediction(values, [], notes, row)  # no bands around what is refused
        if not levels:
            return Prediction(values, [], notes)
        lower, upper = self._bounds(values, levels, states)
        bands = [Band(level, lower[j], upper[j]) for j, level in enumerate(levels)]
        return Prediction(values, bands, notes, _first_nonfinite(lower, upper))

    def forecast(
        self, histories: np.ndarray, horizon: int, series: np.ndarray | None = None
    ) -> np.ndarray:
        """(batch, history_width) rows, oldest first -> (batch, horizon) forecasts.

        Recursive (`app.contract.pipeline.recursive_forecast`); every ensemble
        member runs in the same pass and their outputs are averaged. Each row is
        normalised as its series (`normalisation`) and uses its series' share of the
        network (`weights`).
        """
        states = self.normalisation(histories, series)
        return self._forecast(histories, horizon, states, self.weights(series, len(histories)))

    def forecast_without_network(
        self, histories: np.ndarray, horizon: int, series: np.ndarray | None = None
    ) -> np.ndarray | None:
        """`forecast` by the version's pipeline alone, its network left out: the baseline the
        network must beat (`Pipeline.without_network`). None when the pipeline has none."""
        alone = self.pipeline.without_network()
        if alone is None:
            return None
        states = self.normalisation(histories, series)
        return self._forecast(histories, horizon, states, None, alone)

    def _forecast(
        self,
        histories: np.ndarray,
        horizon: int,
        states: States | None,
        weight: np.ndarray | None,
        pipeline: Pipeline | None = None,
    ) -> np.ndarray:
        scaler, pipeline = self.verified.scaler, pipeline or self.pipeline
        predict = self._recursion or self.network_mean
        if states is None:
            return recursive_forecast(histories, horizon, pipeline, scaler, predict)
        return forecast_by_row(
            histories, horizon, pipeline, scaler, predict, *states, weight=weight
        )

    def normalisation(self, rows: np.ndarray, series: np.ndarray | None) -> States | None:
        """(log, spread) per row: its series' (`series[i]` >= 0) or its own (`normalisation`).

        A row of a series the version never saw takes the version's only series' state
        when it has one (values posted to a one-series model are that series, as ever),
        else the state the shared rule gives its own values. None: no table (an older
        version), whose one scaler serves every row.
        """
        table = self.series
        if table is None:
            return None
        known = self._rows(table, series, len(rows))
        log, spread = table.log[known], table.spread[known]
        if series is None and len(table) == 1:  # every row is the version's one series
            return loggable(self.pipeline, rows, log, spread)
        if (unknown := known < 0).any():
            log[unknown], spread[unknown] = normalisations(self.pipeline, rows[unknown])
        return loggable(self.pipeline, rows, log, spread)

    def weights(self, series: np.ndarray | None, n: int) -> np.ndarray | None:
        """Each row's share of the network: its series' (`SeriesTable.weight`), or the
        pipeline's own `network_weight` for a series the version never saw. None: the
        pipeline's applies to every row (the version keeps no weight per series, or every
        row's is the pipeline's), which spares the weighing."""
        table = self.series
        if table is None or table.weight is None:
            return None
        default = getattr(self.pipeline, "network_weight", 1.0)
        if series is None:  # every row takes one weight: the only series', or the default
            weight = float(table.weight[0]) if len(table) == 1 else default
            return None if weight == default else np.full(n, weight)
        known = self._rows(table, series, n)
        return np.where(known >= 0, table.weight[np.maximum(known, 0)], default)

    @staticmethod
    def _rows(table: SeriesTable, series: np.ndarray | None, n: int) -> np.ndarray:
        """The table row of each of `n` rows, -1 for a series the version never saw; values
        posted to a version of one series are that series."""
        unknown = -1 if len(table) > 1 else 0
        return np.full(n, unknown) if series is None else np.where(series < 0, unknown, series)

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

    def intervals(
        self, point: np.ndarray, levels: Sequence[float], states: States | None = None
    ) -> list[Band]:
        """Conformal bands of each level around (batch, horizon) point forecasts.

        With `states`, each row's bands are in its series' space, and a normalised
        calibration's half-widths are scaled by its spread. Callers ask
        `intervals_refusal` first; asking anyway is a ValueError here.
        """
        if not levels:
            return []
        lower, upper = self._bounds(point, levels, states)
        return [Band(level, lower[j], upper[j]) for j, level in enumerate(levels)]

    def _bounds(
        self, point: np.ndarray, levels: Sequence[float], states: States | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`intervals`' bounds of every level in one pass: (levels, batch, horizon) each."""
        calibration = self.verified.calibration
        if calibration is None or (why := self.intervals_refusal(point.shape[1])):
            raise ValueError(why or "no calibration")
        half = self._bands_half_widths(calibration, tuple(levels), point.shape[1])[:, np.newaxis]
        if states is None:
            return bounds(point, half, calibration.space)
        log, spread = states
        if calibration.normalised:
            half = half * spread[:, np.newaxis]
        return bounds_by_row(point, half, log)

    def _bands_half_widths(
        self, calibration: Calibration, levels: tuple[float, ...], horizon: int
    ) -> np.ndarray:
        """`calibration.half_widths`, kept per (levels, horizon): they depend on nothing else,
        and taking their quantiles on every forecast cost a tenth of one. At most
        `HALF_WIDTHS_KEPT` pairs (a plain dict: a cache holding a bound method of this
        forecaster would keep a version that was swapped out alive until a GC pass)."""
        key = (levels, horizon)
        if (half := self._half_widths.get(key)) is None:
            half = calibration.half_widths(levels, horizon)
            half.flags.writeable = False  # shared by every forecast with these levels
            if len(self._half_widths) >= HALF_WIDTHS_KEPT:
                self._half_widths.clear()
            self._half_widths[key] = half
        return half

    def range_notes(self, rows: np.ndarray, series: np.ndarray | None = None) -> dict[int, str]:
        """A note per row (by index) whose values lie far outside the training range.

        The range is the row's series' own when `series` names it, else everything the
        version saw. The scaler extrapolates there. One array pass for the whole batch:
        a loop over 1,000 rows cost more than their forecast's LSTM steps.
        """
        seen_low, seen_high = self._ranges(series)
        low, high = _widened(seen_low, seen_high, self.margin)
        far = (rows < _by_row(low)) | (rows > _by_row(high))
        if not far.any():
            return {}
        outside, used = far.sum(axis=1), (~np.isnan(rows)).sum(axis=1)
        seen_low, seen_high, low, high = (
            np.broadcast_to(bound, len(rows)) for bound in (seen_low, seen_high, low, high)
        )
        return {
            i: f"{outside[i]} of the {used[i]} values used lie outside {low[i]:g} to"
            f" {high[i]:g}, far beyond the training range {seen_low[i]:g} to {seen_high[i]:g};"
            " the model extrapolates there, so treat the forecast with caution"
            for i in np.flatnonzero(outside).tolist()
        }

    def _ranges(self, series: np.ndarray | None) -> tuple[Any, Any]:
        """Each row's training range: its series' where `series` names one, else the
        version's. Two numbers when every row takes the version's, else (batch,) arrays."""
        data, table = self.manifest.data, self.series
        if table is None or series is None or not (known := series >= 0).any():
            return data.train_min, data.train_max
        low, high = np.full(len(series), data.train_min), np.full(len(series), data.train_max)
        low[known] = np.asarray(table.columns.train_min)[series[known]]
        high[known] = np.asarray(table.columns.train_max)[series[known]]
        return low, high

    def network_mean(self, inputs: np.ndarray) -> np.ndarray:
        """The ensemble's mean output for (batch, look_back, 1) windows: what it forecasts with."""
        return self.network.mean(inputs)

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


def _widened(low: Any, high: Any, margin: float) -> tuple[Any, Any]:
    """The range `margin` times its width wider on each side: where extrapolation starts."""
    return low - margin * (high - low), high + margin * (high - low)


def _by_row(bound: Any) -> Any:
    """One bound per row, (batch,), as a column against (batch, width) rows; a number as is."""
    return bound[:, np.newaxis] if isinstance(bound, np.ndarray) else bound


def _first_nonfinite(*arrays: np.ndarray) -> int | None:
    """The first row (second-to-last axis) where any of the arrays is not finite, or None."""
    if all(np.isfinite(array).all() for array in arrays):  # one pass for the usual answer
        return None
    finite = [np.isfinite(array).all(axis=-1) for array in arrays]  # (..., batch) each
    rows = np.logical_and.reduce([f.reshape(-1, f.shape[-1]).all(axis=0) for f in finite])
    return int(np.argmin(rows))


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
