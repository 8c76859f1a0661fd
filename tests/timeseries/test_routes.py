"""The time-series routes in process, over the real data plane and the toy models (posted
values, no series table): answers KServe's `ForecastResponse` accepts, equal to v1's
forecasts of the same values, and every refusal KServe's `ErrorResponse`, with the field
at fault. Series by name, over a model with a series table, are in test_routes_series.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from apikit import SERIES, NotReadyRegistry, serve_registry
from fastapi.testclient import TestClient
from tskit import (
    FORECAST,
    MODELS,
    body,
    content,
    kserve_response,
    refused,
    series_input,
)


def v1_forecast(client: TestClient, values: list[float], horizon: int, levels: list[float]) -> Any:
    answer = {"values": values, "horizon": horizon, "levels": levels}
    return client.post("/v1/models/toy/predict", json=answer).json()


# --- answers ------------------------------------------------------------------------------------


def test_an_answer_is_kserves_and_equals_the_v1_forecast(client: TestClient) -> None:
    response = client.post(FORECAST, json=body(horizon=4, quantiles=[0.1, 0.5, 0.9]))
    assert response.status_code == 200, response.text
    theirs = kserve_response(response.json())
    assert theirs.model == "toy" and theirs.model_version == "1" and theirs.status == "completed"
    forecast = content(response)
    assert forecast["name"] == "posted" and forecast["frequency"] == "month"
    assert forecast["start_timestamp"] == "2003-05-01T00:00:00Z"  # 2000-01 + 40 months
    assert forecast["warnings"] == []
    v1 = v1_forecast(client, SERIES[:40], 4, [80.0])
    np.testing.assert_allclose(forecast["mean_forecast"], v1["forecast"], rtol=1e-12)
    assert forecast["quantiles"]["0.5"] == forecast["mean_forecast"]
    np.testing.assert_allclose(forecast["quantiles"]["0.1"], v1["intervals"][0]["lower"])
    np.testing.assert_allclose(forecast["quantiles"]["0.9"], v1["intervals"][0]["upper"])


def test_quantiles_are_the_bounds_of_v1s_intervals_and_rise_with_q(client: TestClient) -> None:
    quantiles = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975]
    forecast = content(client.post(FORECAST, json=body(horizon=6, quantiles=quantiles)))
    rows = np.array([forecast["quantiles"][str(q)] for q in quantiles])
    assert (np.diff(rows, axis=0) >= 0).all()
    v1 = v1_forecast(client, SERIES[:40], 6, [50.0, 80.0, 95.0])
    bands = {band["level"]: band for band in v1["intervals"]}
    for q, level in [(0.025, 95.0), (0.25, 50.0), (0.75, 50.0), (0.975, 95.0)]:
        bound = bands[level]["lower" if q < 0.5 else "upper"]
        np.testing.assert_allclose(forecast["quantiles"][str(q)], bound, rtol=1e-12)


def test_one_output_per_input_in_input_order(client: TestClient) -> None:
    inputs = [series_input("a"), series_input("b", SERIES[5:50], "M", "2000-06-15T08:00:00Z")]
    response = client.post(FORECAST, json=body(*inputs), headers={"x-request-id": "req-9"})
    kserve_response(response.json())
    assert response.json()["id"] == "req-9"
    assert [o["id"] for o in response.json()["outputs"]] == ["req-9-0", "req-9-1"]
    assert [content(response, i)["name"] for i in (0, 1)] == ["a", "b"]
    assert content(response, 1)["frequency"] == "M"
    assert content(response, 0)["start_timestamp"] == "2003-05-01T00:00:00Z"  # 2000-01 + 40
    assert content(response, 1)["start_timestamp"] == "2004-03-01T00:00:00Z"  # 2000-06 + 45
    assert "quantiles" not in content(response, 0)


def test_several_series_answer_in_one_call_as_v1_forecasts_each(client: TestClient) -> None:
    rows = [SERIES[i : i + 40 + i] for i in range(5)]  # of different lengths
    inputs = [series_input(str(i), row) for i, row in enumerate(rows)]
    response = client.post(FORECAST, json=body(*inputs, horizon=3, quantiles=[0.05, 0.95]))
    assert response.status_code == 200, response.text
    answer = kserve_response(response.json())
    assert [o.content[0].name for o in answer.outputs] == [str(i) for i in range(5)]
    for row, output in zip(rows, answer.outputs, strict=True):
        forecast = output.content[0]
        v1 = v1_forecast(client, row, 3, [90.0])
        # Equal within float32 rounding: the engine's BLAS may sum a batch in another order.
        np.testing.assert_allclose(forecast.mean_forecast, v1["forecast"], rtol=1e-6)
        np.testing.assert_allclose(forecast.quantiles["0.05"], v1["intervals"][0]["lower"], 1e-6)
        np.testing.assert_allclose(forecast.quantiles["0.95"], v1["intervals"][0]["upper"], 1e-6)


FAR = [600.0, 5000.0, 610.0]  # 5000 lies far beyond the toys' training range


def test_a_warning_is_given_to_the_input_it_is_about_named_inputs_i(client: TestClient) -> None:
    lone = client.post(FORECAST, json=body(series_input("far", FAR)))
    assert lone.status_code == 200, lone.text
    (warning,) = content(lone)["warnings"]
    assert warning.startswith("inputs[0]: 1 of the 3 values used lie outside")
    inputs = [series_input("a"), series_input("far", FAR), series_input("c")]
    three = client.post(FORECAST, json=body(*inputs))
    assert [content(three, i)["warnings"] for i in (0, 2)] == [[], []]
    (warning,) = content(three, 1)["warnings"]
    assert warning.startswith("inputs[1]: 1 of the 3 values used lie outside")
    kserve_response(three.json())


def test_the_models_list_names_the_served_models(client: TestClient) -> None:
    listed = client.get(MODELS)
    assert listed.status_code == 200
    served = [m["name"] for m in client.get("/v1/models").json() if m["state"] == "ready"]
    assert listed.json() == served and "toy" in served


# --- refusals -----------------------------------------------------------------------------------


def test_an_unknown_model_is_404(client: TestClient) -> None:
    message = refused(client.post(FORECAST, json=body(model="nope")), 404, "model_not_found")
    assert "'toy'" in message  # the models there are


def test_a_model_with_no_verified_version_is_503(client: TestClient) -> None:
    serve_registry(client.app, NotReadyRegistry(), client.app.state.settings)  # type: ignore[attr-defined]
    refused(client.post(FORECAST, json=body()), 503, "model_not_ready")
    assert client.get(MODELS).json() == []


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        (body(horizon=0), "options.horizon"),
        (body(quantiles=[0.5, 1.0]), "options.quantiles[1]"),
        (body(series_input(frequency="fortnight")), "inputs[0].frequency"),
        (body(series_input(type="multivariate_time_series")), "inputs[0].type"),
        (body(series_input(series=[1.0, "x"])), "inputs[0].series[1]"),
        ({"model": "toy", "inputs": [], "options": {"horizon": 1}}, "inputs"),
        ({"inputs": [series_input()], "options": {"horizon": 1}}, "model"),
    ],
)
def test_an_invalid_body_is_400_naming_the_field(
    client: TestClient, request_body: dict[str, Any], param: str
) -> None:
    refused(client.post(FORECAST, json=request_body), 400, "invalid_input", param)


def test_malformed_json_is_400(client: TestClient) -> None:
    bad = client.post(FORECAST, content=b'{"model": ', headers={"content-type": "application/json"})
    refused(bad, 400, "invalid_input", "body")


def test_another_calendar_is_400_naming_the_one_to_send(client: TestClient) -> None:
    response = client.post(FORECAST, json=body(series_input(frequency="D")))
    message = refused(response, 400, "invalid_input", "inputs[0].frequency")
    assert "send 'month' (or 'M')" in message


def test_an_unknown_series_needs_its_start(client: TestClient) -> None:
    response = client.post(FORECAST, json=body(series_input(start=None)))
    message = refused(response, 400, "invalid_input", "inputs[0].start_timestamp")
    assert "knows no series 'posted'" in message


def test_a_name_without_values_on_a_model_without_series_is_400(client: TestClient) -> None:
    """With no values a name can only mean a stored series; the toys store none."""
    response = client.post(FORECAST, json=body(series_input("store-7", [])))
    message = refused(response, 400, "invalid_input", "inputs[0].name")
    assert message.startswith("inputs[0].name: model 'toy' version 1 knows no series by id")


def test_more_intervals_than_the_limit_are_400(client: TestClient) -> None:
    quantiles = [round(0.01 * k, 2) for k in range(1, 40)]  # 39 levels
    response = client.post(FORECAST, json=body(quantiles=quantiles))
    refused(response, 400, "invalid_input", "options.quantiles")


def test_the_data_planes_refusals_name_this_protocols_fields(client: TestClient) -> None:
    beyond = body(horizon=7, quantiles=[0.1, 0.9])  # toy's intervals are calibrated to 6 steps
    message = refused(client.post(FORECAST, json=beyond), 400, "invalid_input", "options.horizon")
    assert message.startswith("options.horizon: ")
    uncalibrated = body(quantiles=[0.1, 0.9], model="toy-diff")
    refused(client.post(FORECAST, json=uncalibrated), 400, "invalid_input", "options.quantiles")


def test_a_series_too_short_is_400_naming_its_series(client: TestClient) -> None:
    short = series_input("short", SERIES[:2])
    lone = refused(
        client.post(FORECAST, json=body(short)), 400, "invalid_input", "inputs[0].series"
    )
    assert lone.startswith("inputs[0].series: ") and "at least 3" in lone
    second = client.post(FORECAST, json=body(series_input(), short))
    refused(second, 400, "invalid_input", "inputs[1].series")


def test_openapi_documents_both_routes_and_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"][FORECAST]["post"]
    assert set(post["responses"]) >= {"200", "400", "401", "404", "503"}
    assert post["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TimeSeriesError"
    }
    assert "get" in spec["paths"][MODELS]


def test_the_documented_example_is_answered(client: TestClient) -> None:
    example = client.get("/openapi.json").json()["components"]["schemas"]["ForecastRequest"]
    request = example["examples"][0] | {"model": "toy"}  # the example names the milk model
    response = client.post(FORECAST, json=request)
    assert response.status_code == 200, response.text
    kserve_response(response.json())
    assert content(response)["start_timestamp"] == "1976-01-01T00:00:00Z"  # after 1973-01 + 36
    assert set(content(response)["quantiles"]) == {"0.1", "0.5", "0.9"}
