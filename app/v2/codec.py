"""Open Inference Protocol tensors to and from the data plane's batch requests and answers.

A V2 `infer` is a batch forecast in other clothes: the `values` tensor of
shape [batch, length] becomes the rows of a batch forecast, and the data
plane's `Forecasts` become a `forecast` tensor of shape [batch, horizon]. So
limits, history checks and overflow refusals are the data plane's, unchanged
(it names the rows `values[i]`, as V2 clients sent them); this module only
checks what is V2's own (names, shapes, datatypes, data layout), and counts the
levels against `app.budget`'s limit before reading them, as v1 does.

The tensor's data is read in its declared datatype by `app.v2.tensor_data`;
outputs asked for as binary leave as float64 bytes (`.tobytes()`) instead of
JSON lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from app.budget import MAX_LEVELS, check_levels
from app.contract.intervals import split_levels
from app.dataplane import Forecasts
from app.errors import InvalidInput
from app.http.fields import Horizon, Level
from app.v2.tensor_data import BINARY_SIZE, Raw, matrix
from app.v2.types import (
    INPUT,
    OUTPUT,
    InferenceRequest,
    InferenceResponse,
    Parameters,
    RequestInput,
    ResponseOutput,
)

_HORIZON = TypeAdapter(Horizon)
_LEVEL = TypeAdapter(Level)
_BAND = re.compile(r"(lower|upper)_(\d+(?:\.\d+)?)")
_FP64 = np.dtype("<f8")
_BOUNDS = ("lower", "upper")


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


def to_batch(
    request: InferenceRequest,
    binary: Mapping[str, Raw] | None = None,
    max_levels: int = MAX_LEVELS,
) -> Batch:
    """The data plane's question in a V2 infer body, or InvalidInput saying what is wrong.

    `binary` holds the raw bytes of each input sent as binary data, by input name
    (`app.v2.binary.input_data` cuts them out of the body); the others have `data`.
    `max_levels` is `Settings.max_levels`: more levels are refused before any is read.
    """
    tensor = _the_input(request.inputs)
    levels = _parameter_levels(request.parameters, max_levels)
    names = [output.name for output in request.outputs] if request.outputs else None
    named = sorted({band[1] for band in _bands(names or [])})
    check_levels(len(named), max_levels, "outputs")
    rows = matrix(tensor, (binary or {}).get(tensor.name))
    horizon = _horizon(request.parameters, tensor.parameters)
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


def levels_asked(request: InferenceRequest) -> int | None:
    """How many levels the body asks for, counted without reading them (None: the default
    levels); what the route sizes the request by before decoding it."""
    parameters = request.parameters or {}
    if "levels" in parameters:
        return len(_level_parts(parameters["levels"]))
    bands = sum(output.name != OUTPUT for output in request.outputs or [])
    return bands or None


def to_inference_response(
    answer: Forecasts, batch: Batch, request_id: str
) -> tuple[InferenceResponse, list[bytes]]:
    """The forecasts, and each interval bound, as FP64 tensors [batch, horizon], flat.

    Outputs the batch sends as binary carry `binary_data_size` instead of `data`;
    their bytes (little-endian float64, row-major) come second, in output order,
    to follow the JSON in the body. All outputs JSON: the list is empty. Each output
    asked for is sent under the name asked for (`lower_80.0` is the 80 % band's).
    """
    outputs, payload = [], []
    for name, array in _tensors(answer, batch.outputs):
        shape = list(array.shape)
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


def _tensors(answer: Forecasts, names: list[str] | None) -> list[tuple[str, np.ndarray]]:
    """Each output asked for (all of them, when `names` is None) and its array."""
    bands = {(bound, b.level): getattr(b, bound) for b in answer.intervals for bound in _BOUNDS}
    if names is None:
        return [(OUTPUT, answer.values), *((band_name(*key), a) for key, a in bands.items())]
    return [(name, answer.values if (key := _band(name)) is None else bands[key]) for name in names]


def _the_input(inputs: Sequence[RequestInput]) -> RequestInput:
    names = [tensor.name for tensor in inputs]
    if names != [INPUT]:
        raise InvalidInput.at("inputs", f"expected one tensor named {INPUT!r}, got {names}")
    return inputs[0]


def _bands(names: Sequence[str]) -> list[tuple[str, float]]:
    """The (bound, level) of each band output asked for; refuses unknown names and two
    names of one output (`lower_80`, `lower_80.0`), which would only send it twice."""
    seen: dict[tuple[str, float] | None, str] = {}
    for name in names:
        key = _band(name)
        if key in seen:
            message = f"{seen[key]!r} and {name!r} name the same output; ask for it once"
            raise InvalidInput.at("outputs", message)
        seen[key] = name
    return [key for key in seen if key is not None]


def _band(name: str) -> tuple[str, float] | None:
    """The bound and level a band output names (`lower_80.0` -> ("lower", 80.0)); None for
    the forecast; refuses unknown output names."""
    if name == OUTPUT:
        return None
    match = _BAND.fullmatch(name)
    if match is None:
        raise InvalidInput.at(
            "outputs", f"unknown output {name!r}; outputs are {OUTPUT!r}, lower_<L> and upper_<L>"
        )
    try:
        level: float = _LEVEL.validate_python(float(match[2]))
    except ValidationError:
        raise InvalidInput.at("outputs", f"{name!r}: a level must be between 0 and 100") from None
    return match[1], level


def _level_parts(given: Any) -> list[Any]:
    """`levels` as a number or a comma/space separated string (V2 parameters are scalars)."""
    return split_levels(given) if isinstance(given, str) else [given]


def _parameter_levels(parameters: Mapping[str, Any] | None, limit: int) -> list[float] | None:
    """The levels of `parameters.levels`, counted against `limit` before any is read."""
    if not parameters or "levels" not in parameters:
        return None
    given = parameters["levels"]
    parts = _level_parts(given)
    check_levels(len(parts), limit, "parameters.levels")
    try:
        levels = [_LEVEL.validate_python(float(p) if isinstance(p, str) else p) for p in parts]
    except (ValueError, ValidationError):
        raise InvalidInput.at(
            "parameters.levels", f"{given!r}: levels are numbers between 0 and 100, e.g. '80,95'"
        ) from None
    return levels


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
