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
JSON lists. Instead of `values`, a request may send `series_id` (BYTES [n], read by
`app.v2.bytes_data`): series the model knows, forecast from their stored histories
(the data plane names them `series_id[i]`); its answer adds `periods`, BYTES
[n, horizon], the ISO labels of the periods forecast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from app.answers import Forecasts
from app.budget import MAX_LEVELS, check_levels
from app.contract.intervals import split_levels
from app.errors import InvalidInput
from app.http.fields import Horizon, Level
from app.v2.bytes_data import BYTES, series_ids, to_bytes
from app.v2.tensor_data import BINARY_SIZE, Raw, matrix
from app.v2.types import (
    INPUT,
    OUTPUT,
    PERIODS,
    SERIES_INPUT,
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

    rows: np.ndarray | None  # [batch, length], float64; None: series by id
    horizon: int
    levels: list[float] | None  # None: the server's default levels
    outputs: list[str] | None  # output names asked for; None: all of them
    binary: Mapping[str, bool] = field(default_factory=dict)  # outputs' own `binary_data`
    binary_default: bool = False  # the request's `binary_data_output`: for all other outputs
    ids: list[str] | None = None  # the series asked for by id, when `rows` is None

    def sends_binary(self, output: str) -> bool:
        """Whether `output` leaves as raw bytes: its own choice first, then the request's."""
        return self.binary.get(output, self.binary_default)


def to_batch(
    request: InferenceRequest,
    binary: Mapping[str, Raw] | None = None,
    max_levels: int = MAX_LEVELS,
    max_series: int | None = None,
) -> Batch:
    """The data plane's question in a V2 infer body, or InvalidInput saying what is wrong.

    `binary` holds the raw bytes of each input sent as binary data, by input name
    (`app.v2.binary.input_data` cuts them out of the body); the others have `data`.
    `max_levels` is `Settings.max_levels`: more levels are refused before any is read;
    `max_series` is `Settings.max_series`, and more ids are refused before any is read.
    """
    tensor = _the_input(request.inputs)
    levels = _parameter_levels(request.parameters, max_levels)
    names = [output.name for output in request.outputs] if request.outputs else None
    named = sorted({band[1] for band in _bands(names or [])})
    check_levels(len(named), max_levels, "outputs")
    raw = (binary or {}).get(tensor.name)
    by_id = tensor.name == SERIES_INPUT
    ids = series_ids(tensor, raw, max_series) if by_id else None
    rows = None if by_id else matrix(tensor, raw)
    if PERIODS in (names or []) and not by_id:
        raise InvalidInput.at(
            "outputs", f"{PERIODS!r} answers series asked for by {SERIES_INPUT!r} only"
        )
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
    return Batch(rows, horizon, levels, names, chosen, bool(default), ids)


def band_name(bound: str, level: float) -> str:
    """`lower_80`, `upper_97.5`: the output tensor of one bound of one interval level."""
    return f"{bound}_{level:g}"


def levels_asked(request: InferenceRequest) -> int | None:
    """How many levels the body asks for, counted without reading them (None: the default
    levels); what the route sizes the request by before decoding it."""
    parameters = request.parameters or {}
    if "levels" in parameters:
        return len(_level_parts(parameters["levels"]))
    bands = sum(output.name not in (OUTPUT, PERIODS) for output in request.outputs or [])
    return bands or None


def to_inference_response(
    answer: Forecasts, batch: Batch, request_id: str
) -> tuple[InferenceResponse, list[bytes]]:
    """The forecasts, and each interval bound, as FP64 tensors [batch, horizon], flat; for
    series by id, their periods too, as a BYTES tensor of the same shape.

    Outputs the batch sends as binary carry `binary_data_size` instead of `data`;
    their bytes (`_binary`) come second, in output order, to follow the JSON in the
    body. All outputs JSON: the list is empty. Each output asked for is sent under the
    name asked for (`lower_80.0` is the 80 % band's).
    """
    outputs, payload = [], []
    for name, array in _tensors(answer, batch.outputs):
        shape, datatype = list(array.shape), BYTES if array.dtype.kind == "U" else "FP64"
        if batch.sends_binary(name):
            raw = _binary(array)
            payload.append(raw)
            size: Parameters = {BINARY_SIZE: len(raw)}
            output = ResponseOutput(name=name, shape=shape, datatype=datatype, parameters=size)
        else:
            data = array.ravel().tolist()
            output = ResponseOutput(name=name, shape=shape, datatype=datatype, data=data)
        outputs.append(output)
    warnings: Parameters = {"warnings": "; ".join(answer.warnings)}
    response = InferenceResponse(
        model_name=answer.model,
        model_version=str(answer.version),
        id=request_id,
        parameters=warnings if answer.warnings else None,
        outputs=outputs,
    )
    return response, payload


def _binary(array: np.ndarray) -> bytes:
    """An output's bytes: little-endian float64, row-major; strings as BYTES (`to_bytes`)."""
    if array.dtype.kind == "U":
        return to_bytes(array.ravel().tolist())
    return np.ascontiguousarray(array).astype(_FP64, copy=False).tobytes()


def _tensors(answer: Forecasts, names: list[str] | None) -> list[tuple[str, np.ndarray]]:
    """Each output asked for (all of them, when `names` is None) and its array; `periods`
    (strings) when every row's are known, as they are for series by id."""
    bands = {(bound, b.level): getattr(b, bound) for b in answer.intervals for bound in _BOUNDS}
    known = answer.periods is not None and all(answer.periods)
    periods = np.array(answer.periods if known else [], dtype=np.str_)
    if names is None:
        found = [(OUTPUT, answer.values), *((band_name(*key), a) for key, a in bands.items())]
        return found + ([(PERIODS, periods)] if known else [])
    arrays = {OUTPUT: answer.values, PERIODS: periods}
    return [(name, arrays[name] if (key := _band(name)) is None else bands[key]) for name in names]


def _the_input(inputs: Sequence[RequestInput]) -> RequestInput:
    names = [tensor.name for tensor in inputs]
    if sorted(names) == sorted([INPUT, SERIES_INPUT]):
        raise InvalidInput.at(
            "inputs",
            f"send either {INPUT!r} (the series) or {SERIES_INPUT!r} (series the model knows,"
            " from their stored histories), not both",
        )
    if names not in ([INPUT], [SERIES_INPUT]):
        raise InvalidInput.at(
            "inputs", f"expected one tensor named {INPUT!r} or {SERIES_INPUT!r}, got {names}"
        )
    return inputs[0]


def _bands(names: Sequence[str]) -> list[tuple[str, float]]:
    """The (bound, level) of each band output asked for; refuses unknown names and two
    names of one output (`lower_80`, `lower_80.0`), which would only send it twice."""
    seen: dict[tuple[str, float] | str, str] = {}
    for name in names:
        key = _band(name) or name
        if key in seen:
            message = f"{seen[key]!r} and {name!r} name the same output; ask for it once"
            raise InvalidInput.at("outputs", message)
        seen[key] = name
    return [key for key in seen if isinstance(key, tuple)]


def _band(name: str) -> tuple[str, float] | None:
    """The bound and level a band output names (`lower_80.0` -> ("lower", 80.0)); None for
    the forecast and the periods; refuses unknown output names."""
    if name in (OUTPUT, PERIODS):
        return None
    match = _BAND.fullmatch(name)
    if match is None:
        raise InvalidInput.at(
            "outputs",
            f"unknown output {name!r}; outputs are {OUTPUT!r}, lower_<L>, upper_<L>"
            f" and, for series by id, {PERIODS!r}",
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
