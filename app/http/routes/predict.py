"""Forecasts and evaluation. Plain `def` endpoints: FastAPI runs them in its thread pool,
so a large batch never stalls the event loop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.errors import ErrorBody
from app.http.auth import PROTECTED, UNAUTHORIZED
from app.http.deps import DataPlaneDep, SettingsDep
from app.http.schemas import (
    BatchPredictRequest,
    BatchPredictResponse,
    EvaluateRequest,
    EvaluateResponse,
    PredictRequest,
    PredictResponse,
)

router = APIRouter(tags=["forecasts"], dependencies=PROTECTED, responses=UNAUTHORIZED)
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No model of that name."},
    413: {"model": ErrorBody, "description": "The body is larger than the limit."},
    422: {"model": ErrorBody, "description": "Invalid input; `errors` names each field."},
    503: {"model": ErrorBody, "description": "No version of the model verifies."},
}


@router.post(
    "/v1/models/{name}/predict",
    summary="Forecast the next values of one series",
    responses=ERRORS,
)
def predict(name: str, body: PredictRequest, plane: DataPlaneDep) -> PredictResponse:
    return plane.predict(name, body)


@router.post(
    "/v1/models/{name}/predict/batch",
    summary="Forecast several series in one vectorised pass",
    responses=ERRORS,
)
def predict_batch(
    name: str, body: BatchPredictRequest, plane: DataPlaneDep
) -> BatchPredictResponse:
    return plane.predict_batch(name, body)


@router.post(
    "/v1/predict",
    summary="Forecast with the default model",
    responses=ERRORS,
)
def predict_default(
    body: PredictRequest, plane: DataPlaneDep, settings: SettingsDep
) -> PredictResponse:
    return plane.predict(settings.default_model, body)


@router.post(
    "/v1/models/{name}/evaluate",
    summary="One-step forecasts of a whole series, scored against naive baselines",
    responses=ERRORS,
)
def evaluate(name: str, body: EvaluateRequest, plane: DataPlaneDep) -> EvaluateResponse:
    return plane.evaluate(name, body)
