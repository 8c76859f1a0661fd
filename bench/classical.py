"""The forecasters the default is compared with, each scored like it: one step ahead, fixed fit.

Every model is fitted on the training part once; then each test point is forecast
from the true values before it with those parameters (no refit), which is the
protocol the LSTM is held to. Parameters come from the training part only.

- persistence and seasonal naive: `app.contract.scoring.baselines`;
- ETS: statsmodels Holt-Winters, additive trend (and additive season when there is one);
- SARIMA(0,1,1)(0,1,1)s, the "airline" model (ARIMA(0,1,1) without a season), statsmodels,
  with its own one-step 80 % and 95 % prediction intervals (and, in `sarima_steps`, its
  multi-step ones: what the LSTM's intervals 1..H steps ahead are compared with);
- AutoARIMA and AutoETS from statsforecast, as a user would pick them: automatic order
  and model selection on the training part.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.contract.intervals import coverage, mean_width
from app.contract.scoring import baselines, mae, mase, naive_scale, rmse

Bands = dict[float, tuple[np.ndarray, np.ndarray]]  # level -> (lower, upper), one-step
LEVELS = (80.0, 95.0)
Fitter = Callable[[np.ndarray, int, int], tuple[np.ndarray, Bands | None]]


@dataclass(frozen=True)
class Paths:
    """Forecasts 1..H steps ahead from every test origin, each made from the values before it.

    Row i is origin t = train_size + i; column h - 1 is step h, whose target is t + h - 1.
    Steps whose target lies past the series' end are NaN, so every forecaster's paths
    line up with the same targets (`bench.interval_scores.score_paths`).
    """

    mean: np.ndarray  # (origins, horizon)
    bands: dict[float, tuple[np.ndarray, np.ndarray]]  # level -> (lower, upper), like `mean`


@dataclass(frozen=True)
class Result:
    """One forecaster's one-step test forecasts, scored."""

    rmse: float
    mae: float
    mase: float | None
    seconds: float | None = None  # fitting and forecasting; None for the naive baselines
    coverage: dict[float, tuple[float, float]] = field(default_factory=dict)  # level -> (cov, w)


def score(
    values: np.ndarray,
    train_size: int,
    season: int,
    predicted: np.ndarray,
    seconds: float | None = None,
    bands: Bands | None = None,
) -> Result:
    actual = values[train_size:]
    scale = naive_scale(values[:train_size], season)
    cov = {
        lvl: (coverage(actual, lo, hi), mean_width(lo, hi))
        for lvl, (lo, hi) in (bands or {}).items()
    }
    return Result(
        rmse(actual, predicted),
        mae(actual, predicted),
        mase(actual, predicted, scale),
        seconds,
        cov,
    )


def classical(values: np.ndarray, train_size: int, season: int) -> dict[str, Result]:
    """Every comparison forecaster on one series, by label."""
    targets = np.arange(train_size, len(values))
    naive = baselines(values, targets, season)
    results = {"persistence": score(values, train_size, season, naive.persistence)}
    if naive.seasonal_naive is not None and season > 1:
        results["seasonal naive"] = score(values, train_size, season, naive.seasonal_naive)
    airline = "SARIMA(0,1,1)(0,1,1)s" if season > 1 else "ARIMA(0,1,1)"
    fitters: list[tuple[str, Fitter]] = [
        ("ETS (statsmodels, additive)", ets_one_step),
        (airline, sarima_one_step),
        ("AutoARIMA (statsforecast)", auto_one_step("AutoARIMA")),
        ("AutoETS (statsforecast)", auto_one_step("AutoETS")),
    ]
    for label, fitter in fitters:
        predicted, bands, seconds = run_fitter(fitter, values, train_size, season)
        results[label] = score(values, train_size, season, predicted, seconds, bands)
    return results


def run_fitter(
    fitter: Fitter, values: np.ndarray, train_size: int, season: int
) -> tuple[np.ndarray, Bands | None, float]:
    """A fitter's one-step test forecasts and bands, and the seconds it took to fit and forecast.

    Shared by this single-series comparison and the many-series one (bench.panel_accuracy),
    so both time and silence the fitters the same way.
    """
    started = time.perf_counter()
    # Convergence chatter, recorded and dropped: the fit is judged by its score. Recording,
    # not an "ignore" filter, as statsmodels' first import adds "always" filters of its own.
    with warnings.catch_warnings(record=True):
        predicted, bands = fitter(values, train_size, season)
    return predicted, bands, time.perf_counter() - started


def ets_one_step(values: np.ndarray, train_size: int, season: int) -> tuple[np.ndarray, None]:
    """Holt-Winters fitted on the training part, then run over the series with those parameters."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    options: dict[str, Any] = {"trend": "add"}
    if season > 1:
        options |= {"seasonal": "add", "seasonal_periods": season}
    fit = ExponentialSmoothing(values[:train_size], **options).fit()
    p = fit.params
    known = {"initial_level": p["initial_level"], "initial_trend": p["initial_trend"]}
    smoothing = {"smoothing_level": p["smoothing_level"], "smoothing_trend": p["smoothing_trend"]}
    if season > 1:
        known["initial_seasonal"] = p["initial_seasons"]
        smoothing["smoothing_seasonal"] = p["smoothing_seasonal"]
    fixed = ExponentialSmoothing(values, initialization_method="known", **known, **options).fit(
        **smoothing, optimized=False
    )
    return np.asarray(fixed.fittedvalues)[train_size:], None


def sarima_one_step(values: np.ndarray, train_size: int, season: int) -> tuple[np.ndarray, Bands]:
    """The airline model fitted on the training part; the test part appended without refitting."""
    extended = _airline(values, train_size, season)
    prediction = extended.get_prediction(start=train_size, end=len(values) - 1)
    bands: Bands = {}
    for level in LEVELS:
        interval = np.asarray(prediction.conf_int(alpha=1 - level / 100))
        bands[level] = (interval[:, 0], interval[:, 1])
    return np.asarray(prediction.predicted_mean), bands


def sarima_steps(values: np.ndarray, train_size: int, season: int, horizon: int) -> Paths:
    """`sarima_one_step`'s model forecasting 1..`horizon` steps ahead from every test origin.

    From origin t, a dynamic prediction starting at t: its step h uses the true values
    before t and the model's own forecasts after, as the LSTM's recursive forecasts do, and
    its bands are the model's analytic h-step intervals. Step 1 is `sarima_one_step`'s
    forecast and bands at t (tests/bench check it). Quick: 242 origins take a quarter second.
    """
    n = len(values)
    extended = _airline(values, train_size, season)
    mean = np.full((n - train_size, horizon), np.nan)
    bands = {level: (mean.copy(), mean.copy()) for level in LEVELS}
    with warnings.catch_warnings(record=True):  # as in run_fitter: judged by the scores
        for row, t in enumerate(range(train_size, n)):
            last = min(t + horizon, n) - 1
            prediction = extended.get_prediction(start=t, end=last, dynamic=True)
            steps = last - t + 1
            mean[row, :steps] = np.asarray(prediction.predicted_mean)
            for level, (lower, upper) in bands.items():
                interval = np.asarray(prediction.conf_int(alpha=1 - level / 100))
                lower[row, :steps], upper[row, :steps] = interval[:, 0], interval[:, 1]
    return Paths(mean, bands)


def _airline(values: np.ndarray, train_size: int, season: int) -> Any:
    """SARIMA(0,1,1)(0,1,1)s (ARIMA(0,1,1) without a season) fitted on the training part, with
    the test part appended under the same parameters: every prediction from it is fixed-fit."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    seasonal = (0, 1, 1, season) if season > 1 else (0, 0, 0, 0)
    model = SARIMAX(values[:train_size], order=(0, 1, 1), seasonal_order=seasonal)
    with warnings.catch_warnings(record=True):
        return model.fit(disp=False).append(values[train_size:], refit=False)


def auto_one_step(kind: str) -> Callable[[np.ndarray, int, int], tuple[np.ndarray, None]]:
    """statsforecast's automatic model, fitted on the training part, then `forward`: the fitted
    model applied to each longer history without refitting, one step ahead."""

    def forecast(values: np.ndarray, train_size: int, season: int) -> tuple[np.ndarray, None]:
        from statsforecast import models

        model = getattr(models, kind)(season_length=max(season, 1)).fit(values[:train_size])
        out = [
            float(model.forward(y=values[:t], h=1)["mean"][0])
            for t in range(train_size, len(values))
        ]
        return np.asarray(out), None

    return forecast
