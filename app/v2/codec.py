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

Binary tensor data (the protocol's extension) comes as raw little-endian bytes,
which `app.v2.binary` cuts out of the body per input; here they are read with
`np.frombuffer` in the declared datatype, never element by element, and outputs
asked for as binary leave as float64 bytes (`.tobytes()`) instead of JSON lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import StrictInt, TypeAdapter, ValidationError

from app.dataplane import Forecasts
from app.errors import InvalidInput
from app.http.schemas import Horizon, Level, Value
from app.v2.types import (
    INPUT,
    OUTPUT,
    InferenceRequest,
    InferenceResponse,
    Parameters,
    RequestInput,
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
_LEVEL = TypeAdapter(Level)
_BAND = re.compile(r"(lower|upper)_(\d+(?:\.\d+)?)")
BINARY_SIZE = "binary_data_size"
_LITTLE_ENDIAN = {name: np.dtype(t).newbyteorder("<") for name, t in {**FLOATS, **INTEGERS}.items()}
_FP64 = np.dtype("<f8")
Raw = bytes | memoryview  # one input's binary data, as cut from the body


@dataclass(frozen=True)
class Batch:
    """What a V2 infer body asks the data plane for, and which outputs to send back."""

    rows: np.ndarray  # [batch, length], float64
    horizon: int
    levels: list[float] | None  # None: the server's default levels
    outputs: list[str] | None  # output names asked for; None: all of them
    binary: Mapping[str, bool] = field(default_factory=dict)  # outputs' own `binary_data`
    binary_default: bool = False  # the request's `binary_data_output`: for all other outputs

    def sends_binary(self, output: str) -> bool:
        """Whether `output` leaves as raw bytes: its own choice first, then the request's."""
        return self.binary.get(output, self.binary_default)


def to_batch(request: InferenceRequest, binary: Mapping[str, Raw] | None = None) -> Batch:
    """The data plane's question in a V2 infer body, or InvalidInput saying what is wrong.

    `binary` holds the raw bytes of each input sent as binary data, by input name
    (`app.v2.binary.input_data` cuts them out of the body); the others have `data`.
    """
    tensor = _the_input(request.inputs)
    rows = _matrix(tensor, (binary or {}).get(tensor.name))
    horizon = _horizon(request.parameters, tensor.parameters)
    levels = _levels(request.parameters)
    names = [output.name for output in request.outputs] if request.outputs else None
    named = sorted({level for name in names or [] if (level := _band_level(name)) is not None})
    if levels is None and named:
        levels = named  # asking for lower_80 asks for the 80 % interval
    missing = sorted(set(named) - set(levels or []))
    if missing:
        listed = ", ".join(f"{level:g}" for level in missing)
        raise InvalidInput.at("outputs", f"bands of levels {listed} need them in parameters.levels")
    default = _flag(request.parameters, "binary_data_output", "parameters.binary_data_output")
    chosen = {
        output.name: flag
        for i, output in enumerate(request.outputs or [])
        if (flag := _flag(output.parameters, "binary_data", f"outputs[{i}].parameters.binary_data"))
        is not None
    }
    return Batch(rows, horizon, levels, names, chosen, bool(default))


def band_name(bound: str, level: float) -> str:
    """`lower_80`, `upper_97.5`: the output tensor of one bound of one interval level."""
    return f"{bound}_{level:g}"


def to_inference_response(
    answer: Forecasts, batch: Batch, request_id: str
) -> tuple[InferenceResponse, list[bytes]]:
    """The forecasts, and each interval bound, as FP64 tensors [batch, horizon], flat.

    Outputs the batch sends as binary carry `binary_data_size` instead of `data`;
    their bytes (little-endian float64, row-major) come second, in output order,
    to follow the JSON in the body. All outputs JSON: the list is empty.
    """
    tensors = {OUTPUT: answer.values}
    for band in answer.intervals:
        tensors[band_name("lower", band.level)] = band.lower
        tensors[band_name("upper", band.level)] = band.upper
    wanted = [name for name in batch.outputs or tensors if name in tensors]
    outputs, payload = [], []
    for name in wanted:
        array, shape = tensors[name], list(tensors[name].shape)
        if batch.sends_binary(name):
            raw = np.ascontiguousarray(array).astype(_FP64, copy=False).tobytes()
            payload.append(raw)
            size: Parameters = {BINARY_SIZE: len(raw)}
            outputs.append(ResponseOutput(name=name, shape=shape, datatype="FP64", parameters=size))
        else:
            data = array.ravel().tolist()
            outputs.append(ResponseOutput(name=name, shape=shape, datatype="FP64", data=data))
    warnings: Parameters = {"warnings": "; ".join(answer.warnings)}
    response = InferenceResponse(
        model_name=answer.model,
        model_version=str(answer.version),
        id=request_id,
        parameters=warnings if answer.warnings else None,
        outputs=outputs,
    )
    return response, payload


def _the_input(inputs: Sequence[RequestInput]) -> RequestInput:
    names = [tensor.name for tensor in inputs]
    if names != [INPUT]:
        raise InvalidInput.at("inputs", f"expected one tensor named {INPUT!r}, got {names}")
    return inputs[0]


def _band_level(name: str) -> float | None:
    """The level a band output names (`lower_80` -> 80.0); refuses unknown output names."""
    if name == OUTPUT:
        return None
    match = _BAND.fullmatch(name)
    if match is None:
        raise InvalidInput.at(
            "outputs", f"unknown output {name!r}; outputs are {OUTPUT!r}, lower_<L> and upper_<L>"
        )
    level = float(match[2])
    if not 0 < level < 100:
        raise InvalidInput.at("outputs", f"{name!r}: a level must be between 0 and 100")
    return level


def _levels(parameters: Mapping[str, Any] | None) -> list[float] | None:
    """`levels` as a number or a comma/space separated string (V2 parameters are scalars)."""
    if not parameters or "levels" not in parameters:
        return None
    given = parameters["levels"]
    parts = str(given).replace(",", " ").split() if isinstance(given, str) else [given]
    try:
        levels = [_LEVEL.validate_python(float(p) if isinstance(p, str) else p) for p in parts]
    except (ValueError, ValidationError):
        raise InvalidInput.at(
            "parameters.levels", f"{given!r}: levels are numbers between 0 and 100, e.g. '80,95'"
        ) from None
    return levels


def _matrix(tensor: RequestInput, raw: Raw | None) -> np.ndarray:
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


def _flag(parameters: Mapping[str, Any] | None, key: str, where: str) -> bool | None:
    """A boolean parameter (`binary_data`, `binary_data_output`), or None when not given."""
    if not parameters or key not in parameters:
        return None
    value = parameters[key]
    if not isinstance(value, bool):
        raise InvalidInput.at(where, f"{value!r}: must be true or false")
    return value


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
