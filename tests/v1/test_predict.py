"""The v1 forecasts (`/v1/predict`, `/v1/models/{name}/predict`, `.../predict/batch`) in
process, against toy model directories: answers, warnings and prediction intervals (with
the levels a version cannot serve).

The evaluate route is in test_predict_evaluate.py, the refusals of bad bodies in
test_predict_refusals.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from apikit import SERIES, assert_error
from fastapi.testclient import TestClient

# --- forecasts --------------------------------------------------------------------------


def test_predict_returns_horizon_values(client: TestClient) -> None:
    body = client.post("/v1/models/toy/predict", json={"values": SERIES, "horizon": 3}).json()
    assert body["model"] == "toy" and body["version"] == 1 and body["horizon"] == 3
    assert len(body["forecast"]) == 3 and body["warnings"] == []


def test_default_model_answers_v1_predict(client: TestClient) -> None:
    named = client.post("/v1/models/toy/predict", json={"values": SERIES}).json()
    assert client.post("/v1/predict", json={"values": SERIES}).json() == named


def test_integers_are_numbers(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"values": [600, 610, 620]}).json()
    assert len(body["forecast"]) == 1


def test_batch_equals_single_calls(client: TestClient) -> None:
    series = [SERIES[:40], SERIES[:60], SERIES]
    batch = client.post(
        "/v1/models/toy-diff/predict/batch", json={"series": series, "horizon": 4}
    ).json()
    for values, forecast in zip(series, batch["forecasts"], strict=True):
        one = client.post("/v1/models/toy-diff/predict", json={"values": values, "horizon": 4})
        # Equal within float32 rounding: the engine's BLAS may sum a batch in another order.
        assert one.json()["forecast"] == pytest.approx(forecast, rel=1e-6)


def test_far_out_of_range_inputs_are_forecast_with_a_warning(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"values": [600.0, 5000.0, 610.0]}).json()
    assert len(body["forecast"]) == 1
    assert body["warnings"] and body["warnings"][0].startswith("values: 1 of the 3 values")


def test_batch_warnings_name_the_series(client: TestClient) -> None:
    series = [SERIES[-3:], [-900.0, -950.0, -990.0]]
    body = client.post("/v1/models/toy/predict/batch", json={"series": series}).json()
    assert [w.split(":")[0] for w in body["warnings"]] == ["series[1]"]


# --- prediction intervals ---------------------------------------------------------------


def _predict(client: TestClient, model: str, **body: Any) -> Any:
    return client.post(f"/v1/models/{model}/predict", json={"values": SERIES, **body})


def test_intervals_bracket_the_forecast_nest_by_level_and_widen_with_the_step(
    client: TestClient,
) -> None:
    body = _predict(client, "toy", horizon=6, levels=[95, 80]).json()
    forecast = np.array(body["forecast"])
    bands = {b["level"]: (np.array(b["lower"]), np.array(b["upper"])) for b in body["intervals"]}
    assert list(bands) == [80.0, 95.0]  # sorted
    for lower, upper in bands.values():
        assert (lower < forecast).all() and (forecast < upper).all()
        assert (np.diff(upper - lower) >= -1e-9).all() and upper[-1] - lower[-1] > upper[0] - lower[
            0
        ]
    assert (bands[95][0] <= bands[80][0]).all() and (bands[95][1] >= bands[80][1]).all()


def test_the_default_levels_apply_and_an_empty_list_turns_them_off(client: TestClient) -> None:
    assert [b["level"] for b in _predict(client, "toy").json()["intervals"]] == [80.0, 95.0]
    assert _predict(client, "toy", levels=[]).json()["intervals"] == []


@pytest.mark.parametrize(
    ("model", "body", "field", "message"),
    [
        ("toy-diff", {"levels": [80]}, "levels", "has no calibrated intervals"),
        ("toy", {"levels": [80], "horizon": 7}, "horizon", "calibrated up to 6 steps"),
        ("toy", {"levels": [100]}, "levels[0]", "less than 100"),
        ("toy", {"levels": [0]}, "levels[0]", "greater than 0"),
        ("toy", {"levels": ["80"]}, "levels[0]", "valid number"),
        ("toy", {"levels": [True]}, "levels[0]", "valid number"),
    ],
)
def test_levels_that_cannot_be_served_are_422_saying_the_limit(
    client: TestClient, model: str, body: dict[str, Any], field: str, message: str
) -> None:
    error = assert_error(_predict(client, model, **body), 422, "invalid_input", field)
    assert message in error["error"]


def test_beyond_the_calibrated_horizon_the_default_levels_give_way_with_a_warning(
    client: TestClient,
) -> None:
    body = _predict(client, "toy", horizon=8).json()
    assert len(body["forecast"]) == 8 and body["intervals"] == []
    assert body["warnings"] == [
        "intervals: none, since intervals are calibrated up to 6 steps ahead, and horizon is 8"
    ]


def test_batch_intervals_have_a_row_per_series(client: TestClient) -> None:
    rows = [SERIES, SERIES[:-3]]
    body = client.post(
        "/v1/models/toy/predict/batch", json={"series": rows, "horizon": 2, "levels": [80]}
    ).json()
    (band,) = body["intervals"]
    assert np.shape(band["lower"]) == np.shape(band["upper"]) == (2, 2)
    single = _predict(client, "toy", horizon=2, levels=[80]).json()["intervals"][0]
    # Equal within float32 rounding: the engine's BLAS may sum a batch in another order.
    assert band["lower"][0] == pytest.approx(single["lower"], rel=1e-6)
    assert band["upper"][0] == pytest.approx(single["upper"], rel=1e-6)
