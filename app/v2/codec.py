"""Open Inference Protocol tensors to and from the data plane's batch requests and answers.

A V2 `infer` is a batch forecast in other clothes: the `values` tensor of
shape [batch, length] becomes a `BatchPredictRequest` and the answer becomes
a `forecast` tensor of shape [batch, horizon]. So limits, history checks and
overflow refusals are the data plane's, unchanged; this module only checks
what is V2's own (names, shapes, datatypes, data layout) and renames the data
plane's `series[i]` to `values[i]` in its messages.

Data is read in its declared datatype: FP32 data is rounded to float32 first,
as the client's tensor was, and integer data must be whole numbers within its
type's range; the model then computes in float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import StrictInt, TypeAdapter, ValidationError

from app.errors import FieldError, InvalidInput
from app.http.schemas import BatchPredictRequest, BatchPredictResponse, Horizon, Value
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


def to_batch_request(request: InferenceRequest) -> BatchPredictRequest:
    """The data plane's request for a V2 infer body, or InvalidInput saying what is wrong."""
    tensor = _the_input(request.inputs)
    _check_outputs(request.outputs or [])
    rows = _matrix(tensor)
    horizon = _horizon(request.parameters, tensor.parameters)
    # Already checked element by element: constructing skips a second pass over every value.
    return BatchPredictRequest.model_construct(series=rows.tolist(), horizon=horizon)


def to_inference_response(answer: BatchPredictResponse, request_id: str) -> InferenceResponse:
    """The forecasts as one FP64 tensor, [batch, horizon], flat and row-major."""
    output = ResponseOutput(
        name=OUTPUT,
        shape=[len(answer.forecasts), answer.horizon],
        datatype="FP64",
        data=[value for row in answer.forecasts for value in row],
    )
    warnings: Parameters = {"warnings": "; ".join(_values_field(w) for w in answer.warnings)}
    return InferenceResponse(
        model_name=answer.model,
        model_version=str(answer.version),
        id=request_id,
        parameters=warnings if answer.warnings else None,
        outputs=[output],
    )


def renamed(error: InvalidInput) -> InvalidInput:
    """The data plane's error with its `series` fields called `values`, as V2 clients sent them."""
    fields = [FieldError(field=_values_field(e.field), message=e.message) for e in error.errors]
    if not fields:
        return error
    return InvalidInput(f"{fields[0].field}: {fields[0].message}", fields)


def _values_field(field: str) -> str:
    return INPUT + field.removeprefix("series") if field.startswith("series") else field


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
