"""Forecasts and evaluation.

The endpoints are `async`: a request of little work (`app.budget`) runs right on
the event loop, anything larger in the thread pool (`app.http.offload`), so a big
batch never stalls the loop and a small one never pays for a thread hop.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from app.answers import Naming
from app.http.auth import PROTECTED
from app.http.deps import DataPlaneDep
from app.http.json_route import JSONBodyRoute
from app.http.offload import INLINE_WORK, run_sized
from app.http.responses import error_responses
from app.request_context import answered
from app.v1.schemas import (
    BatchPredictRequest,
    BatchPredictResponse,
    EvaluateRequest,
    EvaluateResponse,
    PredictRequest,
    PredictResponse,
)

router = APIRouter(
    tags=["forecasts"],
    dependencies=PROTECTED,
    responses=error_responses(401, 404, 413, 415, 422, 503),
    route_class=JSONBodyRoute,
)


@router.post("/v1/models/{name}/predict", summary="Forecast the next values of one series")
async def predict(name: str, body: PredictRequest, plane: DataPlaneDep) -> PredictResponse:
    return await _predict_one(name, body, plane)


@router.post(
    "/v1/models/{name}/predict/batch", summary="Forecast several series in one vectorised pass"
)
async def predict_batch(
    name: str, body: BatchPredictRequest, plane: DataPlaneDep
) -> BatchPredictResponse:
    levels = _count(body.levels)
    if body.series_ids is not None:
        work = plane.forecast_work(name, body.size, None, body.horizon, levels)
        call = run_sized(work, plane.predict_ids, name, body.series_ids, body.horizon, body.levels)
    else:
        assert body.series is not None
        values = sum(len(series) for series in body.series)
        work = plane.forecast_work(name, body.size, values, body.horizon, levels)
        call = run_sized(work, plane.predict_batch, name, body.series, body.horizon, body.levels)
    return BatchPredictResponse.of(answered(await call))


@router.post("/v1/predict", summary="Forecast with the default model")
async def predict_default(body: PredictRequest, plane: DataPlaneDep) -> PredictResponse:
    # The data plane knows the default: one dependency fewer for FastAPI to solve per request.
    return await _predict_one(plane.default_model, body, plane)


@router.post(
    "/v1/models/{name}/evaluate",
    summary="One-step forecasts of a whole series, scored against naive baselines",
)
async def evaluate(name: str, body: EvaluateRequest, plane: DataPlaneDep) -> EvaluateResponse:
    work = plane.evaluate_work(name, len(body.values), body.horizon, _count(body.levels))
    answer = await run_sized(work, plane.evaluate, name, body.values, body.horizon, body.levels)
    return EvaluateResponse.of(answered(answer))


async def _predict_one(name: str, body: PredictRequest, plane: DataPlaneDep) -> PredictResponse:
    """Posted values small enough for the event loop, with a start or not, join the
    coalescer; bigger ones take the plain path, or the series look-up with a start, as an
    id always does."""
    posted = len(body.values) if body.values is not None else None
    work = plane.forecast_work(name, 1, posted, body.horizon, _count(body.levels))
    if body.series_id is None and body.values is not None and work.units <= INLINE_WORK:
        # Small: with others arriving now (`app.coalescing`).
        answer = await plane.coalescer.predict(
            name, body.values, body.horizon, body.levels, work, Naming(), body.start
        )
        return PredictResponse.of(answered(answer))
    if body.series_id is None and body.start is None and body.values is not None:
        call = run_sized(work, plane.predict, name, body.values, body.horizon, body.levels)
    else:
        call = run_sized(
            work, plane.predict_queries, name, [body.query()], body.horizon, body.levels
        )
    return PredictResponse.of(answered(await call))


def fast_routes() -> list[APIRoute]:
    """The routes `app.http.fast_lane` may answer: forecasts and evaluation of posted values."""
    fast = {predict, predict_batch, predict_default, evaluate}
    return [r for r in router.routes if isinstance(r, APIRoute) and r.endpoint in fast]


def _count(levels: list[float] | None) -> int | None:
    return None if levels is None else len(levels)
