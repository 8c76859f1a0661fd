"""The Open Inference Protocol (KServe V2) through a real V2 client: tritonclient against a
live server, with JSON and with binary tensor data, its answers equal to v1's and its
errors the protocol's."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from liveserver import LiveServer
from tritonclient.utils import InferenceServerException
from v2kit import ROWS

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
