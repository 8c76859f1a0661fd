"""The network earns its place (`training.shrinkage`): the weight is least squares on out-of-sample
validation pairs, lowered by its standard error; trained end to end, a network that can help is
used and one that cannot is not, and the version serves the weight it chose."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import training.cli as cli
from app.contract.pipeline import as_rows, one_step_histories
from app.contract.scoring import rmse
from app.contract.store import read_manifest
from app.forecaster import load_forecaster
from training.shrinkage import least_squares, shrunk

# The default recipe (250 steps), only smaller, so that it trains in seconds.
SMALL = ["--units", "8", "--members", "2", "--quiet", "--no-refit"]


def test_least_squares_recovers_the_weight_and_its_uncertainty() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(0, 1, 4000)
    e0 = 0.6 * d + rng.normal(0, 0.5, 4000)
    weight, se = least_squares(e0, d, distinct=4000)
    assert weight == pytest.approx(0.6, abs=3 * se) and se == pytest.approx(0.5 / 63.2, rel=0.1)
    _, repeated = least_squares(e0, d, distinct=1000)  # each point counted four times
    assert repeated == pytest.approx(2 * se)


def test_a_network_that_corrects_nothing_gets_weight_zero() -> None:
    assert least_squares(np.ones(5), np.zeros(5), distinct=5) == (0.0, 0.0)
    assert least_squares(np.empty(0), np.empty(0), distinct=0) == (0.0, 0.0)


def test_the_weight_is_shrunk_by_its_uncertainty() -> None:
    """Positive-part James-Stein: w* (1 - se^2 / w*^2), never below 0 or above 1."""
    assert shrunk(0.8, 0.4) == pytest.approx(0.6)
    assert shrunk(0.4, 0.4) == 0.0 and shrunk(-0.9, 0.1) == 0.0 and shrunk(0.5, 0.0) == 0.5
    assert shrunk(1.3, 0.1) == 1.0


def _write(path: Path, changes: np.ndarray) -> Path:
    """A monthly series: a fixed season on a level that moves by `changes`."""
    n = len(changes)
    values = 1000 + np.cumsum(changes) + 30 * np.sin(2 * np.pi * np.arange(n) / 12)
    periods = pd.period_range("1980-01", periods=n, freq="M").astype(str)
    pd.DataFrame({"month": periods, "value": values.round(4)}).to_csv(path, index=False)
    return path


def _train(csv: Path, models: Path) -> Path:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--data", str(csv), "--models-dir", str(models), *SMALL]) == 0
    return Path(out.getvalue().strip().splitlines()[-1])


def _test_rmse(version: Path, series: np.ndarray) -> tuple[float, float]:
    """(served forecasts, the pipeline alone) test RMSE, through the service's loader."""
    forecaster = load_forecaster(version)
    histories, targets = one_step_histories(series, forecaster.pipeline)
    test = targets >= forecaster.manifest.data.train_points
    rows = as_rows(histories[test], forecaster.pipeline.history_width)
    alone = forecaster.forecast_without_network(rows, 1)
    assert alone is not None
    actual = series[targets[test]]
    return rmse(actual, forecaster.forecast(rows, 1)[:, 0]), rmse(actual, alone[:, 0])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shrinkage")


def test_a_network_with_something_to_learn_is_used(models: Path) -> None:
    """Changes that follow their last one (AR(1), phi 0.8): the pipeline alone's mean change
    misses what the network can see in the window."""
    rng = np.random.default_rng(1)
    changes = np.zeros(420)
    for t in range(1, len(changes)):
        changes[t] = 0.8 * changes[t - 1] + rng.normal(0, 2)
    csv = _write(models / "persistent.csv", changes)
    version = _train(csv, models)
    manifest = read_manifest(version)
    choice = manifest.training.network
    assert choice is not None and choice.weight > 0.5, choice
    assert manifest.pipeline.network_weight == choice.weight  # what serving applies
    assert choice.rmse_chosen < choice.rmse_alone
    served, alone = _test_rmse(version, pd.read_csv(csv)["value"].to_numpy())
    assert served < 0.9 * alone
    assert manifest.metrics.baselines["pipeline_alone"].rmse == pytest.approx(alone, rel=1e-9)


@pytest.mark.parametrize("seed", [2, 3])
def test_a_network_with_nothing_to_learn_does_no_harm(models: Path, seed: int) -> None:
    """Independent changes: the pipeline alone is the best forecast there is, and whatever
    the network fits is noise, so the version is not worse than its pipeline alone.

    The weight itself is not always small. The calibration refits choose their own
    memories on shorter data, where the seasonal index is noisier and a smoothed level
    helps their pipeline (seed 2: g = 0.08 to 0.25 in the refits, 0 in the version); their
    networks learn part of that, and the weight chosen on them is then 1 for a network
    that, on the version, fits noise. Seed 3 gets weight 0."""
    changes = np.random.default_rng(seed).normal(0.5, 3, 420)
    csv = _write(models / "walk.csv", changes)
    version = _train(csv, models)
    choice = read_manifest(version).training.network
    assert choice is not None and choice.rmse_chosen <= choice.rmse_alone, choice
    served, alone = _test_rmse(version, pd.read_csv(csv)["value"].to_numpy())
    assert served <= 1.01 * alone


def test_each_series_of_a_global_model_uses_the_network_as_far_as_it_helps_it(
    models: Path,
) -> None:
    """One model over series the network can help (persistent changes) and series it cannot
    (independent changes): each gets its own weight, and a series at weight 0 is served
    exactly as its pipeline alone would forecast it."""
    rng = np.random.default_rng(5)
    rows = []
    for k in range(6):
        changes = rng.normal(0.3, 2, 300)
        if k < 3:
            for t in range(1, len(changes)):
                changes[t] += 0.85 * changes[t - 1]
        values = 1000 + np.cumsum(changes) + 30 * np.sin(2 * np.pi * np.arange(300) / 12)
        periods = pd.period_range("1990-01", periods=300, freq="M").astype(str)
        name = f"{'persistent' if k < 3 else 'walk'}-{k}"
        rows += [f"{name},{p},{v:.4f}" for p, v in zip(periods, values, strict=True)]
    csv = models / "mixed.csv"
    csv.write_text("unique_id,ds,y\n" + "\n".join(rows) + "\n")
    version = _train(csv, models)
    forecaster = load_forecaster(version)
    table = forecaster.series
    assert table is not None and table.weight is not None
    weights = dict(zip(table.ids, table.weight.tolist(), strict=True))
    persistent = [w for sid, w in weights.items() if sid.startswith("persistent")]
    walks = [w for sid, w in weights.items() if sid.startswith("walk")]
    assert min(persistent) > 0.5 and max(walks) == 0.0, weights
    choice = read_manifest(version).training.network
    assert choice is not None and choice.series_weights[0] == min(weights.values())
    held = np.array([table.index["walk-3"]])
    alone = forecaster.forecast_without_network(table.histories[held], 3, held)
    assert alone is not None
    np.testing.assert_array_equal(forecaster.forecast(table.histories[held], 3, held), alone)
    used = np.array([table.index["persistent-0"]])
    other = forecaster.forecast_without_network(table.histories[used], 3, used)
    assert not np.allclose(forecaster.forecast(table.histories[used], 3, used), other)
