"""The V2 tensor codec: tensors (JSON or binary bytes) in, rows and a horizon out; forecasts in,
FP64 tensors (JSON or binary bytes) out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.answers import Forecasts
from app.errors import InvalidInput
from app.forecaster import Band
from app.v2.codec import to_batch, to_inference_response
from app.v2.types import InferenceRequest


def request(data: list[Any], shape: list[int], datatype: str = "FP64", **extra: Any) -> Any:
    tensor = {"name": "values", "shape": shape, "datatype": datatype, "data": data}
    return InferenceRequest.model_validate({"inputs": [tensor], **extra})


def refused(body: Any) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as error:
        to_batch(body)
    return error.value.errors[0].field, error.value.errors[0].message


def test_flat_and_nested_data_give_the_same_rows() -> None:
    flat = to_batch(request([1, 2, 3, 4, 5, 6], [2, 3]))
    nested = to_batch(request([[1, 2, 3], [4, 5, 6]], [2, 3]))
    np.testing.assert_array_equal(flat.rows, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(flat.rows, nested.rows)
    assert flat.horizon == 1 and flat.rows.dtype == np.float64
    assert flat.levels is None and flat.outputs is None  # the server's defaults, every output


def test_fp32_data_is_read_as_the_client_rounded_it() -> None:
    rows = to_batch(request([0.1, 0.2], [1, 2], "FP32")).rows
    np.testing.assert_array_equal(rows, [np.float32([0.1, 0.2]).astype(np.float64)])
    assert rows[0, 0] != 0.1  # the float32 rounding survives: it is what the client sent


def test_the_horizon_comes_from_either_parameters_but_must_agree() -> None:
    assert to_batch(request([1, 2], [1, 2], parameters={"horizon": 4})).horizon == 4
    tensor = {"name": "values", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}
    both = InferenceRequest.model_validate(
        {"parameters": {"horizon": 2}, "inputs": [{**tensor, "parameters": {"horizon": 3}}]}
    )
    assert refused(both)[0] == "parameters.horizon"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (request([1, 2, 3], [2, 2]), "data", "3 elements, but shape [2, 2] needs 4"),
        (request([1, 2], [2]), "shape", "expected [batch, length]"),
        (request([[1, 2, 3, 4]], [2, 2]), "data", "nested data must follow the shape"),
        (request([1, "x"], [1, 2]), "values[0][1]", "'x' is not a finite number"),
        (request([1, 300], [1, 2], "INT8"), "values[0][1]", "300 does not fit in INT8"),
        (request([1.5, 2], [1, 2], "INT32"), "values[0][0]", "1.5 is not an integer"),
        (request([1, 2], [1, 2], "BYTES"), "datatype", "'BYTES' is not supported"),
        (request([1, 2], [1, 2], outputs=[{"name": "other"}]), "outputs", "unknown output"),
    ],
)
def test_refusals_name_the_element_or_field(body: Any, field: str, message: str) -> None:
    found, said = refused(body)
    assert found == field and message in said


def test_forecasts_become_one_flat_fp64_tensor_with_warnings_as_a_parameter() -> None:
    answer = Forecasts("milk", 2, 3, np.arange(6.0).reshape(2, 3), ["values[1]: far outside"])
    response, payload = to_inference_response(answer, to_batch(request([1, 2], [1, 2])), "req-1")
    (output,) = response.outputs
    assert payload == [] and output.parameters is None  # JSON unless asked otherwise
    assert (response.model_name, response.model_version, response.id) == ("milk", "2", "req-1")
    assert (output.name, output.shape, output.datatype) == ("forecast", [2, 3], "FP64")
    assert output.data == [0, 1, 2, 3, 4, 5]
    assert response.parameters == {"warnings": "values[1]: far outside"}
    plain = to_batch(request([1, 2], [1, 2]))
    quiet, _ = to_inference_response(Forecasts("milk", 2, 3, np.zeros((1, 3))), plain, "req-2")
    assert quiet.parameters is None


def test_levels_come_from_parameters_or_from_the_band_outputs_asked_for() -> None:
    assert to_batch(request([1, 2], [1, 2], parameters={"levels": "80, 95"})).levels == [80, 95]
    assert to_batch(request([1, 2], [1, 2], parameters={"levels": 90})).levels == [90]
    asked = [{"name": "forecast"}, {"name": "upper_97.5"}, {"name": "lower_80"}]
    batch = to_batch(request([1, 2], [1, 2], outputs=asked))
    assert batch.levels == [80, 97.5] and batch.outputs == ["forecast", "upper_97.5", "lower_80"]


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"parameters": {"levels": "80,x"}}, "parameters.levels", "levels are numbers"),
        ({"parameters": {"levels": 100}}, "parameters.levels", "between 0 and 100"),
        ({"outputs": [{"name": "lower_0"}]}, "outputs", "between 0 and 100"),
        (
            {"parameters": {"levels": 80}, "outputs": [{"name": "lower_95"}]},
            "outputs",
            "levels 95 need them in parameters.levels",
        ),
    ],
)
def test_bad_levels_are_refused(extra: dict[str, Any], field: str, message: str) -> None:
    found, said = refused(request([1, 2], [1, 2], **extra))
    assert found == field and message in said


def test_bands_become_lower_and_upper_tensors_and_only_asked_outputs_are_sent() -> None:
    values = np.array([[10.0, 11.0]])
    band = Band(80.0, values - 1, values + 2)
    answer = Forecasts("milk", 2, 2, values, intervals=[band])
    everything, _ = to_inference_response(answer, to_batch(request([1], [1, 1])), "r")
    assert [o.name for o in everything.outputs] == ["forecast", "lower_80", "upper_80"]
    assert everything.outputs[2].data == [12.0, 13.0]
    only = to_batch(request([1], [1, 1], outputs=[{"name": "upper_80"}]))
    assert [o.name for o in to_inference_response(answer, only, "r")[0].outputs] == ["upper_80"]


# --- binary tensor data -------------------------------------------------------------------------

ROWS = np.array([[600.5, 601.25, 602.0], [-3.0, 0.0, 1e300]])


def sized(shape: list[int], size: int, datatype: str = "FP64", **extra: Any) -> Any:
    """A request whose input's bytes are sent as binary data of `size` bytes."""
    tensor = {"name": "values", "shape": shape, "datatype": datatype}
    tensor["parameters"] = {"binary_data_size": size}
    return InferenceRequest.model_validate({"inputs": [tensor], **extra})


def refused_bytes(body: Any, raw: bytes) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as error:
        to_batch(body, {"values": raw})
    return error.value.errors[0].field, error.value.errors[0].message


@pytest.mark.parametrize(
    ("datatype", "dtype"),
    [("FP64", "<f8"), ("FP32", "<f4"), ("FP16", "<f2"), ("INT16", "<i2"), ("UINT8", "u1")],
)
def test_binary_data_is_read_little_endian_in_its_datatype(datatype: str, dtype: str) -> None:
    rows = np.array([[1, 2, 3], [250, 4, 5]], dtype=dtype)
    raw = rows.tobytes()
    batch = to_batch(sized([2, 3], len(raw), datatype), {"values": memoryview(raw)})
    assert batch.rows.dtype == np.float64 and batch.rows.flags.writeable
    np.testing.assert_array_equal(batch.rows, rows.astype(np.float64))


def test_binary_data_equals_the_same_tensor_as_json() -> None:
    raw = ROWS.astype("<f8").tobytes()
    binary = to_batch(sized([2, 3], len(raw)), {"values": raw}).rows
    np.testing.assert_array_equal(binary, to_batch(request(ROWS.ravel().tolist(), [2, 3])).rows)
    fp32 = np.float32([[0.1, 0.2]])
    as_bytes = to_batch(sized([1, 2], 8, "FP32"), {"values": fp32.tobytes()}).rows
    np.testing.assert_array_equal(as_bytes, to_batch(request([0.1, 0.2], [1, 2], "FP32")).rows)


def test_big_endian_bytes_are_not_what_a_client_sends() -> None:
    """The protocol fixes little-endian; bytes in the other order read as other numbers."""
    raw = np.array([[1.0, 2.0]], dtype=">f8").tobytes()
    rows = to_batch(sized([1, 2], 16), {"values": raw}).rows
    assert not np.array_equal(rows, [[1.0, 2.0]])


@pytest.mark.parametrize(
    ("body", "raw", "field", "message"),
    [
        (
            sized([2, 3], 40),
            bytes(40),
            "values.parameters.binary_data_size",
            "40 bytes, but shape [2, 3] of FP64 needs 48 (6 elements of 8 bytes)",
        ),
        (
            sized([1, 2], 16, "FP32"),
            bytes(16),
            "values.parameters.binary_data_size",
            "16 bytes, but shape [1, 2] of FP32 needs 8",
        ),
        (
            sized([1, 2], 16),
            np.array([1.0, np.nan]).tobytes(),
            "values[0][1]",
            "nan is not a finite number",
        ),
        (
            sized([2, 1], 8, "FP32"),
            np.float32([1.0, -np.inf]).tobytes(),
            "values[1][0]",
            "-inf is not a finite number",
        ),
        (sized([1, 2], 2, "BYTES"), b"ab", "datatype", "'BYTES' is not supported"),
        (sized([1, 2], 2, "BOOL"), b"\x01\x00", "datatype", "'BOOL' is not supported"),
        (sized([2], 16), bytes(16), "shape", "expected [batch, length]"),
        (
            request([1.0, 2.0], [1, 2]),
            bytes(16),
            "values",
            "both `data` and parameters.binary_data_size given",
        ),
    ],
)
def test_binary_refusals_name_the_input_element_or_field(
    body: Any, raw: bytes, field: str, message: str
) -> None:
    found, said = refused_bytes(body, raw)
    assert found == field and message in said


def test_an_input_with_neither_data_nor_bytes_is_refused() -> None:
    bare = InferenceRequest.model_validate(
        {"inputs": [{"name": "values", "shape": [1, 2], "datatype": "FP64"}]}
    )
    field, message = refused(bare)
    assert field == "values" and "no `data`" in message and "binary_data_size" in message


def test_outputs_own_binary_choice_wins_over_the_requests() -> None:
    plain = to_batch(request([1], [1, 1]))
    assert not plain.sends_binary("forecast")  # JSON unless asked
    everything = to_batch(request([1], [1, 1], parameters={"binary_data_output": True}))
    assert everything.sends_binary("forecast") and everything.sends_binary("upper_80")
    asked = [
        {"name": "forecast", "parameters": {"binary_data": False}},
        {"name": "lower_80"},
        {"name": "upper_80", "parameters": {"binary_data": True}},
    ]
    mixed = to_batch(request([1], [1, 1], outputs=asked, parameters={"binary_data_output": True}))
    assert [mixed.sends_binary(n) for n in ("forecast", "lower_80", "upper_80")] == [
        False,
        True,
        True,
    ]
    only = to_batch(request([1], [1, 1], outputs=asked))
    assert [only.sends_binary(n) for n in ("forecast", "lower_80", "upper_80")] == [
        False,
        False,
        True,
    ]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"parameters": {"binary_data_output": "yes"}}, "parameters.binary_data_output"),
        ({"parameters": {"binary_data_output": 1}}, "parameters.binary_data_output"),
        (
            {"outputs": [{"name": "forecast", "parameters": {"binary_data": 0}}]},
            "outputs[0].parameters.binary_data",
        ),
    ],
)
def test_binary_choices_must_be_true_or_false(extra: dict[str, Any], field: str) -> None:
    found, said = refused(request([1], [1, 1], **extra))
    assert found == field and "must be true or false" in said


def test_binary_outputs_are_little_endian_float64_bytes_in_output_order() -> None:
    values = np.array([[10.0, 11.5], [12.0, 13.25]])
    answer = Forecasts("milk", 2, 2, values, intervals=[Band(80.0, values - 1, values + 2)])
    asked = [
        {"name": "upper_80"},
        {"name": "forecast", "parameters": {"binary_data": False}},
        {"name": "lower_80"},
    ]
    batch = to_batch(request([1], [1, 1], outputs=asked, parameters={"binary_data_output": True}))
    response, payload = to_inference_response(answer, batch, "r")
    upper, forecast, lower = response.outputs
    assert (upper.name, upper.shape, upper.datatype) == ("upper_80", [2, 2], "FP64")
    assert upper.parameters == {"binary_data_size": 32} and upper.data is None
    assert forecast.parameters is None and forecast.data == [10.0, 11.5, 12.0, 13.25]
    assert lower.parameters == {"binary_data_size": 32}
    assert payload == [(values + 2).astype("<f8").tobytes(), (values - 1).astype("<f8").tobytes()]
