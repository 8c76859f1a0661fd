"""The forecaster computes exactly what the pipeline contract and the engine define."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from modelkit import synthetic_series

from app.contract import scoring
from app.contract.intervals import bounds
from app.contract.pipeline import one_step_histories
from app.contract.store import read_version
from app.engine.archive import load_network
from app.engine.network import Network
from app.evaluation import evaluate
from app.forecaster import (
    HALF_WIDTHS_KEPT,
    Forecaster,
    ForecasterError,
    _first_nonfinite,
    load_forecaster,
)

SERIES = synthetic_series()


@pytest.fixture(scope="module", params=["toy", "toy-diff"])
def forecaster(request: pytest.FixtureRequest, toy_models: Path) -> Forecaster:
    return load_forecaster(toy_models / request.param / "1")


def by_hand(forecaster: Forecaster, histories: np.ndarray) -> np.ndarray:
    """One step the long way: pipeline in, the engine's output (`Network.mean`, held to
    `Network.predict` by the engine's tests), pipeline out."""
    version, spec = forecaster.verified, forecaster.pipeline
    path = version.path / version.manifest.networks[0]
    network = load_network(path.read_bytes(), str(path))
    outputs = network.mean(spec.model_inputs(histories, version.scaler))
    return spec.to_series_units(outputs, histories, version.scaler)


def test_one_step_equals_pipeline_plus_engine(forecaster: Forecaster) -> None:
    histories, _ = one_step_histories(SERIES, forecaster.pipeline)
    np.testing.assert_array_equal(
        forecaster.forecast(histories, 1)[:, 0], by_hand(forecaster, histories)
    )


def test_horizon_feeds_each_forecast_back(forecaster: Forecaster) -> None:
    history = SERIES[np.newaxis, :50]
    expected = []
    for _ in range(6):
        expected.append(by_hand(forecaster, history)[0])
        history = np.append(history, [[expected[-1]]], axis=1)
    np.testing.assert_allclose(
        forecaster.forecast(SERIES[np.newaxis, :50], 6)[0], expected, rtol=1e-12
    )


def test_only_the_last_history_length_values_matter(forecaster: Forecaster) -> None:
    need = forecaster.history_length
    short = forecaster.forecast(SERIES[np.newaxis, -need:], 3)
    np.testing.assert_array_equal(forecaster.forecast(SERIES[np.newaxis, :], 3), short)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_batch_equals_its_rows_forecast_one_by_one(
    forecaster: Forecaster, data: st.DataObject
) -> None:
    batch = data.draw(st.integers(1, 8))
    values = st.floats(400, 1000, allow_nan=False)
    histories = data.draw(arrays(np.float64, (batch, forecaster.history_length), elements=values))
    horizon = data.draw(st.integers(1, 5))
    together = forecaster.forecast(histories, horizon)
    for row, forecast in zip(histories, together, strict=True):
        np.testing.assert_allclose(  # float32 rounding: BLAS may sum a batch in another order
            forecaster.forecast(row[np.newaxis], horizon)[0], forecast, rtol=1e-6
        )


def test_bands_are_the_calibrations_whatever_was_asked_before(toy_models: Path) -> None:
    """The half-widths a forecaster keeps per (levels, horizon) are its calibration's, also
    once more pairs were asked than it keeps."""
    forecaster = load_forecaster(toy_models / "toy" / "1")  # the toy with intervals
    calibration = forecaster.verified.calibration
    assert calibration is not None
    point = np.linspace(90.0, 110.0, calibration.horizon)[np.newaxis]
    asked = [  # the same levels at every horizon, the same horizon with other levels
        ((low, high), horizon)
        for low in (50.0, 60.0, 70.0, 80.0)
        for high in (90.0, 95.0, 99.0)
        for horizon in range(1, calibration.horizon + 1)
    ]
    assert len(asked) > HALF_WIDTHS_KEPT
    for _ in range(2):  # the second pass after the first overflowed what is kept
        for levels, horizon in asked:
            half = calibration.half_widths(levels, horizon)
            for j, band in enumerate(forecaster.intervals(point[:, :horizon], levels)):
                lower, upper = bounds(point[:, :horizon], half[j], calibration.space)
                np.testing.assert_array_equal(band.lower, lower)
                np.testing.assert_array_equal(band.upper, upper)


def test_too_short_histories_are_a_programming_error(forecaster: Forecaster) -> None:
    with pytest.raises(ValueError, match="histories need shape"):
        forecaster.forecast(SERIES[np.newaxis, : forecaster.history_length - 1], 1)


def test_evaluate_scores_one_step_forecasts_and_baselines_on_the_same_points(
    forecaster: Forecaster,
) -> None:
    result = evaluate(forecaster, SERIES)
    histories, targets = one_step_histories(SERIES, forecaster.pipeline)
    np.testing.assert_array_equal(result.targets, targets)
    np.testing.assert_array_equal(result.predictions, forecaster.forecast(histories, 1)[:, 0])
    np.testing.assert_array_equal(result.actuals, SERIES[targets])
    assert result.rmse == scoring.rmse(SERIES[targets], result.predictions)
    assert result.mase == pytest.approx(result.mae / (scoring.naive_scale(SERIES, 12) or np.nan))
    persistence = scoring.rmse(SERIES[targets], SERIES[targets - 1])
    assert result.baselines["persistence"] == scoring.BaselineScores(
        rmse=persistence, mae=scoring.mae(SERIES[targets], SERIES[targets - 1]), n=len(targets)
    )


def test_seasonal_baseline_is_none_when_a_point_lacks_a_season_of_history(toy_models: Path) -> None:
    result = evaluate(load_forecaster(toy_models / "toy" / "1"), SERIES[:12])
    assert result.baselines["seasonal_naive"] is None and result.baselines["persistence"]


def test_range_notes_use_the_margin_times_the_training_range(toy_models: Path) -> None:
    forecaster = load_forecaster(toy_models / "toy" / "1", margin=1.0)
    data = forecaster.manifest.data
    width = data.train_max - data.train_min
    inside = np.array([[data.train_min - width + 1e-6, data.train_max + width - 1e-6]])
    outside = np.array([[data.train_min - width - 1e-6, data.train_max + width + 1e-6]])
    assert forecaster.range_notes(inside) == {}
    assert "2 of the 2 values used lie outside" in forecaster.range_notes(outside)[0]


@dataclasses.dataclass
class StubNetwork:
    """Stands in for `app.engine.Network`: a constant output of any width."""

    look_back: int | None = 3
    n_outputs: int = 1
    output: float = 0.5
    n_features: int = 1
    member_mean: None = None  # no compiled kernel: the pipeline takes its own loop

    def predict(self, x: np.ndarray) -> np.ndarray:
        if x.shape[2] != self.n_features:
            raise ValueError(f"expected {self.n_features} features")
        return np.full((1, len(x), self.n_outputs), self.output)

    def mean(self, x: np.ndarray) -> np.ndarray:
        return self.predict(x).mean(axis=0)[:, 0]


@pytest.mark.parametrize(
    ("stub", "reason"),
    [
        (StubNetwork(look_back=7), "input length 7 differs from the manifest's look_back 3"),
        (StubNetwork(n_outputs=2), re.escape("shape (2,); expected (1,)")),
        (StubNetwork(n_features=2), re.escape("refuses a (1, 3, 1) window: expected 2 features")),
        (StubNetwork(output=np.nan), "warm-up forecast is not finite"),
    ],
)
def test_a_network_that_does_not_fit_the_manifest_is_refused(
    toy_models: Path, stub: StubNetwork, reason: str
) -> None:
    version = read_version(toy_models / "toy" / "1")
    with pytest.raises(ForecasterError, match=reason):
        Forecaster(version, cast(Network, stub))


def test_a_network_that_takes_any_window_length_is_accepted(toy_models: Path) -> None:
    version = read_version(toy_models / "toy" / "1")
    forecaster = Forecaster(version, cast(Network, StubNetwork(look_back=None)))
    assert forecaster.forecast(SERIES[np.newaxis], 2).shape == (1, 2)


def test_range_notes_take_a_named_series_own_range(catalog_models: Path) -> None:
    """A value far outside its series' range but inside the version's is noted for that series
    only, with that series' range; a row of a series the version never saw takes the version's."""
    forecaster = load_forecaster(catalog_models / "catalog" / "1")
    assert forecaster.series is not None
    columns, data = forecaster.series.columns, forecaster.manifest.data
    low, high = np.asarray(columns.train_min), np.asarray(columns.train_max)
    k = int(np.argmin(high - low))  # the narrowest range: far outside it, inside the version's
    value = high[k] + 0.5 * (high[k] - low[k]) + 1e-6 * (1 + abs(high[k]))
    assert data.train_min <= value <= data.train_max
    rows = np.full((2, 3), value)
    notes = forecaster.range_notes(rows, np.array([-1, k]))
    assert list(notes) == [1]
    assert "3 of the 3 values used lie outside" in notes[1]
    assert f"the training range {low[k]:g} to {high[k]:g}" in notes[1]
    assert forecaster.range_notes(rows) == {}


def test_the_first_row_not_finite_is_found_across_points_and_every_levels_bounds() -> None:
    """A batch's refusal names the first row JSON cannot carry: in the points (batch,
    horizon), or in either bound of any level (levels, batch, horizon)."""
    points = np.ones((4, 3))
    lower, upper = np.zeros((2, 4, 3)), np.full((2, 4, 3), 2.0)
    assert _first_nonfinite(points) is None
    assert _first_nonfinite(lower, upper) is None
    upper[1, 2, 0] = np.inf  # the second level's upper bound of row 2
    lower[0, 3, 2] = np.nan
    assert _first_nonfinite(lower, upper) == 2
    points[1, 1] = -np.inf
    assert _first_nonfinite(points) == 1
