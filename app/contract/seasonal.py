"""The default recipe's pipeline: log (by rule), causal deseasonalisation, level-relative windows.

For a series y with season length s (1: no season), over one history:

    z = log(y) when the rule says so (`log_rule`), else y
    a_i = z_i - mean(z_{i-s+1..i})                         this season's deviation
    M_j(K, rho) = sum_k rho^(k-1) a_{j-k s} / sum_k rho^(k-1)   a memory of K seasons back
    S_j = (1 - m) M_j(K, rho) + m [(1 - f) M_j(K', rho') + f M_j(K'', 1)]   three memories mixed
    u_j = z_j - S_j                                         deseasonalised (u = z without season)
    l_t = sum_k lam^k u_{t-k} / sum_k lam^k, k < P          the level: a memory of P points
    b_t = u_t + g (l_t - u_t)                               the anchor a forecast starts from
    input   x = (u_{t-L+1..t} - u_t) * scale                the window relative to its last value
    target  (u_{t+1} - b_t) scaled by the fitted StandardScaler
    forecast z_{t+1} = S_{t+1} + b_t + scaler.inverse(w * network output), y = exp(z) when logged

w (`network_weight`, in [0, 1]) is how much of the network's correction the version uses.
With w = 0 the forecast is the pipeline alone: the seasonal index, the last deseasonalised
value and the scaler's mean change (a scaled output of 0 is the mean of the changes the
StandardScaler was fitted on), a seasonal random walk with drift. Training chooses w on
validation inside the training part (`training.shrinkage`), so the network is used only as
far as it was seen to help, and every model is scored against its pipeline alone.

m (`long_weight`) mixes a short memory of the season (K = 6 seasons, rho = 0.75: a season
that changes, as milk's) with a long one (K' = 20, rho' = 0.9: a season that drifts slowly
under noise, as CO2's). Training chooses m before the network, on the pipeline alone's
forecasts of the last third of the training part (`training.memory`), by the same shrunk
least-squares rule as w. With m = 0 the long memory is not read and the history is as short
as before.
f (`flat_weight`) gives part of the long memory's share to a flat one (K'' = 40 seasons, all
weighing alike: a season that does not change, where SARIMA's seasonal MA is about -1, as
El Nino's), chosen after m by the same rule; with f = 0 it is not read.

g (`level_weight`) starts the forecast that share of the way from the last deseasonalised
value to an exponentially weighted level of the last P = 10 of them (lam = 0.75): with
g = 1, simple exponential smoothing (alpha = 0.25), the pipeline of a level that is noise
around a slow mean (the Nile's yearly flow); with g = 0, a random walk. Chosen last, on
the same pairs by the same rule (`training.memory`); the network learns what is left,
u_{t+1} - b_t. With g = 0 the anchor is u_t and the window is as long as before.

Everything is causal and reads at most `history_width` values (max(L, P) + (K + 1) s - 1, K
the longest memory in use, P only when the level is used): older
values do not change a forecast. A shorter history (at least `history_length`) uses the
seasons it has, counting only the k whose a_{j-k s} exists. Histories arrive as rows of
a (batch, history_width) matrix, left-padded with NaN, so a batch of unequal lengths is one
pass, and training builds its windows from exactly such rows: the windows training saw
are the inputs serving builds for the same history.

Why this shape (Smyl's ES-RNN; Hewamalage, Bergmeir and Bandara 2021): the network never
sees the level or the season, only short-range dynamics that look alike across series, which
is what a few hundred windows can teach an LSTM. Chosen by rolling-origin validation inside
the training parts of the panel; see the README.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from app.contract.intervals import Space
from app.contract.pipeline import AffineScaler, Predict, bounded_width, history_rows


@dataclass(frozen=True)
class SeasonalPipeline:
    """The deseasonalising pipeline, as the manifest records it (its scaler is pickled apart)."""

    look_back: int
    season_length: int
    seasons: int = 6  # K: seasons averaged into the seasonal index
    decay: float = 0.75  # rho: weight of each older season relative to the next newer one
    log: bool = False
    network_weight: float = 1.0  # w: share of the network's correction the forecast uses
    long_seasons: int = 20  # K': seasons in the long memory of the season
    long_decay: float = 0.9  # rho': its weight of each older season
    long_weight: float = 0.0  # m: the long memory's share of the seasonal index
    level_points: int = 10  # P: deseasonalised values the level reads
    level_decay: float = 0.75  # lam: weight of each older value in the level
    level_weight: float = 0.0  # g: how far the anchor moves from u_t to the level
    flat_seasons: int = 40  # K'': seasons in the flat memory of the season (rho'' = 1)
    flat_weight: float = 0.0  # f: the flat memory's share of the long memory's part, m

    def __post_init__(self) -> None:
        for name in ("look_back", "season_length", "seasons", "level_points", "flat_seasons"):
            if (value := getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        for name in ("decay", "long_decay", "level_decay"):
            if not 0 < (value := getattr(self, name)) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        for name in ("network_weight", "long_weight", "level_weight", "flat_weight"):
            if not 0 <= (value := getattr(self, name)) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.long_seasons < self.seasons:
            raise ValueError(
                f"long_seasons must be at least seasons ({self.seasons}), got {self.long_seasons}"
            )
        s, longest = self.season_length, max(self.long_seasons, self.flat_seasons)
        widest = max(self.look_back, self.level_points) + (
            (longest + 1) * s - 1 if s > 1 else 0
        )  # whatever the shares: a version's shares are read from its manifest too
        bounded_width(
            widest,
            f"window {self.look_back}, level {self.level_points}, {longest + 1} seasons of {s}",
        )

    @property
    def error_space(self) -> Space:
        return "log" if self.log else "identity"

    @cached_property
    def history_length(self) -> int:
        """Fewest values a forecast needs: its window, each point with one season before it."""
        s = self.season_length
        return self.look_back + (2 * s - 1 if s > 1 else 0)

    @property
    def history_reason(self) -> str:
        before = self.history_length - self.look_back
        why = f"look_back {self.look_back}"
        return why + (
            f" + {before} so that each window value has a season before it" * (before > 0)
        )

    @cached_property
    def history_width(self) -> int:
        """Most values a forecast reads; older ones cannot change it."""
        s = self.season_length
        return self.span + ((self.reach + 1) * s - 1 if s > 1 else 0)

    @cached_property
    def span(self) -> int:
        """Deseasonalised values a forecast reads: the window's, and the level's when used."""
        return max(self.look_back, self.level_points) if self.level_weight else self.look_back

    @cached_property
    def reach(self) -> int:
        """Seasons back the seasonal index reads: the longest memory in use."""
        return max(seasons for _, seasons, _ in self._memories)

    @cached_property
    def _memories(self) -> tuple[tuple[float, int, float], ...]:
        """(share, K, rho) of each memory of the season in use."""
        if not self.long_weight:
            return ((1.0, self.seasons, self.decay),)
        m, f = self.long_weight, self.flat_weight
        mixed = (
            (1.0 - m, self.seasons, self.decay),
            (m * (1.0 - f), self.long_seasons, self.long_decay),
            (m * f, self.flat_seasons, 1.0),
        )
        # A memory of no share is not read. Every memory's S is unknown (NaN) exactly where
        # the season before is, so leaving one out changes no number.
        return tuple(memory for memory in mixed if memory[0])

    def deseasonalised(self, histories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u at the last `span` points, S of the next point), each row a NaN-padded history."""
        u, ahead = self._window_and_ahead(self._space(histories))
        return u, ahead[:, 0]

    def _space(self, histories: np.ndarray) -> np.ndarray:
        """z: the rows in the space the season is additive in."""
        return np.log(histories) if self.log else np.asarray(histories, dtype=np.float64)

    def _window_and_ahead(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u at the last `span` points, S at the next max(s, 1) points) of (batch, width) rows.

        The seasonal index of a row of fixed width is linear in its values, with weights
        that depend only on how much left padding the row has (`SeasonalMap`): one
        matrix product (`_mapped_index`), where `_seasonal_index` takes a few dozen array
        passes. The two agree to rounding (the contract tests hold them together).
        """
        width, s, L = z.shape[1], self.season_length, self.span
        if s == 1:
            return z[:, width - L :], np.zeros((len(z), 1))
        if width * (L + s) * self.reach <= MAP_ENTRIES:
            seasonal = _mapped_index(z, L, s, self._memories)
        else:  # a map this large would cost more memory than its speed is worth
            seasonal = self._seasonal_index(z, np.arange(width - L, width + s)).T
        return z[:, width - L :] - seasonal[:, :L], seasonal[:, L:]

    def adjusted(self, rows: np.ndarray) -> np.ndarray:
        """z - S at every point of each (batch, n) row: its one-step changes are `np.diff` of it.

        S_j reads only the seasons before j, so it is the same whether j is seen in a
        history row of `history_width` values or in the whole series: one pass over a
        series gives every change `changes` computes history by history.
        """
        z = np.log(rows) if self.log else np.asarray(rows, dtype=np.float64)
        if self.season_length == 1:
            return z
        return z - self._seasonal_index(z, np.arange(z.shape[1])).T

    def _seasonal_index(self, z: np.ndarray, points: np.ndarray) -> np.ndarray:
        """S at `points` of each row of z (batch, width): (points, batch), NaN where unknown."""
        s = self.season_length
        # Time-major, (width, batch): the running sums go down columns, vectorised over the
        # batch (faster than along rows: BENCHMARKS.md, "Measurements behind design choices").
        zt = np.ascontiguousarray(z.T)
        missing = np.isnan(zt)
        padded = bool(missing.any())
        # a_i for every i: the deviation from the trailing one-season mean (NaN where incomplete)
        a = np.full_like(zt, np.nan)
        a[s - 1 :] = (
            zt[s - 1 :] - _trailing_sums(np.where(missing, 0.0, zt) if padded else zt, s) / s
        )
        if padded:
            a[s - 1 :][_trailing_sums(missing, s) > 0] = np.nan  # the season reaches padding
        lags = points[:, np.newaxis] - s * np.arange(1, self.reach + 1)  # (points, K)
        taken = a[np.clip(lags, 0, None)]  # (points, K, batch)
        taken[lags < 0] = np.nan
        known = ~np.isnan(taken)
        found = np.where(known, taken, 0.0)
        index = np.zeros((len(points), zt.shape[1]))
        with np.errstate(invalid="ignore", divide="ignore"):
            for share, seasons, decay in self._memories:
                weights = np.zeros(self.reach)
                weights[:seasons] = decay ** np.arange(seasons)
                total = np.where(known, weights[:, np.newaxis], 0.0).sum(axis=1)
                index += share * (found * weights[:, np.newaxis]).sum(axis=1) / total
        return index

    def model_inputs(self, histories: np.ndarray, scaler: AffineScaler) -> np.ndarray:
        """(batch, look_back, 1): the deseasonalised window relative to its last value, scaled."""
        return self._inputs(self.deseasonalised(histories)[0], scaler)

    def _inputs(self, u: np.ndarray, scaler: AffineScaler) -> np.ndarray:
        window = u[:, u.shape[1] - self.look_back :]
        return scaler.stretch(window - window[:, -1:])[:, :, np.newaxis]

    def _anchor(self, u: np.ndarray, padded: bool = True) -> np.ndarray:
        """b_t of each row of u (the last `span` deseasonalised values): where forecasts start.

        The level counts only the known values (a short history's are NaN on the left),
        renormalising the weights over them, as the seasonal index does with seasons.
        `padded=False` says no row has NaN, which spares the check.
        """
        last = u[:, -1]
        if not self.level_weight:
            return last
        recent = u[:, u.shape[1] - self.level_points :]
        weights, normalised = self._level_weights
        missing = np.isnan(recent) if padded else None
        if missing is not None and missing.any():
            level = np.where(missing, 0.0, recent) @ weights / (~missing @ weights)
        else:
            level = recent @ normalised
        return last + self.level_weight * (level - last)

    @cached_property
    def _level_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """lam^k over the last P points, oldest first (the newest weighs 1); and over their sum."""
        weights = self.level_decay ** np.arange(self.level_points - 1, -1, -1, dtype=np.float64)
        return weights, weights / weights.sum()

    @cached_property
    def _level_rows(self) -> np.ndarray:
        """`_level_weights` as one (2, P) matrix, as `Recursion.recurse` takes them."""
        rows = np.stack(self._level_weights)
        rows.flags.writeable = False
        return rows

    def to_series_units(
        self, outputs: np.ndarray, histories: np.ndarray, scaler: AffineScaler
    ) -> np.ndarray:
        """The next value after each history, from the network's (batch,) outputs."""
        return self._series_units(outputs, *self.deseasonalised(histories), scaler)

    def next_values(
        self, histories: np.ndarray, scaler: AffineScaler, predict: Predict
    ) -> np.ndarray:
        """`to_series_units(predict(model_inputs(h)), h)`, deseasonalising `h` once, not twice."""
        return self.forecast(histories, 1, scaler, predict)[:, 0]

    def forecast(
        self, histories: np.ndarray, horizon: int, scaler: AffineScaler, predict: Predict
    ) -> np.ndarray:
        """(batch, history_width) rows -> (batch, horizon): `next_values` fed back step by step.

        The same recursion as `app.contract.pipeline.stepwise_forecast`, computed where it is
        cheap. Appending a forecast changes no seasonal index already known (S_j reads
        only the seasons before j), so u is carried forward, u_{t+1} = b_t + change, and
        only the network runs each step (`_carry`: in one call of the compiled kernel when
        the network offers it). S of the next s points is known from the history alone;
        past them it is computed once per season from the row extended with the forecasts.
        The pipeline alone (w = 0) never reads the network, so it does not run it.
        """
        z = self._space(histories)
        width, s, L = z.shape[1], self.season_length, self.span
        u = np.empty((len(z), L + horizon))
        u[:, :L], ahead = self._window_and_ahead(z)
        self._carry(u, scaler, predict)
        if s == 1:  # no season: S is 0 everywhere
            out = ahead + u[:, L:]
            return np.exp(out) if self.log else out
        out = np.empty((len(z), horizon))
        for start in range(0, horizon, s):  # a season of forecasts at a time
            if start:  # past the first: the index of the next season, from the forecasts
                extended = np.concatenate([z, out[:, :start]], axis=1)[:, -width:]
                ahead = self._window_and_ahead(extended)[1]
            stop = min(start + s, horizon)
            out[:, start:stop] = ahead[:, : stop - start] + u[:, L + start : L + stop]
        return np.exp(out) if self.log else out

    def _carry(self, u: np.ndarray, scaler: AffineScaler, predict: Predict) -> None:
        """Fill u[:, span:] with the deseasonalised forecasts, u_{t+1} = b_t + change, each
        step's window ending at the last: by the network's own `recurse` when it has one
        (`Recursion`, the compiled kernel), else by this loop, its reference."""
        L, batch = self.span, len(u)
        recurse = getattr(predict, "recurse", None) if self.network_weight else None
        if recurse is not None:
            level = self._level_rows if self.level_weight else None
            recurse(
                u, L, self.look_back, scaler.scale, scaler.offset, self.network_weight, level,
                self.level_weight,
            )  # fmt: skip
            return
        padded = bool(np.isnan(u[:, :L]).any())  # the forecasts appended are no padding
        zeros = np.zeros(batch)
        for step in range(u.shape[1] - L):
            window = u[:, step : step + L]
            outputs = predict(self._inputs(window, scaler)) if self.network_weight else zeros
            anchor = self._anchor(window, padded)
            u[:, step + L] = anchor + scaler.inverse(self.network_weight * outputs)

    def without_network(self) -> SeasonalPipeline:
        """This pipeline forecasting alone (w = 0): the baseline the network must beat."""
        return dataclasses.replace(self, network_weight=0.0)

    def _series_units(
        self, outputs: np.ndarray, u: np.ndarray, seasonal: np.ndarray, scaler: AffineScaler
    ) -> np.ndarray:
        correction = self.network_weight * np.asarray(outputs, dtype=np.float64)
        z = seasonal + self._anchor(u) + scaler.inverse(correction)
        return np.exp(z) if self.log else z

    def changes(self, series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(histories, target indices, change after each history) for every point it can.

        The change is what `to_series_units` adds back to forecast the point exactly:
        z_{t+1} - S_{t+1} - b_t, from the same history row serving would be given. The
        scaler is fitted on these changes and the network learns to predict them.
        """
        series = np.asarray(series, dtype=np.float64)
        histories, targets = history_rows(series, self.history_length, self.history_width)
        u, seasonal = self.deseasonalised(histories)
        following = np.log(series[targets]) if self.log else series[targets]
        return histories, targets, following - seasonal - self._anchor(u)

    def scaler_values(self, train_values: np.ndarray) -> np.ndarray:
        return self.changes(train_values)[2]

    def training_windows(
        self, series: np.ndarray, scaler: AffineScaler
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, scaled targets and target indices, from the rows serving would be given."""
        histories, targets, change = self.changes(series)
        return self.model_inputs(histories, scaler), scaler.transform(change), targets


MAP_ENTRIES = 2**19
"""Largest `SeasonalMap` built, in entries of each of its two big arrays (4 MiB each): monthly
data and the flat memory (2.7 MiB each) fits; weekly data with a yearly season (s = 52) and
the long memory too; hourly with a weekly one takes `_seasonal_index`."""


@dataclass(frozen=True, eq=False)
class SeasonalMap:
    """S at the last `span` points and the next s points of a row of `width` values, as weights.

    For a row of width n, point j and season k back, S_j reads a_{j-ks}, which is a
    fixed linear function of the row (`deviations`: one column per (j, k)). Which of
    those a are known depends only on the row's left padding p (a needs its whole
    season inside the real values), and so do the weights that renormalise over them
    (`weights[p]`, 0 for an unknown a, NaN where no season is known: S unknown, as in
    `_seasonal_index`). For one padding, both fold into one matrix (`full` for none,
    `_folded` for p); `_mapped_index` mixes a version's memories' folds into one.
    """

    deviations: np.ndarray  # (width, points * K)
    weights: np.ndarray  # (width + 1, points, K): by padding p = 0..width
    full: np.ndarray  # (width, points) = deviations with weights[0] folded in

    def general(self, z: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """(batch, points): S at each point of each row of z (batch, width), NaN-padded left,
        rows of any paddings; `missing` is `np.isnan(z)`."""
        padding = missing.sum(axis=1)
        # A row with a NaN after its real values start is no history: its S is NaN.
        broken = np.argmax(~missing, axis=1) != padding
        padding[broken | (padding == z.shape[1])] = 0
        taken = np.where(missing, 0.0, z) @ self.deviations
        points, seasons = self.weights.shape[1:]
        found = (taken.reshape(len(z), points, seasons) * self.weights[padding]).sum(axis=2)
        found[broken | missing.all(axis=1)] = np.nan
        return found


def _mapped_index(
    z: np.ndarray, span: int, season_length: int, memories: tuple[tuple[float, int, float], ...]
) -> np.ndarray:
    """(batch, points): S of each row of z by its memories' `SeasonalMap`s.

    Rows that share their padding (none, or p values: a batch of series of one length, or
    one series posted alone, is how most requests come) take one product with the
    memories' folds for that padding mixed by their shares (`_mixed_fold`), however many
    memories the version mixes; rows of several paddings take each map's general path.
    """
    width = z.shape[1]
    missing = np.isnan(z)
    if not (count := np.count_nonzero(missing)):
        return z @ _mixed_fold(span, season_length, memories, width, 0)
    p, rest = divmod(count, len(z))
    if not rest and missing[:, :p].all():  # every row padded by p, no more
        return np.where(missing, 0.0, z) @ _mixed_fold(span, season_length, memories, width, p)
    found = [
        share * _season_map(span, season_length, seasons, decay, width).general(z, missing)
        for share, seasons, decay in memories
    ]
    return found[0] if len(found) == 1 else sum(found[1:], found[0])


@lru_cache(maxsize=32)
def _mixed_fold(
    span: int,
    season_length: int,
    memories: tuple[tuple[float, int, float], ...],
    width: int,
    padding: int,
) -> np.ndarray:
    """sum(share * fold) over the memories, for rows of this padding: (width, points), 70 KiB
    for monthly data and the flat memory. Keyed by the memories' values, not a version, so
    versions that mix the same memories share it; the maps it is built from stay one per
    memory (`_season_map`), the large part, so serving many versions in turn rebuilds only
    these (a product each)."""
    mixed: np.ndarray | None = None
    for share, seasons, decay in memories:
        season_map = _season_map(span, season_length, seasons, decay, width)
        fold = share * (season_map.full if padding == 0 else _folded(season_map, padding))
        mixed = fold if mixed is None else mixed + fold
    assert mixed is not None, "a pipeline uses at least one memory"
    mixed.flags.writeable = False  # shared by every request of this padding
    return mixed


@lru_cache(maxsize=8)
def _season_map(
    span: int, season_length: int, seasons: int, decay: float, width: int
) -> SeasonalMap:
    """The `SeasonalMap` of one memory over a pipeline's rows, built once per shape: 170 KiB
    for monthly data and the short memory, 1.5 MiB for the long one."""
    s, L = season_length, span
    points = np.arange(width - L, width + s)  # the window (and level), then the next season
    lags = points[:, np.newaxis] - s * np.arange(1, seasons + 1)  # i = j - k s: (points, K)
    deviations = np.zeros((width, len(points), seasons))
    inside = lags >= s - 1  # a_i needs z_{i-s+1..i} in the row
    for j, k in zip(*np.nonzero(inside), strict=True):
        i = lags[j, k]
        deviations[i - s + 1 : i + 1, j, k] = -1.0 / s
        deviations[i, j, k] += 1.0
    # Known a_i for padding p: its season starts at or after p, i - s + 1 >= p.
    known = lags[np.newaxis] - s + 1 >= np.arange(width + 1)[:, np.newaxis, np.newaxis]
    known &= inside[np.newaxis]
    raw = np.where(known, decay ** np.arange(seasons), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = raw / raw.sum(axis=2, keepdims=True)
    full = (deviations * weights[0]).sum(axis=2)
    return SeasonalMap(deviations.reshape(width, -1), weights, full)


@lru_cache(maxsize=16)
def _folded(season_map: SeasonalMap, padding: int) -> np.ndarray:
    """`SeasonalMap.full` for rows of this padding: (width, points), 13 KiB for monthly data
    and the short memory, 45 KiB for the long one; a map is hashed by identity."""
    points, seasons = season_map.weights.shape[1:]
    deviations = season_map.deviations.reshape(len(season_map.deviations), points, seasons)
    with np.errstate(invalid="ignore"):  # NaN weights: no season known, S unknown
        folded = (deviations * season_map.weights[padding]).sum(axis=2)
    folded.flags.writeable = False  # shared by every request of this padding
    return folded


def _trailing_sums(values: np.ndarray, s: int) -> np.ndarray:
    """Sums of each run of `s` consecutive rows, ending at rows s-1 .. end."""
    sums = np.cumsum(values, axis=0, dtype=np.float64)
    out = sums[s - 1 :].copy()
    out[1:] -= sums[: len(sums) - s]
    return out


def log_rule(train_values: np.ndarray, season_length: int) -> bool:
    """Logs when the series is positive, its level moves and its swings grow with the level.

    Blocks are seasons (or 8 points without a season); the swing is the standard deviation
    within a block (mean absolute first difference without a season). Logs are taken when
    the block means span a factor of 1.2 or more and log(swing) rises with log(mean) at a
    slope above 0.5: multiplicative seasonality, as in airline passengers.
    """
    return bool(log_rules(np.asarray(train_values, dtype=np.float64)[np.newaxis], season_length)[0])


def log_rules(rows: np.ndarray, season_length: int) -> np.ndarray:
    """`log_rule` for every row of a (batch, n) matrix of equal-length series, in array passes."""
    y = np.asarray(rows, dtype=np.float64)
    batch, n = y.shape
    block = season_length if season_length > 1 else 8
    blocks = n // block
    if blocks < 3 or batch == 0:
        return np.zeros(batch, dtype=bool)
    cut = y[:, n - blocks * block :].reshape(batch, blocks, block)
    means = cut.mean(axis=2)
    swings = cut.std(axis=2) if season_length > 1 else np.abs(np.diff(cut, axis=2)).mean(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        usable = (
            (y.min(axis=1) > 0)
            & (swings > 0).all(axis=1)
            & (means.max(axis=1) / means.min(axis=1) >= 1.2)
        )
        x, v = np.log(means), np.log(swings)
        dx = x - x.mean(axis=1, keepdims=True)
        slope = (dx * (v - v.mean(axis=1, keepdims=True))).sum(axis=1) / (dx**2).sum(axis=1)
    return usable & (slope > 0.5)


def window_length(season_length: int) -> int:
    """L: half a season, at least 4 steps; 5 steps without a season (the default recipe
    also tries 10 there and keeps what validation prefers: `training.window`).

    Half a season suits monthly data; a quarterly window of 2 left the network one change
    to read. Inside the training parts of four quarterly series, 4 steps took the
    geometric mean of RMSE / SARIMA's from 1.126 to 1.064 (BENCHMARKS.md, "The window").
    """
    return max(4, round(season_length / 2)) if season_length > 1 else 5
