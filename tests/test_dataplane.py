"""The data plane, without HTTP: what every protocol's forecast and evaluation goes through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from modelkit import synthetic_series

from app import metrics
from app.dataplane import DataPlane
from app.errors import InvalidInput, ModelNotFound
from app.registry import Registry, version_loader
from app.settings import Settings
from app.watcher import ModelWatcher

SERIES = synthetic_series()


@pytest.fixture
def plane(toy_models: Path) -> DataPlane:
    registry = Registry(toy_models, version_loader(0.5))
    ModelWatcher(registry, 0).load_all()
    settings = Settings(model_dir=toy_models, max_values=200, max_series=3, max_horizon=6)
    return DataPlane(registry, settings)


def _field(error: pytest.ExceptionInfo[InvalidInput]) -> str:
    return error.value.errors[0].field


def test_predict_forecasts_the_tail_with_the_served_version(plane: DataPlane) -> None:
    forecaster = plane.registry.served("toy").forecaster
    answer = plane.predict("toy", SERIES, 3)
    assert (answer.model, answer.version, answer.horizon) == ("toy", 1, 3)
    expected = forecaster.forecast(SERIES[np.newaxis, -forecaster.history_length :], 3)
    np.testing.assert_array_equal(answer.values, expected)
    assert answer.warnings == []


def test_a_batch_is_one_pass_and_its_rows_are_named_as_the_caller_names_them(
    plane: DataPlane,
) -> None:
    rows = [SERIES, SERIES[:-1]]
    answer = plane.predict_batch("toy", rows, 2)
    assert answer.values.shape == (2, 2)
    alone = plane.predict("toy", rows[1], 2).values[0]
    np.testing.assert_allclose(answer.values[1], alone, rtol=1e-7)  # BLAS: float32 rounding
    with pytest.raises(InvalidInput) as short:
        plane.predict_batch("toy", [SERIES, SERIES[:2]], 1, field="values")
    assert _field(short) == "values[1]" and "needs at least 3 values" in short.value.message


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda p: p.predict("toy", SERIES, 7), "horizon", "at most 6"),
        (lambda p: p.predict_batch("toy", [SERIES] * 4, 1), "series", "at most 3 series"),
        (lambda p: p.predict("toy", np.ones(201), 1), "values", "at most 200 values"),
        (lambda p: p.evaluate("toy", SERIES[:3]), "values", "to evaluate"),
        (lambda p: p.predict("toy-diff", np.full(17, 1.7e308), 1), "values", "overflowed"),
    ],
)
def test_refusals_name_the_field_and_the_limit(
    plane: DataPlane, call: object, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        call(plane)  # type: ignore[operator]
    assert _field(refused) == field and message in refused.value.message


def test_unknown_models_are_not_found(plane: DataPlane) -> None:
    with pytest.raises(ModelNotFound, match="models: 'toy', 'toy-diff'"):
        plane.predict("nope", SERIES, 1)


def test_inputs_far_outside_the_training_range_are_forecast_with_a_warning(
    plane: DataPlane,
) -> None:
    answer = plane.predict("toy", SERIES * 10, 1)
    assert np.isfinite(answer.values).all()
    assert len(answer.warnings) == 1 and answer.warnings[0].startswith("values: ")


def test_evaluate_scores_the_series_and_says_which_baseline_it_left_out(
    plane: DataPlane,
) -> None:
    full = plane.evaluate("toy-diff", SERIES)
    assert full.evaluation.baselines["seasonal_naive"] is not None
    assert full.evaluation.baselines["pipeline_alone"] is None  # differencing: there is none
    assert full.warnings == [
        "intervals: none, since model 'toy-diff' version 1 has no calibrated intervals",
        "pipeline_alone: not computed; the model's differencing pipeline has no forecast"
        " without its network",
    ]
    short = plane.evaluate("toy", SERIES[:15])  # 12 points forecast; 3 have a season before
    seasonal = short.evaluation.baselines["seasonal_naive"]
    assert seasonal is not None and seasonal.n == 3
    assert "seasonal_naive: scored on the last 3 of the 12 points" in short.warnings[-2]
    shorter = plane.evaluate("toy", SERIES[:10])
    assert shorter.evaluation.baselines["seasonal_naive"] is None
    assert any(w.startswith("seasonal_naive: not computed") for w in shorter.warnings)


def test_forecasts_are_counted_per_series_and_value(plane: DataPlane) -> None:
    def count(name: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, {"model": "toy", "version": "1"}) or 0.0

    before = count("forecast_forecasts_total"), count("forecast_forecast_values_total")
    plane.predict_batch("toy", [SERIES, SERIES], 3)
    after = count("forecast_forecasts_total"), count("forecast_forecast_values_total")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 6)
