"""`bench.accuracy`'s check: the paths it scores must give back what the manifest reported."""

from __future__ import annotations

import numpy as np

from bench.accuracy import check_reported
from bench.interval_scores import StepScore


def test_check_passes_the_reported_figures_and_names_any_other() -> None:
    steps = {80.0: [StepScore(0.8, 2.0, 3.0, 4)]}
    actual = np.array([[1.0, 2.0], [2.0, np.nan]])
    mean = np.array([[1.0, 1.0], [4.0, np.nan]])  # step 1 RMSE sqrt(2), step 2 RMSE 1
    reported = {80.0: (0.8, 2.0)}
    rmses = (2**0.5, 1.0, 9.0)  # a step past the paths' horizon is not compared
    assert check_reported("seed 0", steps, reported, {80.0: 3.0}, actual, mean, rmses) == []
    assert check_reported("seed 0", steps, reported, {80.0: 3.1}, actual, mean, ()) == [
        "seed 0: 80 % Winkler 3 served, 3.1 reported"
    ]
    assert check_reported("SARIMA", steps, {}, {}, actual, mean, (2**0.5, 1.5)) == [
        "SARIMA: step 2 RMSE 1 served, 1.5 reported"
    ]
