"""A V2 tensor's data, read in its declared datatype: JSON lists (flat or nested) or raw bytes.

FP32 data is rounded to float32 first, as the client's tensor was, and integer
data must be whole numbers within its type's range; the model then computes in
float64. Binary tensor data (the protocol's extension) comes as raw little-endian
bytes, which `app.v2.binary` cuts out of the body per input; here they are read
with `np.frombuffer` in the declared datatype, never element by element. Every
refusal names the row and column at fault (`values[i][j]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import StrictInt, TypeAdapter, ValidationError

from app.errors import InvalidInput
from app.http.fields import Value
from app.v2.types import INPUT, RequestInput

FLOATS: dict[str, type[np.floating[Any]]] = {
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
INTEGERS: dict[str, type[np.integer[Any]]] = {
    f"{prefix}INT{bits}": getattr(np, f"{prefix.lower()}int{bits}")
    for prefix in ("", "U")
    for bits in (8, 16, 32, 64)
}
_FLOAT_DATA = TypeAdapter(list[Value])
_INT_DATA = TypeAdapter(list[StrictInt])
_LITTLE_ENDIAN = {name: np.dtype(t).newbyteorder("<") for name, t in {**FLOATS, **INTEGERS}.items()}
Raw = bytes | memoryview  # one input's binary data, as cut from the body
BINARY_SIZE = "binary_data_size"


def matrix(tensor: RequestInput, raw: Raw | None) -> np.ndarray:
    """The tensor's data (JSON, or `raw` binary bytes) as a float64 array [batch, length]."""
    shape = tensor.shape
    if len(shape) != 2 or min(shape) < 1:
        raise InvalidInput.at(
            "shape", f"expected [batch, length] with both at least 1, got {shape}"
        )
    if raw is not None:
        if tensor.data is not None:
            raise InvalidInput.at(
                tensor.name, f"both `data` and parameters.{BINARY_SIZE} given; send one of them"
            )
        return _from_bytes(raw, tensor.datatype, shape)
    if tensor.data is None:
        raise InvalidInput.at(
            tensor.name,
            f"no `data`; send the tensor as JSON `data`, or as binary data sized by"
            f" parameters.{BINARY_SIZE} with the Inference-Header-Content-Length header",
        )
    flat = _flatten(tensor.data, shape)
    if len(flat) != shape[0] * shape[1]:
        raise InvalidInput.at(
            "data", f"{len(flat)} elements, but shape {shape} needs {shape[0] * shape[1]}"
        )
    return _typed(flat, tensor.datatype, shape[1]).reshape(shape)


def _flatten(data: list[Any], shape: Sequence[int]) -> list[Any]:
    """Row-major elements of `data`, given flat or nested as `shape`; ragged nesting refused."""
    if not any(isinstance(item, list) for item in data):
        return data
    if len(shape) < 2 or len(data) != shape[0] or not all(isinstance(i, list) for i in data):
        raise InvalidInput.at("data", f"nested data must follow the shape {list(shape)}")
    return [element for item in data for element in _flatten(item, shape[1:])]


def _from_bytes(raw: Raw, datatype: str, shape: Sequence[int]) -> np.ndarray:
    """Binary tensor data, little-endian and row-major in `datatype`, as float64 of `shape`.

    One `np.frombuffer` over the client's bytes, then one vectorised check that
    floats are finite (raw bytes, unlike JSON numbers, can hold NaN and Infinity).
    """
    dtype = _LITTLE_ENDIAN.get(datatype)
    if dtype is None:
        raise _unsupported(datatype)
    size, need = memoryview(raw).nbytes, shape[0] * shape[1] * dtype.itemsize
    if size != need:
        raise InvalidInput.at(
            f"{INPUT}.parameters.{BINARY_SIZE}",
            f"{size} bytes, but shape {list(shape)} of {datatype} needs {need}"
            f" ({shape[0] * shape[1]} elements of {dtype.itemsize} bytes)",
        )
    array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    if datatype in FLOATS:
        bad = np.flatnonzero(~np.isfinite(array))
        if len(bad):
            index = int(bad[0])
            value = float(array.flat[index])
            raise _element_error(index, shape[1], f"{value!r} is not a finite number")
    return array.astype(np.float64)


def _typed(flat: list[Any], datatype: str, length: int) -> np.ndarray:
    """The elements as float64, checked against the declared datatype."""
    if datatype in FLOATS:
        values = _validated(_FLOAT_DATA, flat, length, "a finite number")
        if datatype == "FP64":  # every finite number validated is a finite float64 already
            return np.asarray(values, dtype=np.float64)
        with np.errstate(over="ignore"):
            array = np.asarray(values, dtype=FLOATS[datatype])
        _require_in_range(np.isfinite(array), flat, length, datatype)
        return array.astype(np.float64)
    if datatype in INTEGERS:
        numbers = _validated(_INT_DATA, flat, length, "an integer")
        info = np.iinfo(INTEGERS[datatype])
        _require_in_range([info.min <= n <= info.max for n in numbers], flat, length, datatype)
        return np.asarray(numbers, dtype=np.float64)
    raise _unsupported(datatype)


def _unsupported(datatype: str) -> InvalidInput:
    supported = ", ".join([*FLOATS, *INTEGERS])
    return InvalidInput.at("datatype", f"{datatype!r} is not supported; use one of {supported}")


def _validated(adapter: TypeAdapter[list[Any]], flat: list[Any], length: int, kind: str) -> Any:
    try:
        return adapter.validate_python(flat)
    except ValidationError as exc:
        index = int(exc.errors()[0]["loc"][0])
        raise _element_error(index, length, f"{flat[index]!r} is not {kind}") from None


def _require_in_range(ok: Any, flat: list[Any], length: int, datatype: str) -> None:
    bad = np.flatnonzero(~np.asarray(ok, dtype=bool))
    if len(bad):
        index = int(bad[0])
        raise _element_error(index, length, f"{flat[index]!r} does not fit in {datatype}")


def _element_error(index: int, length: int, message: str) -> InvalidInput:
    row, column = divmod(index, length)
    return InvalidInput.at(f"{INPUT}[{row}][{column}]", message)
