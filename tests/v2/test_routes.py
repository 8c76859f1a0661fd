"""The Open Inference Protocol (KServe V2): in-process tests of every answer and error, and a
real V2 client (tritonclient) against a live server, with JSON and with binary tensor data.

Hand-built binary bodies and each of their refusals are in test_binary.py."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from apikit import NotReadyRegistry, serve_registry
from fastapi.testclient import TestClient
from liveserver import LiveServer
from tritonclient.utils import InferenceServerException
from v2kit import INFER, ROWS, SERIES, forecasts, tensors, v1_batch, v2_error

from app.main import create_app
from app.settings import Settings


def tensor(data: Any, shape: list[int], datatype: str = "FP64", **fields: Any) -> dict[str, Any]:
    return {"name": "values", "shape": shape, "datatype": datatype, "data": data, **fields}


def body(rows: list[list[Any]] = ROWS, horizon: Any = None, **fields: Any) -> dict[str, Any]:
    """An infer body for `rows`, flat, with `horizon` in the request's parameters if given."""
    flat = [value for row in rows for value in row]
    request: dict[str, Any] = {"inputs": [tensor(flat, [len(rows), len(rows[0])])], **fields}
    if horizon is not None:
        request["parameters"] = {"horizon": horizon}
    return request


NO_INTERVALS = "intervals: none, since model 'toy-diff' version 1 has no calibrated intervals"


# --- server and model metadata ------------------------------------------------------------


def test_server_metadata(client: TestClient) -> None:
    assert client.get("/v2").json() == {
        "name": "lstm-forecast-service",
        "version": "0.1.0",
        "extensions": ["binary_tensor_data"],
    }


def test_server_live_and_ready(client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}


def test_server_is_not_ready_without_the_default_model(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"default_model": "nope"}))) as c:
        assert "'nope' not found" in v2_error(c.get("/v2/health/ready"), 503)
        assert c.get("/v2/health/live").status_code == 200


def test_server_is_not_ready_while_draining(client: TestClient) -> None:
    client.app.state.draining = True  # type: ignore[attr-defined]  # what SIGTERM sets
    assert "shutting down" in v2_error(client.get("/v2/health/ready"), 503)
    assert client.get("/v2/health/live").status_code == 200


@pytest.mark.parametrize("path", ["/v2/models/toy-diff", "/v2/models/toy-diff/versions/1"])
def test_model_metadata_describes_the_tensors(client: TestClient, path: str) -> None:
    assert client.get(path).json() == {
        "name": "toy-diff",
        "versions": ["1"],
        "platform": "numpy_lstm",
        "inputs": [{"name": "values", "datatype": "FP64", "shape": [-1, -1]}],
        "outputs": [{"name": "forecast", "datatype": "FP64", "shape": [-1, -1]}],
    }


@pytest.mark.parametrize("path", ["/v2/models/toy/ready", "/v2/models/toy/versions/1/ready"])
def test_model_ready(client: TestClient, path: str) -> None:
    assert client.get(path).json() == {"name": "toy", "ready": True}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v2/models/toy/versions/2"),
        ("get", "/v2/models/toy/versions/2/ready"),
        ("post", "/v2/models/toy/versions/2/infer"),
        ("get", "/v2/models/toy/versions/latest"),
    ],
)
def test_only_the_served_version_can_be_addressed(
    client: TestClient, method: str, path: str
) -> None:
    kwargs = {"json": body()} if method == "post" else {}
    message = v2_error(client.request(method, path, **kwargs), 404)
    assert "is not served; version 1 is" in message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v2/models/nope"),
        ("get", "/v2/models/nope/ready"),
        ("post", "/v2/models/nope/infer"),
    ],
)
def test_unknown_model_is_404(client: TestClient, method: str, path: str) -> None:
    kwargs = {"json": body()} if method == "post" else {}
    assert "'nope'" in v2_error(client.request(method, path, **kwargs), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/v2/models/toy"), ("get", "/v2/models/toy/ready"), ("post", "/v2/models/toy/infer")],
)
def test_not_ready_model_is_503(
    client: TestClient, settings: Settings, method: str, path: str
) -> None:
    serve_registry(client.app, NotReadyRegistry(), settings)
    kwargs = {"json": body()} if method == "post" else {}
    assert "sha256 mismatch" in v2_error(client.request(method, path, **kwargs), 503)


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


# --- a real V2 client against a live server ----------------------------------------------------


@pytest.fixture(scope="module")
def triton_client(server: LiveServer) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(server.url.removeprefix("http://"))


def values_input(rows: np.ndarray, binary: bool = False) -> triton.InferInput:
    tensor = triton.InferInput("values", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows, binary_data=binary)
    return tensor


def live_v1(server: LiveServer, model: str, rows: np.ndarray, **fields: Any) -> dict[str, Any]:
    """`POST /v1/models/{model}/predict/batch` on the live server: what V2 must equal."""
    answer = httpx.post(
        f"{server.url}/v1/models/{model}/predict/batch", json={"series": rows.tolist(), **fields}
    )
    assert answer.status_code == 200, answer.text
    v1: dict[str, Any] = answer.json()
    return v1


def v1_bands(v1: dict[str, Any]) -> dict[str, np.ndarray]:
    """v1's intervals as V2 names them: `lower_80`, `upper_80`, ..."""
    return {
        f"{bound}_{band['level']:g}": np.asarray(band[bound])
        for band in v1["intervals"]
        for bound in ("lower", "upper")
    }


def test_tritonclient_sees_a_live_ready_server(triton_client: triton.InferenceServerClient) -> None:
    assert triton_client.is_server_live() and triton_client.is_server_ready()
    assert triton_client.get_server_metadata()["name"] == "lstm-forecast-service"
    assert triton_client.is_model_ready("toy-diff") and triton_client.is_model_ready("toy", "1")
    assert not triton_client.is_model_ready("toy", "2")
    assert not triton_client.is_model_ready("nope")
    metadata = triton_client.get_model_metadata("toy-diff")
    assert metadata["inputs"] == [{"name": "values", "datatype": "FP64", "shape": [-1, -1]}]
    assert metadata["outputs"][0]["name"] == "forecast"


def test_tritonclient_infer_equals_the_v1_batch_forecast(
    triton_client: triton.InferenceServerClient, server: LiveServer
) -> None:
    rows = np.asarray(ROWS)
    result = triton_client.infer(  # JSON in; no outputs named, so it asks for binary ones
        "toy-diff", [values_input(rows)], request_id="r1", parameters={"horizon": 3}
    )
    v1 = httpx.post(
        f"{server.url}/v1/models/toy-diff/predict/batch",
        json={"series": rows.tolist(), "horizon": 3},
    ).json()
    forecast = result.as_numpy("forecast")
    assert forecast is not None and forecast.shape == (2, 3)
    np.testing.assert_allclose(forecast, v1["forecasts"], rtol=1e-12)
    assert result.get_response()["id"] == "r1"
    versioned = triton_client.infer("toy-diff", [values_input(rows)], model_version="1")
    assert versioned.get_response()["model_version"] == "1"


BANDS_80 = ["forecast", "lower_80", "upper_80"]


def test_tritonclient_defaults_send_and_get_binary_tensors_equal_to_v1(
    triton_client: triton.InferenceServerClient, server: LiveServer
) -> None:
    """set_data_from_numpy sends bytes by default, and no outputs named asks for all as bytes."""
    rows = np.asarray(ROWS)
    values = triton.InferInput("values", list(rows.shape), "FP64")
    values.set_data_from_numpy(rows)  # binary_data=True: the default
    result = triton_client.infer("toy", [values], parameters={"horizon": 3})
    outputs = result.get_response()["outputs"]
    assert [o["name"] for o in outputs] == [*BANDS_80, "lower_95", "upper_95"]
    assert all("data" not in o and o["parameters"] == {"binary_data_size": 48} for o in outputs)
    v1 = live_v1(server, "toy", rows, horizon=3)
    np.testing.assert_array_equal(result.as_numpy("forecast"), v1["forecasts"])
    for name, bound in v1_bands(v1).items():
        np.testing.assert_array_equal(result.as_numpy(name), bound)


def test_tritonclient_binary_outputs_named_with_their_bands_equal_v1(
    triton_client: triton.InferenceServerClient, server: LiveServer
) -> None:
    rows = np.asarray(ROWS)
    outputs = [triton.InferRequestedOutput("forecast", binary_data=True)]
    outputs += [triton.InferRequestedOutput(name) for name in BANDS_80[1:]]  # binary by default
    result = triton_client.infer(
        "toy",
        [values_input(rows, binary=True)],
        outputs=outputs,
        parameters={"horizon": 2, "levels": "80"},
    )
    got = result.get_response()["outputs"]
    assert [o["name"] for o in got] == BANDS_80 and all("data" not in o for o in got)
    v1 = live_v1(server, "toy", rows, horizon=2, levels=[80])
    np.testing.assert_array_equal(result.as_numpy("forecast"), v1["forecasts"])
    for name, bound in v1_bands(v1).items():
        np.testing.assert_array_equal(result.as_numpy(name), bound)


def test_tritonclient_json_tensors_give_what_binary_ones_and_v1_give(
    triton_client: triton.InferenceServerClient, server: LiveServer
) -> None:
    rows = np.asarray(ROWS)
    asked = {"horizon": 2, "levels": "80"}
    as_json = triton_client.infer(
        "toy",
        [values_input(rows, binary=False)],
        outputs=[triton.InferRequestedOutput(name, binary_data=False) for name in BANDS_80],
        parameters=asked,
    )
    as_binary = triton_client.infer(
        "toy",
        [values_input(rows, binary=True)],
        outputs=[triton.InferRequestedOutput(name) for name in BANDS_80],
        parameters=asked,
    )
    assert all("data" in o and "parameters" not in o for o in as_json.get_response()["outputs"])
    v1 = live_v1(server, "toy", rows, horizon=2, levels=[80])
    expected = {"forecast": np.asarray(v1["forecasts"]), **v1_bands(v1)}
    for name in BANDS_80:
        np.testing.assert_array_equal(as_json.as_numpy(name), expected[name])
        np.testing.assert_array_equal(as_binary.as_numpy(name), expected[name])


def test_tritonclient_fp32_binary_input_is_read_as_float32(
    triton_client: triton.InferenceServerClient, server: LiveServer
) -> None:
    rows = np.asarray(ROWS, dtype=np.float32) + np.float32(0.1)  # not exact in binary
    values = triton.InferInput("values", list(rows.shape), "FP32")
    values.set_data_from_numpy(rows)
    result = triton_client.infer("toy-diff", [values], parameters={"horizon": 2})
    v1 = live_v1(server, "toy-diff", rows.astype(np.float64), horizon=2)
    np.testing.assert_array_equal(result.as_numpy("forecast"), v1["forecasts"])


def test_tritonclient_gets_the_protocol_errors(triton_client: triton.InferenceServerClient) -> None:
    rows = np.asarray(ROWS)
    words = triton.InferInput("values", [1, 2], "BYTES")
    words.set_data_from_numpy(np.array([[b"600", b"610"]], dtype=np.object_))  # binary, too
    cases = [
        (lambda: triton_client.infer("toy", [words]), "400", "'BYTES' is not supported"),
        (lambda: triton_client.infer("toy", [values_input(rows)], model_version="2"), "404", "2"),
        (lambda: triton_client.get_model_metadata("nope"), "404", "'nope'"),
        (
            lambda: triton_client.infer("toy", [values_input(rows[:, :1])]),
            "400",
            "needs at least 3",
        ),
    ]
    for call, status, says in cases:
        with pytest.raises(InferenceServerException) as raised:
            call()
        assert raised.value.status() == status and says in raised.value.message()


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


def test_metadata_lists_the_band_outputs_a_default_request_returns(client: TestClient) -> None:
    outputs = client.get("/v2/models/toy").json()["outputs"]
    assert [o["name"] for o in outputs] == [
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    assert [o["name"] for o in client.get("/v2/models/toy-diff").json()["outputs"]] == ["forecast"]
