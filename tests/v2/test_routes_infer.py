"""The Open Inference Protocol (KServe V2) infer route, in process: answers equal to the v1
batch forecast for every way of sending the tensor, the band outputs, and every refusal a
400 `{"error": ...}` that says what is wrong.

Hand-built binary bodies are in test_binary_bodies.py, their refusals in
test_binary_refusals.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from v2kit import INFER, ROWS, SERIES, body, forecasts, tensor, tensors, v1_batch, v2_error

from app.main import create_app
from app.settings import Settings

NO_INTERVALS = "intervals: none, since model 'toy-diff' version 1 has no calibrated intervals"


# --- infer ------------------------------------------------------------------------------------


def test_infer_equals_the_v1_batch_forecast(client: TestClient) -> None:
    response = client.post(INFER, json=body(horizon=3, id="req-7"))
    assert response.json()["model_name"] == "toy-diff" and response.json()["model_version"] == "1"
    assert response.json()["id"] == "req-7"
    assert response.json()["parameters"]["warnings"] == NO_INTERVALS  # toy-diff has none
    assert forecasts(response).shape == (2, 3)
    np.testing.assert_allclose(forecasts(response), v1_batch(client, ROWS, 3), rtol=1e-12)


def test_versioned_infer_answers_like_the_plain_one(client: TestClient) -> None:
    versioned = client.post("/v2/models/toy-diff/versions/1/infer", json=body(horizon=2))
    plain = client.post(INFER, json=body(horizon=2))
    np.testing.assert_array_equal(forecasts(versioned), forecasts(plain))


def test_nested_data_equals_flat_data(client: TestClient) -> None:
    nested = {"inputs": [tensor(ROWS, [2, 40])]}
    np.testing.assert_array_equal(
        forecasts(client.post(INFER, json=nested)), forecasts(client.post(INFER, json=body()))
    )


def test_horizon_defaults_to_1_and_may_sit_on_the_input(client: TestClient) -> None:
    assert forecasts(client.post(INFER, json=body())).shape == (2, 1)
    on_input = body()
    on_input["inputs"][0]["parameters"] = {"horizon": 4}
    assert forecasts(client.post(INFER, json=on_input)).shape == (2, 4)
    on_input["parameters"] = {"horizon": 4, "binary_data_output": True}  # agreeing
    assert forecasts(client.post(INFER, json=on_input)).shape == (2, 4)


def test_the_id_falls_back_to_the_request_id_header_or_a_fresh_one(client: TestClient) -> None:
    headed = client.post(INFER, json=body(), headers={"x-request-id": "abc"})
    assert headed.json()["id"] == "abc"
    first, second = (client.post(INFER, json=body()).json()["id"] for _ in range(2))
    assert first and second and first != second


def test_fp32_data_is_read_as_float32(client: TestClient) -> None:
    rows = [[v + 0.1 for v in row] for row in ROWS]
    as_fp32 = np.asarray(rows, dtype=np.float32).astype(np.float64).tolist()
    fp32 = {"inputs": [tensor(rows, [2, 40], "FP32")]}
    np.testing.assert_array_equal(
        forecasts(client.post(INFER, json=fp32)), v1_batch(client, as_fp32)
    )


@pytest.mark.parametrize("datatype", ["INT32", "INT64", "UINT16"])
def test_integer_tensors_are_forecast(client: TestClient, datatype: str) -> None:
    rows = [[round(v) for v in row] for row in ROWS]
    integers = {"inputs": [tensor(rows, [2, 40], datatype)]}
    np.testing.assert_array_equal(
        forecasts(client.post(INFER, json=integers)),
        v1_batch(client, [[float(v) for v in row] for row in rows]),
    )


def test_requesting_the_forecast_output_is_fine(client: TestClient) -> None:
    requested = body(outputs=[{"name": "forecast"}])
    response = client.post(INFER, json=requested)
    assert forecasts(response).shape == (2, 1) and "data" in response.json()["outputs"][0]


def test_far_out_of_range_inputs_are_forecast_with_a_warning(client: TestClient) -> None:
    response = client.post("/v2/models/toy/infer", json=body([[600.0, 5000.0, 610.0]]))
    assert forecasts(response).shape == (1, 1)
    assert response.json()["parameters"]["warnings"].startswith("values[0]: 1 of the 3 values")


def test_the_documented_example_is_answered(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["InferenceRequest"]
    response = client.post("/v2/models/toy/infer", json=schema["examples"][0])
    assert forecasts(response).shape == (2, 2) and response.json()["id"] == "42"


# --- refused input ----------------------------------------------------------------------------

FLAT = [v for row in ROWS for v in row]
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "no inputs": ({"inputs": []}, "inputs"),
    "no data": (
        {"inputs": [{"name": "values", "shape": [2, 40], "datatype": "FP64"}]},
        "values: no `data`",
    ),
    "inputs missing": ({"id": "1"}, "inputs: Field required"),
    "wrong input name": ({"inputs": [{**tensor(FLAT, [2, 40]), "name": "x"}]}, "['x']"),
    "two inputs": ({"inputs": [tensor(FLAT, [2, 40])] * 2}, "expected one tensor"),
    "wrong output": (body(outputs=[{"name": "mean"}]), "unknown output 'mean'"),
    "one-dimensional": ({"inputs": [tensor(FLAT, [80])]}, "expected [batch, length]"),
    "three-dimensional": ({"inputs": [tensor(FLAT, [2, 40, 1])]}, "expected [batch, length]"),
    "empty dimension": ({"inputs": [tensor([], [0, 40])]}, "both at least 1"),
    "too few elements": ({"inputs": [tensor(FLAT[:-1], [2, 40])]}, "79 elements"),
    "too many elements": ({"inputs": [tensor(FLAT, [2, 39])]}, "shape [2, 39] needs 78"),
    "ragged rows": ({"inputs": [tensor([ROWS[0], ROWS[1][:-1]], [2, 40])]}, "79 elements"),
    "rows do not match shape": ({"inputs": [tensor(ROWS, [40, 2])]}, "follow the shape"),
    "mixed nesting": ({"inputs": [tensor([ROWS[0], *ROWS[1]], [2, 40])]}, "follow the shape"),
    "too deeply nested": ({"inputs": [tensor([[[1.0]]], [1, 1])]}, "follow the shape"),
    "BYTES": ({"inputs": [tensor(FLAT, [2, 40], "BYTES")]}, "'BYTES' is not supported"),
    "BOOL": ({"inputs": [tensor(FLAT, [2, 40], "BOOL")]}, "'BOOL' is not supported"),
    "string": ({"inputs": [tensor(["600", *FLAT[1:]], [2, 40])]}, "values[0][0]: '600'"),
    "null": ({"inputs": [tensor([*FLAT[:41], None, *FLAT[42:]], [2, 40])]}, "values[1][1]"),
    "boolean": ({"inputs": [tensor([True, *FLAT[1:]], [2, 40])]}, "not a finite number"),
    "fraction as INT32": ({"inputs": [tensor([1.5] * 6, [2, 3], "INT32")]}, "not an integer"),
    "300 as INT8": ({"inputs": [tensor([300] * 6, [2, 3], "INT8")]}, "does not fit in INT8"),
    "-1 as UINT8": ({"inputs": [tensor([-1] * 6, [2, 3], "UINT8")]}, "does not fit in UINT8"),
    "1e39 as FP32": ({"inputs": [tensor([1e39] * 6, [2, 3], "FP32")]}, "does not fit in FP32"),
    "horizon 0": (body(horizon=0), "parameters.horizon"),
    "horizon 121": (body(horizon=121), "horizon: at most 120, got 121"),
    "horizon as string": (body(horizon="2"), "parameters.horizon"),
    "horizon as fraction": (body(horizon=1.5), "parameters.horizon"),
    "horizon as boolean": (body(horizon=True), "parameters.horizon"),
    "horizons disagree": (
        {
            "parameters": {"horizon": 2},
            "inputs": [tensor(FLAT, [2, 40], parameters={"horizon": 3})],
        },
        "given twice",
    ),
    "too few values": (body([SERIES[:16]]), "values[0]: model 'toy-diff' needs at least 17"),
}


@pytest.mark.parametrize(("request_body", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_input_is_400_saying_what_is_wrong(
    client: TestClient, request_body: dict[str, Any], says: str
) -> None:
    assert says in v2_error(client.post(INFER, json=request_body), 400)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_values_are_refused(client: TestClient, token: str) -> None:
    text = '{"inputs": [{"name": "values", "shape": [1, 3], "datatype": "FP64", "data": [600, '
    response = client.post(
        "/v2/models/toy/infer",
        content=(text + token + ", 610]}]}").encode(),
        headers={"content-type": "application/json"},
    )
    assert "values[0][1]" in v2_error(response, 400)


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        INFER, content=b'{"inputs": [', headers={"content-type": "application/json"}
    )
    assert "invalid JSON" in v2_error(response, 400)


def test_a_forecast_that_overflows_is_refused(client: TestClient) -> None:
    huge = [1.7e308] * 17
    huge[4] = -1.7e308
    assert "values[0]: the forecast overflowed" in v2_error(
        client.post(INFER, json=body([huge])), 400
    )


def test_limits_come_from_settings(settings: Settings) -> None:
    small = settings.model_copy(update={"max_values": 50, "max_series": 2, "max_horizon": 5})
    with TestClient(create_app(small)) as c:
        assert "at most 2 series" in v2_error(c.post(INFER, json=body([SERIES[:40]] * 3)), 400)
        assert "values[0]: at most 50 values" in v2_error(
            c.post(INFER, json=body([SERIES[:51]])), 400
        )
        assert "at most 5" in v2_error(c.post(INFER, json=body(horizon=6)), 400)
        assert forecasts(c.post(INFER, json=body([SERIES[:50]] * 2, horizon=5))).shape == (2, 5)


def test_oversized_body_is_413(client: TestClient) -> None:
    rows = [[600.123456789] * 1000] * 100
    response = client.post("/v2/models/toy/infer", json=body(rows))
    assert response.status_code == 413 and "error" in response.json()


# --- prediction intervals ---------------------------------------------------------------------


def test_infer_returns_each_band_as_a_tensor_equal_to_v1s_intervals(client: TestClient) -> None:
    response = client.post(
        "/v2/models/toy/infer", json=body(horizon=3, parameters={"horizon": 3, "levels": "80,95"})
    )
    got = tensors(response)
    assert list(got) == ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    v1 = client.post(
        "/v1/models/toy/predict/batch", json={"series": ROWS, "horizon": 3, "levels": [80, 95]}
    ).json()
    for band in v1["intervals"]:
        level = f"{band['level']:g}"
        np.testing.assert_array_equal(got[f"lower_{level}"], band["lower"])
        np.testing.assert_array_equal(got[f"upper_{level}"], band["upper"])
