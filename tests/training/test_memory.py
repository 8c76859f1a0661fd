"""The memories (`training.memory`): a version keeps the long (or flat) memory of the season,
or moves its forecasts towards a smoothed level, only where the last third of its training
part shows it forecasts better, and serves what it chose."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import training.cli as cli
from app.contract.seasonal import SeasonalPipeline
from app.contract.store import read_manifest
from app.forecaster import load_forecaster
from training.memory import with_memory

MONTHLY = SeasonalPipeline(look_back=6, season_length=12)
SMALL = ["--units", "8", "--members", "2", "--quiet", "--no-refit"]  # trains in seconds


def stable_season_under_noise(n: int, seed: int) -> np.ndarray:
    """A fixed season, a slowly wandering level and noise as large as the season: the long
    memory averages the noise out of the seasonal index, the short one keeps it."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 100 + np.cumsum(rng.normal(0, 0.3, n))
    return level + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, n)


def drifting_season_under_noise(n: int, seed: int) -> np.ndarray:
    """A season that drifts a little every year under noise: recent seasons are worth more
    than old ones, and many of them are worth more than a few."""
    rng = np.random.default_rng(seed)
    drift = np.cumsum(rng.normal(0, 0.5, (n // 12 + 1, 12)), axis=0).reshape(-1)[:n]
    level = 100 + np.cumsum(rng.normal(0, 0.3, n))
    return level + 5 * np.sin(2 * np.pi * np.arange(n) / 12) + drift + rng.normal(0, 2, n)


def changing_season(n: int, seed: int) -> np.ndarray:
    """A season whose shape drifts year by year, little noise: old seasons mislead."""
    rng = np.random.default_rng(seed)
    shape = np.cumsum(rng.normal(0, 3, (n // 12 + 1, 12)), axis=0)
    level = 100 + np.cumsum(rng.normal(0, 0.3, n))
    return level + shape.reshape(-1)[:n] + rng.normal(0, 0.3, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_stable_season_under_noise_is_remembered_long(seed: int) -> None:
    assert with_memory(MONTHLY, [stable_season_under_noise(480, seed)]).long_weight > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_season_that_does_not_change_is_remembered_flat(seed: int) -> None:
    assert with_memory(MONTHLY, [stable_season_under_noise(480, seed)]).flat_weight > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_drifting_season_is_remembered_long_but_not_flat(seed: int) -> None:
    chosen = with_memory(MONTHLY, [drifting_season_under_noise(480, seed)])
    assert chosen.long_weight > 0.2 and chosen.flat_weight == 0.0
    assert chosen.history_width == chosen.span + 21 * 12 - 1  # the flat memory is not read


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_changing_season_keeps_the_short_memory(seed: int) -> None:
    assert with_memory(MONTHLY, [changing_season(480, seed)]).long_weight == 0.0


def test_a_trained_version_serves_the_memory_it_chose(tmp_path: Path) -> None:
    """Chosen before the network, recorded in the manifest, read back by the service: the
    catalog keeps the long memory's history, and the version beats its short-memory self."""
    values = stable_season_under_noise(480, seed=1)
    periods = pd.period_range("1990-01", periods=len(values), freq="M").astype(str)
    csv = tmp_path / "noisy.csv"
    pd.DataFrame({"month": periods, "value": values.round(4)}).to_csv(csv, index=False)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main(["--data", str(csv), "--models-dir", str(tmp_path), *SMALL]) == 0
    version = Path(out.getvalue().strip().splitlines()[-1])
    manifest = read_manifest(version)
    assert manifest.format_version == 7
    served = load_forecaster(version).pipeline
    assert isinstance(served, SeasonalPipeline)
    assert served.long_weight == manifest.pipeline.long_weight > 0.5
    assert served.flat_weight == manifest.pipeline.flat_weight > 0.5
    assert served.level_weight == manifest.pipeline.level_weight
    assert served.history_width == served.span + 41 * 12 - 1  # the flat memory's 40 seasons
    train = pd.read_csv(csv)["value"].to_numpy()[: manifest.data.train_points]
    unchosen = dataclasses.replace(served, long_weight=0.0, flat_weight=0.0, level_weight=0.0)
    chosen = with_memory(unchosen, [train])
    assert served.long_weight == chosen.long_weight  # from the training part alone
    assert served.flat_weight == chosen.flat_weight
    assert served.level_weight == chosen.level_weight


def test_many_series_share_one_pooled_memory() -> None:
    noisy = [stable_season_under_noise(480, seed) for seed in range(4)]
    changing = [changing_season(480, seed) for seed in range(4)]
    alone = with_memory(MONTHLY, noisy).long_weight
    pooled = with_memory(MONTHLY, noisy + changing).long_weight
    assert 0 <= pooled < alone


YEARLY = dataclasses.replace(MONTHLY, season_length=1, look_back=5)


def noise_around_a_mean(n: int, seed: int) -> np.ndarray:
    """A level that is noise around a slowly moving mean (the Nile's flow): the last value
    is a poor anchor, a smoothed level a good one."""
    rng = np.random.default_rng(seed)
    return 100 + np.cumsum(rng.normal(0, 0.3, n)) + rng.normal(0, 4, n)


def random_walk(n: int, seed: int) -> np.ndarray:
    """A level that moves by every shock: the last value is the best anchor."""
    return 100 + np.cumsum(np.random.default_rng(seed).normal(0, 4, n))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_noisy_level_is_smoothed_and_a_random_walk_hardly(seed: int) -> None:
    """The shrunk weight of a random walk is near 0, not exactly: chance finds some help."""
    assert with_memory(YEARLY, [noise_around_a_mean(300, seed)]).level_weight > 0.5
    assert with_memory(YEARLY, [random_walk(300, seed)]).level_weight < 0.2


def test_the_level_is_chosen_with_a_season_too() -> None:
    season = 5 * np.sin(2 * np.pi * np.arange(480) / 12)
    noisy = with_memory(MONTHLY, [noise_around_a_mean(480, seed=3) + season])
    assert noisy.level_weight > 0.5 and noisy.span == noisy.level_points
    walk = with_memory(MONTHLY, [random_walk(480, seed=3) + season])
    assert walk.level_weight < 0.2


def test_without_a_season_there_is_no_seasonal_memory_and_no_more_history_than_used() -> None:
    values = random_walk(100, seed=2)
    assert with_memory(YEARLY, [values]).long_weight == 0.0
    assert with_memory(YEARLY, [values]).level_weight == 0.0
    assert with_memory(YEARLY, [values]).history_width == YEARLY.history_width == 5
    smoothed = with_memory(YEARLY, [noise_around_a_mean(100, seed=0)])
    assert smoothed.history_width == smoothed.level_points == 10
