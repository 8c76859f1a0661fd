"""`bench.interval_scores` and `bench.classical.sarima_steps`: paths 1..H steps ahead from every
test origin, their scores on the targets that exist, and the tables `bench.accuracy` prints."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from modelkit import synthetic_series

from app.contract.intervals import winkler
from app.forecaster import load_forecaster
from bench.classical import LEVELS, Paths, sarima_one_step, sarima_steps
from bench.interval_scores import (
    SeriesIntervals,
    StepScore,
    lstm_paths,
    one_step_lines,
    score_paths,
    step_lines,
)


def seasonal(n: int = 96) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(n)
    return 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)


def test_sarima_steps_start_with_the_one_step_forecasts_and_stop_at_the_end() -> None:
    values, train_size = seasonal(), 70
    paths = sarima_steps(values, train_size, 12, 6)
    mean, bands = sarima_one_step(values, train_size, 12)
    assert paths.mean.shape == (26, 6)
    np.testing.assert_allclose(paths.mean[:, 0], mean)
    for level in LEVELS:
        np.testing.assert_allclose(paths.bands[level][0][:, 0], bands[level][0])
        np.testing.assert_allclose(paths.bands[level][1][:, 0], bands[level][1])
    # Origin t's step h targets t + h - 1: the last origin has one step, the one before two.
    assert np.isnan(paths.mean[-1, 1:]).all() and np.isfinite(paths.mean[-2, :2]).all()
    assert np.isnan(paths.mean[-2, 2:]).all() and np.isfinite(paths.mean[:-5]).all()


def test_sarima_steps_are_the_fitted_model_forecasting_from_the_history_alone() -> None:
    """Step h from origin t is the training fit's h-step forecast from values[:t], no refit."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    values, train_size, t = seasonal(), 70, 80
    paths = sarima_steps(values, train_size, 12, 6)
    with warnings.catch_warnings(record=True):
        model = SARIMAX(values[:train_size], order=(0, 1, 1), seasonal_order=(0, 1, 1, 12))
        forecast = model.fit(disp=False).apply(values[:t]).get_forecast(6)
    row = t - train_size
    np.testing.assert_allclose(paths.mean[row], forecast.predicted_mean)
    np.testing.assert_allclose(paths.bands[95.0][1][row], forecast.conf_int(alpha=0.05)[:, 1])


def test_score_paths_scores_each_step_on_the_targets_inside_the_series() -> None:
    values = np.arange(10.0)  # train_size 7: origins 7, 8, 9
    mean = np.array([[7.0, 8.5], [8.0, 9.0], [9.5, np.nan]])
    half = np.array([[0.4, 0.4], [0.4, 0.4], [0.4, np.nan]])
    paths = Paths(mean, {80.0: (mean - half, mean + half)})
    scores = score_paths(values, 7, paths)[80.0]
    assert [s.n for s in scores] == [3, 2]
    assert scores[0].coverage == pytest.approx(2 / 3) and scores[1].coverage == 0.5
    assert scores[0].width == pytest.approx(0.8)
    # step 2: targets 8 (8.5 +- 0.4: a miss by 0.1) and 9 (hit)
    lower, upper = np.array([8.1, 8.6]), np.array([8.9, 9.4])
    assert scores[1].winkler == pytest.approx(winkler(np.array([8.0, 9.0]), lower, upper, 80.0))
    assert scores[1].winkler == pytest.approx(0.8 + 10 * 0.1 / 2)


def test_lstm_paths_are_the_served_forecasts_cut_to_the_calibrated_horizon(
    toy_models: Path,
) -> None:
    version = toy_models / "toy" / "1"
    values, train_size = synthetic_series(), 80
    paths = lstm_paths(version, values, train_size, 12)
    assert paths.mean.shape == (16, 6)  # the toy's intervals go 6 steps ahead
    forecaster = load_forecaster(version)
    width = forecaster.pipeline.history_width
    alone = forecaster.predict([values[90 - width : 90]], 6, LEVELS)
    np.testing.assert_allclose(paths.mean[10], alone.values[0])
    np.testing.assert_allclose(paths.bands[80.0][0][10], alone.bands[0].lower[0])
    assert np.isnan(paths.mean[-1, 1:]).all() and np.isnan(paths.bands[95.0][1][-1, 1:]).all()


def steps(off: float, winkler_: float, horizon: int = 3) -> dict[float, list[StepScore]]:
    """Every step's coverage `off` nominal by as much; the Winkler score grows with the step."""
    return {
        level: [
            StepScore(level / 100 + off, 1.0, winkler_ * h, 10 - h) for h in range(1, horizon + 1)
        ]
        for level in LEVELS
    }


def test_tables_give_ratios_their_geometric_means_and_the_coverage_check() -> None:
    panel = {
        "a": SeriesIntervals(steps(0.0, 1.0), [steps(0.0, 2.0), steps(0.04, 2.0)]),
        "b": SeriesIntervals(steps(0.1, 4.0), [steps(-0.1, 2.0), steps(-0.08, 2.0)]),
    }
    text = "\n".join(one_step_lines(panel, (0, 1)))
    assert "| a | 80 % | 80.0% | 80.0% / 84.0% (82.0%) |" in text
    assert "| 2.000 / 2.000 (2.000) |" in text and "| 0.500 / 0.500 (0.500) |" in text
    assert "| 95 % | 1.000 | 1.000 | 1.000 |" in text  # sqrt(2 * 0.5)
    # b: means 9 points off; seed 1's 72 % at 80 % is on the boundary, within; a is within
    assert text.endswith(
        "(seed means): **no**. Outside: b 80 % (mean 71.0%; seeds 70.0% / 72.0%);"
        " b 95 % (mean 86.0%; seeds 85.0% / 87.0%)."
    )
    table = "\n".join(step_lines(panel))
    assert "### Intervals 1 to 3 steps ahead" in table
    assert "| a | 2.00 | 2.00 | 2.00 |" in table and "| **geometric mean** | 1.00 |" in table
    assert "| b default | 71 | 71 | 71 |" in table and "| b SARIMA | 90 | 90 | 90 |" in table


def test_the_coverage_check_says_yes_when_every_seed_is_close() -> None:
    panel = {"a": SeriesIntervals(steps(0.1, 1.0), [steps(0.04, 1.0)])}
    panel["a"].default[0][80.0][0] = StepScore(0.75, 1.0, 1.0, 9)
    assert one_step_lines(panel, (0,))[-1].endswith("and every seed: **yes**.")
