"""Scores and baselines: the numbers a manifest and `/evaluate` share, zero denominators too."""

from __future__ import annotations

import numpy as np
import pytest

from app.contract import scoring

SERIES = np.array([10.0, 12.0, 11.0, 13.0, 12.0, 14.0, 13.0, 15.0])


def test_rmse_and_mae_of_a_known_error() -> None:
    actual, predicted = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 4.0])
    assert scoring.rmse(actual, predicted) == pytest.approx(np.sqrt(5 / 4))
    assert scoring.mae(actual, predicted) == pytest.approx(3 / 4)


def test_mape_is_none_when_an_actual_is_zero() -> None:
    assert scoring.mape(np.array([2.0, 4.0]), np.array([1.0, 5.0])) == pytest.approx(37.5)
    assert scoring.mape(np.array([0.0, 4.0]), np.array([1.0, 5.0])) is None


def test_naive_scale_uses_the_season_when_the_history_has_one() -> None:
    seasonal = scoring.naive_scale(SERIES, 2)
    assert seasonal == pytest.approx(np.mean(np.abs(SERIES[2:] - SERIES[:-2])))
    short = scoring.naive_scale(SERIES[:3], 12)  # shorter than a season: plain naive
    assert short == pytest.approx(np.mean(np.abs(np.diff(SERIES[:3]))))


def test_naive_scale_and_mase_are_none_when_undefined() -> None:
    assert scoring.naive_scale(np.full(6, 5.0), 2) is None  # zero in-sample error
    assert scoring.naive_scale(np.array([5.0]), 2) is None  # nothing to difference
    assert scoring.mase(SERIES, SERIES + 1, None) is None
    assert scoring.mase(SERIES, SERIES + 1, 2.0) == pytest.approx(0.5)


def test_baselines_forecast_from_the_value_before_and_one_season_before() -> None:
    targets = np.arange(4, 8)
    naive = scoring.baselines(SERIES, targets, 4)
    np.testing.assert_array_equal(naive.persistence, SERIES[3:7])
    assert naive.seasonal_naive is not None
    np.testing.assert_array_equal(naive.seasonal_naive, SERIES[0:4])
    assert scoring.baselines(SERIES, np.arange(2, 8), 4).seasonal_naive is None


def test_score_baselines_scores_each_where_it_exists_or_says_none() -> None:
    targets = np.arange(4, 8)
    scored = scoring.score_baselines(SERIES, targets, 4)
    persistence = scored["persistence"]
    assert persistence is not None
    assert persistence.rmse == pytest.approx(scoring.rmse(SERIES[targets], SERIES[targets - 1]))
    assert set(scored) == {"persistence", "seasonal_naive"}  # the model's own is `evaluate`'s
    partly = scoring.score_baselines(SERIES, np.arange(1, 8), 4)["seasonal_naive"]
    assert partly is not None and partly.n == 4  # targets 4..7 have a season before them
    assert partly.rmse == pytest.approx(scoring.rmse(SERIES[4:8], SERIES[0:4]))
    assert scoring.score_baselines(SERIES, np.arange(1, 4), 4)["seasonal_naive"] is None
    assert scoring.score_baselines(SERIES, np.arange(1, 8), 1)["seasonal_naive"] is None
