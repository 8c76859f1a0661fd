"""Open Inference Protocol (KServe V2) over REST, so KServe, Seldon and V2 clients can call us.

Thin like the v1 routes: `infer` is a batch forecast through the same data
plane (`app.v2.codec` translates the tensors): of the posted `values`, or of the
series a `series_id` input names, from their stored histories; one posted series is
forecast with the others arriving meanwhile, as `/v1/predict`'s are. Readiness is
`/ready`'s own check, and only the served version of a model can be addressed; any other
version is 404. Errors take the protocol's shape, `{"error": "..."}`, with 400
for bad input (where v1 says 422), 401 without a valid key, 404 for an unknown
model or version and 503 for a model with no verified version. Tensors are JSON
or, with the binary tensor data extension (`app.v2.binary`), raw bytes after a
JSON header, both ways: what tritonclient sends and asks for by default.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.answers import Forecasts, Naming
from app.budget import Work
from app.dataplane import DataPlane
from app.errors import InvalidInput, NotFound, ServiceError
from app.http.auth import PROTECTED
from app.http.deps import DataPlaneDep, RegistryDep, SettingsDep
from app.http.exception_handlers import status_of, validation_error
from app.http.offload import INLINE_WORK, run_sized
from app.http.responses import error_responses
from app.http.routes import health
from app.http.status import Ready
from app.registry import Registry, ServedVersion
from app.request_context import answered, new_request_id
from app.settings import Settings
from app.v2 import binary
from app.v2.bytes_data import BYTES
from app.v2.codec import Batch, band_name, levels_asked, to_batch, to_inference_response
from app.v2.types import (
    INPUT,
    OUTPUT,
    PERIODS,
    SERIES_INPUT,
    InferenceRequest,
    InferenceResponse,
    ModelMetadata,
    ModelReady,
    ServerLive,
    ServerMetadata,
    ServerReady,
    TensorMetadata,
    V2Error,
)

SERVER_NAME = "lstm-forecast-service"
PLATFORM = "numpy_lstm"  # Keras-trained LSTM weights, run by the NumPy engine
ERRORS = error_responses(
    400,
    401,
    404,
    503,
    body=V2Error,
    reasons={404: "No model of that name, or that version is not the served one."},
)


def v2_error(exc: ServiceError | RequestValidationError | HTTPException) -> JSONResponse:
    """`{"error": message}` with the protocol's status: bad input is 400."""
    if isinstance(exc, HTTPException):
        body = V2Error(error=str(exc.detail)).model_dump()
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
    error = validation_error(exc.errors()) if isinstance(exc, RequestValidationError) else exc
    status = 400 if isinstance(error, InvalidInput) else status_of(error)
    body = V2Error(error=error.message).model_dump()
    return JSONResponse(body, status_code=status, headers=error.headers)


class V2Route(APIRoute):
    """A route whose errors are rendered as the protocol specifies, before the app's handlers.

    On a route with a body, a binary-framed request (`Inference-Header-Content-Length`)
    is unframed first, so FastAPI parses and validates its JSON header like any body. The
    fast lane (`app.http.fast_lane`) renders errors the same way and leaves framed
    requests to FastAPI.
    """

    lane_error = staticmethod(v2_error)
    lane_leaves: ClassVar[tuple[str, ...]] = (binary.HEADER,)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        has_body = self.body_field is not None

        async def v2_handler(request: Request) -> Response:
            try:
                if has_body and binary.HEADER in request.headers:
                    request = await binary.unframed(request)
                return await handler(request)
            except (ServiceError, RequestValidationError, HTTPException) as exc:
                return v2_error(exc)

        return v2_handler


LIVE, READY = "/health/live", "/health/ready"
PROBES = frozenset({f"/v2{LIVE}", f"/v2{READY}"})
"""V2's probe paths, which `app.main` hands the middlewares with the service's own."""

server = APIRouter(prefix="/v2", route_class=V2Route, tags=["open inference protocol"])
models = APIRouter(
    prefix="/v2/models",
    route_class=V2Route,
    tags=["open inference protocol"],
    dependencies=PROTECTED,
    responses=ERRORS,
    strict_content_type=False,  # V2 clients (tritonclient) send JSON without a Content-Type
)


@server.get("", summary="Server metadata: name, version, protocol extensions")
async def server_metadata(request: Request) -> ServerMetadata:
    return ServerMetadata(
        name=SERVER_NAME, version=request.app.version, extensions=[binary.EXTENSION]
    )


@server.get(LIVE, summary="Liveness: 200 while the process runs")
async def server_live() -> ServerLive:
    return ServerLive()


@server.get(READY, summary="Readiness: the same rule as /ready", responses={503: ERRORS[503]})
async def server_ready(_: Annotated[Ready, Depends(health.ready)]) -> ServerReady:
    return ServerReady()


@models.get("/{name}", summary="Model metadata: the input and output tensors")
def model_metadata(name: str, registry: RegistryDep, settings: SettingsDep) -> ModelMetadata:
    return _metadata(registry, settings, name, None)


@models.get("/{name}/versions/{version}", summary="Model metadata, if this version is served")
def version_metadata(
    name: str, version: str, registry: RegistryDep, settings: SettingsDep
) -> ModelMetadata:
    return _metadata(registry, settings, name, version)


@models.get("/{name}/ready", summary="Whether the model has a served version")
async def model_ready(name: str, registry: RegistryDep) -> ModelReady:
    _served(registry, name, None)
    return ModelReady(name=name)


@models.get("/{name}/versions/{version}/ready", summary="Whether this version is served")
async def version_ready(name: str, version: str, registry: RegistryDep) -> ModelReady:
    _served(registry, name, version)
    return ModelReady(name=name)


BINARY_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The output tensors: JSON, or, when any output is asked for as binary"
        f" data, `{binary.MEDIA_TYPE}`: the JSON header (`{binary.HEADER}` bytes) followed by"
        " the binary outputs' little-endian float64 bytes, in output order.",
        "content": {binary.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@models.post(
    "/{name}/infer",
    summary="Forecast a [batch, length] tensor of series",
    response_model=InferenceResponse,
    response_model_exclude_none=True,
    responses=BINARY_ANSWER,
)
async def infer(
    name: str, body: InferenceRequest, plane: DataPlaneDep, settings: SettingsDep, request: Request
) -> InferenceResponse | Response:
    return await _Infer(plane, settings, name, None, body, request).answer()


@models.post(
    "/{name}/versions/{version}/infer",
    summary="Forecast, if this version is served",
    response_model=InferenceResponse,
    response_model_exclude_none=True,
    responses=BINARY_ANSWER,
)
async def infer_version(
    name: str,
    version: str,
    body: InferenceRequest,
    plane: DataPlaneDep,
    settings: SettingsDep,
    request: Request,
) -> InferenceResponse | Response:
    return await _Infer(plane, settings, name, version, body, request).answer()


def fast_routes() -> list[APIRoute]:
    """The routes `app.http.fast_lane` may answer: infer, plain and versioned."""
    return [r for r in models.routes if isinstance(r, APIRoute) and r.endpoint in _INFERS]


_INFERS = {infer, infer_version}


def _work(plane: DataPlane, settings: Settings, name: str, body: InferenceRequest) -> Work:
    """The work the body asks for, judged from its shape and parameters before decoding it.

    Where it is unclear (a horizon that is no whole number, a shape that is no [batch,
    length]), the largest figure: the thread pool, then the codec says what is wrong.
    """
    tensor = body.inputs[0]
    given = [p["horizon"] for p in (body.parameters, tensor.parameters) if p and "horizon" in p]
    whole = [h for h in given if isinstance(h, int) and h > 0]
    horizon = max(whole, default=1) if len(whole) == len(given) else settings.max_horizon
    if tensor.name == SERIES_INPUT:  # series by id, each read at its stored width
        ids = tensor.shape[0] if len(tensor.shape) == 1 else settings.max_series
        return plane.forecast_work(name, max(ids, 1), None, horizon, levels_asked(body))
    rows, length = tensor.shape if len(tensor.shape) == 2 else (settings.max_series, 0)
    series, values = max(rows, 1), max(rows, 1) * max(length, 1)
    return plane.forecast_work(name, series, values, horizon, levels_asked(body))


router = APIRouter()
router.include_router(server)
router.include_router(models)


@dataclass(frozen=True)
class _Infer:
    """One infer request, and the steps of answering it, which all read the same six things."""

    plane: DataPlane
    settings: Settings
    name: str
    version: str | None
    body: InferenceRequest
    request: Request

    async def answer(self) -> InferenceResponse | Response:
        """The forecast as JSON, or binary-framed when any output is asked for as binary data.

        One posted series small enough for the event loop is forecast with the others
        arriving meanwhile (`app.coalescing`), so a client that sends one series per call is
        batched as `/v1/predict`'s are. Anything else is one pass of its own, sized to its
        work.
        """
        work = _work(self.plane, self.settings, self.name, self.body)
        if work.units > INLINE_WORK:
            return await run_sized(work, self.alone)
        batch = self.question()
        if batch.rows is None or len(batch.rows) != 1:
            return self.reply(_forecast(self.plane, self.name, batch), batch)
        row = f"{INPUT}[0]"
        answer = await self.plane.coalescer.predict(
            self.name, batch.rows[0], batch.horizon, batch.levels, work, Naming(row, row, row)
        )
        return self.reply(answer, batch)

    def alone(self) -> InferenceResponse | Response:
        """`answer` without batching: one vectorised pass of its own."""
        batch = self.question()
        return self.reply(_forecast(self.plane, self.name, batch), batch)

    def question(self) -> Batch:
        """What the body asks: its tensors decoded, JSON or binary. 404 / 503 come first."""
        _served(self.plane.registry, self.name, self.version)
        raw = binary.input_data(self.body.inputs, binary.tail_of(self.request))
        return to_batch(self.body, raw, self.settings.max_levels, self.settings.max_series)

    def reply(self, answer: Forecasts, batch: Batch) -> InferenceResponse | Response:
        """The answer in the protocol's terms, for the version asked for."""
        answer = answered(answer)
        # A reload may have swapped the version meanwhile.
        _require_version(self.name, self.version, answer.version)
        headers = self.request.headers
        request_id = self.body.id or headers.get("x-request-id") or new_request_id()
        response, payload = to_inference_response(answer, batch, request_id)
        return binary.framed(response, payload) if payload else response


def _forecast(plane: DataPlane, name: str, batch: Batch) -> Forecasts:
    """The series by id from their stored histories, or the posted rows; the data plane
    names them as the input does (`series_id[i]`, `values[i]`)."""
    if batch.ids is not None:
        return plane.predict_ids(name, batch.ids, batch.horizon, batch.levels, SERIES_INPUT)
    assert batch.rows is not None  # to_batch gives one of the two
    return plane.predict_batch(name, batch.rows, batch.horizon, batch.levels, field=INPUT)


def _metadata(
    registry: Registry, settings: Settings, name: str, version: str | None
) -> ModelMetadata:
    """The inputs, and the outputs a default request returns: the forecast and its bands.

    A version with a series table also takes `series_id` (instead of `values`), and its
    answers to it add `periods`.
    """
    served = _served(registry, name, version)
    levels = settings.default_levels if served.forecaster.interval_horizon else []
    names = [OUTPUT, *(band_name(b, level) for level in levels for b in ("lower", "upper"))]
    inputs = [TensorMetadata(name=INPUT, datatype="FP64", shape=[-1, -1])]
    outputs = [TensorMetadata(name=n, datatype="FP64", shape=[-1, -1]) for n in names]
    if served.forecaster.series is not None:
        inputs.append(TensorMetadata(name=SERIES_INPUT, datatype=BYTES, shape=[-1]))
        outputs.append(TensorMetadata(name=PERIODS, datatype=BYTES, shape=[-1, -1]))
    return ModelMetadata(
        name=name,
        versions=[str(served.version)],
        platform=PLATFORM,
        inputs=inputs,
        outputs=outputs,
    )


def _served(registry: Registry, name: str, version: str | None) -> ServedVersion:
    served = registry.served(name)
    _require_version(name, version, served.version)
    return served


def _require_version(name: str, version: str | None, served: int) -> None:
    if version is not None and version != str(served):
        raise NotFound(f"model {name!r} version {version} is not served; version {served} is")
