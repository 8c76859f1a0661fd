"""Forecasts and evaluation. Plain `def` endpoints: FastAPI runs them in its thread pool,
so a large batch never stalls the event loop."""

from __future__ import annotations

from fastapi import APIRouter

from app.http.auth import PROTECTED
from app.http.context import answered
from app.http.deps import DataPlaneDep, SettingsDep
from app.http.responses import error_responses
from app.http.schemas import (
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
    responses=error_responses(401, 404, 413, 422, 503),
)


@router.post("/v1/models/{name}/predict", summary="Forecast the next values of one series")
def predict(name: str, body: PredictRequest, plane: DataPlaneDep) -> PredictResponse:
    return PredictResponse.of(answered(plane.predict(name, body.values, body.horizon, body.levels)))


@router.post(
    "/v1/models/{name}/predict/batch", summary="Forecast several series in one vectorised pass"
)
def predict_batch(
    name: str, body: BatchPredictRequest, plane: DataPlaneDep
) -> BatchPredictResponse:
    return BatchPredictResponse.of(
        answered(plane.predict_batch(name, body.series, body.horizon, body.levels))
    )


@router.post("/v1/predict", summary="Forecast with the default model")
def predict_default(
    body: PredictRequest, plane: DataPlaneDep, settings: SettingsDep
) -> PredictResponse:
    answer = plane.predict(settings.default_model, body.values, body.horizon, body.levels)
    return PredictResponse.of(answered(answer))


@router.post(
    "/v1/models/{name}/evaluate",
    summary="One-step forecasts of a whole series, scored against naive baselines",
)
def evaluate(name: str, body: EvaluateRequest, plane: DataPlaneDep) -> EvaluateResponse:
    return EvaluateResponse.of(
        answered(plane.evaluate(name, body.values, body.horizon, body.levels))
    )
