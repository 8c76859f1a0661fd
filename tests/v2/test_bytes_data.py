"""V2 BYTES tensors: the `series_id` input's strings, from JSON or from binary data as
tritonclient serialises it, every refusal naming the element; and the `periods` output's
bytes, which tritonclient's own reader must read back."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from tritonclient.utils import deserialize_bytes_tensor, serialize_byte_tensor

from app.errors import InvalidInput
from app.v2.bytes_data import series_ids, to_bytes
from app.v2.types import RequestInput

IDS = ["small", "early-end", "é-ü 7"]  # UTF-8 beyond ASCII too


def ids_tensor(data: Any = IDS, shape: list[int] | None = None, **fields: Any) -> RequestInput:
    found = {"name": "series_id", "datatype": "BYTES", "data": data, **fields}
    return RequestInput.model_validate({"shape": [len(data)] if shape is None else shape} | found)


def binary(count: int = len(IDS), **fields: Any) -> RequestInput:
    return ids_tensor(None, [count], **fields)


def tritons(strings: list[str]) -> bytes:
    """The bytes tritonclient sends for a BYTES tensor (`set_data_from_numpy`'s default)."""
    return bytes(serialize_byte_tensor(np.array(strings, dtype=np.object_)).item())


def refused(tensor: RequestInput, raw: bytes | None = None) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as error:
        series_ids(tensor, raw)
    return error.value.errors[0].field, error.value.errors[0].message


def test_ids_are_read_from_json_strings() -> None:
    assert series_ids(ids_tensor(), None) == IDS


def test_ids_are_read_from_the_bytes_tritonclient_sends() -> None:
    assert series_ids(binary(), tritons(IDS)) == IDS
    assert series_ids(binary(), memoryview(tritons(IDS))) == IDS  # as cut from the body


def test_more_ids_than_the_limit_are_refused_by_their_shape_before_any_is_read() -> None:
    lie = LENGTH.pack(2**32 - 1)  # would be refused if it were read
    with pytest.raises(InvalidInput) as error:
        series_ids(binary(1001), lie, limit=1000)
    assert error.value.message == "series_id: at most 1000 series per batch, got 1,001"
    assert series_ids(binary(), tritons(IDS), limit=3) == IDS


def test_strings_become_the_bytes_tritonclient_reads() -> None:
    periods = ["2008-01", "2008-02", "2019-Q3", "é"]
    read = deserialize_bytes_tensor(to_bytes(periods))
    assert [item.decode() for item in read] == periods
    assert to_bytes(periods) == tritons(periods)


LENGTH = struct.Struct("<I")


@pytest.mark.parametrize(
    ("tensor", "raw", "field", "message"),
    [
        (ids_tensor(datatype="FP64"), None, "series_id.datatype", "datatype BYTES"),
        (ids_tensor(shape=[1, 3]), None, "series_id.shape", "expected [n]"),
        (ids_tensor([], shape=[0]), None, "series_id.shape", "n at least 1"),
        (ids_tensor(shape=[4]), None, "series_id.data", "3 elements, but shape [4] needs 4"),
        (ids_tensor(["a", 7, "b"]), None, "series_id[1]", "7 is not a string"),
        (ids_tensor(["a", ""]), None, "series_id[1]", "at least 1 character"),
        (ids_tensor(["x" * 201]), None, "series_id[0]", "at most 200 characters"),
        (ids_tensor(None, [3]), None, "series_id", "no `data`"),
        (ids_tensor(), tritons(IDS), "series_id", "both `data` and"),
        (binary(4), tritons(IDS), "series_id.parameters.binary_data_size", "3 elements"),
        (binary(2), tritons(IDS), "series_id.parameters.binary_data_size", "bytes left"),
        (binary(1), b"\x05\x00", "series_id[0]", "4-byte length is cut short"),
        (binary(1), LENGTH.pack(9) + b"abc", "series_id[0]", "9 bytes, but only 3"),
        (binary(2), tritons(["a"]) + LENGTH.pack(1) + b"\xff", "series_id[1]", "not UTF-8"),
    ],
)
def test_refusals_name_the_element_or_field(
    tensor: RequestInput, raw: bytes | None, field: str, message: str
) -> None:
    found, said = refused(tensor, raw)
    assert found == field and message in said, said
