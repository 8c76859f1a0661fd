"""The V2 binary tensor data extension: the framing on its own, then hand-built binary bodies
in process, each way in and out, and every refusal a 400 `{"error": ...}` that says why.

tritonclient's own binary requests against a live server are in test_routes_tritonclient.py."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from v2kit import INFER, ROWS, SERIES, forecasts, tensors, v1_batch, v2_error

from app.errors import InvalidInput
from app.main import create_app
from app.settings import Settings
from app.v2.binary import framed, input_data, split
from app.v2.types import InferenceRequest, InferenceResponse, RequestInput, ResponseOutput

HEADER = "Inference-Header-Content-Length"
RAW = np.asarray(ROWS)


def frame(header: dict[str, Any], *tails: bytes) -> tuple[bytes, dict[str, str]]:
    """A binary-framed body: the JSON header, then `tails`; and the header saying its length."""
    text = json.dumps(header).encode()
    return text + b"".join(tails), {HEADER: str(len(text))}


def binary_tensor(
    rows: np.ndarray, datatype: str = "FP64", size: Any = None, **parameters: Any
) -> dict[str, Any]:
    """The JSON half of a binary input: no `data`, its size in `binary_data_size`."""
    nbytes = rows.nbytes if size is None else size
    return {
        "name": "values",
        "shape": list(rows.shape),
        "datatype": datatype,
        "parameters": {"binary_data_size": nbytes, **parameters},
    }


def post_binary(
    client: TestClient,
    rows: np.ndarray = RAW,
    datatype: str = "FP64",
    dtype: str = "<f8",
    path: str = INFER,
    **fields: Any,
) -> Any:
    """POST `rows` as one binary input of `datatype` (bytes as `dtype`), with `fields` beside."""
    typed = rows.astype(dtype)
    content, headers = frame(
        {"inputs": [binary_tensor(typed, datatype)], **fields}, typed.tobytes()
    )
    return client.post(path, content=content, headers=headers)


def refusal(body: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        body()
    return error.value


# --- the framing, on its own --------------------------------------------------------------------


def test_split_cuts_the_body_where_the_header_says() -> None:
    header, tail = split(b'{"a": 1}\x00\x01\x02', "8")
    assert header == b'{"a": 1}' and bytes(tail) == b"\x00\x01\x02"
    header, tail = split(b"{}", "2")
    assert header == b"{}" and len(tail) == 0


@pytest.mark.parametrize("value", ["", "abc", "-1", "+2", " 2", "1.5", "2_0", "0x2", "²"])
def test_split_refuses_a_header_value_that_is_not_a_number(value: str) -> None:
    error = refusal(lambda: split(b"{}", value))
    assert error.errors[0].field == HEADER and "is not a number of bytes" in error.message


def test_split_refuses_a_header_longer_than_the_body() -> None:
    error = refusal(lambda: split(b"{}", "3"))
    assert error.message == f"{HEADER}: 3 bytes of JSON header, but the body has only 2"


def test_split_refuses_a_header_that_reaches_into_the_binary_data() -> None:
    """Tensor bytes are rarely UTF-8: a header cut too long says so, not "error parsing"."""
    error = refusal(lambda: split(b'{"inputs": []}\xff\xfe', "16"))
    assert error.errors[0].field == HEADER
    assert "byte 14 of the 16 it gives the JSON header is not UTF-8 text" in error.message


def inputs(*sizes: Any) -> list[RequestInput]:
    """Inputs `values0`, `values1`, ... with these `binary_data_size`s (None: none given)."""
    tensors = [
        {"name": f"values{i}", "shape": [1, 1], "datatype": "FP64"}
        | ({} if size is None else {"parameters": {"binary_data_size": size}})
        for i, size in enumerate(sizes)
    ]
    return InferenceRequest.model_validate({"inputs": tensors}).inputs


def test_input_data_cuts_each_binary_input_in_order_without_copying() -> None:
    tail = memoryview(b"aaabbbbb")
    data = input_data(inputs(3, None, 5, 0), tail)
    assert {name: bytes(raw) for name, raw in data.items()} == {
        "values0": b"aaa",
        "values2": b"bbbbb",
        "values3": b"",
    }
    assert data["values0"].obj is tail.obj  # views of the body, not copies
    assert input_data(inputs(None), None) == {} and input_data(inputs(None), memoryview(b"")) == {}


@pytest.mark.parametrize(
    ("sizes", "tail", "says"),
    [
        (
            (3, 4),
            b"abcdef",
            "6 bytes follow the JSON header, but the inputs' binary_data_size"
            " add up to 7 (values0 3, values1 4)",
        ),
        (
            (3,),
            b"abcd",
            "4 bytes follow the JSON header, but the inputs' binary_data_size add up to 3",
        ),
        (
            (None,),
            b"x",
            "1 bytes follow the JSON header, but the inputs' binary_data_size add up"
            " to 0 (no input has any)",
        ),
    ],
)
def test_input_data_refuses_sizes_that_do_not_add_up_to_the_body(
    sizes: tuple[Any, ...], tail: bytes, says: str
) -> None:
    error = refusal(lambda: input_data(inputs(*sizes), memoryview(tail)))
    assert error.errors[0].field == "body" and says in error.message


@pytest.mark.parametrize("size", [-1, 1.5, "8", True])
def test_input_data_refuses_a_size_that_is_not_a_number_of_bytes(size: Any) -> None:
    error = refusal(lambda: input_data(inputs(size), memoryview(b"")))
    assert error.errors[0].field == "values0.parameters.binary_data_size"
    assert "must be a number of bytes" in error.message


def test_input_data_refuses_binary_inputs_without_the_header() -> None:
    error = refusal(lambda: input_data(inputs(8), None))
    assert error.errors[0].field == "values0.parameters.binary_data_size"
    assert f"binary data needs the {HEADER} header" in error.message


def test_framed_puts_the_json_first_and_says_where_it_ends() -> None:
    size = {"binary_data_size": 16}
    output = ResponseOutput(name="forecast", shape=[1, 2], datatype="FP64", parameters=size)
    response = InferenceResponse(model_name="m", model_version="1", id="r", outputs=[output])
    raw = np.array([1.5, 2.5]).tobytes()
    answer = framed(response, [raw])
    length = int(answer.headers[HEADER])
    assert answer.media_type == "application/octet-stream"
    assert json.loads(answer.body[:length]) == {
        "model_name": "m",
        "model_version": "1",
        "id": "r",
        "outputs": [{"name": "forecast", "shape": [1, 2], "datatype": "FP64", "parameters": size}],
    }
    assert answer.body[length:] == raw


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


def test_binary_requests_get_the_usual_404_and_limits(settings: Settings) -> None:
    small = settings.model_copy(update={"max_series": 1, "max_body_bytes": 2000})
    with TestClient(create_app(small)) as c:
        assert "'nope'" in v2_error(post_binary(c, path="/v2/models/nope/infer"), 404)
        assert "at most 1 series" in v2_error(post_binary(c), 400)
        big = post_binary(c, np.ones((1, 300)))
        assert big.status_code == 413 and "error" in big.json()


BAD_NAN = RAW.copy()
BAD_NAN[1, 5] = np.nan
HUGE = np.full((1, 17), 1.7e308)
HUGE[0, 4] = -1.7e308


def refusals() -> dict[str, tuple[bytes, dict[str, str], str]]:
    """Hand-built binary bodies, each refused; the body, its headers, what the error says."""
    good = RAW.tobytes()
    one = {"inputs": [binary_tensor(RAW)]}

    def raw(content: bytes, length: str) -> tuple[bytes, dict[str, str]]:
        return content, {HEADER: length}

    header_len = len(json.dumps(one).encode())
    return {
        "header not a number": (*raw(b"{}", "two"), f"{HEADER}: 'two' is not a number of bytes"),
        "header negative": (*raw(b"{}", "-2"), "is not a number of bytes"),
        "header past the body": (
            *raw(b"{}", "3"),
            "3 bytes of JSON header, but the body has only 2",
        ),
        "header cuts the JSON": (*raw(json.dumps(one).encode() + good, "10"), "invalid JSON"),
        "header too long for the JSON": (
            *raw(json.dumps(one).encode() + b"\x00\xff" + good, str(header_len + 2)),
            "is not UTF-8 text; it must be the JSON's length in bytes",
        ),
        "too many bytes": (*frame(one, good, b"\x00"), "641 bytes follow the JSON header"),
        "too few bytes": (*frame(one, good[:-1]), "639 bytes follow the JSON header"),
        "size not the shape's": (
            *frame({"inputs": [binary_tensor(RAW, size=632)]}, good[:632]),
            "values.parameters.binary_data_size: 632 bytes, but shape [2, 40] of FP64 needs 640",
        ),
        "FP32 shape, FP64 bytes": (
            *frame({"inputs": [binary_tensor(RAW, "FP32")]}, good),
            "640 bytes, but shape [2, 40] of FP32 needs 320",
        ),
        "size as a string": (
            *frame({"inputs": [binary_tensor(RAW, size="640")]}, good),
            "values.parameters.binary_data_size: '640': must be a number of bytes",
        ),
        "size negative": (
            *frame({"inputs": [binary_tensor(RAW, size=-640)]}, good),
            "must be a number of bytes",
        ),
        "NaN": (*frame(one, BAD_NAN.tobytes()), "values[1][5]: nan is not a finite number"),
        "Infinity in FP32": (
            *frame(
                {"inputs": [binary_tensor(RAW.astype("<f4"), "FP32")]},
                np.where(RAW > 0, np.float32("inf"), 0).astype("<f4").tobytes(),
            ),
            "values[0][0]: inf is not a finite number",
        ),
        "BYTES": (
            *frame({"inputs": [binary_tensor(RAW, "BYTES")]}, good),
            "datatype: 'BYTES' is not supported",
        ),
        "BOOL": (
            *frame({"inputs": [binary_tensor(RAW, "BOOL")]}, good),
            "datatype: 'BOOL' is not supported",
        ),
        "wrong input name": (
            *frame({"inputs": [{**binary_tensor(RAW), "name": "x"}]}, good),
            "expected one tensor named 'values', got ['x']",
        ),
        "two binary inputs": (
            *frame({"inputs": [binary_tensor(RAW)] * 2}, good, good),
            "expected one tensor named 'values'",
        ),
        "data and bytes": (
            *frame({"inputs": [{**binary_tensor(RAW), "data": RAW.ravel().tolist()}]}, good),
            "values: both `data` and parameters.binary_data_size given",
        ),
        "binary_data_output not a boolean": (
            *frame({**one, "parameters": {"binary_data_output": "true"}}, good),
            "parameters.binary_data_output: 'true': must be true or false",
        ),
        "binary_data not a boolean": (
            *frame(
                {**one, "outputs": [{"name": "forecast", "parameters": {"binary_data": 1}}]}, good
            ),
            "outputs[0].parameters.binary_data: 1: must be true or false",
        ),
        "too few values": (
            *frame({"inputs": [binary_tensor(RAW[:, :16])]}, RAW[:, :16].tobytes()),
            "values[0]: model 'toy-diff' needs at least 17",
        ),
        "a forecast that overflows": (
            *frame({"inputs": [binary_tensor(HUGE)]}, HUGE.tobytes()),
            "values[0]: the forecast overflowed",
        ),
    }


REFUSALS = refusals()


@pytest.mark.parametrize(("content", "headers", "says"), REFUSALS.values(), ids=REFUSALS.keys())
def test_bad_binary_bodies_are_400_saying_what_is_wrong(
    client: TestClient, content: bytes, headers: dict[str, str], says: str
) -> None:
    assert says in v2_error(client.post(INFER, content=content, headers=headers), 400)


def test_binary_data_size_without_the_header_is_refused(client: TestClient) -> None:
    response = client.post(INFER, json={"inputs": [binary_tensor(RAW)]})
    assert f"binary data needs the {HEADER} header" in v2_error(response, 400)


def test_a_shorter_series_is_refused_by_the_data_plane_as_json_is(client: TestClient) -> None:
    short = np.asarray([SERIES[:16]])
    as_json = {
        "inputs": [
            {"name": "values", "shape": [1, 16], "datatype": "FP64", "data": short[0].tolist()}
        ]
    }
    assert v2_error(post_binary(client, short), 400) == v2_error(
        client.post(INFER, json=as_json), 400
    )
