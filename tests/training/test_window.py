"""The window of a series without a season (`training.window`): both candidates trained, the
calibration refits' validation keeping one, and what the command line sets left alone."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import training.cli as cli
from app.contract.store import read_manifest
from app.forecaster import load_forecaster
from training.plan import Plan
from training.window import CANDIDATES, candidates

SMALL = ["--units", "8", "--members", "2", "--quiet", "--no-refit"]  # trains in seconds


def yearly(path: Path, values: np.ndarray) -> Path:
    years = [str(1800 + i) for i in range(len(values))]
    pd.DataFrame({"year": years, "value": values.round(3)}).to_csv(path, index=False)
    return path


def cycle(n: int, seed: int = 0) -> np.ndarray:
    """A ten-year cycle under noise, as sunspots or the lynx: five years cannot see it turn."""
    rng = np.random.default_rng(seed)
    return 100 + 40 * np.sin(2 * np.pi * np.arange(n) / 10) + rng.normal(0, 4, n)


def plan(csv: Path, *extra: str) -> Plan:
    return cli.load(cli.build_parser().parse_args(["--data", str(csv), *extra]), "w")


def trained(csv: Path, models: Path, *extra: str) -> Path:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main(["--data", str(csv), "--models-dir", str(models), *SMALL, *extra]) == 0
    return Path(out.getvalue().strip().splitlines()[-1])


def test_without_a_season_each_window_is_a_candidate(tmp_path: Path) -> None:
    found = candidates(plan(yearly(tmp_path / "y.csv", cycle(60))))
    assert [p.preset.look_back for p in found] == list(CANDIDATES)
    assert [s.windows for s in found[1].splits] == [found[1].splits[0].train_size - 10]


def test_what_the_command_line_sets_is_not_second_guessed(tmp_path: Path) -> None:
    csv = yearly(tmp_path / "y.csv", cycle(60))
    assert [p.preset.look_back for p in candidates(plan(csv, "--look-back", "5"))] == [5]
    assert len(candidates(plan(csv, "--preset", "seed"))) == 1
    assert len(candidates(plan(csv, "--season-length", "4"))) == 1  # a season sets the window


def test_a_window_that_leaves_no_training_window_is_not_tried(tmp_path: Path) -> None:
    short = plan(yearly(tmp_path / "y.csv", cycle(15)))  # 10 years to train: 5 windows of 5
    assert [p.preset.look_back for p in candidates(short)] == [5]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("window")


def test_a_cycle_longer_than_five_years_gets_the_longer_window(models: Path) -> None:
    csv = yearly(models / "cycle.csv", cycle(150))
    version = trained(csv, models)
    manifest = read_manifest(version)
    assert manifest.pipeline.look_back == 10 and manifest.architecture.layers  # what it chose
    served = load_forecaster(version)
    assert served.pipeline.look_back == 10
    assert np.isfinite(served.forecast(pd.read_csv(csv)["value"].to_numpy()[None], 5)).all()


def test_the_same_cycle_keeps_the_window_the_command_line_gave(models: Path) -> None:
    csv = yearly(models / "cycle-5.csv", cycle(150))
    assert read_manifest(trained(csv, models, "--look-back", "5")).pipeline.look_back == 5
