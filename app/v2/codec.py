"""Open Inference Protocol tensors to and from the data plane's batch requests and answers.

A V2 `infer` is a batch forecast in other clothes: the `values` tensor of
shape [batch, length] becomes the rows of a batch forecast, and the data
plane's `Forecasts` become a `forecast` tensor of shape [batch, horizon]. So
limits, history checks and overflow refusals are the data plane's, unchanged
(it names the rows `values[i]`, as V2 clients sent them); this module only
checks what is V2's own (names, shapes, datatypes, data layout).

Data is read in its declared datatype: FP32 data is rounded to float32 first,
as the client's tensor was, and integer data must be whole numbers within its
type's range; the model then computes in float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import StrictInt, TypeAdapter, ValidationError

from app.dataplane import Forecasts
from app.errors import InvalidInput
from app.http.schemas import Horizon, Value
from app.v2.types import (
    INPUT,
    OUTPUT,
    InferenceRequest,
    InferenceResponse,
    Parameters,
    RequestInput,
    RequestOutput,
    ResponseOutput,
)

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
_HORIZON = TypeAdapter(Horizon)


def to_batch(request: InferenceRequest) -> tuple[np.ndarray, int]:
    """The rows ([batch, length], float64) and horizon of a V2 infer body, or InvalidInput."""
    tensor = _the_input(request.inputs)
    _check_outputs(request.outputs or [])
    rows = _matrix(tensor)
    return rows, _horizon(request.parameters, tensor.parameters)


def to_inference_response(answer: Forecasts, request_id: str) -> InferenceResponse:
    """The forecasts as one FP64 tensor, [batch, horizon], flat and row-major."""
    output = ResponseOutput(
        name=OUTPUT,
        shape=list(answer.values.shape),
        datatype="FP64",
        data=answer.values.ravel().tolist(),
    )
    warnings: Parameters = {"warnings": "; ".join(answer.warnings)}
    return InferenceResponse(
        model_name=answer.model,
        model_version=str(answer.version),
        id=request_id,
        parameters=warnings if answer.warnings else None,
        outputs=[output],
    )


def _the_input(inputs: Sequence[RequestInput]) -> RequestInput:
    names = [tensor.name for tensor in inputs]
    if names != [INPUT]:
        raise InvalidInput.at("inputs", f"expected one tensor named {INPUT!r}, got {names}")
    return inputs[0]


def _check_outputs(outputs: Sequence[RequestOutput]) -> None:
    for output in outputs:
        if output.name != OUTPUT:
            raise InvalidInput.at(
                "outputs", f"unknown output {output.name!r}; the model has one, {OUTPUT!r}"
            )


def _matrix(tensor: RequestInput) -> np.ndarray:
    """The tensor's data as a float64 array of its shape, [batch, length]."""
    shape = tensor.shape
    if len(shape) != 2 or min(shape) < 1:
        raise InvalidInput.at(
            "shape", f"expected [batch, length] with both at least 1, got {shape}"
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


def _typed(flat: list[Any], datatype: str, length: int) -> np.ndarray:
    """The elements as float64, checked against the declared datatype."""
    if datatype in FLOATS:
        values = _validated(_FLOAT_DATA, flat, length, "a finite number")
        with np.errstate(over="ignore"):
            array = np.asarray(values, dtype=FLOATS[datatype])
        _require_in_range(np.isfinite(array), flat, length, datatype)
        return array.astype(np.float64)
    if datatype in INTEGERS:
        numbers = _validated(_INT_DATA, flat, length, "an integer")
        info = np.iinfo(INTEGERS[datatype])
        _require_in_range([info.min <= n <= info.max for n in numbers], flat, length, datatype)
        return np.asarray(numbers, dtype=np.float64)
    supported = ", ".join([*FLOATS, *INTEGERS])
    raise InvalidInput.at("datatype", f"{datatype!r} is not supported; use one of {supported}")


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


def _horizon(*sources: Mapping[str, Any] | None) -> int:
    """`horizon` from the request's or the input's parameters (default 1); both must agree."""
    given = {repr(p["horizon"]): p["horizon"] for p in sources if p and "horizon" in p}
    if len(given) > 1:
        raise InvalidInput.at("parameters.horizon", f"given twice, differently: {list(given)}")
    try:
        horizon: int = _HORIZON.validate_python(next(iter(given.values()), 1))
    except ValidationError as exc:
        raise InvalidInput.at("parameters.horizon", exc.errors()[0]["msg"]) from None
    return horizon
