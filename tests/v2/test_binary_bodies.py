"""Hand-built V2 binary bodies in process, each way in and out: binary or JSON inputs and
outputs, every input datatype, the versioned route, any content type, each answer equal
to the v1 batch forecast. Their refusals are in test_binary_refusals.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from v2kit import (
    HEADER,
    INFER,
    RAW,
    ROWS,
    binary_tensor,
    forecasts,
    frame,
    post_binary,
    tensors,
    v1_batch,
)

# --- binary bodies, in process --------------------------------------------------------------


def test_binary_input_json_output_equals_the_v1_batch_forecast(client: TestClient) -> None:
    response = post_binary(client, parameters={"horizon": 3}, id="b-1")
    assert HEADER.lower() not in response.headers  # no output asked as binary: plain JSON
    assert response.headers["content-type"] == "application/json"
    assert response.json()["id"] == "b-1"
    np.testing.assert_array_equal(forecasts(response), v1_batch(client, ROWS, 3))


def test_binary_input_binary_output_is_framed_like_the_request(client: TestClient) -> None:
    response = post_binary(client, parameters={"horizon": 2, "binary_data_output": True})
    length = int(response.headers[HEADER])
    assert response.headers["content-type"] == "application/octet-stream"
    header = json.loads(response.content[:length])
    assert header["model_name"] == "toy-diff" and header["model_version"] == "1"
    assert header["parameters"]["warnings"].startswith("intervals: none")  # warnings stay JSON
    assert header["outputs"] == [
        {
            "name": "forecast",
            "shape": [2, 2],
            "datatype": "FP64",
            "parameters": {"binary_data_size": 32},
        }
    ]
    assert len(response.content) == length + 32
    np.testing.assert_array_equal(forecasts(response), v1_batch(client, ROWS, 2))


def test_a_json_request_may_ask_for_binary_outputs(client: TestClient) -> None:
    flat = RAW.ravel().tolist()
    as_json = {"inputs": [{"name": "values", "shape": [2, 40], "datatype": "FP64", "data": flat}]}
    asked = [{"name": "forecast", "parameters": {"binary_data": True}}]
    response = client.post(INFER, json={**as_json, "outputs": asked})
    assert response.headers["content-type"] == "application/octet-stream"
    np.testing.assert_array_equal(forecasts(response), v1_batch(client, ROWS))


def test_each_output_chooses_json_or_binary_with_bands(client: TestClient) -> None:
    outputs = [
        {"name": "forecast", "parameters": {"binary_data": False}},
        {"name": "lower_80"},
        {"name": "upper_80"},
    ]
    parameters = {"horizon": 2, "levels": "80", "binary_data_output": True}
    response = post_binary(
        client, path="/v2/models/toy/infer", outputs=outputs, parameters=parameters
    )
    header = json.loads(response.content[: int(response.headers[HEADER])])
    assert [("data" in o, "parameters" in o) for o in header["outputs"]] == [
        (True, False),
        (False, True),
        (False, True),
    ]
    got = tensors(response)
    v1 = client.post(
        "/v1/models/toy/predict/batch", json={"series": ROWS, "horizon": 2, "levels": [80]}
    ).json()
    np.testing.assert_array_equal(got["forecast"], v1["forecasts"])
    np.testing.assert_array_equal(got["lower_80"], v1["intervals"][0]["lower"])
    np.testing.assert_array_equal(got["upper_80"], v1["intervals"][0]["upper"])


@pytest.mark.parametrize(
    ("datatype", "dtype"),
    [("FP32", "<f4"), ("INT32", "<i4"), ("INT64", "<i8"), ("UINT16", "<u2"), ("FP16", "<f2")],
)
def test_binary_inputs_of_each_datatype_equal_v1_for_the_same_numbers(
    client: TestClient, datatype: str, dtype: str
) -> None:
    rows = RAW if datatype.startswith("FP") else np.round(RAW)
    response = post_binary(client, rows, datatype, dtype)
    as_sent = rows.astype(dtype).astype(np.float64).tolist()
    np.testing.assert_array_equal(forecasts(response), v1_batch(client, as_sent))


def test_the_versioned_route_and_any_content_type_take_binary_bodies(client: TestClient) -> None:
    content, headers = frame({"inputs": [binary_tensor(RAW)]}, RAW.tobytes())
    for content_type in ("application/octet-stream", "application/json", None):
        sent = headers | ({"content-type": content_type} if content_type else {})
        response = client.post(
            "/v2/models/toy-diff/versions/1/infer", content=content, headers=sent
        )
        np.testing.assert_array_equal(forecasts(response), v1_batch(client, ROWS))


def test_a_framed_body_with_json_data_only_is_answered(client: TestClient) -> None:
    flat = RAW.ravel().tolist()
    text = {"inputs": [{"name": "values", "shape": [2, 40], "datatype": "FP64", "data": flat}]}
    content, headers = frame(text)
    np.testing.assert_array_equal(
        forecasts(client.post(INFER, content=content, headers=headers)), v1_batch(client, ROWS)
    )


def test_the_header_is_ignored_where_there_is_no_body(client: TestClient) -> None:
    assert client.get("/v2/models/toy", headers={HEADER: "junk"}).status_code == 200
    assert client.get("/v2", headers={HEADER: "9"}).status_code == 200
