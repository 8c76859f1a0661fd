"""The series table: its files refused unless exact, each row normalised as its own series."""

from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
import pytest
from pydantic import ValidationError

from app.contract.pipeline import AffineScaler, recursive_forecast
from app.contract.seasonal import SeasonalPipeline, log_rule
from app.contract.series import (
    MAX_SERIES,
    SeriesFile,
    forecast_by_row,
    histories_bytes,
    loggable,
    normalisation,
    normalisations,
    read_histories,
)

PIPELINE = SeasonalPipeline(6, 12)


def columns(n: int = 2, **changes: object) -> dict[str, object]:
    test = {
        "points": [1] * n,
        "rmse": [1.0] * n,
        "mae": [1.0] * n,
        "mase": [0.5] * n,
        "seasonal_naive_rmse": [2.0] * n,
        "seasonal_naive_mase": [1.0] * n,
        "coverage": {"80": [1.0] * n},
    }
    base = {
        "ids": [f"s{k}" for k in range(n)],
        "first_period": ["2000-01"] * n,
        "last_period": ["2007-12"] * n,
        "train_last_period": ["2006-12"] * n,
        "points": [96] * n,
        "train_points": [84] * n,
        "log": [False] * n,
        "spread": [1.0] * n,
        "train_min": [0.0] * n,
        "train_max": [1.0] * n,
        "test": test,
    }
    return base | changes


def test_a_series_file_with_uneven_columns_or_repeated_ids_is_refused() -> None:
    SeriesFile.model_validate(columns())
    with pytest.raises(ValidationError, match="do not have one entry per id"):
        SeriesFile.model_validate(columns(spread=[1.0]))
    with pytest.raises(ValidationError, match="not unique"):
        SeriesFile.model_validate(columns(ids=["a", "a"]))
    with pytest.raises(ValidationError, match="greater than 0"):
        SeriesFile.model_validate(columns(spread=[1.0, 0.0]))
    assert MAX_SERIES >= 100_000


def test_histories_are_read_only_with_the_exact_header_and_size() -> None:
    matrix = np.arange(12.0).reshape(3, 4)
    data = histories_bytes(matrix)
    read = read_histories(data, 3, 4)
    np.testing.assert_array_equal(read, matrix)
    assert not read.flags.writeable
    with pytest.raises(ValueError, match=r"expected float64 \(2, 4\)"):
        read_histories(data, 2, 4)
    with pytest.raises(ValueError, match="size does not match"):
        read_histories(data[:-8], 3, 4)
    objects = io.BytesIO()
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="expected float64"):
        read_histories(objects.getvalue(), 1, 1)


def old_rule(values: np.ndarray) -> tuple[bool, float]:
    """The rule as first written, series by series: the vectorised one must agree exactly."""
    log = log_rule(values, 12)
    changes = dataclasses.replace(PIPELINE, log=log).changes(values)[2]
    steps = np.abs(np.diff(np.log(values) if log else values))
    for spread in (np.std(changes) if len(changes) >= 2 else math.nan, np.mean(steps)):
        if math.isfinite(spread) and spread > 0:
            return log, float(spread)
    return log, 1.0


def test_rows_are_normalised_exactly_as_each_series_alone() -> None:
    rng = np.random.default_rng(1)
    width = PIPELINE.history_width
    rows = np.full((40, width), np.nan)
    for i in range(40):
        n = int(rng.integers(PIPELINE.history_length, width + 1))
        t = np.arange(n)
        growth = rng.uniform(0, 5) * t
        rows[i, width - n :] = (100 + growth) * (1 + 0.2 * np.sin(t / 2)) + rng.normal(0, 3, n)
    log, spread = normalisations(PIPELINE, rows)
    for i, row in enumerate(rows):
        expected = old_rule(row[~np.isnan(row)])
        assert (bool(log[i]), float(spread[i])) == pytest.approx(expected, rel=1e-12)
        assert normalisation(PIPELINE, row[~np.isnan(row)]) == pytest.approx(expected, rel=1e-12)


def test_a_flat_series_gets_a_spread_of_one() -> None:
    assert normalisation(PIPELINE, np.full(40, 7.0)) == (False, 1.0)


def test_forecast_by_row_is_each_row_forecast_with_its_own_state() -> None:
    rng = np.random.default_rng(2)
    rows = 100 + rng.normal(0, 5, (6, PIPELINE.history_width)).cumsum(axis=1)
    log = np.array([False, True, False, True, True, False])
    spread = rng.uniform(0.5, 4, 6)
    scaler = AffineScaler(0.8, 0.1)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.tanh(x[:, :, 0].sum(axis=1))

    together = forecast_by_row(rows, 3, PIPELINE, scaler, predict, log, spread)
    for i in range(6):
        spec = dataclasses.replace(PIPELINE, log=bool(log[i]))
        alone = recursive_forecast(
            rows[i : i + 1], 3, spec, AffineScaler(0.8 / spread[i], 0.1), predict
        )
        np.testing.assert_allclose(together[i], alone[0], rtol=1e-12)


def test_a_series_in_logs_that_reaches_zero_is_forecast_from_its_own_values() -> None:
    rng = np.random.default_rng(4)
    rows = 100 + rng.normal(0, 5, (2, PIPELINE.history_width)).cumsum(axis=1)
    rows[1, -3] = 0.0  # positive through training, zero now
    log, spread = np.array([True, True]), np.array([0.05, 0.05])
    usable_log, usable_spread = loggable(PIPELINE, rows, log, spread)
    assert usable_log.tolist() == [True, False]
    own = normalisations(PIPELINE, rows[1:])
    assert (usable_spread[0], usable_spread[1]) == (0.05, own[1][0]) and not own[0][0]

    def predict(x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x))

    forecasts = forecast_by_row(
        rows, 2, PIPELINE, AffineScaler(1.0, 0.0), predict, usable_log, usable_spread
    )
    assert np.isfinite(forecasts).all()
