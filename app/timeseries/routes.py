"""KServe's time-series forecast protocol over REST: `POST /v1/timeseries/forecast`, and
`GET /v1/timeseries/models`, so KServe's time-series clients can call us.

Thin like v1 and v2: the body names the model (`model`) and its inputs; `app.timeseries.codec`
turns each input into a query of the data plane's many-series forecast (a series the model
knows by its `name`, else the values posted) and the answer into KServe's shape. Errors take
the protocol's shape, `{"error": {"code", "message", "param", "type"}}`, with 400 for bad
input (as KServe's own server answers it, and as V2 does here), 401 without a valid key, 404
for an unknown model or series (naming the nearest ids) and 503 for a model with no verified
version. Refusals by the middlewares before a route runs (413, 415, load shedding's 503) keep
the service's common shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.dataplane import DataPlane
from app.errors import InvalidInput, ServiceError
from app.http.auth import PROTECTED
from app.http.deps import DataPlaneDep, SettingsDep
from app.http.exception_handlers import status_of, validation_error
from app.http.json_route import JSONBodyRoute
from app.http.offload import INLINE_WORK, run_sized
from app.http.responses import error_responses
from app.request_context import answered, new_request_id
from app.timeseries.codec import in_our_terms, levels_for, to_queries, to_response
from app.timeseries.plane import (
    SeriesQuery,
    calendar_of,
    forecast_one,
    forecast_series,
    known_series,
    served_models,
)
from app.timeseries.types import (
    ForecastRequest,
    ForecastResponse,
    TimeSeriesError,
    TimeSeriesErrorDetail,
)

ERRORS = error_responses(
    400,
    401,
    404,
    503,
    body=TimeSeriesError,
    reasons={400: "Invalid input; `param` names the field at fault."},
)


def timeseries_error(exc: ServiceError | RequestValidationError | HTTPException) -> JSONResponse:
    """KServe's `ErrorResponse`: `code` is the HTTP status, `param` the first field at fault."""
    if isinstance(exc, HTTPException):
        kind = "not_found" if exc.status_code == 404 else "bad_request"
        http = TimeSeriesErrorDetail(code=str(exc.status_code), message=str(exc.detail), type=kind)
        body = TimeSeriesError(error=http).model_dump(exclude_none=True)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
    error = validation_error(exc.errors()) if isinstance(exc, RequestValidationError) else exc
    status = 400 if isinstance(error, InvalidInput) else status_of(error)
    param = error.errors[0].field if error.errors else None
    detail = TimeSeriesErrorDetail(
        code=str(status), message=error.message, param=param, type=error.type
    )
    body = TimeSeriesError(error=detail).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=error.headers)


class TimeSeriesRoute(JSONBodyRoute):
    """A route whose errors are rendered as the protocol specifies, before the app's handlers;
    the fast lane (`app.http.fast_lane`) renders them the same way."""

    lane_error = staticmethod(timeseries_error)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def timeseries_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (ServiceError, RequestValidationError, HTTPException) as exc:
                return timeseries_error(exc)

        return timeseries_handler


router = APIRouter(
    prefix="/v1/timeseries",
    route_class=TimeSeriesRoute,
    tags=["kserve time series"],
    dependencies=PROTECTED,
    responses=ERRORS,
)


@router.get("/models", summary="The models that can forecast now (a served version each)")
async def list_models(plane: DataPlaneDep) -> list[str]:
    return served_models(plane)


@router.post(
    "/forecast",
    summary="Forecast named or posted series, with quantiles",
    response_model=ForecastResponse,
    response_model_exclude_none=True,
)
async def forecast(
    body: ForecastRequest, plane: DataPlaneDep, settings: SettingsDep, request: Request
) -> ForecastResponse:
    levels = levels_for(body.options.quantiles)
    if len(levels) > settings.max_levels:
        raise InvalidInput.at(
            "options.quantiles",
            f"at most {settings.max_levels} intervals (FORECAST_MAX_LEVELS), got {len(levels)}:"
            " q and 1 - q are the two bounds of one",
        )
    # Values posted; a known series' stored history is the data plane's to count in its check.
    values = sum(max(len(series.series), 1) for series in body.inputs)
    work = plane.forecast_work(
        body.model, len(body.inputs), values, body.options.horizon, len(levels)
    )
    request_id = request.headers.get("x-request-id") or new_request_id()
    if work.units > INLINE_WORK or len(body.inputs) != 1:
        return await run_sized(work, _forecast, plane, body, levels, request_id)
    # Small and one input: a posted series joins the forecasts of one series others ask for
    # meanwhile (`app.coalescing`); a stored one is forecast here, as small work is.
    queries = _queries(plane, body)
    if queries[0].series_id is not None:
        return _forecast(plane, body, levels, request_id, queries)
    horizon = body.options.horizon
    try:
        answer, forecasts = await forecast_one(plane, body.model, queries[0], horizon, levels, work)
    except ServiceError as error:  # 400 bad input, 404 unknown series, named in our terms
        raise in_our_terms(error, 1) from error
    return to_response(body, answered(answer), forecasts, request_id, int(time.time()))


def _queries(plane: DataPlane, body: ForecastRequest) -> list[SeriesQuery]:
    """The inputs checked against the model's calendar and the series it knows."""
    calendar = calendar_of(plane, body.model)  # 404 / 503 before looking at the inputs
    known = known_series(plane, body.model, [series.name for series in body.inputs])
    return to_queries(body, calendar, known)


def _forecast(
    plane: DataPlane,
    body: ForecastRequest,
    levels: list[float],
    request_id: str,
    queries: list[SeriesQuery] | None = None,
) -> ForecastResponse:
    """Check the inputs (unless `queries` are already theirs), forecast, render."""
    queries = queries or _queries(plane, body)
    try:
        answer, forecasts = forecast_series(
            plane, body.model, queries, body.options.horizon, levels
        )
    except ServiceError as error:  # 400 bad input, 404 unknown series, named in our terms
        raise in_our_terms(error, len(queries)) from error
    return to_response(body, answered(answer), forecasts, request_id, int(time.time()))


def fast_routes() -> list[APIRoute]:
    """The routes `app.http.fast_lane` may answer: the forecast."""
    return [r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is forecast]
