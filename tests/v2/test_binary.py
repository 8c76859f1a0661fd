"""The V2 binary tensor data extension's framing (app/v2/binary.py) on its own: where a body's
JSON header ends, each binary input's bytes, a framed answer, and every refusal an
InvalidInput that says why.

Hand-built binary bodies in process are in test_binary_bodies.py and
test_binary_refusals.py; tritonclient's own binary requests against a live server in
test_routes_tritonclient.py."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from v2kit import HEADER

from app.errors import InvalidInput
from app.v2.binary import framed, input_data, split
from app.v2.types import InferenceRequest, InferenceResponse, RequestInput, ResponseOutput


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
