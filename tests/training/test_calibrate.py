"""Interval calibration end to end: trained on a series whose noise is known, the intervals cover
what they promise on the test part, widen with the step and nest by level; an ensemble serves
exactly as trained; an annual series without a season trains and serves."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import training.cli as cli
from app.contract.pipeline import as_rows
from app.contract.store import read_manifest
from app.forecaster import load_forecaster
from training.calibrate import MIN_RESIDUALS, origins, wanted_horizon

# The recipe as it is (fixed 250 steps), only smaller: an under-trained network would make
# every refit a different model, and the residuals would not stand for the final one.
FAST = ["--units", "8", "--members", "2", "--quiet"]


def _train(csv: Path, models: Path, *extra: str) -> Path:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--data", str(csv), "--models-dir", str(models), *FAST, *extra])
    assert code == 0
    return Path(out.getvalue().strip().splitlines()[-1])


def _monthly(path: Path, n: int, seed: int) -> Path:
    """A seasonal random walk with known Gaussian steps: sd 3 per month."""
    rng = np.random.default_rng(seed)
    level = 200 + np.cumsum(rng.normal(0, 3, n))
    values = level + 20 * np.sin(2 * np.pi * np.arange(n) / 12)
    periods = pd.period_range("1990-01", periods=n, freq="M").astype(str)
    pd.DataFrame({"month": periods, "value": values.round(3)}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """(version directory, the series it was trained on)."""
    base = tmp_path_factory.mktemp("calibrated")
    csv = _monthly(base / "walk.csv", 900, seed=3)
    version = _train(csv, base / "models")
    return version, pd.read_csv(csv)["value"].to_numpy()


@pytest.fixture
def calibrated(trained: tuple[Path, np.ndarray]) -> Path:
    return trained[0]


def test_test_part_coverage_is_near_nominal_on_a_series_with_known_noise(
    calibrated: Path,
) -> None:
    """Two sources of chance: ~180 calibration points set the quantile (sd ~2.5 points of
    coverage at 80 %, ~2.3 at 95 %) and 297 test points sample it (binomial sd 2.3 and 1.3).
    Allowed: three times their combined sd."""
    scores = {s.level: s.coverage for s in read_manifest(calibrated).metrics.intervals}
    assert abs(scores[80.0] - 0.80) <= 0.10, scores
    assert abs(scores[95.0] - 0.95) <= 0.075, scores


def test_intervals_widen_with_the_step_and_nest_by_level(
    trained: tuple[Path, np.ndarray],
) -> None:
    version, values = trained
    forecaster = load_forecaster(version)
    manifest = forecaster.manifest
    assert manifest.intervals is not None and manifest.intervals.horizon == 24
    assert manifest.intervals.residuals_per_step[0] > manifest.intervals.residuals_per_step[-1]
    history = as_rows([values], forecaster.pipeline.history_width)
    point = forecaster.forecast(history, 24)
    narrow, wide = forecaster.intervals(point, [80, 95])
    assert ((wide.upper - wide.lower) >= (narrow.upper - narrow.lower)).all()
    width = narrow.upper - narrow.lower
    assert (np.diff(width[0]) >= -1e-9).all() and width[0, -1] > 2 * width[0, 0]  # accumulate


def test_one_series_is_calibrated_from_every_origin_of_its_training_part(
    calibrated: Path,
) -> None:
    """Step h holds the refits' residuals, from each origin to the training part's end, and
    the version's own fit's from every origin where a forecast can start."""
    manifest = read_manifest(calibrated)
    info, train = manifest.intervals, manifest.data.train_points
    assert info is not None and len(info.origins) == 3
    first = load_forecaster(calibrated).history_length
    for h, count in enumerate(info.residuals_per_step):
        refits = sum(max(0, train - origin - h) for origin in info.origins)
        assert count == refits + (train - first - h), h


def test_an_ensemble_is_served_as_trained(calibrated: Path) -> None:
    """Training's own check passed; here the members really are distinct networks."""
    forecaster = load_forecaster(calibrated)
    assert forecaster.network.members == 2 == forecaster.manifest.architecture.members
    outputs = forecaster.network.predict(np.random.default_rng(0).normal(size=(5, 6, 1)))
    assert np.ptp(outputs, axis=0).max() > 1e-4


def test_an_annual_series_without_a_season_trains_and_serves(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    years = [str(1871 + i) for i in range(100)]
    values = 900 + np.cumsum(rng.normal(0, 40, 100)) * 0.3 + rng.normal(0, 100, 100)
    csv = tmp_path / "flow.csv"
    pd.DataFrame({"year": years, "volume": values.round(1)}).to_csv(csv, index=False)
    version = _train(csv, tmp_path / "models")
    manifest = read_manifest(version)
    assert manifest.data.frequency == "annual" and manifest.pipeline.season_length == 1
    info = manifest.intervals
    assert info is not None and 1 < info.horizon <= wanted_horizon(1) == 24
    assert min(info.residuals_per_step) >= MIN_RESIDUALS  # 67 training points: H is cut short
    assert manifest.pipeline.kind == "seasonal" and manifest.pipeline.look_back == 5
    forecast = load_forecaster(version).forecast(values[np.newaxis], 3)
    assert np.isfinite(forecast).all()


def test_refit_origins_are_inside_the_training_part_and_leave_half_its_windows() -> None:
    assert origins(112, 25, 12) == [76, 88, 100]
    for n, history, season in ((67, 6, 1), (490, 25, 12), (60, 40, 12)):
        found = origins(n, history, season)
        assert found == sorted(found) and all(history < o < n for o in found)
        assert min(found) - history >= (n - history) // 2


def test_a_residual_that_cannot_be_measured_counts_as_the_worst_miss() -> None:
    """A refit forecasting <= 0 for a series modelled in logs: infinitely wrong, not dropped."""
    from training.calibrate import _worst_for_unmeasurable

    found = _worst_for_unmeasurable(np.array([0.3, np.inf, 0.1, np.nan, 0.2]))
    np.testing.assert_array_equal(found, [0.1, 0.2, 0.3, 0.3, 0.3])
    assert len(_worst_for_unmeasurable(np.array([]))) == 0
    with pytest.raises(ValueError, match="nothing measurable"):
        _worst_for_unmeasurable(np.array([np.inf]))
