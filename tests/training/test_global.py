"""Many series, one model: a long-format file trains one global network, kept per series.

The catalog is generated here (monthly series of different levels, lengths and ends),
trained through the CLI with a tiny network, and read back through the service's own
loader: the version must know every series, its calendar, its normalisation and its
test scores, and forecast each by id exactly as from its posted history.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from trainkit import train_cli, write_catalog

from app.contract.store import read_version
from app.forecaster import Forecaster, load_forecaster


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("global")
    code, out = train_cli(write_catalog(base / "catalog.csv"), base / "models", "--quiet")
    assert code == 0, out
    return Path(out.split()[-1]), out


def test_one_version_knows_every_trainable_series_and_its_calendar(
    version: tuple[Path, str],
) -> None:
    version_dir, _ = version
    verified = read_version(version_dir)
    manifest, table = verified.manifest, verified.series
    assert table is not None and manifest.series is not None
    assert table.ids == ["small", "large", "late", "early-end"]  # "tiny" skipped
    assert manifest.data.series == 4 and manifest.training.test_periods == 18  # M4, monthly
    assert manifest.training.refit and manifest.training.test_fraction is None
    columns = table.columns
    assert columns.first_period == ["2000-01", "2000-01", "2002-01", "2000-01"]
    assert columns.last_period == ["2007-12", "2007-12", "2007-12", "2007-06"]
    # One calendar cutoff: the last 18 months of the common calendar, 2006-07 .. 2007-12.
    assert columns.train_last_period == ["2006-06"] * 4
    assert columns.test.points == [18, 18, 18, 12]
    assert table.histories.shape == (4, manifest.pipeline.spec().history_width)
    assert manifest.metrics.panel is not None and manifest.metrics.panel.series == 4


def test_each_series_is_normalised_by_its_own_spread(version: tuple[Path, str]) -> None:
    """A series eight times another's level gets forecasts and bands eight times as large:
    the network sees both the same, and a flat 100-level series never gets 800-level bands."""
    forecaster = load_forecaster(version[0])
    table = forecaster.series
    assert table is not None
    rows = table.rows(["small", "large"])
    spread = table.spread[rows]
    assert spread[1] == pytest.approx(8 * spread[0], rel=1e-9) or table.log[rows].all()
    prediction = forecaster.predict(table.histories[rows], 6, [80.0], rows)
    np.testing.assert_allclose(prediction.values[1], 8 * prediction.values[0], rtol=1e-9)
    band = prediction.bands[0]
    np.testing.assert_allclose(
        band.upper[1] - band.lower[1], 8 * (band.upper[0] - band.lower[0]), rtol=1e-9
    )


def test_forecasts_by_id_equal_forecasts_of_the_same_history_posted(
    version: tuple[Path, str],
) -> None:
    forecaster = load_forecaster(version[0])
    table = forecaster.series
    assert table is not None
    rows = np.arange(len(table))
    by_id = forecaster.forecast(table.histories, 3, rows)
    for row in rows.tolist():
        stored = table.histories[row][~np.isnan(table.histories[row])]
        alone = forecaster.predict([stored], 3, [], np.array([row])).values
        np.testing.assert_allclose(alone[0], by_id[row], rtol=1e-9)  # BLAS may sum by batch


def test_the_series_file_records_each_series_scores_and_normalisation(
    version: tuple[Path, str],
) -> None:
    version_dir, out = version
    columns = json.loads((version_dir / "series.json").read_text())
    assert all(s > 0 for s in columns["spread"])
    assert all(m is not None and m > 0 for m in columns["test"]["mase"])
    assert set(columns["test"]["coverage"]) == {"80", "95"}
    assert "Across 4 series: geometric mean of MASE / seasonal-naive MASE" in out


def test_forecaster_state_for_values_of_a_series_it_never_saw_comes_from_those_values(
    version: tuple[Path, str],
) -> None:
    forecaster: Forecaster = load_forecaster(version[0])
    table = forecaster.series
    assert table is not None
    small = table.histories[table.rows(["small"])]
    unknown = forecaster.forecast(small * 4, 2)  # an unseen series, four times "small"
    np.testing.assert_allclose(unknown, 4 * forecaster.forecast(small, 2), rtol=1e-9)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--test-fraction", "0.2"], "--test-fraction splits one series"),
        (["--preset", "seed"], "the seed preset is the post's one-series model"),
    ],
)
def test_options_for_one_series_are_refused_for_many_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    path = write_catalog(tmp_path / "catalog.csv")
    code, _ = train_cli(path, tmp_path / "models", *extra)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and message in err
    assert not (tmp_path / "models").exists()
