"""Hand-built V2 binary bodies that are refused, in process: the usual 404 and limits, and
every malformed framing, size, datatype or value a 400 `{"error": ...}` that says why."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from v2kit import HEADER, INFER, RAW, SERIES, binary_tensor, frame, post_binary, v2_error

from app.main import create_app
from app.settings import Settings


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
            "expected one tensor named 'values' or 'series_id', got ['x']",
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
