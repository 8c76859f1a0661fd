"""Split-conformal intervals: the finite-sample rank, nesting, widening, log space, the scores."""

from __future__ import annotations

import numpy as np
import pytest

from app.contract.intervals import (
    GAUSSIAN_CAP_ABOVE,
    Calibration,
    bounds,
    conformal_quantile,
    coverage,
    mean_width,
    winkler,
)

NINE = [float(v) for v in range(1, 10)]


@pytest.mark.parametrize(("level", "expected"), [(80, 8.0), (50, 5.0), (10, 1.0), (95, 9.0)])
def test_the_quantile_is_the_ceil_n_plus_1_level_th_residual(level: float, expected: float) -> None:
    assert conformal_quantile(NINE, level) == expected  # 95: rank 10 > 9, so the largest


def test_half_widths_nest_by_level_and_never_narrow_with_the_step() -> None:
    rng = np.random.default_rng(0)
    residuals = [sorted(np.abs(rng.normal(0, s, 30)).tolist()) for s in (1.0, 3.0, 2.0, 4.0)]
    calibration = Calibration(space="identity", origins=[10], residuals=residuals)
    half = calibration.half_widths([50, 80, 95], 4)
    assert half.shape == (3, 4)
    assert (np.diff(half, axis=0) >= 0).all()  # a higher level is never narrower
    assert (np.diff(half, axis=1) >= 0).all()  # step 3's smaller residuals do not narrow it
    assert half[1, 2] == half[1, 1] > conformal_quantile(residuals[2], 80)
    with pytest.raises(ValueError, match="calibrated up to 4 steps"):
        calibration.half_widths([80], 5)


def test_one_outlier_repeated_by_the_refits_does_not_set_the_high_level() -> None:
    """Milk's case: 69 ordinary residuals and one month counted three times, far out."""
    rng = np.random.default_rng(1)
    residuals = sorted([*np.abs(rng.normal(0, 8, 69)).tolist(), 30.0, 30.5, 30.5])
    calibration = Calibration(space="identity", origins=[10], residuals=[residuals])
    rms = float(np.sqrt(np.mean(np.square(residuals))))
    half = calibration.half_widths([80, 95], 1)[:, 0]
    assert conformal_quantile(residuals, 95) == 30.0  # the conformal rank lands on the outlier
    assert half[1] == pytest.approx(1.959964 * rms)
    assert half[1] < 20.0
    assert half[0] == conformal_quantile(residuals, 80)  # 80 % is not capped
    assert GAUSSIAN_CAP_ABOVE == 80


def test_the_cap_never_widens_a_band() -> None:
    """Light tails: the conformal quantile is already below z * RMS, and it stays."""
    residuals = [float(v) for v in [1] * 97 + [1.1] * 3]
    calibration = Calibration(space="identity", origins=[10], residuals=[residuals])
    assert calibration.half_widths([95, 99], 1)[:, 0].tolist() == [1.0, 1.1]


def test_a_level_a_hair_below_100_gets_a_finite_band() -> None:
    """0.5 + level / 200 rounds to 1.0 there, where the normal quantile does not exist."""
    calibration = Calibration(space="identity", origins=[10], residuals=[[1.0, 2.0, 3.0]])
    assert calibration.half_widths([99.99999999999999, 95], 1)[:, 0].tolist() == [3.0, 3.0]


def test_a_capped_level_stays_nested_above_a_lower_one_in_any_order() -> None:
    """Eight zeros and two ones: q80 is 1, while z(81 %) * RMS is 0.59: 81 % keeps q80's 1."""
    calibration = Calibration(space="identity", origins=[10], residuals=[[0.0] * 8 + [1.0] * 2])
    half = calibration.half_widths([81, 50, 80], 1)[:, 0]
    assert half.tolist() == [1.0, 0.0, 1.0]


def test_bounds_are_additive_in_series_units_and_multiplicative_in_log_space() -> None:
    point, half = np.array([[100.0, 200.0]]), np.array([10.0, np.log(2.0)])
    lower, upper = bounds(point, half, "identity")
    np.testing.assert_allclose(lower, [[90.0, 200 - np.log(2)]])
    lower, upper = bounds(point, np.array([np.log(2.0), np.log(2.0)]), "log")
    np.testing.assert_allclose(lower, [[50.0, 100.0]])
    np.testing.assert_allclose(upper, [[200.0, 400.0]])


def test_coverage_width_and_winkler_of_known_intervals() -> None:
    actual = np.array([1.0, 5.0, 12.0, 3.0])
    lower, upper = np.full(4, 2.0), np.full(4, 10.0)
    assert coverage(actual, lower, upper) == 0.5
    assert mean_width(lower, upper) == 8.0
    # misses: 1 below by 1, 12 above by 2; alpha 0.2 -> penalty 2 / 0.2 = 10 per unit
    assert winkler(actual, lower, upper, 80) == pytest.approx(8 + 10 * (1 + 2) / 4)
