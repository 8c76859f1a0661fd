"""The ceiling for the HTTP path: bare FastAPI, the service's request models, same-shaped answers.

No middleware, no dependencies, no model: each handler validates the same body model
as the service's route (`PredictRequest`, `BatchPredictRequest`) and returns an answer of
the same size as the service's (a horizon of forecasts and the 80 % and 95 % intervals,
per series for the batch), built once. FastAPI's own way throughout: `json.loads` then
validation for the body, the answer validated and serialised through its response model.
What the service costs above this is its own stack plus the forecast. `async def` is the
framework's fastest path (no thread-pool hop).

    uvicorn bench.bare_app:app --port 8001
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import FastAPI

from app.v1.schemas import (
    BatchInterval,
    BatchPredictRequest,
    BatchPredictResponse,
    Interval,
    PredictRequest,
    PredictResponse,
)

app = FastAPI()
_FORECAST = [862.4]
_ANSWER = PredictResponse(
    model="milk",
    version=2,
    series_id=None,
    horizon=1,
    periods=None,
    forecast=_FORECAST,
    intervals=[
        Interval(level=80.0, lower=[850.1], upper=[874.7]),
        Interval(level=95.0, lower=[843.9], upper=[880.9]),
    ],
    warnings=[],
)


@app.post("/v1/predict")
async def predict(body: PredictRequest) -> PredictResponse:
    return _ANSWER


@app.post("/v1/models/{name}/predict/batch")
async def predict_batch(name: str, body: BatchPredictRequest) -> BatchPredictResponse:
    return _batch_answer(body.size, body.horizon)


@lru_cache(maxsize=4)
def _batch_answer(series: int, horizon: int) -> BatchPredictResponse:
    """The service's batch answer's shape for `series` rows of `horizon`: made once per shape
    (the benchmark posts two), so the handler's cost is the framework's alone."""

    def rows(value: float) -> list[list[float]]:
        return [[value + 0.1 * i for i in range(horizon)] for _ in range(series)]

    return BatchPredictResponse(
        model="milk",
        version=3,
        series_ids=None,
        horizon=horizon,
        periods=None,
        forecasts=rows(862.4),
        intervals=[
            BatchInterval(level=80.0, lower=rows(850.1), upper=rows(874.7)),
            BatchInterval(level=95.0, lower=rows(843.9), upper=rows(880.9)),
        ],
        warnings=[],
    )
