"""Forecasts and evaluation.

The endpoints are `async`: a request of little work (`app.budget`) runs right on
the event loop, anything larger in the thread pool (`app.http.offload`), so a big
batch never stalls the loop and a small one never pays for a thread hop.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.http.auth import PROTECTED
from app.http.context import answered
from app.http.deps import DataPlaneDep, SettingsDep
from app.http.json_route import JSONBodyRoute
from app.http.offload import run_sized
from app.http.responses import error_responses
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
    work = plane.forecast_work(name, 1, len(body.values), body.horizon, _count(body.levels))
    answer = await run_sized(work, plane.predict, name, body.values, body.horizon, body.levels)
    return PredictResponse.of(answered(answer))


@router.post(
    "/v1/models/{name}/predict/batch", summary="Forecast several series in one vectorised pass"
)
async def predict_batch(
    name: str, body: BatchPredictRequest, plane: DataPlaneDep
) -> BatchPredictResponse:
    values = sum(len(series) for series in body.series)
    levels = _count(body.levels)
    work = plane.forecast_work(name, len(body.series), values, body.horizon, levels)
    answer = await run_sized(
        work, plane.predict_batch, name, body.series, body.horizon, body.levels
    )
    return BatchPredictResponse.of(answered(answer))


@router.post("/v1/predict", summary="Forecast with the default model")
async def predict_default(
    body: PredictRequest, plane: DataPlaneDep, settings: SettingsDep
) -> PredictResponse:
    name = settings.default_model
    work = plane.forecast_work(name, 1, len(body.values), body.horizon, _count(body.levels))
    answer = await run_sized(work, plane.predict, name, body.values, body.horizon, body.levels)
    return PredictResponse.of(answered(answer))


@router.post(
    "/v1/models/{name}/evaluate",
    summary="One-step forecasts of a whole series, scored against naive baselines",
)
async def evaluate(name: str, body: EvaluateRequest, plane: DataPlaneDep) -> EvaluateResponse:
    work = plane.evaluate_work(name, len(body.values), body.horizon, _count(body.levels))
    answer = await run_sized(work, plane.evaluate, name, body.values, body.horizon, body.levels)
    return EvaluateResponse.of(answered(answer))


def _count(levels: list[float] | None) -> int | None:
    return None if levels is None else len(levels)
